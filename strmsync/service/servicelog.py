"""The service log: recent lines of every strmsync process (serve, workers, here or on other
machines), kept in the queue's Redis so the panel and `GET /api/v1/log` can show them.

Records go through a queue to one background thread per process, so logging never waits
for Redis; a record marked `private` (the setup code) stays in the process's own output.
"""

import contextlib
import json
import logging
import logging.handlers
import os
import queue
import socket
import threading

import redis

KEY = "strmsync:log"
KEPT = 2000
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_local = threading.local()


class RedisLogHandler(logging.Handler):
    """Appends records to the shared list, trimmed to the newest KEPT."""

    def __init__(self, conn: redis.Redis, process: str):
        super().__init__()
        self.conn, self.process = conn, process

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(_local, "busy", False):
            return  # redis-py logging about this very write
        _local.busy = True
        try:
            line = json.dumps({"ts": record.created, "level": record.levelname,
                               "logger": record.name, "process": self.process,
                               "message": record.getMessage()})
            with self.conn.pipeline() as pipe:
                pipe.rpush(KEY, line).ltrim(KEY, -KEPT, -1).execute()
        except (redis.RedisError, OSError):
            pass  # the log must never take the service down
        finally:
            _local.busy = False


class _DroppingQueueHandler(logging.handlers.QueueHandler):
    # A burst beyond the queue's size loses lines of the shared log, never a run's work.
    def enqueue(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(queue.Full):
            self.queue.put_nowait(record)


class _Public(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "private", False)


def attach(conn: redis.Redis, process: str, level: int = logging.INFO):
    """Send this process's log records (at `level` and above) to the shared service log;
    returns the listener, to `stop()` on the way out."""
    records: queue.Queue = queue.Queue(10_000)
    handler = _DroppingQueueHandler(records)
    handler.setLevel(level)
    handler.addFilter(_Public())
    logging.getLogger().addHandler(handler)
    listener = logging.handlers.QueueListener(records, RedisLogHandler(conn, process))
    listener.start()
    listener.attached = handler
    return listener


def detach(listener) -> None:
    """Stop sending records (the ones queued so far are written first)."""
    logging.getLogger().removeHandler(listener.attached)
    listener.stop()


def reattach_in_child(listener, conn: redis.Redis, process: str):
    """After a fork: the parent's sending thread did not come along, so drop its handler
    and start this process's own."""
    logging.getLogger().removeHandler(listener.attached)
    return attach(conn, process, listener.attached.level)


def process_name(role: str) -> str:
    """How a process is named in the log: its role, host and pid."""
    return f"{role}@{socket.gethostname()}:{os.getpid()}"


def recent(conn: redis.Redis, level: str = "", limit: int = 500) -> list[dict]:
    """The newest `limit` lines at `level` or above, oldest first."""
    floor = LEVELS.index(level) if level in LEVELS else 0
    lines = [json.loads(raw) for raw in conn.lrange(KEY, -KEPT, -1)]
    kept = [line for line in lines
            if line["level"] not in LEVELS or LEVELS.index(line["level"]) >= floor]
    return kept[-limit:]
