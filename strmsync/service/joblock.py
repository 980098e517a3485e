"""An advisory per-job lock, so two processes never sync the same job at once."""

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from strmsync.errors import FatalError


@contextmanager
def job_lock(lock_dir: Path, job_id: int):
    """Hold `job-<id>.lock` for the duration; a held lock is a FatalError, not a wait."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_dir / f"job-{job_id}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FatalError(f"job {job_id}: another run of this job is in progress") from None
        yield
    finally:
        os.close(fd)
