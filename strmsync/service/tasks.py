"""Thin RQ task functions: primitive arguments in, the engine does the work."""

import logging
import os
import socket
import time

from rq import get_current_job

from strmsync.config import SyncOptions, load_settings
from strmsync.errors import ConfigError, FatalError
from strmsync.service import runslots
from strmsync.service.queue import enqueue_run, push_run
from strmsync.store import Store
from strmsync.strm.drivers import open_driver
from strmsync.strm.drivers.sharedlimits import shared_limits
from strmsync.strm.engine import JobSpec, Progress, Run
from strmsync.strm.engine.runlog import RunLog
from strmsync.strm.notifications import notify_after_run

log = logging.getLogger(__name__)
DEFER_PAUSE = 1.0
MAX_SETTLE = 60.0


def execute_run(run_id: int) -> str:
    """Carry out one queued run (RQ task); returns its final status."""
    rq_job = get_current_job()
    store = Store(load_settings().database_path)
    try:
        return perform_run(store, rq_job.connection, run_id, rq_job)
    finally:
        store.close()


def perform_run(store: Store, conn, run_id: int, rq_job=None) -> str:
    """Run a queued run once its target is free; re-queue it if another run holds it."""
    run = store.run(run_id)
    if run is None or run["status"] != "queued":
        return run["status"] if run else "unknown"
    job = store.job(run["job_id"])
    settings = load_settings()
    with runslots.Heartbeat(conn, run_id) as beat:
        blocker = runslots.acquire(conn, run_id, job["target_root"], settings.one_run_at_a_time)
        if blocker is not None:
            log.info("run %d waits: run %d holds its target", run_id, blocker)
            time.sleep(DEFER_PAUSE)
            push_run(store, conn, run_id)
            return "deferred"
        try:
            return _execute(store, run, job, beat, rq_job)
        finally:
            runslots.release(conn, run_id)


def _settle(store: Store, job: dict, options: SyncOptions, cancel) -> None:
    # Wait until no event has come in for the settle delay, so a file renamed right after
    # its upload is seen under its final name; a steady stream waits at most MAX_SETTLE.
    deadline = time.monotonic() + MAX_SETTLE
    while not cancel.is_set() and time.monotonic() < deadline:
        pending = store.pending_events(job["id"]).get(job["id"])
        quiet_for = time.time() - pending[1] if pending else options.settle_delay
        if quiet_for >= options.settle_delay:
            return
        cancel.wait(min(options.settle_delay - quiet_for, 1.0))


def _execute(store: Store, run: dict, job: dict, beat: runslots.Heartbeat, rq_job) -> str:
    def report(snapshot: dict) -> None:
        if rq_job is not None:
            rq_job.meta["progress"] = snapshot
            rq_job.save_meta()

    # Runs on one source in other work horses pause and pace it together with this one.
    run_log = RunLog()
    limits = shared_limits(beat.conn, f"run {run['id']}", run_log.info)
    try:
        options = SyncOptions.from_dict(job["options"])
        driver = open_driver(store.source(job["source_id"]), job["source_root"], options,
                             sources=store.source, limits=limits)
    except (ConfigError, FatalError) as exc:
        store.start_run(run["id"], 0, "")
        store.finish_run(run["id"], "failed", {}, str(exc))
        return "failed"
    events = None
    try:
        if run["mode"] == "events":
            _settle(store, job, options, beat.cancel)
            # Running before claiming: an event that comes in after the claim then queues a
            # new run instead of joining this one, which would no longer see it.
            store.start_run(run["id"], os.getpid(), socket.gethostname())
            events = store.claim_events(job["id"], run["id"])
        spec = JobSpec(job["id"], job["target_root"], options, f"job {job['name']}")
        summary = Run(store, run["id"], spec, driver, run["mode"], bool(run["dry_run"]),
                      Progress(callback=report), beat.cancel, events, run_log).execute()
    finally:
        driver.close()  # the pooled connections or gRPC channel of an API source
    if events is not None and summary.status in ("failed", "cancelled"):
        store.release_events(run["id"])  # nothing is lost: the next events run gets them
    notify_after_run(store, job, summary)
    if events is not None and summary.status in ("succeeded", "partial") \
            and store.pending_events(job["id"]):
        enqueue_run(store, beat.conn, job["id"], "events", run["trigger"])
    return summary.status
