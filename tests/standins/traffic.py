"""What a stand-in server was asked: counts per endpoint, concurrency, and a call log."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Call:
    """One request as the server received it."""

    endpoint: str
    method: str
    target: str
    body: Any
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


class Traffic:
    """Counts and records the calls a stand-in server receives, thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.in_flight = 0
        self.reset()

    def reset(self) -> None:
        """Forget every count and logged call (calls still in flight stay counted)."""
        with self._lock:
            self.calls: Counter[str] = Counter()
            self.list_calls: Counter[str] = Counter()
            self.refreshed: list[str] = []
            self.log: list[Call] = []
            self.peak_in_flight = self.in_flight

    def record(self, call: Call) -> None:
        """Count `call` against its endpoint and append it to the log."""
        with self._lock:
            self.calls[call.endpoint] += 1
            self.log.append(call)

    def record_listing(self, path: str, refresh: bool) -> None:
        """Count a folder listing of `path`, noting whether it asked for a refresh."""
        with self._lock:
            self.list_calls[path] += 1
            if refresh:
                self.refreshed.append(path)

    def calls_to(self, endpoint: str) -> list[Call]:
        """Return the logged calls to `endpoint`, oldest first."""
        with self._lock:
            return [call for call in self.log if call.endpoint == endpoint]

    @contextmanager
    def track(self) -> Iterator[None]:
        """Count the enclosed block as one request in flight."""
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1
