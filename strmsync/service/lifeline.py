"""Processes that end when the process that started them dies, however it dies.

`strmsync serve` starts workers, each worker forks a work horse per run (in a process group
of its own), and the embedded redis-server daemonises itself. A `kill -9` of serve's
process group reaches none of the horses and not the daemon, so:
- workers and work horses ask Linux for a parent-death signal (`PR_SET_PDEATHSIG`);
- the embedded Redis gets a watchdog process in a session of its own, itself under a
  parent-death signal, which stops that Redis and removes its temporary directory.
"""

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import subprocess
import sys
import time

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1
PARENT_ENV = "STRMSYNC_PARENT_PID"
REDIS_STOP_WAIT = 10.0


def die_with_parent(parent_pid: int, sig: int = signal.SIGTERM) -> bool:
    """Have `sig` sent to this process when `parent_pid` (its parent) dies; False where
    the system cannot (not Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent_pid:  # the parent died before the signal was asked for
        os.kill(os.getpid(), sig)
    return True


def die_with_parent_from_env() -> None:
    """`die_with_parent` for a process whose starter put its pid in the environment."""
    parent = os.environ.pop(PARENT_ENV, "")
    if parent.isdigit():
        die_with_parent(int(parent))


def watch_embedded_redis(redis_pid: int, redis_dir: str) -> subprocess.Popen:
    """Start the watchdog that stops this Redis and removes `redis_dir` when we die."""
    return subprocess.Popen(
        [sys.executable, "-m", "strmsync.service.lifeline", str(os.getpid()), str(redis_pid),
         redis_dir], start_new_session=True, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_redis(redis_pid: int, redis_dir: str) -> None:
    # SIGTERM makes redis-server flush its append-only file and exit cleanly.
    with contextlib.suppress(ProcessLookupError):
        os.kill(redis_pid, signal.SIGTERM)
    deadline = time.monotonic() + REDIS_STOP_WAIT
    while _alive(redis_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        if _alive(redis_pid):
            os.kill(redis_pid, signal.SIGKILL)
    shutil.rmtree(redis_dir, ignore_errors=True)


def _watchdog(parent_pid: int, redis_pid: int, redis_dir: str) -> None:
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for serve, which then stops us
    die_with_parent(parent_pid)
    # Also polled: where no parent-death signal exists, and in case Redis ends on its own.
    while not stopping and os.getppid() == parent_pid and _alive(redis_pid):
        time.sleep(0.5)
    _stop_redis(redis_pid, redis_dir)


if __name__ == "__main__":
    _watchdog(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
