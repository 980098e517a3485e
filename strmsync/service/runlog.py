"""A run's log: lines go to the named logger and, in bulk, to the run's record."""

import logging
import threading
import time

log = logging.getLogger("strmsync.run")


class RunLog:
    """Collects a run's log lines (capped) for storing with the run."""

    def __init__(self, limit: int = 10_000):
        self.lines: list = []
        self.limit = limit
        self.dropped = 0
        self._lock = threading.Lock()

    def add(self, level: int, message: str, *args) -> None:
        """Log at `level` and keep the line for the record."""
        text = message % args if args else message
        log.log(level, "%s", text)
        with self._lock:
            if len(self.lines) < self.limit:
                self.lines.append((time.time(), logging.getLevelName(level), text))
            else:
                self.dropped += 1

    def info(self, message: str, *args) -> None:
        """An informational line."""
        self.add(logging.INFO, message, *args)

    def warning(self, message: str, *args) -> None:
        """A warning line."""
        self.add(logging.WARNING, message, *args)

    def error(self, message: str, *args) -> None:
        """An error line."""
        self.add(logging.ERROR, message, *args)

    def take(self) -> list:
        """Hand over the lines collected so far (and a note of any dropped)."""
        with self._lock:
            lines, self.lines = self.lines, []
            if self.dropped:
                lines.append((time.time(), "WARNING", f"{self.dropped} more log lines dropped"))
                self.dropped = 0
        return lines
