"""One source's throttle pause and request rate, shared through Redis by every process.

In the service each run works in its own RQ work horse, so a gate per process would let
one run hammer a source another run was told to leave alone, and their rates would add
up (DESIGN.md §6). The gate of every run on a source consults this record instead.

Times are Redis server time (`TIME` inside the scripts), and only durations ("resume in
1.3 s") leave Redis: each process turns them into its own monotonic clock, so workers on
other machines with skewed clocks still agree.
"""

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)

PAUSE_READ_EVERY = 0.2  # seconds one read of the shared pause is trusted
STANDALONE_FOR = 30.0  # after a Redis error, seconds each process keeps to its own gate
REDIS_TIMEOUT = 2.0  # a Redis that does not answer sooner counts as failing: go on alone

# Scripts that write after reading TIME need effects replication; it is the default from
# Redis 5 and a no-op from 7, so asking for it costs nothing on the bundled 6.2.
_CLOCK = """
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local function fmt(x) return string.format('%.6f', x) end
"""

# KEYS: pause. Returns the seconds left of the pause (0: none) and who started it, why.
_READ = _CLOCK + """
local p = redis.call('HMGET', KEYS[1], 'until', 'stamp', 'owner', 'why')
local untl = tonumber(p[1]) or 0
if untl <= now then return {'0'} end
return {fmt(untl - now), p[2], p[3], p[4]}
"""

# KEYS: pause. ARGV: seconds since the throttled request started, first pause, longest
# pause, Retry-After, seconds the level is remembered after a pause, owner, why.
# A request that started before the current pause ended was sent by a process that had
# not seen it yet: its answer says nothing new, so it neither extends nor escalates.
_PAUSE = _CLOCK + """
local ago, base, cap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local after, keep = tonumber(ARGV[4]), tonumber(ARGV[5])
local p = redis.call('HMGET', KEYS[1], 'until', 'level', 'stamp', 'owner', 'why')
local untl, level = tonumber(p[1]) or 0, tonumber(p[2]) or 0
if now - ago < untl then
  return {fmt(math.max(0, untl - now)), level, p[3], p[4], p[5], 0}
end
level = level + 1
local pause = math.max(math.min(cap, base * 2 ^ (level - 1)), math.min(after, cap))
local stamp = fmt(now)
redis.call('HSET', KEYS[1], 'until', fmt(now + pause), 'level', level, 'stamp', stamp,
           'owner', ARGV[6], 'why', ARGV[7])
redis.call('PEXPIRE', KEYS[1], math.ceil((pause + keep) * 1000))
return {fmt(pause), level, stamp, ARGV[6], ARGV[7], 1}
"""

# KEYS: pause. ARGV: the stamp of the pause a request got through after.
_CALM = """
if redis.call('HGET', KEYS[1], 'stamp') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'level', 0)
end
return 0
"""

# KEYS: next start, pause. ARGV: interval. Takes the next free start (never inside a
# pause) and returns how long until it comes.
_RESERVE = _CLOCK + """
local interval = tonumber(ARGV[1])
local nxt = tonumber(redis.call('GET', KEYS[1])) or 0
local untl = tonumber(redis.call('HGET', KEYS[2], 'until')) or 0
local start = math.max(now, nxt, untl)
redis.call('SET', KEYS[1], fmt(start + interval), 'PX',
           math.ceil((start + interval - now) * 1000) + 1000)
return fmt(start - now)
"""


@dataclass(frozen=True)
class SharedPause:
    """The source's pause after a throttled answer, as Redis recorded it."""

    resume_at: float  # on this process's monotonic clock
    level: int  # how many throttles in a row, across every process
    stamp: str  # the pause's start in server time: its identity
    new: bool  # False when an earlier pause already covered the throttled request


class SharedLimits:
    """The throttle pause, its escalation and the qps budget of one source, in Redis.

    Every method answers None (or "no pause") while Redis fails, so the gate goes on alone
    rather than failing the run; the first failure is logged once.
    """

    def __init__(self, conn: redis.Redis, source_id: int | str, owner: str = "",
                 report: Callable[[str], None] | None = None):
        self.owner = owner or uuid.uuid4().hex
        self.report = report or (lambda text: None)
        prefix = f"strmsync:source:{source_id}"
        self._pause_key, self._next_key = f"{prefix}:pause", f"{prefix}:next"
        self._scripts = {name: conn.register_script(text) for name, text in (
            ("read", _READ), ("pause", _PAUSE), ("calm", _CALM), ("reserve", _RESERVE))}
        self._lock = threading.Lock()
        self._read_at = -PAUSE_READ_EVERY
        self._resume_at = 0.0
        self._announced: set = set()
        self._standalone_until = 0.0
        self._warned = False

    def resume_at(self) -> float:
        """When the shared pause ends on the monotonic clock (0.0: not paused)."""
        with self._lock:
            if time.monotonic() - self._read_at < PAUSE_READ_EVERY:
                return self._resume_at
            self._read_at = time.monotonic()  # other threads use the last answer meanwhile
        reply = self._run("read", [self._pause_key])
        now = time.monotonic()  # after the round trip: the pause may end late, never early
        left = float(reply[0]) if reply else 0.0
        resume = now + left if left > 0 else 0.0
        with self._lock:
            self._resume_at = resume
        if resume:
            self._note(*(_text(item) for item in reply[1:4]), left)
        return resume

    def pause(self, ago: float, first: float, longest: float, retry_after: float,
              why: str) -> SharedPause | None:
        """Pause the source for every process after a request `ago` seconds old throttled.

        The pause doubles from `first` up to `longest` with each throttle in a row, whoever
        meets it; the level is forgotten `longest` seconds after a pause ends, or at once
        when a request gets through (`calm`).
        """
        reply = self._run("pause", [self._pause_key],
                          [ago, first, longest, retry_after, max(longest, 1.0),
                           self.owner, why])
        if reply is None:
            return None
        now = time.monotonic()
        left, level, stamp, owner, reason, new = reply
        left, stamp = float(left), _text(stamp)
        with self._lock:
            self._resume_at = max(self._resume_at, now + left)
        if new:
            self._announced.add(stamp)
            self.report(f"source throttled ({why}): every run on it pauses for {left:.1f} s")
        else:
            self._note(stamp, _text(owner), _text(reason), left)
        return SharedPause(now + left, int(level), stamp, bool(new))

    def calm(self, stamp: str) -> None:
        """A request got through after pause `stamp`: the next throttle starts short again."""
        self._run("calm", [self._pause_key], [stamp])

    def reserve(self, interval: float) -> float | None:
        """Take the source's next start `interval` after the last one taken by anyone;
        returns when it comes on the monotonic clock (None: Redis failed, pace locally)."""
        reply = self._run("reserve", [self._next_key, self._pause_key], [interval])
        return None if reply is None else time.monotonic() + float(reply)

    def _note(self, stamp: str, owner: str, why: str, left: float) -> None:
        if owner == self.owner or left <= 0:
            return
        with self._lock:
            if stamp in self._announced:
                return
            self._announced.add(stamp)
        self.report(f"source paused by {owner or 'another run'} ({why}):"
                    f" waiting {left:.1f} s before its next request")

    def _run(self, name: str, keys: list, args: list | None = None):
        if time.monotonic() < self._standalone_until:
            return None
        try:
            return self._scripts[name](keys=keys, args=args or [])
        except redis.RedisError as exc:
            self._standalone_until = time.monotonic() + STANDALONE_FOR
            if not self._warned:
                self._warned = True
                log.warning("shared source limits unavailable (%s): this run paces the"
                            " source on its own", exc)
                self.report(f"shared source limits unavailable ({exc}): this run paces"
                            " the source on its own")
            return None


class SharedLimitsLookup:
    """A lookup giving a source record its shared limits on the Redis `conn` talks to
    (None without an id), through a connection of its own with short timeouts: a hung
    Redis holds a request up for REDIS_TIMEOUT at most, not the queue's 30 s. `close()`
    it when the run ends: its connections are its own."""

    def __init__(self, conn: redis.Redis, owner: str,
                 report: Callable[[str], None] | None = None):
        pool = conn.connection_pool
        self.pool = redis.ConnectionPool(
            connection_class=pool.connection_class,
            **{**pool.connection_kwargs, "socket_timeout": REDIS_TIMEOUT,
               "socket_connect_timeout": REDIS_TIMEOUT})
        self.quick = redis.Redis(connection_pool=self.pool)
        self.owner = owner
        self.report = report

    def __call__(self, source: dict) -> SharedLimits | None:
        if source.get("id") is None:
            return None
        return SharedLimits(self.quick, source["id"], self.owner, self.report)

    def close(self) -> None:
        """Close the lookup's connections."""
        self.quick.close()
        self.pool.disconnect()


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)
