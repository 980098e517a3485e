"""Run control in Redis: target slots, heartbeats and cancel requests (DESIGN.md §4.7)."""

import os
import threading

import redis

SLOTS = "strmsync:targets"
POLL_EVERY = 0.5


def alive_ttl() -> int:
    """Seconds a run may go without a heartbeat before it counts as dead."""
    return max(int(os.environ.get("STRMSYNC_HEARTBEAT_TTL", "30")), 2)


def _alive_key(run_id: int) -> str:
    return f"strmsync:run:{run_id}:alive"


def _cancel_key(run_id: int) -> str:
    return f"strmsync:run:{run_id}:cancel"


def _pause_key(run_id: int) -> str:
    return f"strmsync:run:{run_id}:pause"


def overlaps(a: str, b: str) -> bool:
    """True when one target root is, or lies inside, the other."""
    a, b = a.rstrip("/") or "/", b.rstrip("/") or "/"
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


def acquire(conn: redis.Redis, run_id: int, roots: str | list[str],
            exclusive: bool) -> int | None:
    """Claim the run's target roots; None when granted, else the id of a run holding one.

    A mirror run holds two roots (its local folder and its share folder); a run whose roots
    overlap any of another live run's waits. `exclusive` (one run at a time, globally) makes
    every other run a conflict.
    """
    roots = [roots] if isinstance(roots, str) else list(roots)
    with conn.pipeline() as pipe:
        while True:
            try:
                pipe.watch(SLOTS)
                holders = {int(k): v.decode().split("\n") for k, v in pipe.hgetall(SLOTS).items()}
                blocker = _blocker(conn, holders, run_id, roots, exclusive)
                if blocker is not None:
                    pipe.unwatch()
                    return blocker
                pipe.multi()
                pipe.hset(SLOTS, str(run_id), "\n".join(roots))
                pipe.execute()
                return None
            except redis.WatchError:
                continue


def _blocker(conn, holders: dict, run_id: int, roots: list[str], exclusive: bool) -> int | None:
    for other, other_roots in holders.items():
        if other == run_id:
            continue
        if not is_alive(conn, other):
            conn.hdel(SLOTS, str(other))  # its worker died; the reaper records the run
            continue
        if exclusive or any(overlaps(a, b) for a in roots for b in other_roots):
            return other
    return None


def release(conn: redis.Redis, run_id: int) -> None:
    """Give the target back and forget the run's live keys."""
    conn.hdel(SLOTS, str(run_id))
    conn.delete(_alive_key(run_id), _cancel_key(run_id), _pause_key(run_id))


def is_alive(conn: redis.Redis, run_id: int) -> bool:
    """True while the run's worker keeps beating."""
    return bool(conn.exists(_alive_key(run_id)))


def request_cancel(conn: redis.Redis, run_id: int) -> None:
    """Ask a running run to stop at its next safe point."""
    conn.set(_cancel_key(run_id), 1, ex=24 * 3600)


def request_pause(conn: redis.Redis, run_id: int, paused: bool) -> None:
    """Ask a running run to wait at its next safe point (`paused`), or to go on."""
    if paused:
        conn.set(_pause_key(run_id), 1, ex=7 * 24 * 3600)
    else:
        conn.delete(_pause_key(run_id))


class Heartbeat:
    """While a run executes: keep its alive key fresh and turn cancel and pause requests into
    Events (`paused` is set while the run should wait)."""

    def __init__(self, conn: redis.Redis, run_id: int):
        self.conn, self.run_id = conn, run_id
        self.cancel = threading.Event()
        self.paused = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{run_id}",
                                        daemon=True)

    def __enter__(self) -> "Heartbeat":
        self.ttl = alive_ttl()
        self.conn.set(_alive_key(self.run_id), 1, ex=self.ttl)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        beats = 0
        while not self._stop.wait(POLL_EVERY):
            try:
                if self.conn.exists(_cancel_key(self.run_id)):
                    self.cancel.set()
                if self.conn.exists(_pause_key(self.run_id)):
                    self.paused.set()
                else:
                    self.paused.clear()
                beats += 1
                if beats * POLL_EVERY >= self.ttl / 4:
                    self.conn.set(_alive_key(self.run_id), 1, ex=self.ttl)
                    beats = 0
            except redis.RedisError:
                continue  # a blip in Redis must not kill the run; the TTL covers long ones
