"""The record: one SQLite file, schema kept by numbered migrations (sqlite-utils)."""

import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import sqlite_utils

import _fastscan
from strmsync.migrations import migrate
from strmsync.secretbox import SecretBox, SecretUnreadable, private_dir, private_file

SOURCE_COLUMNS = ("name", "kind", "config", "secrets", "qps", "concurrency", "one_shot")
JOB_COLUMNS = ("name", "kind", "source_id", "source_root", "target_root", "options", "schedule",
               "run_on_start", "watch", "enabled", "one_shot", "then_jobs", "secrets")
# One-shot syncs (`strmsync sync`) keep a job and source record for their manifest, but
# the service never shows or runs them.
SERVICE_ONLY = " AND one_shot = 0"
SERVER_COLUMNS = ("name", "kind", "url", "api_key", "path_map", "refresh_threshold")
JSON_COLUMNS = ("config", "secrets", "options", "path_map", "then_jobs", "counts")
# Sealed with the data directory's key (secretbox.py): a source's secrets, a server's key.
SEALED_COLUMNS = ("secrets", "api_key")
RUN_COUNTS = ("scanned", "created", "updated", "skipped", "deleted", "failed", "meta_copied")
FINAL_STATUSES = ("succeeded", "partial", "failed", "cancelled")
# A run under way: `paused` (a mirror run) keeps its target slot and its heartbeat.
ACTIVE_STATUSES = ("running", "paused")
MANIFEST_CHUNK = 16384  # rows per concatenated chunk: about a MiB at a time, not the whole table
ROWS_PER_INSERT = 128  # rows of one INSERT statement (SQLite allows 32,766 parameters)
LAST_RUN_KEY = "last_run_id"  # the highest run number handed out before deletions


class DuplicateRun(Exception):
    """The job already has a queued run of that mode; carries that run's id."""

    def __init__(self, run_id: int):
        super().__init__(f"run {run_id} of this job is already queued")
        self.run_id = run_id


class Store:
    """strmsync's SQLite record: sources, jobs, runs and their logs, the manifest, events."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        # Created private: SQLite gives its -wal and -shm files the database file's mode.
        private_dir(self.path.parent)
        private_file(self.path)
        self.box = SecretBox(self.path.parent)
        conn = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        with self._lock:
            migrate(self.db, self.box)

    def close(self) -> None:
        """Close the connection."""
        self.db.conn.close()

    def _write(self, sql: str, params=()) -> sqlite3.Cursor:
        with self._lock, self.db.conn:
            return self.db.execute(sql, params)

    # sources and jobs --------------------------------------------------------------------

    def ensure_source(self, name: str, kind: str, config: dict, secrets: dict | None = None,
                      one_shot: bool = False) -> int:
        """The id of the source called `name`, created or updated with this config."""
        row = self._one("SELECT id FROM sources WHERE name = ?", [name])
        values = {"name": name, "kind": kind, "config": config, "secrets": secrets or {},
                  "one_shot": int(one_shot)}
        if row:
            self.update_source(row["id"], values)
            return row["id"]
        return self.add_source(values)

    def ensure_job(self, name: str, source_id: int, source_root: str, target_root: str,
                   options: dict, one_shot: bool = False, kind: str = "strm") -> int:
        """The id of the job called `name`, created or updated with these settings."""
        row = self._one("SELECT id FROM jobs WHERE name = ?", [name])
        values = {"name": name, "kind": kind, "source_id": source_id,
                  "source_root": source_root, "target_root": target_root, "options": options,
                  "one_shot": int(one_shot)}
        if row:
            self.update_job(row["id"], values)
            return row["id"]
        return self.add_job(values)

    def add_source(self, values: dict) -> int:
        """Insert a source record; returns its id."""
        return self._insert("sources", SOURCE_COLUMNS, values)

    def update_source(self, source_id: int, values: dict) -> None:
        """Change some columns of a source record."""
        self._update("sources", SOURCE_COLUMNS, source_id, values)

    def source(self, key, one_shot: bool = False) -> dict | None:
        """One source of the service (or, with `one_shot`, of a one-shot sync) by id or name,
        with config and secrets decoded."""
        return self._decoded("sources", key, one_shot)

    def sources(self) -> list[dict]:
        """Every source of the service, by name."""
        return [self._decode("sources", row) for row in self.db.query(
            "SELECT * FROM sources WHERE 1" + SERVICE_ONLY + " ORDER BY name")]

    def delete_source(self, source_id: int) -> None:
        """Remove a source record (its jobs must be gone first)."""
        self._write("DELETE FROM sources WHERE id = ?", [source_id])

    def add_job(self, values: dict) -> int:
        """Insert a job record; returns its id."""
        return self._insert("jobs", JOB_COLUMNS, values)

    def update_job(self, job_id: int, values: dict) -> None:
        """Change some columns of a job record."""
        self._update("jobs", JOB_COLUMNS, job_id, values)

    def job(self, key, one_shot: bool = False) -> dict | None:
        """One job of the service (or, with `one_shot`, of a one-shot sync) by id or name,
        with its options decoded."""
        return self._decoded("jobs", key, one_shot)

    def jobs(self, source_id: int | None = None, kind: str | None = None) -> list[dict]:
        """Every job of the service (or a source's jobs, or one kind's), by name."""
        sql, params = "SELECT * FROM jobs WHERE 1" + SERVICE_ONLY, []
        if source_id is not None:
            sql, params = sql + " AND source_id = ?", [source_id]
        if kind is not None:
            sql, params = sql + " AND kind = ?", params + [kind]
        return [self._decode("jobs", row)
                for row in self.db.query(sql + " ORDER BY name", params)]

    def delete_job(self, job_id: int) -> None:
        """Remove a job with its manifest, events and run history (files stay on disk)."""
        with self._lock, self.db.conn:
            self.db.execute(
                "INSERT OR REPLACE INTO settings (key, value, updated_at) VALUES (?,"
                " max(coalesce((SELECT max(id) FROM runs), 0), coalesce((SELECT CAST(value AS"
                " INTEGER) FROM settings WHERE key = ?), 0)), ?)",
                [LAST_RUN_KEY, LAST_RUN_KEY, time.time()])
            runs = "SELECT id FROM runs WHERE job_id = ?"
            for table in ("run_log", "run_changes"):
                self.db.execute(f"DELETE FROM {table} WHERE run_id IN ({runs})", [job_id])
            for table in ("runs", "manifest", "events", "job_media_servers", "mirror_snapshot",
                          "trakt_history", "trakt_state"):
                self.db.execute(f"DELETE FROM {table} WHERE job_id = ?", [job_id])
            self.db.execute("DELETE FROM jobs WHERE id = ?", [job_id])
            for row in self.db.execute("SELECT id, then_jobs FROM jobs").fetchall():
                then = json.loads(row[1] or "[]")
                if job_id in then:  # no follower points at a job that is gone
                    self.db.execute("UPDATE jobs SET then_jobs = ? WHERE id = ?",
                                    [json.dumps([j for j in then if j != job_id]), row[0]])

    # events --------------------------------------------------------------------------------

    def add_events(self, job_id: int, rows: Iterable[tuple]) -> int:
        """Buffer `(action, rel, new_rel, is_dir)` events for a job's next events run."""
        now = time.time()
        values = [(job_id, action, path, new_path, None if is_dir is None else int(is_dir), now)
                  for action, path, new_path, is_dir in rows]
        with self._lock, self.db.conn:
            self.db.conn.executemany(
                "INSERT INTO events (job_id, action, path, new_path, is_dir, received_at)"
                " VALUES (?,?,?,?,?,?)", values)
        return len(values)

    def claim_events(self, job_id: int, run_id: int) -> list[dict]:
        """Give every pending event of the job to this run, oldest first."""
        self._write("UPDATE events SET run_id = ? WHERE job_id = ? AND run_id IS NULL",
                    [run_id, job_id])
        return list(self.db.query(
            "SELECT action, path, new_path, is_dir, received_at FROM events WHERE run_id = ?"
            " ORDER BY id", [run_id]))

    def release_events(self, run_id: int) -> None:
        """Hand a run's events back to the buffer (the run did not get to them)."""
        self._write("UPDATE events SET run_id = NULL WHERE run_id = ?", [run_id])

    def pending_events(self, job_id: int | None = None) -> dict:
        """`{job_id: (count, newest received_at)}` of events waiting for a run."""
        sql = "SELECT job_id, count(*), max(received_at) FROM events WHERE run_id IS NULL"
        params: list = []
        if job_id is not None:
            sql, params = sql + " AND job_id = ?", [job_id]
        rows = self.db.execute(sql + " GROUP BY job_id", params).fetchall()
        return {row[0]: (row[1], row[2]) for row in rows}

    # settings ------------------------------------------------------------------------------

    def setting(self, key: str, default: str | None = None) -> str | None:
        """A value from the key-value settings table (webhook token, panel password hash)."""
        row = self._one("SELECT value FROM settings WHERE key = ?", [key])
        return row["value"] if row else default

    def set_setting(self, key: str, value: str) -> None:
        """Store a value in the settings table."""
        self._write("INSERT OR REPLACE INTO settings (key, value, updated_at) VALUES (?, ?, ?)",
                    [key, value, time.time()])

    def setting_once(self, key: str, make) -> str:
        """The stored value, or `make()` stored atomically if none is (first writer wins)."""
        self._write("INSERT OR IGNORE INTO settings (key, value, updated_at) VALUES (?, ?, ?)",
                    [key, make(), time.time()])
        return self.setting(key)

    # media servers -------------------------------------------------------------------------

    def add_server(self, values: dict) -> int:
        """Insert a media-server record; returns its id."""
        return self._insert("media_servers", SERVER_COLUMNS, values)

    def update_server(self, server_id: int, values: dict) -> None:
        """Change some columns of a media-server record."""
        self._update("media_servers", SERVER_COLUMNS, server_id, values)

    def server(self, key) -> dict | None:
        """One media server by id or by name."""
        return self._decoded("media_servers", key)

    def servers(self) -> list[dict]:
        """Every media server, by name."""
        return [self._decode("media_servers", row)
                for row in self.db.query("SELECT * FROM media_servers ORDER BY name")]

    def delete_server(self, server_id: int) -> None:
        """Remove a media server and its links to jobs."""
        with self._lock, self.db.conn:
            self.db.execute("DELETE FROM job_media_servers WHERE server_id = ?", [server_id])
            self.db.execute("DELETE FROM media_servers WHERE id = ?", [server_id])

    def job_servers(self, job_id: int) -> list[dict]:
        """The media servers a job notifies."""
        return [self._decode("media_servers", row) for row in self.db.query(
            "SELECT m.* FROM media_servers m JOIN job_media_servers j ON j.server_id = m.id"
            " WHERE j.job_id = ? ORDER BY m.name", [job_id])]

    def set_job_servers(self, job_id: int, server_ids: list[int]) -> None:
        """Replace the set of media servers a job notifies."""
        with self._lock, self.db.conn:
            self.db.execute("DELETE FROM job_media_servers WHERE job_id = ?", [job_id])
            self.db.conn.executemany(
                "INSERT INTO job_media_servers (job_id, server_id) VALUES (?, ?)",
                [(job_id, server_id) for server_id in dict.fromkeys(server_ids)])

    def _insert(self, table: str, columns: tuple, values: dict) -> int:
        now = time.time()
        row = {**self._encode(columns, values), "created_at": now, "updated_at": now}
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        cur = self._write(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(row.values()))
        return cur.lastrowid

    def _update(self, table: str, columns: tuple, row_id: int, values: dict) -> None:
        row = {**self._encode(columns, values), "updated_at": time.time()}
        sets = ", ".join(f"{name} = ?" for name in row)
        self._write(f"UPDATE {table} SET {sets} WHERE id = ?", list(row.values()) + [row_id])

    def _decoded(self, table: str, key, one_shot: bool = False) -> dict | None:
        column = "id" if isinstance(key, int) or str(key).isdigit() else "name"
        only = "" if one_shot or table == "media_servers" else SERVICE_ONLY
        row = self._one(f"SELECT * FROM {table} WHERE {column} = ?{only}", [key])
        return self._decode(table, row) if row else None

    def _encode(self, columns: tuple, values: dict) -> dict:
        unknown = set(values) - set(columns)
        assert not unknown, unknown
        row = {name: json.dumps(value) if name in JSON_COLUMNS else value
               for name, value in values.items()}
        for name in SEALED_COLUMNS:
            if row.get(name) not in (None, "", "{}"):
                row[name] = self.box.seal(row[name])
        return row

    def _decode(self, table: str, row: dict) -> dict:
        for name in SEALED_COLUMNS:
            if name in row:
                try:
                    row[name] = self.box.open(row[name]) if row[name] else row[name]
                except SecretUnreadable as exc:
                    # Shown as "enter the secret again"; the sealed value stays stored.
                    row[name] = "{}" if name == "secrets" else ""
                    row[f"{name}_error"] = str(exc)
        for name in JSON_COLUMNS:
            if name in row:
                row[name] = json.loads(row[name] or "{}")
        return row

    # runs ----------------------------------------------------------------------------------

    def create_run(self, job_id: int, mode: str, trigger: str, dry_run: bool,
                   status: str = "queued") -> int:
        """A new run row, `queued` unless told otherwise; DuplicateRun if one is queued."""
        # The queued run that blocked the insert may start before we look it up; then the
        # insert is simply tried again.
        for _attempt in range(5):
            try:
                # Numbered past every run ever made, deleted ones too: old links and CLI
                # output never come to point at another run.
                cur = self._write(
                    "INSERT INTO runs (id, job_id, mode, trigger, dry_run, status, queued_at)"
                    " VALUES (max(coalesce((SELECT max(id) FROM runs), 0), coalesce((SELECT"
                    " CAST(value AS INTEGER) FROM settings WHERE key = ?), 0)) + 1,"
                    " ?,?,?,?,?,?)",
                    [LAST_RUN_KEY, job_id, mode, trigger, int(dry_run), status, time.time()])
                return cur.lastrowid
            except sqlite3.IntegrityError:
                row = self._one("SELECT id FROM runs WHERE job_id = ? AND mode = ?"
                                " AND dry_run = ? AND status = 'queued'",
                                [job_id, mode, int(dry_run)])
                if row is not None:
                    raise DuplicateRun(row["id"]) from None
        raise sqlite3.IntegrityError(f"job {job_id}: could not queue a {mode} run")

    def fail_if_running(self, run_id: int, error: str) -> bool:
        """Mark a run `failed` only if it is still `running` (it may just have ended)."""
        now = time.time()
        cur = self._write("UPDATE runs SET status = 'failed', error = ?, finished_at = ?,"
                          " duration_s = round(? - coalesce(started_at, ?), 3)"
                          " WHERE id = ? AND status IN ('running', 'paused')",
                          [error, now, now, now, run_id])
        return cur.rowcount == 1

    def set_rq_job(self, run_id: int, rq_job_id: str) -> None:
        """Remember which queue entry carries a run."""
        self._write("UPDATE runs SET rq_job_id = ? WHERE id = ?", [rq_job_id, run_id])

    def cancel_queued(self, run_id: int) -> bool:
        """Cancel a run that has not started; False if it already has."""
        cur = self._write("UPDATE runs SET status = 'cancelled', finished_at = ?"
                          " WHERE id = ? AND status = 'queued'", [time.time(), run_id])
        return cur.rowcount == 1

    def runs(self, job_id: int | None = None, status: str | None = None, limit: int = 50,
             offset: int = 0) -> tuple[list[dict], int]:
        """A page of runs, newest first, with the total count matching the filters."""
        where, params = ["job_id NOT IN (SELECT id FROM jobs WHERE one_shot = 1)"], []
        if job_id is not None:
            where.append("job_id = ?")
            params.append(job_id)
        if status:
            where.append("status = ?")
            params.append(status)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        total = self.db.execute(f"SELECT count(*) FROM runs{clause}", params).fetchone()[0]
        rows = list(self.db.query(f"SELECT * FROM runs{clause} ORDER BY id DESC LIMIT ?"
                                  " OFFSET ?", params + [limit, offset]))
        for row in rows:
            row["counts"] = json.loads(row.get("counts") or "null")
        return rows, total

    def start_run(self, run_id: int, pid: int, host: str) -> bool:
        """Mark a run as running in this process; False if it was cancelled meanwhile."""
        cur = self._write("UPDATE runs SET status='running', started_at=?, pid=?, host=?"
                          " WHERE id=? AND status IN ('queued', 'running')",
                          [time.time(), pid, host, run_id])
        return cur.rowcount == 1

    def finish_run(self, run_id: int, status: str, counts: dict, error: str | None) -> None:
        """Store a run's final status, counts (those its kind declares), timings and error."""
        assert status in FINAL_STATUSES, status
        row = self.run(run_id) or {}
        now = time.time()
        started = row.get("started_at") or now
        sets = ", ".join(f"{name}=?" for name in RUN_COUNTS)
        self._write(
            f"UPDATE runs SET status=?, error=?, finished_at=?, duration_s=?, counts=?, {sets}"
            " WHERE id=?",
            [status, error, now, round(now - started, 3),
             json.dumps({name: int(value or 0) for name, value in counts.items()})]
            + [int(counts.get(name) or 0) for name in RUN_COUNTS] + [run_id])

    def set_paused(self, run_id: int, paused: bool) -> bool:
        """Mark a run under way `paused` or `running` again; False if it is neither now."""
        cur = self._write("UPDATE runs SET status = ? WHERE id = ? AND status IN"
                          " ('running', 'paused')", ["paused" if paused else "running", run_id])
        return cur.rowcount == 1

    def run(self, run_id: int) -> dict | None:
        """One run row, with the counts its kind declares decoded."""
        row = self._one("SELECT * FROM runs WHERE id = ?", [run_id])
        if row is not None:
            row["counts"] = json.loads(row.get("counts") or "null")
        return row

    def latest_finished_runs(self) -> list[dict]:
        """Each job's newest finished real (not dry) run."""
        rows = list(self.db.query(
            "SELECT r.* FROM runs r JOIN (SELECT job_id, max(id) AS id FROM runs WHERE"
            " dry_run = 0 AND status IN ('succeeded', 'partial', 'failed', 'cancelled')"
            " GROUP BY job_id) newest ON newest.id = r.id ORDER BY r.id DESC"))
        for row in rows:
            row["counts"] = json.loads(row.get("counts") or "null")
        return rows

    def dismiss_run(self, run_id: int) -> None:
        """Take a failed run off "needs attention" (the run itself stays as it was)."""
        self._write("UPDATE runs SET dismissed = 1 WHERE id = ?", [run_id])

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

    def run_log(self, run_id: int, after: int = 0) -> list[dict]:
        """A run's log lines in order (those after line `after`, by line id)."""
        return list(self.db.query(
            "SELECT id, ts, level, message FROM run_log WHERE run_id = ? AND id > ?"
            " ORDER BY id", [run_id, after]))

    def add_changes(self, run_id: int, changes: Iterable[tuple]) -> None:
        """Record `(action, kind, path)` changes a run made (or, dry, would make)."""
        rows = [(run_id, action, kind, path) for action, kind, path in changes]
        if rows:
            with self._lock, self.db.conn:
                self._insert_rows("INSERT INTO run_changes (run_id, action, kind, path)", rows)

    def _insert_rows(self, head: str, rows: list) -> None:
        # Many rows per statement: executemany steps SQLite once per row, releasing and
        # taking back the GIL each time, and with the run's threads busy every take-back
        # waits; a first sync of 100,000 videos spent most of its time there.
        width = len(rows[0])
        for i in range(0, len(rows), ROWS_PER_INSERT):
            chunk = rows[i:i + ROWS_PER_INSERT]
            values = ",".join([f"({','.join('?' * width)})"] * len(chunk))
            self.db.conn.execute(f"{head} VALUES {values}",
                                 [value for row in chunk for value in row])

    def run_changes(self, run_id: int, limit: int = -1, offset: int = 0) -> list[dict]:
        """The changes recorded for a run, in order (a page of them with `limit`)."""
        return list(self.db.query(
            "SELECT action, kind, path FROM run_changes WHERE run_id = ? ORDER BY id"
            " LIMIT ? OFFSET ?", [run_id, limit, offset]))

    def change_counts(self, run_id: int) -> dict:
        """`{action: how many}` of a run's recorded changes."""
        return dict(self.db.execute(
            "SELECT action, count(*) FROM run_changes WHERE run_id = ? GROUP BY action",
            [run_id]).fetchall())

    # manifest ------------------------------------------------------------------------------

    def load_manifest(self, job_id: int, under: Iterable[str] | None = None) -> dict:
        """`{path: (kind, digest, size, mtime_ns)}` for the files the job wrote.

        With `under`, only paths equal to or inside those relative folders ('' is all).
        """
        sql = "SELECT path, kind, digest, src_size, src_mtime_ns FROM manifest WHERE job_id = ?"
        if under is None:
            rows = self.db.execute(sql, [job_id])  # streamed into the dict, not listed first
        else:
            rows = []
            for prefix in sorted(set(under)):
                if prefix == "":
                    rows = self.db.execute(sql, [job_id]).fetchall()
                    break
                rows += self.db.execute(
                    sql + " AND (path = ? OR substr(path, 1, ?) = ?)",
                    [job_id, prefix, len(prefix) + 1, prefix + "/"]).fetchall()
        return {path: (kind, digest, size, mtime) for path, kind, digest, size, mtime in rows}

    def load_manifest_index(self, job_id: int) -> "_fastscan.ManifestIndex":
        """The job's manifest packed for a run: paths, kinds and digests, no Python per file."""
        index = _fastscan.ManifestIndex()
        # SQLite concatenates a chunk of records in C and hands over one bytes object, so the
        # load makes no row tuple per file. Chunks by rowid ranges read the table in order;
        # `+job_id` keeps the planner on those ranges rather than the (job_id, path) index,
        # whose order would cost a table lookup per row.
        low, high = self.db.execute("SELECT min(rowid), max(rowid) FROM manifest").fetchone()
        if low is None:
            return index
        for start in range(low, high + 1, MANIFEST_CHUNK):
            blob, = self.db.execute(
                "SELECT CAST(group_concat(path || char(0) || kind || char(0) ||"
                " ifnull(digest, '') || char(0), '') AS BLOB) FROM manifest"
                " WHERE rowid BETWEEN ? AND ? AND +job_id = ?",
                [start, start + MANIFEST_CHUNK - 1, job_id]).fetchone()
            if blob:
                index.add_records(blob)
        return index

    def manifest_entries(self, job_id: int, paths: Iterable[str]) -> dict:
        """`{path: (kind, digest, size, mtime_ns)}` of those paths that are managed."""
        paths, found = list(paths), {}
        for i in range(0, len(paths), 500):  # under SQLite's limit of bound parameters
            chunk = paths[i:i + 500]
            rows = self.db.execute(
                "SELECT path, kind, digest, src_size, src_mtime_ns FROM manifest WHERE"
                f" job_id = ? AND path IN ({','.join('?' * len(chunk))})", [job_id, *chunk])
            found.update((path, (kind, digest, size, mtime))
                         for path, kind, digest, size, mtime in rows)
        return found

    def manifest_count(self, job_id: int) -> int:
        """How many files the job manages."""
        return self.db.execute("SELECT count(*) FROM manifest WHERE job_id = ?",
                               [job_id]).fetchone()[0]

    def put_manifest(self, job_id: int, rows: Iterable[tuple]) -> None:
        """Insert or replace `(path, kind, digest, size, mtime_ns)` manifest entries."""
        now = time.time()
        values = [(job_id, path, kind, digest, size, mtime, now)
                  for path, kind, digest, size, mtime in rows]
        if values:
            with self._lock, self.db.conn:
                self._insert_rows("INSERT OR REPLACE INTO manifest (job_id, path, kind, digest,"
                                  " src_size, src_mtime_ns, written_at)", values)

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

