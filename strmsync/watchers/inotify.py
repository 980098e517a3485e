"""Watch a local directory tree with inotify, recursively, new folders included."""

import logging
import os
import threading
import time
from collections.abc import Callable

from inotify_simple import INotify
from inotify_simple import flags as F

from strmsync.events import Event

log = logging.getLogger(__name__)

MASK = (F.CLOSE_WRITE | F.CREATE | F.MOVED_TO | F.MOVED_FROM | F.DELETE | F.DELETE_SELF
        | F.MOVE_SELF | F.ONLYDIR)
FLUSH_EVERY = 0.5


class InotifyWatcher:
    """A thread reporting batches of Events under `root` to `on_events`.

    `on_overflow` is called when the kernel dropped events: only a walk can catch up.
    """

    def __init__(self, root: str, on_events: Callable[[list], None],
                 on_overflow: Callable[[], None]):
        self.root = os.path.abspath(root)
        self.on_events, self.on_overflow = on_events, on_overflow
        self.paths: dict[int, str] = {}
        self._stop = threading.Event()
        self._inotify = INotify()
        self._thread = threading.Thread(target=self._loop, name=f"watch:{self.root}",
                                        daemon=True)

    def start(self) -> "InotifyWatcher":
        """Add watches for the whole tree, then start reading events."""
        self._watch_tree(self.root)
        log.info("watching %s (%d folders)", self.root, len(self.paths))
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop reading and release the inotify handle."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._inotify.close()

    def _watch_tree(self, top: str) -> list[str]:
        added = []
        for dirpath, dirnames, _files in os.walk(top):
            try:
                wd = self._inotify.add_watch(dirpath, MASK)
            except OSError as exc:
                log.warning("cannot watch %s: %s", dirpath, exc.strerror)
                dirnames[:] = []
                continue
            self.paths[wd] = dirpath
            added.append(dirpath)
        return added

    def _loop(self) -> None:
        pending: list[Event] = []
        last_flush = time.monotonic()
        while not self._stop.is_set():
            for raw in self._inotify.read(timeout=int(FLUSH_EVERY * 1000)):
                pending.extend(self._translate(raw))
            if pending and time.monotonic() - last_flush >= FLUSH_EVERY:
                self._flush(pending)
                pending = []
                last_flush = time.monotonic()
        if pending:
            self._flush(pending)

    def _flush(self, events: list) -> None:
        try:
            self.on_events(events)
        except Exception:  # noqa: BLE001 - a failed hand-over must not stop watching
            log.exception("could not buffer %d watched event(s)", len(events))

    def _translate(self, raw) -> list[Event]:
        if raw.mask & F.Q_OVERFLOW:
            log.warning("inotify queue overflowed under %s; a full walk will catch up", self.root)
            self.on_overflow()
            return []
        folder = self.paths.get(raw.wd)
        if folder is None:
            return []
        if raw.mask & (F.IGNORED | F.DELETE_SELF | F.MOVE_SELF):
            self.paths.pop(raw.wd, None)
            return []
        path = os.path.join(folder, raw.name)
        is_dir = bool(raw.mask & F.ISDIR)
        if raw.mask & (F.CREATE | F.MOVED_TO) and is_dir:
            # Files may land in a new folder before its watch exists: the run walks it.
            self._watch_tree(path)
            return [Event("create", path, None, True)]
        if raw.mask & (F.CLOSE_WRITE | F.MOVED_TO):
            return [Event("create", path, None, False)]
        if raw.mask & (F.DELETE | F.MOVED_FROM):
            return [Event("delete", path, None, is_dir)]
        return []
