"""The snapshot of a mirror job's last successful sync, one row per file (DESIGN.md §8).

A row is written right after its file succeeds, so a run that is killed resumes where it
stopped; a sentinel row (path "") says that a whole sync has succeeded once, which is what
separates a first run (union of both sides, nothing deleted) from a three-way one.
"""

import time

from strmsync.mirror.detect import Entry, SnapRow
from strmsync.store import Store

SYNCED = ""  # the sentinel row's path; no file has an empty path


class Snapshot:
    """One mirror job's snapshot rows in the record."""

    def __init__(self, store: Store, job_id: int):
        self.store, self.job_id = store, job_id

    def load(self) -> dict[str, SnapRow] | None:
        """`{path: SnapRow}`, or None when no sync of this job has succeeded yet."""
        rows = self.store.db.execute(
            "SELECT path, local_size, local_mtime_ns, remote_size, remote_mtime_ns"
            " FROM mirror_snapshot WHERE job_id = ?", [self.job_id])
        snapshot, synced = {}, False
        for path, lsize, lmtime, rsize, rmtime in rows:
            if path == SYNCED:
                synced = True
                continue
            snapshot[path] = SnapRow(_entry(lsize, lmtime), _entry(rsize, rmtime))
        return snapshot if synced else None

    def put(self, path: str, local: Entry | None, remote: Entry | None) -> None:
        """Record what both sides hold for `path` now."""
        self._write("INSERT OR REPLACE INTO mirror_snapshot (job_id, path, local_size,"
                    " local_mtime_ns, remote_size, remote_mtime_ns) VALUES (?,?,?,?,?,?)",
                    [self.job_id, path, *_columns(local), *_columns(remote)])

    def drop(self, path: str) -> None:
        """Forget a path (gone on both sides)."""
        self._write("DELETE FROM mirror_snapshot WHERE job_id = ? AND path = ?",
                    [self.job_id, path])

    def mark_synced(self) -> None:
        """Say that a whole sync succeeded: later runs are three-way."""
        self.put(SYNCED, Entry(0, time.time_ns()), None)

    def _write(self, sql: str, params: list) -> None:
        with self.store._lock, self.store.db.conn:
            self.store.db.execute(sql, params)


def _entry(size, mtime_ns) -> Entry | None:
    return None if size is None else Entry(size, mtime_ns)


def _columns(entry: Entry | None) -> tuple:
    return (None, None) if entry is None else (entry.size, entry.mtime_ns)
