"""One mirror run, in the five phases of DESIGN.md §8: prepare, scan, detect, execute,
finalize. A safety abort ends the run `failed` with its reason, having changed nothing."""

import logging
import os
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field

from strmsync.errors import ConfigError, FatalError, NetworkError, NotFoundError, StrmsyncError
from strmsync.mirror import detect, names
from strmsync.mirror.localside import MARKER, TRASH, LocalSide, is_private
from strmsync.mirror.options import MirrorOptions
from strmsync.mirror.progress import COUNTS, MirrorProgress
from strmsync.mirror.smbremote import SmbRemote, SmbTarget
from strmsync.mirror.snapshot import Snapshot
from strmsync.mirror.transfer import Executor, Sides, Stopped
from strmsync.service.joblock import job_lock
from strmsync.service.runlog import RunLog
from strmsync.store import Store

log = logging.getLogger(__name__)
PLAN_LINES = 50  # deletions named in the log when max-delete stops a run


@dataclass
class MirrorSummary:
    """The outcome of a mirror run, as stored and as printed."""

    run_id: int
    status: str
    dry_run: bool
    counts: dict
    duration_s: float
    error: str | None = None
    plan: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """The summary for `--json` output."""
        return {"run_id": self.run_id, "status": self.status, "dry_run": self.dry_run,
                **self.counts, "duration_s": self.duration_s, "error": self.error}


@dataclass
class Controls:
    """What the service (or the CLI) uses to stop or pause a run between files and chunks."""

    cancel: threading.Event = field(default_factory=threading.Event)
    paused: threading.Event = field(default_factory=threading.Event)


class MirrorRun:
    """A mirror of one local folder with one share folder, for one run record."""

    def __init__(self, store: Store, run_id: int, job: dict, target: SmbTarget,
                 options: MirrorOptions, dry_run: bool, controls: Controls,
                 progress: MirrorProgress, run_log: RunLog | None = None):
        self.store, self.run_id, self.job, self.target = store, run_id, job, target
        self.options, self.dry_run, self.controls = options, dry_run, controls
        self.log = run_log or RunLog()
        self.progress = progress
        self.local = LocalSide(job["target_root"])
        self.snapshot = Snapshot(store, job["id"])
        self.listing_errors: dict[str, list[str]] = {"local": [], "remote": []}
        self.plan: list = []
        self._pause_lock = threading.Lock()
        self._paused_from = "execute"
        callback = progress.callback

        def report_and_log(snapshot: dict) -> None:
            self.store.add_log(self.run_id, self.log.take())
            if callback is not None:
                callback(snapshot)

        progress.callback = report_and_log

    def execute(self) -> MirrorSummary:
        """Run to the end and record the outcome; never raises for a failed mirror."""
        started = time.monotonic()
        if not self.store.start_run(self.run_id, os.getpid(), socket.gethostname()):
            return self._summary("cancelled", "cancelled before it started", started)
        status, error = "failed", None
        try:
            with job_lock(self.store.path.parent / "locks", self.job["id"]), \
                    SmbRemote(self.target) as remote:
                status = self._phases(remote)
        except Stopped:
            status, error = "cancelled", "stopped by the user"
            self.log.warning("stopped; what was done is kept, the next run goes on from there")
        except (FatalError, ConfigError, NetworkError) as exc:
            error = str(exc)
            self.log.error("run failed: %s", exc)
        except Exception as exc:  # noqa: BLE001 - a bug must still end the run as failed
            error = f"internal error: {exc!r}"
            self.log.error("run failed with an internal error: %r", exc)
            log.exception("run %d failed with an internal error", self.run_id)
        if status == "partial" and error is None:
            error = self._partial_reason()
        return self._record(status, error, started)

    # the phases ----------------------------------------------------------------------------

    def _phases(self, remote: SmbRemote) -> str:
        snapshot = self._prepare(remote)
        sides = self._scan(remote)
        if self.controls.cancel.is_set():
            raise Stopped
        actions = self._detect(sides, snapshot)
        if self.dry_run:
            return self._dry_run(actions)
        self._check_space(sides, actions, remote)
        self.progress.set_phase("execute")
        Executor(sides, self.snapshot, self.progress, self._checkpoint, self.log,
                 self.options.mode, self.options.attempts, self._change).run(
                     actions, self.options.concurrency)
        return self._finalize(remote)

    def _prepare(self, remote: SmbRemote) -> dict | None:
        self.progress.set_phase("prepare")
        snapshot = self.snapshot.load()
        first = snapshot is None
        self.log.info("%s%s: %s %s %s (%s, conflicts: %s)%s", self._label(),
                      " (dry run)" if self.dry_run else "", self.local.root,
                      {"mirror": "<->", "upload": "->", "download": "<-"}[self.options.mode],
                      self.target.label(), self.options.mode, self.options.conflict,
                      "; first run: nothing is deleted" if first else "")
        self._prepare_local(first)
        self._prepare_remote(remote, first)
        return snapshot

    def _prepare_local(self, first: bool) -> None:
        if not os.path.isdir(self.local.root):
            if not first:
                raise FatalError(f"local folder {self.local.root} does not exist (is a mount"
                                 " down?); nothing was changed")
            if not self.dry_run:
                os.makedirs(self.local.root, exist_ok=True)
        if not first and not self.local.has_marker():
            raise FatalError(f"local folder {self.local.root} has no {MARKER} marker: is it"
                             " the folder this job synced before? Nothing was changed")
        if first and not self.dry_run and not self.local.has_marker():
            self.local.write_marker(self._marker_text())

    def _prepare_remote(self, remote: SmbRemote, first: bool) -> None:
        try:
            remote.check()
        except NotFoundError:
            if not first:
                raise FatalError(f"{self.target.label()}: the share folder is gone; nothing"
                                 " was changed") from None
            if not self.dry_run:
                remote.ensure_root()
        if not first and remote.read_text(MARKER) is None:
            raise FatalError(f"{self.target.label()} has no {MARKER} marker: is it the folder"
                             " this job synced before? Nothing was changed")
        if first and not self.dry_run and remote.read_text(MARKER) is None:
            remote.write_text(MARKER, self._marker_text())

    def _scan(self, remote: SmbRemote) -> Sides:
        self.progress.set_phase("scan")
        remote_files: dict = {}
        failure: list = []

        def list_remote() -> None:
            try:
                for item in remote.scan(lambda rel, exc: self._listing_error("remote", rel, exc),
                                        skip=is_private):
                    remote_files[item.path] = detect.Entry(item.size, item.mtime_ns)
                    self.progress.listed_one("remote")
                    if self.controls.cancel.is_set():
                        return
            except BaseException as exc:  # noqa: BLE001 - handed to the scanning thread
                failure.append(exc)

        lister = threading.Thread(target=list_remote, name="mirror-remote-scan")
        lister.start()
        local_files = {}
        for rel, entry in self.local.scan(lambda rel, why: self._listing_error("local", rel,
                                                                                why)):
            local_files[rel] = entry
            self.progress.listed_one("local")
            if self.controls.cancel.is_set():
                break
        lister.join()
        if failure:
            raise failure[0]
        for side in ("local", "remote"):
            if "" in self.listing_errors[side]:
                raise FatalError(f"cannot list the {side} folder; nothing was changed")
        self.log.info("listed %d local and %d remote files", len(local_files), len(remote_files))
        return Sides(self.local, remote, local_files, remote_files)

    def _listing_error(self, side: str, rel: str, why) -> None:
        if isinstance(why, FatalError):
            raise why
        self.listing_errors[side].append(rel)
        self.log.error("%s: cannot list %s: %s; no deletions this run", side, rel or "the folder",
                       why)

    def _detect(self, sides: Sides, snapshot: dict | None) -> list:
        self.progress.set_phase("detect")
        left_out = self._left_out(sides, snapshot or {})
        local = {p: e for p, e in sides.local_files.items() if p not in left_out}
        remote = {p: e for p, e in sides.remote_files.items() if p not in left_out}
        side = detect.empty_side(len(sides.local_files), len(sides.remote_files), snapshot)
        if side:
            held = sum(1 for row in (snapshot or {}).values() if getattr(row, side))
            raise FatalError(f"the {side} folder lists no files, but the last sync left {held}"
                             f" there: nothing was changed (a mount or share that is down?)")
        known = None if snapshot is None else {p: r for p, r in snapshot.items()
                                               if p not in left_out}
        actions = detect.plan(local, remote, known, self.options.mode, self.options.conflict)
        actions = self._without_unlisted(actions)
        if snapshot is not None and detect.over_max_delete(actions, len(snapshot),
                                                           self.options.max_delete):
            self._log_deletions(actions)
            gone_local, gone_remote = detect.deletions(actions)
            raise FatalError(
                f"max-delete: the plan deletes {gone_local} local and {gone_remote} remote"
                f" files, more than {self.options.max_delete:.0%} of the {len(snapshot)} the"
                " last sync left; nothing was changed (raise max_delete if this is wanted)")
        union = set(local) | set(remote)
        # A "record" (on both sides and equal) moves nothing: the user sees it unchanged.
        self.progress.add(unchanged=len(union) - len({a.path for a in actions
                                                      if a.kind != "record"}))
        self.plan = actions
        self.progress.plan(sum(1 for a in actions if a.kind in ("upload", "download",
                                                                "conflict")),
                           self._bytes(actions, sides))
        return actions

    def _left_out(self, sides: Sides, snapshot: dict) -> set:
        """Local names the share cannot hold, and case twins: reported, never transferred."""
        left_out = set()
        if self.options.mode != "download":
            for path in sides.local_files:
                row = snapshot.get(path)
                if row is not None and row.remote is not None:
                    continue  # the share holds this name already
                reason = names.refused_reason(path)
                if reason:
                    left_out.add(path)
                    self.log.warning("not mirrored: %s", reason)
                    self.progress.add(refused=1)
                    self._change("refused", "name", path)
        for group in names.case_twins(set(sides.local_files) - left_out):
            left_out.update(group)
            self.log.warning("not mirrored: %s differ only by case, which the share cannot"
                             " tell apart", " and ".join(group))
            self.progress.add(conflicts=1)
            self._change("conflict", "case", " | ".join(group))
        return left_out

    def _without_unlisted(self, actions: list) -> list:
        # A listing error anywhere: no deletions at all, and nothing under a folder that
        # could not be listed (its files would look deleted).
        errored = [rel for side in self.listing_errors.values() for rel in side]
        if not errored:
            return actions
        return [a for a in actions
                if a.kind not in ("delete_local", "delete_remote", "forget")
                and not any(a.path == rel or a.path.startswith(rel + "/") for rel in errored)]

    def _log_deletions(self, actions: list) -> None:
        doomed = [a for a in actions if a.kind in ("delete_local", "delete_remote")]
        for action in doomed[:PLAN_LINES]:
            self.log.warning("planned: %s %s (%s)", action.kind, action.path, action.reason)
        if len(doomed) > PLAN_LINES:
            self.log.warning("planned: %d more deletions", len(doomed) - PLAN_LINES)

    @staticmethod
    def _bytes(actions: list, sides: Sides) -> int:
        total = 0
        for action in actions:
            if action.kind in ("upload", "conflict") and action.path in sides.local_files:
                total += sides.local_files[action.path].size
            if action.kind in ("download", "conflict") and action.path in sides.remote_files:
                total += sides.remote_files[action.path].size
        return total

    def _check_space(self, sides: Sides, actions: list, remote: SmbRemote) -> None:
        up = sum(sides.local_files[a.path].size for a in actions
                 if a.kind == "upload" and a.path in sides.local_files)
        down = sum(sides.remote_files[a.path].size for a in actions
                   if a.kind == "download" and a.path in sides.remote_files)
        free = remote.free_bytes()
        if free is not None and up > free:
            raise FatalError(f"{self.target.label()}: {up} bytes to upload, {free} free;"
                             " nothing was changed")
        if down > shutil.disk_usage(self.local.root).free:
            raise FatalError(f"{self.local.root}: {down} bytes to download, not that much free;"
                             " nothing was changed")

    def _dry_run(self, actions: list) -> str:
        for action in actions:
            if action.kind in ("record", "forget"):
                continue
            self._change(action.kind, action.winner or ("keep-both" if action.kind == "conflict"
                                                        else "file"), action.path)
            self.log.info("would %s %s (%s)", action.kind.replace("_", " "), action.path,
                          action.reason)
            count = {"upload": "uploaded", "download": "downloaded", "conflict": "conflicts",
                     "delete_local": "deleted_local", "delete_remote": "deleted_remote"}
            self.progress.add(**{count[action.kind]: 1})
        return "partial" if self._problems() else "succeeded"

    def _finalize(self, remote: SmbRemote) -> str:
        self.progress.set_phase("finalize")
        status = "partial" if self._problems() else "succeeded"
        self.snapshot.mark_synced()
        removed = self.local.purge_trash(self.options.trash_days)
        removed += self._purge_remote_trash(remote)
        if removed:
            self.log.info("trash: %d file(s) older than %d days removed", removed,
                          self.options.trash_days)
        return status

    def _purge_remote_trash(self, remote: SmbRemote) -> int:
        cutoff = time.strftime("%Y-%m-%d", time.gmtime(time.time() - self.options.trash_days
                                                       * 86400))
        old = []
        try:
            # A trash folder that is missing or cannot be listed is simply left as it is.
            for item in remote.scan(lambda rel, exc: None, folder=TRASH):
                if item.path.split("/", 2)[1] < cutoff:
                    old.append(item.path)
            for path in old:
                remote.remove(path)
            remote.remove_empty_dirs({folder for path in old for folder in _parents(path)
                                      if folder != TRASH})
        except StrmsyncError as exc:
            self.log.warning("trash on the share: %s", exc)
        return len(old)

    # helpers of the phases -----------------------------------------------------------------

    def _checkpoint(self) -> None:
        if self.controls.cancel.is_set():
            raise Stopped
        if not self.controls.paused.is_set():
            return
        with self._pause_lock:
            # Every transfer thread pauses here; the first remembers the phase to go back to.
            if self.progress.phase != "paused":
                self._paused_from = self.progress.phase
                self.progress.set_phase("paused")
                self.log.info("paused")
        while self.controls.paused.is_set() and not self.controls.cancel.is_set():
            self.controls.cancel.wait(0.2)
        if self.controls.cancel.is_set():
            raise Stopped
        with self._pause_lock:
            if self.progress.phase == "paused":
                self.log.info("resumed")
                self.progress.set_phase(self._paused_from)

    def _change(self, action: str, kind: str, path: str) -> None:
        self.store.add_changes(self.run_id, [(action, kind, path)])

    def _problems(self) -> bool:
        counts = self.progress.counts
        return bool(counts["failed"] or counts["refused"] or any(self.listing_errors.values()))

    def _partial_reason(self) -> str:
        counts, parts = self.progress.counts, []
        if counts["failed"]:
            parts.append(f"{counts['failed']} file(s) failed; they are tried again next run")
        if counts["refused"]:
            parts.append(f"{counts['refused']} name(s) the share cannot hold")
        for side, rels in self.listing_errors.items():
            if rels:
                parts.append(f"{len(rels)} {side} folder(s) could not be listed; no deletions")
        return "; ".join(parts) or None

    def _label(self) -> str:
        return f"job {self.job['name']}"

    def _marker_text(self) -> str:
        return (f"strmsync mirror {self._label()}: {self.local.root} <-> "
                f"{self.target.label()}\nDo not delete: without it strmsync stops rather than"
                " mirror into the wrong folder.\n")

    def _record(self, status: str, error: str | None, started: float) -> MirrorSummary:
        summary = self._summary(status, error, started)
        self.progress.set_phase("done")
        self.log.info("run %s: %s", status, ", ".join(
            f"{name.replace('_', ' ')} {value}" for name, value in summary.counts.items()))
        self.store.add_log(self.run_id, self.log.take())
        self.store.finish_run(self.run_id, status, summary.counts, error)
        return summary

    def _summary(self, status: str, error: str | None, started: float) -> MirrorSummary:
        counts = {name: int(self.progress.counts.get(name, 0)) for name in COUNTS}
        return MirrorSummary(self.run_id, status, self.dry_run, counts,
                             round(time.monotonic() - started, 3), error, self.plan)


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
