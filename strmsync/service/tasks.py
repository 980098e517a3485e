"""Thin RQ task functions: primitive arguments in, the job's kind does the work."""

import logging
import time

from rq import get_current_job

from strmsync.config import load_settings
from strmsync.service import runslots
from strmsync.service.kinds import RunContext, kind_of
from strmsync.service.queue import enqueue_run, push_run
from strmsync.store import Store

log = logging.getLogger(__name__)
DEFER_PAUSE = 1.0


def execute_run(run_id: int) -> str:
    """Carry out one queued run (RQ task); returns its final status."""
    rq_job = get_current_job()
    store = Store(load_settings().database_path)
    try:
        return perform_run(store, rq_job.connection, run_id, rq_job)
    finally:
        store.close()


def perform_run(store: Store, conn, run_id: int, rq_job=None) -> str:
    """Run a queued run once its targets are free; re-queue it if another run holds one."""
    run = store.run(run_id)
    if run is None or run["status"] != "queued":
        return run["status"] if run else "unknown"
    job = store.job(run["job_id"], one_shot=True)
    kind = kind_of(job)
    settings = load_settings()
    with runslots.Heartbeat(conn, run_id) as beat:
        blocker = runslots.acquire(conn, run_id, kind.slots(store, job),
                                   settings.one_run_at_a_time)
        if blocker is not None:
            log.info("run %d waits: run %d holds its target", run_id, blocker)
            time.sleep(DEFER_PAUSE)
            push_run(store, conn, run_id)
            return "deferred"
        try:
            status = kind.execute(RunContext(store, conn, run, job, beat,
                                             _reporter(rq_job)))
        finally:
            runslots.release(conn, run_id)
    if status == "succeeded" and not run["dry_run"]:
        queue_followers(store, conn, job)
    return status


def queue_followers(store: Store, conn, job: dict) -> list[int]:
    """Queue the jobs a job names to run after it succeeds (its `then` list)."""
    queued = []
    for follower_id in job.get("then_jobs") or []:
        follower = store.job(follower_id)
        if follower is None or not follower["enabled"]:
            continue
        mode = kind_of(follower).default_mode(follower)
        run_id, _ = enqueue_run(store, conn, follower["id"], mode, "then")
        log.info("job %s succeeded: run %d of job %s queued", job["name"], run_id,
                 follower["name"])
        queued.append(run_id)
    return queued


def _reporter(rq_job):
    def report(snapshot: dict) -> None:
        if rq_job is not None:
            rq_job.meta["progress"] = snapshot
            rq_job.save_meta()

    return report
