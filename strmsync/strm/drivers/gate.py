"""Per-source request limits: rate, concurrency, a shared pause when throttled, retries."""

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, TypeVar

from strmsync.errors import ConfigError, RetryableError, ThrottledError

if TYPE_CHECKING:
    from strmsync.strm.drivers.sharedlimits import SharedLimits

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class SourcePolicy:
    """How hard a driver may press a source, and how it waits and retries."""

    qps: float = 0.0  # requests started per second; 0 means no limit
    concurrency: int = 8  # requests in flight at once
    attempts: int = 5  # tries per call, throttled tries included
    backoff: float = 0.5  # wait before the first retry, doubled for each next one
    max_backoff: float = 10.0
    throttle_pause: float = 2.0  # first pause of the whole source when it throttles
    max_pause: float = 60.0  # longest pause, also the cap on a server's Retry-After
    timeout: float = 30.0  # every HTTP request; every unary gRPC call's deadline
    list_timeout: float = 120.0  # deadline of one streamed folder listing
    relist_pause: float = 3.0  # wait before listing again folders that came back empty
    page_size: int = 1000  # entries per listing page, where the API pages

    @classmethod
    def from_source(cls, source: dict, **overrides) -> "SourcePolicy":
        """The policy of a source record: its qps and concurrency plus optional tuning keys."""
        config = source.get("config") or {}
        values = {f.name: config[f.name] for f in fields(cls)
                  if f.name in config and config[f.name] not in (None, "")}
        if source.get("qps") is not None:
            values["qps"] = source["qps"]
        if source.get("concurrency"):
            values["concurrency"] = source["concurrency"]
        values.update(overrides)
        try:
            typed = {f.name: type(getattr(cls, f.name))(values[f.name])
                     for f in fields(cls) if f.name in values}
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"source: bad tuning value: {exc}") from None
        return replace(cls(), **typed)


class SourceGate:
    """Admits requests to one source: at most `concurrency` at once, `qps` a second,
    none while the source is paused for throttling; retries transient failures."""

    def __init__(self, policy: SourcePolicy, name: str = "source",
                 shared: "SharedLimits | None" = None):
        self.policy = policy
        self.name = name
        # With shared limits (a run in the service), the pause and the qps budget are the
        # source's across every process; concurrency stays per process.
        self.shared = shared
        self.stats: Counter = Counter()
        self._slots = threading.BoundedSemaphore(max(1, policy.concurrency))
        self._lock = threading.Lock()
        self._next_start = 0.0
        self._resume_at = 0.0
        self._paused_since = 0.0
        self._level = 0
        self._pause_stamp = ""
        self._in_flight = 0

    def call(self, fn: Callable[[], T], what: str) -> T:
        """Run `fn()` as one request; retry RetryableError, pause on ThrottledError."""
        delay = self.policy.backoff
        attempts = max(1, self.policy.attempts)
        for attempt in range(1, attempts + 1):
            try:
                with self._slot() as started:
                    result = fn()
            except ThrottledError as exc:
                self._throttled(started, exc)
                if attempt == attempts:
                    raise ThrottledError(f"{exc} (gave up after {attempt} tries)") from exc
                continue
            except RetryableError as exc:
                self.stats["retries"] += attempt < attempts
                if attempt == attempts:
                    raise RetryableError(f"{exc} (gave up after {attempt} tries)") from exc
                log.info("%s: %s: %s; retrying in %.2f s", self.name, what, exc, delay)
                time.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self.policy.max_backoff)
                continue
            self._succeeded(started)
            return result
        raise AssertionError("unreachable")

    @property
    def paused(self) -> bool:
        """True while the source is paused for throttling."""
        return time.monotonic() < self._pause_end()

    @contextmanager
    def _slot(self) -> Iterator[float]:
        with self._slots:
            started = self._wait_turn()
            with self._lock:
                self._in_flight += 1
                self.stats["calls"] += 1
                self.stats["peak_in_flight"] = max(self.stats["peak_in_flight"], self._in_flight)
            try:
                yield started
            finally:
                with self._lock:
                    self._in_flight -= 1

    def _wait_turn(self) -> float:
        while True:
            wait = self._pause_end() - time.monotonic()  # one reading: never a negative sleep
            if wait > 0:
                time.sleep(wait)
                continue
            wait = self._reserve() - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            now = time.monotonic()
            if self._pause_end() <= now:
                return now
            # a pause began while this request waited for its turn: wait it out, queue anew

    def _pause_end(self) -> float:
        shared = self.shared.resume_at() if self.shared is not None else 0.0
        return max(self._resume_at, shared)

    def _reserve(self) -> float:
        if self.policy.qps <= 0:
            return time.monotonic()
        interval = 1.0 / self.policy.qps
        if self.shared is not None:
            start = self.shared.reserve(interval)
            if start is not None:
                return start
        with self._lock:
            start = max(time.monotonic(), self._next_start)
            self._next_start = start + interval
            return start

    def _throttled(self, started: float, exc: ThrottledError) -> None:
        with self._lock:
            self.stats["throttled"] += 1
            if started < self._paused_since:
                return  # sent before the current pause began: that pause already covers it
        shared = None
        if self.shared is not None:
            shared = self.shared.pause(time.monotonic() - started, self.policy.throttle_pause,
                                       self.policy.max_pause, exc.retry_after, str(exc))
        with self._lock:
            if shared is not None:
                self._resume_at = max(self._resume_at, shared.resume_at)
                if not shared.new:
                    return  # another process's pause already covers this request
                self._level, self._pause_stamp = shared.level, shared.stamp
            elif started < self._paused_since:
                return  # another thread paused the source meanwhile
            else:
                self._level += 1
                self._resume_at = max(self._resume_at, time.monotonic() + self._pause_for(exc))
            pause = self._resume_at - time.monotonic()
            self._paused_since = time.monotonic()
            self.stats["pauses"] += 1
        log.warning("%s throttled (%s): pausing all its requests for %.1f s",
                    self.name, exc, pause)

    def _pause_for(self, exc: ThrottledError) -> float:
        policy = self.policy
        pause = min(policy.max_pause, policy.throttle_pause * 2 ** (self._level - 1))
        return max(pause, min(exc.retry_after, policy.max_pause))

    def _succeeded(self, started: float) -> None:
        if self._level and started >= self._paused_since:
            with self._lock:
                self._level, stamp = 0, self._pause_stamp
            if self.shared is not None and stamp:
                self.shared.calm(stamp)
