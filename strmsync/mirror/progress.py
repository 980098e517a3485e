"""Live progress of a mirror run: files and bytes, rate and ETA, phase and counts."""

import threading
import time
from collections.abc import Callable

COUNTS = ("uploaded", "downloaded", "deleted_local", "deleted_remote", "conflicts", "refused",
          "failed", "bytes", "unchanged")


class MirrorProgress:
    """Counters of one mirror run, safe to bump from transfer threads."""

    def __init__(self, callback: Callable[[dict], None] | None = None, interval: float = 0.5):
        self.callback, self.interval = callback, interval
        self.counts = dict.fromkeys(COUNTS, 0)
        self.phase = "prepare"
        self.listed = {"local": 0, "remote": 0}
        self.files_total = self.bytes_total = self.files_done = self.bytes_done = 0
        self.started = time.monotonic()
        self._last = 0.0
        self._lock = threading.Lock()

    def add(self, **deltas: int) -> None:
        """Add to the run's counts."""
        with self._lock:
            for name, delta in deltas.items():
                self.counts[name] += delta
        self.maybe_report()

    def listed_one(self, side: str) -> None:
        """One more file listed on a side."""
        self.listed[side] += 1
        self.maybe_report()

    def plan(self, files: int, nbytes: int) -> None:
        """The work the execute phase has ahead of it."""
        self.files_total, self.bytes_total = files, nbytes
        self.report()

    def moved(self, nbytes: int = 0, file_done: bool = False) -> None:
        """Bytes sent or received; a file finished."""
        with self._lock:
            self.bytes_done += nbytes
            self.files_done += int(file_done)
        self.maybe_report()

    def set_phase(self, phase: str) -> None:
        """Enter a phase (prepare, scan, detect, execute, finalize, done, paused)."""
        self.phase = phase
        self.report()

    def maybe_report(self) -> None:
        """Report unless the last report was less than `interval` ago."""
        if time.monotonic() - self._last >= self.interval:
            self.report()

    def report(self) -> None:
        """Send a snapshot to the callback."""
        self._last = time.monotonic()
        if self.callback:
            self.callback(self.snapshot())

    def snapshot(self) -> dict:
        """Counts, files and bytes done of the planned total, rate and ETA."""
        with self._lock:
            counts, done, nbytes = dict(self.counts), self.files_done, self.bytes_done
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = nbytes / elapsed
        left = self.bytes_total - nbytes
        eta = round(left / rate, 1) if self.phase == "execute" and rate > 0 and left > 0 \
            else None
        return {"phase": self.phase, **counts, "listed_local": self.listed["local"],
                "listed_remote": self.listed["remote"], "files_done": done,
                "files_total": self.files_total, "bytes_done": nbytes,
                "bytes_total": self.bytes_total, "elapsed_s": round(elapsed, 1),
                "rate_bytes_s": round(rate), "eta_s": eta}
