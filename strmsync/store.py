"""The record: one SQLite file, schema kept by numbered migrations (sqlite-utils)."""

import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import sqlite_utils

from strmsync.migrations import migrate

RUN_COUNTS = ("scanned", "created", "updated", "skipped", "deleted", "failed", "meta_copied")
FINAL_STATUSES = ("succeeded", "partial", "failed", "cancelled")


class Store:
    """strmsync's SQLite record: sources, jobs, runs and their logs, the manifest, events."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        with self._lock:
            migrate(self.db)

    def close(self) -> None:
        """Close the connection."""
        self.db.conn.close()

    def _write(self, sql: str, params=()) -> sqlite3.Cursor:
        with self._lock, self.db.conn:
            return self.db.execute(sql, params)

    # sources and jobs --------------------------------------------------------------------

    def ensure_source(self, name: str, kind: str, config: dict) -> int:
        """The id of the source called `name`, created or updated with this config."""
        row = self._one("SELECT id FROM sources WHERE name = ?", [name])
        now = time.time()
        if row:
            self._write("UPDATE sources SET kind=?, config=?, updated_at=? WHERE id=?",
                        [kind, json.dumps(config), now, row["id"]])
            return row["id"]
        cur = self._write(
            "INSERT INTO sources (name, kind, config, created_at, updated_at) VALUES (?,?,?,?,?)",
            [name, kind, json.dumps(config), now, now])
        return cur.lastrowid

    def ensure_job(self, name: str, source_id: int, source_root: str, target_root: str,
                   options: dict) -> int:
        """The id of the job called `name`, created or updated with these settings."""
        row = self._one("SELECT id FROM jobs WHERE name = ?", [name])
        now = time.time()
        values = [source_id, source_root, target_root, json.dumps(options), now]
        if row:
            self._write("UPDATE jobs SET source_id=?, source_root=?, target_root=?, options=?,"
                        " updated_at=? WHERE id=?", values + [row["id"]])
            return row["id"]
        cur = self._write(
            "INSERT INTO jobs (name, source_id, source_root, target_root, options, updated_at,"
            " created_at) VALUES (?,?,?,?,?,?,?)", [name] + values + [now])
        return cur.lastrowid

    def job(self, job_id: int) -> dict | None:
        """One job row with its options decoded."""
        row = self._one("SELECT * FROM jobs WHERE id = ?", [job_id])
        if row:
            row["options"] = json.loads(row["options"] or "{}")
        return row

    # runs ----------------------------------------------------------------------------------

    def create_run(self, job_id: int, mode: str, trigger: str, dry_run: bool,
                   status: str = "queued") -> int:
        """A new run row, `queued` unless told otherwise."""
        cur = self._write(
            "INSERT INTO runs (job_id, mode, trigger, dry_run, status, queued_at)"
            " VALUES (?,?,?,?,?,?)", [job_id, mode, trigger, int(dry_run), status, time.time()])
        return cur.lastrowid

    def start_run(self, run_id: int, pid: int, host: str) -> None:
        """Mark a run as running in this process."""
        self._write("UPDATE runs SET status='running', started_at=?, pid=?, host=? WHERE id=?",
                    [time.time(), pid, host, run_id])

    def finish_run(self, run_id: int, status: str, counts: dict, error: str | None) -> None:
        """Store a run's final status, counts, timings and error."""
        assert status in FINAL_STATUSES, status
        row = self.run(run_id) or {}
        now = time.time()
        started = row.get("started_at") or now
        sets = ", ".join(f"{name}=?" for name in RUN_COUNTS)
        self._write(
            f"UPDATE runs SET status=?, error=?, finished_at=?, duration_s=?, {sets} WHERE id=?",
            [status, error, now, round(now - started, 3)]
            + [int(counts.get(name) or 0) for name in RUN_COUNTS] + [run_id])

    def run(self, run_id: int) -> dict | None:
        """One run row."""
        return self._one("SELECT * FROM runs WHERE id = ?", [run_id])

    def runs_of_job(self, job_id: int, status: str | None = None) -> list[dict]:
        """A job's runs, newest first, optionally only those with `status`."""
        sql, params = "SELECT * FROM runs WHERE job_id = ?", [job_id]
        if status:
            sql, params = sql + " AND status = ?", params + [status]
        return list(self.db.query(sql + " ORDER BY id DESC", params))

    def add_log(self, run_id: int, lines: Iterable[tuple]) -> None:
        """Append `(ts, level, message)` lines to a run's log."""
        rows = [(run_id, ts, level, message) for ts, level, message in lines]
        if rows:
            with self._lock, self.db.conn:
                self.db.conn.executemany(
                    "INSERT INTO run_log (run_id, ts, level, message) VALUES (?,?,?,?)", rows)

    def run_log(self, run_id: int) -> list[dict]:
        """A run's log lines in order."""
        return list(self.db.query(
            "SELECT ts, level, message FROM run_log WHERE run_id = ? ORDER BY id", [run_id]))

    def add_changes(self, run_id: int, changes: Iterable[tuple]) -> None:
        """Record `(action, kind, path)` changes a run made (or, dry, would make)."""
        rows = [(run_id, action, kind, path) for action, kind, path in changes]
        if rows:
            with self._lock, self.db.conn:
                self.db.conn.executemany(
                    "INSERT INTO run_changes (run_id, action, kind, path) VALUES (?,?,?,?)", rows)

    def run_changes(self, run_id: int) -> list[dict]:
        """The changes recorded for a run."""
        return list(self.db.query(
            "SELECT action, kind, path FROM run_changes WHERE run_id = ? ORDER BY id", [run_id]))

    # manifest ------------------------------------------------------------------------------

    def load_manifest(self, job_id: int) -> dict:
        """`{path: (kind, digest, size, mtime_ns)}` for every file the job wrote."""
        cur = self.db.execute(
            "SELECT path, kind, digest, src_size, src_mtime_ns FROM manifest WHERE job_id = ?",
            [job_id])
        return {path: (kind, digest, size, mtime) for path, kind, digest, size, mtime in cur}

    def put_manifest(self, job_id: int, rows: Iterable[tuple]) -> None:
        """Insert or replace `(path, kind, digest, size, mtime_ns)` manifest entries."""
        now = time.time()
        values = [(job_id, path, kind, digest, size, mtime, now)
                  for path, kind, digest, size, mtime in rows]
        if values:
            with self._lock, self.db.conn:
                self.db.conn.executemany(
                    "INSERT OR REPLACE INTO manifest (job_id, path, kind, digest, src_size,"
                    " src_mtime_ns, written_at) VALUES (?,?,?,?,?,?,?)", values)

    def drop_manifest(self, job_id: int, paths: Iterable[str]) -> None:
        """Forget manifest entries (after their files were deleted or disowned)."""
        values = [(job_id, path) for path in paths]
        if values:
            with self._lock, self.db.conn:
                self.db.conn.executemany(
                    "DELETE FROM manifest WHERE job_id = ? AND path = ?", values)

    def _one(self, sql: str, params) -> dict | None:
        rows = list(self.db.query(sql, params))
        return rows[0] if rows else None
