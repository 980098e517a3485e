"""Wrong panel passwords, counted per client address: too many and that address waits.

The panel password guards the panel and the API on the network port. Each wrong try
already costs a second, but a guesser can run many at once; so after MAX_FAILURES wrong
passwords from one address within WINDOW seconds, that address gets no password checked
(panel login or API basic auth) for LOCKOUT seconds. A right password clears its count.
Counts live in the serving process's memory: a restart forgets them.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_FAILURES = 10
WINDOW = 600.0
LOCKOUT = 300.0
MAX_ADDRESSES = 10_000  # the oldest address is forgotten beyond this many


@dataclass
class _Record:
    failures: list = field(default_factory=list)  # monotonic times of wrong passwords
    locked_until: float = 0.0


class LoginLockout:
    """Counts wrong passwords per address and says how long an address must wait."""

    def __init__(self, max_failures: int = MAX_FAILURES, window: float = WINDOW,
                 lockout: float = LOCKOUT, clock: Callable[[], float] = time.monotonic):
        self.max_failures, self.window, self.lockout = max_failures, window, lockout
        self.clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._lock = threading.Lock()

    def wait_for(self, address: str) -> float:
        """Seconds `address` must still wait before a password of its is checked (0: none)."""
        with self._lock:
            record = self._records.get(address)
            return max(0.0, record.locked_until - self.clock()) if record else 0.0

    def failed(self, address: str) -> None:
        """Count a wrong password from `address`; lock it out once it has too many."""
        now = self.clock()
        with self._lock:
            record = self._records.pop(address, None) or _Record()
            self._records[address] = record  # the most recent address goes last
            record.failures = [t for t in record.failures if now - t < self.window] + [now]
            if len(record.failures) >= self.max_failures:
                record.locked_until = now + self.lockout
                record.failures.clear()
            while len(self._records) > MAX_ADDRESSES:
                self._records.popitem(last=False)

    def succeeded(self, address: str) -> None:
        """A right password from `address`: its wrong ones are forgotten."""
        with self._lock:
            self._records.pop(address, None)


def wait_message(seconds: float) -> str:
    """What a locked-out client is told."""
    minutes = max(1, round(seconds / 60))
    return (f"too many wrong passwords from this address: try again in {minutes}"
            f" minute{'s' if minutes != 1 else ''}")
