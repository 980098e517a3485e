"""The GET budget of one Trakt account, shared through Redis by every process (DESIGN §9).

Trakt allows a few hundred GETs per five minutes per user; runs of one account in several
work horses (a scheduled run and a re-sync by hand) must add up to that, not each spend it.
A sliding log in a Redis sorted set on the server's clock: each GET is a member stamped
with its time; one more is allowed while fewer than `limit` lie inside the window.
"""

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable

import redis

# KEYS: the log. ARGV: limit, window seconds, a unique member. Returns 0 when the GET may
# go now (and records it), else the seconds until the oldest one leaves the window.
_TAKE = """
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('EXPIRE', KEYS[1], math.ceil(window) + 1)
  return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return string.format('%.3f', math.max(0.01, tonumber(oldest[2]) + window - now))
"""


class RequestBudget:
    """At most `limit` calls in any `window` seconds, shared by key (or in-process alone)."""

    def __init__(self, limit: int, window: float, conn: redis.Redis | None = None,
                 key: str = "", wait: Callable[[float], None] = time.sleep,
                 on_wait: Callable[[float], None] | None = None):
        self.limit, self.window, self.conn, self.key = limit, window, conn, key
        self.wait, self.on_wait = wait, on_wait
        self._script = conn.register_script(_TAKE) if conn is not None else None
        self._local: deque = deque()
        self._lock = threading.Lock()

    def take(self) -> None:
        """Block until one more call fits the budget, then count it."""
        while True:
            delay = self._shared() if self._script is not None else self._alone()
            if delay <= 0:
                return
            if self.on_wait is not None:
                self.on_wait(delay)
            self.wait(delay)

    def _shared(self) -> float:
        return float(self._script(keys=[self.key], args=[self.limit, self.window,
                                                         uuid.uuid4().hex]))

    def _alone(self) -> float:
        with self._lock:
            now = time.monotonic()
            while self._local and self._local[0] <= now - self.window:
                self._local.popleft()
            if len(self._local) < self.limit:
                self._local.append(now)
                return 0.0
            return self._local[0] + self.window - now
