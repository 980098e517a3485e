"""The execute phase of a mirror run: carry out planned actions, each file's snapshot row
written as soon as that file succeeds (DESIGN.md §8)."""

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime

from strmsync.errors import FatalError, FileError, NetworkError, StrmsyncError
from strmsync.mirror.detect import Action, Entry, conflict_name
from strmsync.mirror.localside import LocalSide, trash_path
from strmsync.mirror.progress import MirrorProgress
from strmsync.mirror.smbremote import SmbRemote
from strmsync.mirror.snapshot import Snapshot
from strmsync.service.runlog import RunLog

log = logging.getLogger(__name__)
TRANSFERS = ("upload", "download", "conflict")
SMB_TICK = 100  # SMB keeps times in 100 ns steps: what the share will list for a set mtime


class Stopped(Exception):
    """The user stopped the run (cancel); it ends at the next safe point."""


@dataclass
class Sides:
    """Both sides of a mirror as the scan listed them."""

    local: LocalSide
    remote: SmbRemote
    local_files: dict
    remote_files: dict


class Executor:
    """Carries out a plan; transfers run concurrently, everything else in order."""

    def __init__(self, sides: Sides, snapshot: Snapshot, progress: MirrorProgress,
                 checkpoint: Callable[[], None], run_log: RunLog, mode: str, attempts: int,
                 record_change: Callable[[str, str, str], None]):
        self.sides, self.snapshot, self.progress = sides, snapshot, progress
        self.checkpoint, self.log, self.mode, self.attempts = checkpoint, run_log, mode, attempts
        self.record_change = record_change
        self.when = datetime.now().astimezone()
        self.day = time.strftime("%Y-%m-%d", time.gmtime())
        self.unreachable = threading.Event()

    def run(self, actions: list[Action], concurrency: int) -> None:
        """Do every action; a fatal error or a stop ends the phase (what is done stays done)."""
        for action in actions:
            if action.kind not in TRANSFERS:
                self.checkpoint()
                self._attempt(action)
        transfers = [a for a in actions if a.kind in TRANSFERS]
        with ThreadPoolExecutor(concurrency, thread_name_prefix="mirror") as pool:
            futures = [pool.submit(self._attempt, action) for action in transfers]
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for future in pending:
                future.cancel()
            for future in done:
                if future.exception() is not None:
                    for other in pending:
                        other.cancel()
                    raise future.exception()

    def _attempt(self, action: Action) -> None:
        self.checkpoint()
        for attempt in range(1, self.attempts + 1):
            try:
                getattr(self, f"_{action.kind}")(action)
                self.progress.moved(file_done=True)
                return
            except NetworkError as exc:
                if attempt == self.attempts or self.unreachable.is_set():
                    self._failed(action, f"{exc} (tried {attempt} times; left for the next run)")
                    self._stop_if_unreachable(exc)
                    return
                self.log.warning("%s: %s; trying again", action.path, exc)
                self._wait(min(2 ** attempt, 30))
            except FileError as exc:
                self._failed(action, str(exc))
                return
            except OSError as exc:  # a local file: per file, unless the disk is full
                if exc.errno in (28, 30):  # ENOSPC, EROFS
                    raise FatalError(f"local folder: {exc.strerror}: {exc.filename}") from None
                self._failed(action, f"{exc.strerror}: {exc.filename}")
                return

    def _stop_if_unreachable(self, exc: NetworkError) -> None:
        # A server that is gone fails every file alike: end the run once, rather than
        # retry each file left with backoff (what was done is kept for the next run).
        try:
            self.sides.remote.check()
        except NetworkError:
            self.unreachable.set()
            raise FatalError(f"the share cannot be reached: {exc}; what was done is kept,"
                             " the rest is left for the next run") from None
        except StrmsyncError:
            pass

    def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.unreachable.is_set():
            self.checkpoint()
            time.sleep(0.1)

    def _failed(self, action: Action, why: str) -> None:
        self.log.error("%s %s failed: %s", action.kind, action.path, why)
        self.progress.add(failed=1)

    # the actions ---------------------------------------------------------------------------

    def _upload(self, action: Action, count: bool = True) -> None:
        path, local, remote = action.path, self.sides.local, self.sides.remote
        before = local.stat(path)
        if before is None:
            raise FileError(f"{path}: gone from the local folder since it was listed")
        aside = self._trash_remote(path) if path in self.sides.remote_files else None
        try:
            sent = remote.upload(local.path(path), path, before.mtime_ns,
                                 on_bytes=self.progress.moved, checkpoint=self.checkpoint)
        except BaseException:
            if aside:
                remote.rename(aside, path)  # the old copy back where it was
            raise
        self.snapshot.put(path, before, Entry(sent, before.mtime_ns // SMB_TICK * SMB_TICK))
        if count:
            self.progress.add(uploaded=1, bytes=sent)
            self.record_change("upload", "file", path)

    def _download(self, action: Action, count: bool = True) -> None:
        path, local, remote = action.path, self.sides.local, self.sides.remote
        aside = self._trash_local(path) if local.stat(path) is not None else None
        try:
            got = remote.download(path, local.path(path), on_bytes=self.progress.moved,
                                  checkpoint=self.checkpoint)
        except BaseException:
            if aside:
                local.move(aside, path)
            raise
        entry = Entry(got.size, got.mtime_ns)
        self.snapshot.put(path, entry, entry)
        if count:
            self.progress.add(downloaded=1, bytes=got.size)
            self.record_change("download", "file", path)

    def _delete_local(self, action: Action) -> None:
        if self.sides.local.stat(action.path) is not None:
            self._trash_local(action.path)
        self.snapshot.drop(action.path)
        self.progress.add(deleted_local=1)
        self.record_change("delete_local", "file", action.path)

    def _delete_remote(self, action: Action) -> None:
        self._trash_remote(action.path)
        self.snapshot.drop(action.path)
        self.progress.add(deleted_remote=1)
        self.record_change("delete_remote", "file", action.path)

    def _record(self, action: Action) -> None:
        self.snapshot.put(action.path, self.sides.local_files[action.path],
                          self.sides.remote_files[action.path])

    def _forget(self, action: Action) -> None:
        self.snapshot.drop(action.path)

    def _conflict(self, action: Action) -> None:
        self.log.warning("conflict: %s (%s): %s", action.path, action.reason,
                         f"{action.winner} wins" if action.winner else "keeping both")
        if action.winner == "local":
            self._upload(action)
        elif action.winner == "remote":
            self._download(action)
        else:
            self._keep_both(action)
        self.progress.add(conflicts=1)
        self.record_change("conflict", action.winner or "keep-both", action.path)

    def _keep_both(self, action: Action) -> None:
        path, local, remote = action.path, self.sides.local, self.sides.remote
        if self.mode == "download":
            aside = conflict_name(path, "local", self.when)
            local.move(path, aside)
            self._download(action)
            if stat := local.stat(aside):
                self.snapshot.put(aside, stat, None)
            self.log.info("kept the local copy of %s as %s", path, aside)
            return
        aside = conflict_name(path, "remote", self.when)
        remote.rename(path, aside)
        self.sides.remote_files.pop(path, None)  # moved aside: the upload replaces nothing
        self._upload(action)
        if self.mode == "mirror":
            self._download(Action("download", aside, "kept copy"), count=False)
        else:
            moved = remote.stat(aside)
            self.snapshot.put(aside, None, Entry(moved.size, moved.mtime_ns) if moved else None)
        self.log.info("kept the share's copy of %s as %s", path, aside)

    # trash ---------------------------------------------------------------------------------

    def _trash_local(self, path: str) -> str:
        aside = self._free_name(trash_path(path, self.day), self.sides.local.stat)
        self.sides.local.move(path, aside)
        return aside

    def _trash_remote(self, path: str) -> str:
        aside = self._free_name(trash_path(path, self.day), self.sides.remote.stat)
        self.sides.remote.rename(path, aside)
        return aside

    @staticmethod
    def _free_name(wanted: str, exists: Callable) -> str:
        name, number = wanted, 1
        while exists(name) is not None:
            number += 1
            name = f"{wanted}.{number}"
        return name
