"""The STRM kind as the service sees it: its counts, its target slot and its run."""

import os
import socket
import time

from strmsync.config import SyncOptions
from strmsync.errors import ConfigError, FatalError
from strmsync.service.kinds import RunContext
from strmsync.service.queue import enqueue_run
from strmsync.service.runlog import RunLog
from strmsync.store import RUN_COUNTS, Store
from strmsync.strm.drivers import (
    open_driver,
    test_source,  # noqa: F401 - the kinds table asks for it
)
from strmsync.strm.drivers.sharedlimits import SharedLimitsLookup
from strmsync.strm.engine import JobSpec, Progress, Run
from strmsync.strm.notifications import notify_after_run

COUNTS = RUN_COUNTS
MAX_SETTLE = 60.0


def default_mode(job: dict) -> str:
    """The mode a scheduled or chained run takes: the job's strategy."""
    return job["options"].get("strategy", "full")


def slots(store: Store, job: dict) -> list[str]:
    """What a run holds while it runs: its target root."""
    return [job["target_root"]]


def execute(ctx: RunContext) -> str:
    """Carry out one STRM run: open the source, run the engine, notify media servers."""
    # Runs on one source in other work horses pause and pace it together with this one.
    run_log = RunLog()
    limits = SharedLimitsLookup(ctx.beat.conn, f"run {ctx.run['id']}", run_log.info)
    try:
        return _execute(ctx, run_log, limits)
    finally:
        limits.close()


def _execute(ctx: RunContext, run_log: RunLog, limits: SharedLimitsLookup) -> str:
    store, run, job, beat = ctx.store, ctx.run, ctx.job, ctx.beat
    try:
        options = SyncOptions.from_dict(job["options"])
        driver = open_driver(store.source(job["source_id"], one_shot=True), job["source_root"],
                             options, sources=store.source, limits=limits)
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
                      Progress(callback=ctx.report), beat.cancel, events, run_log).execute()
    finally:
        driver.close()  # the pooled connections or gRPC channel of an API source
    if events is not None and summary.status in ("failed", "cancelled"):
        store.release_events(run["id"])  # nothing is lost: the next events run gets them
    notify_after_run(store, job, summary)
    if events is not None and summary.status in ("succeeded", "partial") \
            and store.pending_events(job["id"]):
        enqueue_run(store, beat.conn, job["id"], "events", run["trigger"])
    return summary.status


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
