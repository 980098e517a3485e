"""Live progress of a run: counts, rate and ETA, reported through a callback."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

COUNTS = ("scanned", "created", "updated", "skipped", "deleted", "failed", "meta_copied")


@dataclass
class Progress:
    """Counters of one run, safe to bump from worker threads."""

    callback: Callable[[dict], None] | None = None
    expected: int = 0
    interval: float = 0.5
    counts: dict = field(default_factory=lambda: dict.fromkeys((*COUNTS, "folders"), 0))
    phase: str = "starting"
    started: float = field(default_factory=time.monotonic)
    _last: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **deltas: int) -> None:
        """Add to the counters and report if it is time to."""
        with self._lock:
            for name, delta in deltas.items():
                self.counts[name] += delta
        self.maybe_report()

    def set_phase(self, phase: str) -> None:
        """Enter a new phase (scanning, cleanup, done) and report it at once."""
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
        """Counts plus elapsed time, rate (files/s), the expected total and an ETA.

        The total is what the last run saw; with none (a first run) or once the scan has
        gone past it, the total is unknown (None) and so is the ETA: no made-up figures.
        """
        with self._lock:
            counts = dict(self.counts)
        elapsed = max(time.monotonic() - self.started, 1e-9)
        done = counts["scanned"]
        total = self.expected if self.expected >= done and self.expected else None
        if self.phase == "done":
            total = done
        rate = done / elapsed
        eta = (total - done) / rate if total and rate > 0 and self.phase == "scanning" \
            else None
        return {**counts, "phase": self.phase, "elapsed_s": round(elapsed, 2),
                "rate": round(rate, 1), "total": total,
                "eta_s": round(eta, 1) if eta is not None else None}
