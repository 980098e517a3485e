"""One run of a job: scan, plan, apply, clean up, summarise (DESIGN.md §2)."""

import logging
import os
import socket
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field

from strmsync.config import SyncOptions
from strmsync.errors import ConfigError, FatalError
from strmsync.rootpaths import check_run_roots
from strmsync.service.joblock import job_lock
from strmsync.service.runlog import RunLog
from strmsync.store import Store
from strmsync.strm.drivers.base import Driver, ScanReport
from strmsync.strm.engine.batch import BatchOutcome, process_batch
from strmsync.strm.engine.batchpool import BatchPool
from strmsync.strm.engine.cleanup import apply_cleanup, confirm_gone
from strmsync.strm.engine.events import EventsPass
from strmsync.strm.engine.folder import folder_rules, scan_listing
from strmsync.strm.engine.plan import map_names, plan_cleanup
from strmsync.strm.engine.progress import COUNTS, Progress
from strmsync.strm.engine.writer import TargetWriter

log = logging.getLogger(__name__)

# The words the panel uses for the counts (the JSON keeps the names: `skipped` is unchanged).
COUNT_WORDS = {"skipped": "unchanged", "meta_copied": "metadata copied"}
BATCH_SIZE = 256
# A batch also goes out when the next listing comes in after it has waited this long, so a
# slow source (a remote one at a few folders a second) still shows progress and writes its
# files as the walk goes. (A walk stalled on one folder holds the batch until it moves.)
BATCH_WAIT = 0.5
# Every change goes to the record as it happens; this many stay in memory for the summary
# and the media-server notification (which falls back to a library scan past them).
MAX_CHANGES_KEPT = 5000
# Folders whose counts are added to the progress at once (a progress update takes a lock
# and costs more than a no-op folder's own scan).
QUIET_FOLDERS = 256
QUIET_WAIT = 0.1


@dataclass(frozen=True)
class JobSpec:
    """What the engine needs of a job: its id, target root and options (and how the log
    names it: "job films", "sync into /media/strm")."""

    job_id: int
    target_root: str
    options: SyncOptions
    title: str = ""

    @property
    def label(self) -> str:
        """How the log names the job."""
        return self.title or f"job {self.job_id}"


@dataclass
class RunSummary:
    """The outcome of a run, as stored and as printed."""

    run_id: int
    status: str
    mode: str
    dry_run: bool
    counts: dict
    duration_s: float
    error: str | None = None
    changes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """A JSON-ready dict with the counts at the top level."""
        return {"run_id": self.run_id, "status": self.status, "mode": self.mode,
                "dry_run": self.dry_run, **self.counts, "duration_s": self.duration_s,
                "error": self.error}


@dataclass
class _Quiet:
    """Folders listed, and files settled inside `scan_folder`, not yet counted."""

    folders: int = 0
    skipped: int = 0
    ignored: int = 0
    since: float = field(default_factory=time.monotonic)

    def due(self) -> bool:
        """Time to count them: many folders, or a slow walk (progress stays live)."""
        return self.folders >= QUIET_FOLDERS or time.monotonic() >= self.since + QUIET_WAIT


class _Pending:
    """Items waiting to go to the pool: those still to observe and those a folder scan
    observed already. They go as batches of BATCH_SIZE, or once the first of them has
    waited BATCH_WAIT."""

    def __init__(self):
        self.items: list = []
        self.observed_items: list = []
        self.observed: list = []
        self.since = 0.0

    def add(self, items: list) -> None:
        self._start(items)
        self.items.extend(items)

    def add_observed(self, items: list, observed: list) -> None:
        self._start(items)
        self.observed_items.extend(items)
        self.observed.extend(observed)

    def _start(self, items: list) -> None:
        if items and not self.items and not self.observed_items:
            self.since = time.monotonic()

    def due(self) -> bool:
        waiting = len(self.items) + len(self.observed_items)
        return waiting >= BATCH_SIZE or (waiting and time.monotonic() >= self.since + BATCH_WAIT)

    def take(self) -> list:
        """`(items, observed or None)` batches of everything waiting."""
        batches = []
        if self.items:
            batches.append((self.items, None))
        if self.observed_items:
            batches.append((self.observed_items, self.observed))
        self.items, self.observed_items, self.observed = [], [], []
        return batches


class Run:
    """Executes one run of one job against one driver; the only entry point is `execute`."""

    def __init__(self, store: Store, run_id: int, job: JobSpec, driver: Driver, mode: str,
                 dry_run: bool = False, progress: Progress | None = None,
                 cancel: threading.Event | None = None, events: list | None = None,
                 log: RunLog | None = None):
        self.store, self.run_id, self.job, self.driver = store, run_id, job, driver
        self.mode, self.dry_run = mode, dry_run
        self.options = job.options
        self.progress = progress or Progress()
        self.cancel = cancel or threading.Event()
        self.writer = TargetWriter(job.target_root)
        self.log = log or RunLog()
        self.counts: Counter = Counter()
        self.changes: list = []
        self.problems: list[str] = []
        self.events = events or []
        # Each progress report also stores the log lines so far: the run page reads them live.
        report = self.progress.callback

        def report_and_log(snapshot: dict) -> None:
            self.store.add_log(self.run_id, self.log.take())
            if report is not None:
                report(snapshot)

        self.progress.callback = report_and_log

    def execute(self) -> RunSummary:
        """Run to the end and record the outcome; never raises for a failed sync."""
        started = time.monotonic()
        if not self.store.start_run(self.run_id, os.getpid(), socket.gethostname()):
            self.log.warning("run %d was cancelled before it started", self.run_id)
            return RunSummary(self.run_id, "cancelled", self.mode, self.dry_run,
                              dict.fromkeys(COUNTS, 0), 0.0, "cancelled before it started")
        status, error = "failed", None
        try:
            with job_lock(self.store.path.parent / "locks", self.job.job_id):
                status = self._locked()
        except (FatalError, ConfigError) as exc:
            error = str(exc)
            self.log.error("run failed: %s", exc)
        except Exception as exc:  # noqa: BLE001 - a bug must still end the run as failed
            error = f"internal error: {exc!r}"
            self.log.error("run failed with an internal error: %r", exc)
            log.exception("run %d failed with an internal error", self.run_id)
        if status != "failed" and self.problems:
            error = "; ".join(self.problems)
        self.progress.set_phase("done")
        return self._record(status, error, round(time.monotonic() - started, 3))

    def _locked(self) -> str:
        self._recover_interrupted()
        # Checked again now: a symlink made since the job was saved, or a mount that is down.
        local_source = self.driver.root if self.driver.kind == "local" else None
        check_run_roots(self.job.target_root, local_source)
        self.writer.ensure_root(self.dry_run)
        self.driver.strm_text("probe.mkv", self.options.strm_mode)  # bad STRM settings: fatal
        if self.mode == "events":
            return self._events()
        manifest = self.store.load_manifest_index(self.job.job_id)
        self.progress.expected = len(manifest)
        self.log.info("%s run of %s%s: %d managed files", self.mode, self.job.label,
                      " (dry run)" if self.dry_run else "", len(manifest))
        report = self._scan(manifest)
        if self.cancel.is_set():
            self.log.warning("cancelled; no cleanup")
            return "cancelled"
        self._cleanup(manifest, report)
        if any(rel == "" for rel, _ in report.errors):
            raise FatalError(f"source: cannot list the source root: {report.errors[0][1]}")
        return "partial" if self.problems or self.counts["failed"] else "succeeded"

    def _events(self) -> str:
        self.log.info("events run of %s%s: %d event(s)", self.job.label,
                      " (dry run)" if self.dry_run else "", len(self.events))
        self.progress.set_phase("scanning")
        EventsPass(self, self.events).execute()
        if self.cancel.is_set():
            return "cancelled"
        return "partial" if self.problems or self.counts["failed"] else "succeeded"

    def _recover_interrupted(self) -> None:
        # We hold the job lock, so any run still marked running here died mid-way.
        stale = [run for run in self.store.runs_of_job(self.job.job_id, "running")
                 if run["id"] != self.run_id]
        for run in stale:
            counts = {name: run.get(name) or 0 for name in COUNTS}
            self.store.finish_run(run["id"], "failed", counts, "interrupted: the process died")
        if stale and os.path.isdir(self.writer.root) and not self.dry_run:
            removed = self.writer.sweep_temp_files()
            self.log.warning("previous run was interrupted; removed %d temp file(s)", removed)

    # scanning ------------------------------------------------------------------------------

    def _scan(self, manifest) -> ScanReport:
        """Walk the source, checking every target off the manifest; a local driver's folders
        go through one `scan_folder` call each, others through `map_names`."""
        report, opts = ScanReport(), self.options
        rules = folder_rules(self.driver, opts, self.mode != "incremental")
        inflight: deque = deque()
        pending, quiet = _Pending(), _Quiet()
        self.progress.set_phase("scanning")
        with BatchPool(opts.concurrency, "strmsync-run") as pool:
            for listing in self.driver.listings(opts.max_depth, report):
                if self.cancel.is_set():
                    break
                if not listing.empty:
                    manifest.note_listed(listing.dir)
                files = listing.files
                quiet.folders += 1
                if rules is not None:
                    found = scan_listing(self.writer.root, listing, rules, manifest)
                    if found.items:
                        pending.add_observed(found.items, found.observed)
                    files = found.odd
                    quiet.skipped += found.skipped
                    quiet.ignored += found.ignored
                if files:
                    items, rejected = map_names(listing.dir, files, opts, self.strm_text)
                    for source_rel, why in rejected:
                        self._fail(source_rel, why)
                    manifest.check_off([item.target_rel for item in items])
                    pending.add(items)
                if quiet.due():
                    self._count_quiet(quiet)
                if pending.due():
                    self._send(pool, inflight, pending.take(), manifest)
            self._count_quiet(quiet)
            if not self.cancel.is_set():
                self._send(pool, inflight, pending.take(), manifest)
            while inflight:
                self._merge(pool, inflight.popleft().result())
        self._note_report(report)
        return report

    def _count_quiet(self, quiet: "_Quiet") -> None:
        """Count the folders listed and the files their scans settled, and start over."""
        scanned = quiet.skipped + quiet.ignored
        self.counts["scanned"] += scanned
        self.counts["skipped"] += quiet.skipped
        self.progress.add(folders=quiet.folders, scanned=scanned, skipped=quiet.skipped)
        quiet.folders = quiet.skipped = quiet.ignored = 0
        quiet.since = time.monotonic()

    def strm_text(self, rel: str, extra=None) -> str:
        """The `.strm` text for a source file (with the driver's extra from the listing)."""
        mode = self.options.strm_mode
        if extra is None:
            return self.driver.strm_text(rel, mode)
        return self.driver.strm_text(rel, mode, extra)

    def process_items(self, items: list, manifest: dict) -> None:
        """Observe, plan and apply items outside a walk (events runs), in batches."""
        inflight: deque = deque()
        with BatchPool(self.options.concurrency, "strmsync-run") as pool:
            self._send(pool, inflight, [(items[i:i + BATCH_SIZE], None)
                                        for i in range(0, len(items), BATCH_SIZE)], manifest)
            while inflight:
                self._merge(pool, inflight.popleft().result())

    def record_deletions(self, deleted: int, dropped: list, changes: list) -> None:
        """Count deletions made outside cleanup (events runs) and forget their entries."""
        self.store.drop_manifest(self.job.job_id, dropped)
        self._keep_changes(changes)
        self.counts["deleted"] += deleted
        self.progress.add(deleted=deleted)

    def fail(self, rel: str, why: str) -> None:
        """Record a per-file failure."""
        self._fail(rel, why)

    def _send(self, pool: BatchPool, inflight: deque, batches: list, manifest) -> None:
        """Submit `(items, observed)` batches, merging the oldest as they pile up: on the
        pool, beyond two per worker; inline, all but the newest, whose writes are still
        under way (the older ones' are done: one job writes at a time), so a slow target
        or mount is noticed after a batch or two, not after a pool's worth of them."""
        for items, observed in batches:
            inflight.append(self._submit(pool, items, observed, manifest))
            while len(inflight) > (2 * self.options.concurrency if pool.pooled else 1):
                self._merge(pool, inflight.popleft().result())

    def _submit(self, pool: BatchPool, batch: list, observed: list | None, manifest):
        # Inline, a batch's .strm writes go on while the walk and the next batches are
        # planned (one thread of writes, in order); on the pool, each batch writes its own.
        read_strm = self.mode != "incremental"
        return pool.submit(process_batch, batch, manifest, self.options, self.writer,
                           self.driver, read_strm, self.dry_run, observed, not pool.pooled)

    def _merge(self, pool: BatchPool, outcome: BatchOutcome) -> None:
        outcome.settle(self.writer)
        pool.note(outcome.seconds, outcome.items)
        if outcome.rows:
            self.store.put_manifest(self.job.job_id, outcome.rows)
        for rel, why in outcome.failures:
            self.log.error("%s: %s", rel, why)
        self._keep_changes(outcome.changes)
        self.counts.update(outcome.counts)
        self.progress.add(**outcome.counts)

    def _fail(self, rel: str, why: str) -> None:
        self.log.error("%s: %s", rel, why)
        self.counts["failed"] += 1
        self.progress.add(failed=1)

    def _keep_changes(self, changes: list) -> None:
        self.store.add_changes(self.run_id, changes)
        room = MAX_CHANGES_KEPT - len(self.changes)
        self.changes.extend(changes[:max(room, 0)])

    def _note_report(self, report: ScanReport) -> None:
        for rel in report.truncated:
            self.log.warning("%s: deeper than %d levels, not synced", rel, self.options.max_depth)
        for rel in report.loops:
            self.log.warning("%s: symlink loop, skipped", rel)
        for rel, why in report.errors:
            self.log.error("%s: cannot list: %s", rel or "/", why)
        if report.errors:
            names = ", ".join(rel or "/" for rel, _ in report.errors[:5])
            more = f" and {len(report.errors) - 5} more" if len(report.errors) > 5 else ""
            self.problems.append(f"{len(report.errors)} folder(s) could not be listed:"
                                 f" {names}{more}")

    # cleanup -------------------------------------------------------------------------------

    def _cleanup(self, manifest, report: ScanReport) -> None:
        remaining = manifest.unseen()
        problem = "a folder could not be listed" if report.errors else None
        if problem is None and self.mode == "full" and remaining:
            folders = {os.path.dirname(path) for path in remaining}
            listed = {folder for folder in folders if manifest.was_listed(folder)}
            problem = confirm_gone(set(remaining), listed, self.driver, self.log)
            if problem:
                self.problems.append(problem)
        plan = plan_cleanup(remaining, len(manifest), self.options, self.mode, problem,
                            tuple(report.truncated + report.loops))
        if plan.skipped and remaining:
            self.log.warning("%s (%d orphan(s) kept)", plan.skipped, len(remaining))
        if plan.blocked:
            self.log.warning("%s", plan.blocked)
            self.problems.append(plan.blocked)
            return
        if not plan.delete:
            return
        self.progress.set_phase("cleanup")
        entries = self.store.manifest_entries(self.job.job_id, plan.delete)
        deleted, dropped, changes = apply_cleanup(plan, entries, self.writer, self.dry_run,
                                                  self.log)
        self.store.drop_manifest(self.job.job_id, dropped)
        self._keep_changes(changes)
        self.counts["deleted"] += deleted
        self.progress.add(deleted=deleted)

    # record --------------------------------------------------------------------------------

    def _record(self, status: str, error: str | None, duration: float) -> RunSummary:
        counts = {name: int(self.counts.get(name, 0)) for name in COUNTS}
        self.log.info("run %s: %s", status, ", ".join(
            f"{COUNT_WORDS.get(k, k)} {v}" for k, v in counts.items()))
        self.store.add_log(self.run_id, self.log.take())
        self.store.finish_run(self.run_id, status, counts, error)
        return RunSummary(self.run_id, status, self.mode, self.dry_run, counts, duration, error,
                          self.changes)
