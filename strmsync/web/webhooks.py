"""Webhook endpoints: CloudDrive2's file_notify and a generic events API, token-protected."""

import hmac
import logging
import secrets

from flask import Blueprint, current_app, request

from strmsync.errors import ConfigError
from strmsync.events import parse_clouddrive2, parse_generic, route
from strmsync.service.queue import enqueue_events
from strmsync.validation import parse_json
from strmsync.web.context import get_redis, get_store
from strmsync.web.errors import ApiError

log = logging.getLogger(__name__)
webhooks = Blueprint("webhooks", __name__, url_prefix="/api/v1/webhook")
TOKEN_KEY = "webhook_token"


def webhook_token(store) -> str:
    """The configured token, else the stored one (made on first use)."""
    configured = current_app.config["STRMSYNC_SETTINGS"].webhook_token
    return configured or store.setting_once(TOKEN_KEY, lambda: secrets.token_urlsafe(24))


def regenerate_token(store) -> str:
    """Replace the stored token (a configured one still wins)."""
    store.set_setting(TOKEN_KEY, secrets.token_urlsafe(24))
    return webhook_token(store)


@webhooks.before_request
def check_token():
    """Every webhook call carries the secret: `Authorization: Bearer …` or `?token=`."""
    header = request.headers.get("Authorization", "")
    given = header[7:].strip() if header[:7].lower() == "bearer " else ""
    given = given or request.args.get("token", "")
    if not given or not hmac.compare_digest(given.encode(), webhook_token(get_store()).encode()):
        log.warning("webhook from %s refused: missing or wrong token", request.remote_addr)
        raise ApiError(401, "token: missing or wrong webhook token")


def _payload():
    # CloudDrive2 templates are user-edited; accept JSON whatever the declared content type.
    payload = parse_json(request.get_data(cache=True))
    if payload is None:
        raise ConfigError("body: empty; expected a JSON object")
    return payload


def _accept(events: list, jobs: list, their_paths: bool) -> tuple[dict, int]:
    store = get_store()
    sources = {source["id"]: source for source in store.sources()}
    routed, ignored = route(events, jobs, sources, their_paths)
    runs = enqueue_events(store, get_redis(), routed, "webhook")
    return {"accepted": len(events) - ignored, "ignored": ignored,
            "runs": {str(job_id): run_id for job_id, run_id in runs.items()}}, 202


@webhooks.post("/clouddrive2")
@webhooks.post("/clouddrive2/file_notify")
def clouddrive2():
    payload = _payload()
    if isinstance(payload, dict) and payload.get("event_category") not in (None, "", "file"):
        return {"accepted": 0, "ignored": 0, "runs": {},
                "note": f"event_category {payload.get('event_category')!r} is not handled"}
    events = parse_clouddrive2(payload)
    return _accept(events, [job for job in get_store().jobs(kind="strm") if job["enabled"]],
                   True)


@webhooks.post("/events")
def generic_events():
    """Events for one job, with paths as the job's source sees them (no event map)."""
    job_key, events = parse_generic(_payload())
    job = get_store().job(job_key)
    if job is None:
        raise ApiError(404, f"job: no such job: {job_key!r}")
    if job["kind"] != "strm":
        raise ApiError(409, f"job: {job['name']} is a {job['kind']} job; events are for STRM"
                            " jobs")
    return _accept(events, [job], False)
