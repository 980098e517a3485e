"""Linking a trakt job to the user's Trakt account with the device flow (DESIGN.md §9).

"Authorise" asks Trakt for a device code and shows the user's code and link; one short
task on the queue then polls Trakt at its interval (slower when told to) until the user
approves, denies or the code expires, and stores both tokens sealed with the job. The
state of a link being made lives in Redis (the device code sealed); the tokens in SQLite.
"""

import logging
import secrets
import time
from collections.abc import Callable

import redis
from rq import get_current_job

from strmsync.config import load_settings
from strmsync.service.queue import run_queue
from strmsync.store import Store
from strmsync.trakt.record import TraktRecord

log = logging.getLogger(__name__)
POLL_TASK = "strmsync.trakt.auth.poll_device"
SLOW_DOWN_STEP = 5  # seconds added to the interval each time Trakt says "slow down"
FINAL = ("authorized", "expired", "denied", "invalid", "used")


def _key(job_id: int) -> str:
    return f"strmsync:trakt:auth:{job_id}"


def start(store: Store, conn: redis.Redis, job: dict) -> dict:
    """Ask Trakt for a device code, queue the task that polls it; the code and link."""
    from strmsync.trakt.kind import trakt_client

    with trakt_client(store, job) as client:
        code = client.device_code()
    expires_at = time.time() + code.expires_in
    # Each start has its own nonce: a poller of an earlier code stops, and never writes over
    # the state of this one.
    nonce = secrets.token_hex(8)
    conn.hset(_key(job["id"]), mapping={
        "state": "pending", "nonce": nonce, "user_code": code.user_code,
        "verification_url": code.verification_url, "expires_at": f"{expires_at:.3f}",
        "interval": code.interval, "device": store.box.seal(code.device_code)})
    conn.expire(_key(job["id"]), int(code.expires_in) + 3600)
    run_queue(conn).enqueue(POLL_TASK, job["id"], nonce, job_timeout=int(code.expires_in) + 120,
                            result_ttl=600, failure_ttl=3600,
                            description=f"authorise trakt job {job['id']}")
    log.info("job %s: Trakt device code issued; waiting for the user", job["name"])
    return {"state": "pending", "user_code": code.user_code,
            "verification_url": code.verification_url, "expires_in": int(code.expires_in)}


def status(store: Store, conn: redis.Redis, job: dict) -> dict:
    """Where linking stands: pending (with the code), authorized, expired, denied, or the
    job's stored state (unauthorized / authorize again) when no linking is under way."""
    raw = {k.decode(): v.decode() for k, v in conn.hgetall(_key(job["id"])).items()}
    state = TraktRecord(store, job["id"]).state()
    if not raw or (raw.get("state") == "authorized" and state["auth"] != "authorized"):
        out = {"state": state["auth"]}
        if state.get("auth_error"):
            out["error"] = state["auth_error"]
        return out
    out = {"state": raw["state"]}
    if raw["state"] == "pending":
        left = float(raw["expires_at"]) - time.time()
        if left <= 0:
            return {"state": "expired"}
        out.update(user_code=raw["user_code"], verification_url=raw["verification_url"],
                   expires_in=int(left))
    return out


def disconnect(store: Store, conn: redis.Redis, job: dict) -> None:
    """Forget the job's tokens (and any linking under way)."""
    conn.delete(_key(job["id"]))
    TraktRecord(store, job["id"]).save_tokens(None)


def poll_device(job_id: int, nonce: str = "") -> str:
    """RQ task: poll Trakt until the user answers or the code expires; the final state."""
    from strmsync.trakt.kind import trakt_client

    conn = get_current_job().connection
    store = Store(load_settings().database_path)
    try:
        raw = {k.decode(): v.decode() for k, v in conn.hgetall(_key(job_id)).items()}
        job = store.job(job_id)
        if not raw or job is None or raw.get("state") != "pending" \
                or raw.get("nonce", "") != nonce:
            return "gone"
        with trakt_client(store, job) as client:
            state, tokens = wait_for_approval(
                client, store.box.open(raw["device"]), int(raw["interval"]),
                float(raw["expires_at"]),
                still_wanted=lambda: _still_pending(conn, job_id, nonce))
        if tokens is not None:
            TraktRecord(store, job_id).save_tokens(tokens.to_dict())
        if state != "gone" and _still_pending(conn, job_id, nonce):
            conn.hset(_key(job_id), "state", state)
            conn.hdel(_key(job_id), "device")
        log.info("job %s: Trakt authorisation %s", job["name"], state)
        return state
    finally:
        store.close()


def _still_pending(conn: redis.Redis, job_id: int, nonce: str) -> bool:
    state, current = conn.hmget(_key(job_id), "state", "nonce")
    return state == b"pending" and (current or b"").decode() == nonce


def wait_for_approval(client, device_code: str, interval: int, expires_at: float,
                      still_wanted: Callable[[], bool] = lambda: True,
                      sleep: Callable[[float], None] = time.sleep,
                      on_state: Callable[[str], None] | None = None):
    """Poll the device token at Trakt's interval (5 s slower after each "slow down") until
    a final answer or expiry; `(state, tokens or None)`."""
    while time.time() < expires_at:
        sleep(interval)
        if not still_wanted():
            return "gone", None
        state, tokens = client.poll_device_token(device_code)
        if on_state is not None:
            on_state(state)
        if state == "slow_down":
            interval += SLOW_DOWN_STEP
        elif state in FINAL:
            return state, tokens
    return "expired", None
