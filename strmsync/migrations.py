"""Numbered schema migrations, applied in order and tracked with `PRAGMA user_version`."""

import sqlite_utils

from strmsync.secretbox import SecretBox, is_sealed


def _initial(db: sqlite_utils.Database) -> None:
    db["sources"].create({
        "id": int, "name": str, "kind": str, "config": str, "secrets": str,
        "qps": float, "concurrency": int, "created_at": float, "updated_at": float,
    }, pk="id", not_null={"name", "kind"})
    db["sources"].create_index(["name"], unique=True)
    db["jobs"].create({
        "id": int, "name": str, "source_id": int, "source_root": str, "target_root": str,
        "options": str, "schedule": str, "run_on_start": int, "watch": int, "enabled": int,
        "created_at": float, "updated_at": float,
    }, pk="id", not_null={"name", "source_id", "target_root"},
        foreign_keys=[("source_id", "sources", "id")], defaults={"enabled": 1})
    db["jobs"].create_index(["name"], unique=True)
    db["runs"].create({
        "id": int, "job_id": int, "mode": str, "trigger": str, "dry_run": int, "status": str,
        "scanned": int, "created": int, "updated": int, "skipped": int, "deleted": int,
        "failed": int, "meta_copied": int, "queued_at": float, "started_at": float,
        "finished_at": float, "duration_s": float, "error": str, "pid": int, "host": str,
        "rq_job_id": str,
    }, pk="id", foreign_keys=[("job_id", "jobs", "id")])
    db["runs"].create_index(["job_id", "status"])
    db["run_log"].create({"id": int, "run_id": int, "ts": float, "level": str, "message": str},
                         pk="id", foreign_keys=[("run_id", "runs", "id")])
    db["run_log"].create_index(["run_id"])
    db["run_changes"].create({"id": int, "run_id": int, "action": str, "kind": str,
                              "path": str}, pk="id", foreign_keys=[("run_id", "runs", "id")])
    db["run_changes"].create_index(["run_id"])
    db["manifest"].create({
        "job_id": int, "path": str, "kind": str, "digest": str, "src_size": int,
        "src_mtime_ns": int, "written_at": float,
    }, pk=("job_id", "path"), foreign_keys=[("job_id", "jobs", "id")])
    db["events"].create({
        "id": int, "job_id": int, "action": str, "path": str, "new_path": str, "is_dir": int,
        "received_at": float, "run_id": int,
    }, pk="id", foreign_keys=[("job_id", "jobs", "id")])
    db["events"].create_index(["job_id", "run_id"])


def _one_queued_run_per_job_and_mode(db: sqlite_utils.Database) -> None:
    # A second trigger for a job that already has a queued run of that mode is a duplicate;
    # the index makes that a constraint, so two racing triggers cannot both queue.
    db.execute("CREATE UNIQUE INDEX runs_one_queued ON runs (job_id, mode, dry_run)"
               " WHERE status = 'queued'")


def _media_servers(db: sqlite_utils.Database) -> None:
    db["media_servers"].create({
        "id": int, "name": str, "kind": str, "url": str, "api_key": str, "path_map": str,
        "refresh_threshold": int, "created_at": float, "updated_at": float,
    }, pk="id", not_null={"name", "kind", "url"})
    db["media_servers"].create_index(["name"], unique=True)
    db["job_media_servers"].create({"job_id": int, "server_id": int},
                                   pk=("job_id", "server_id"),
                                   foreign_keys=[("job_id", "jobs", "id"),
                                                 ("server_id", "media_servers", "id")])


def _settings(db: sqlite_utils.Database) -> None:
    db["settings"].create({"key": str, "value": str, "updated_at": float}, pk="key")


def _seal_secrets(db: sqlite_utils.Database, box: SecretBox) -> None:
    # Records from before secrets were sealed hold them in plain text; seal them in place.
    for table, column, empty in (("sources", "secrets", "{}"), ("media_servers", "api_key", "")):
        rows = db.execute(f"SELECT id, {column} FROM {table}").fetchall()
        for row_id, value in rows:
            if value not in (None, "", empty) and not is_sealed(value):
                db.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?",
                           [box.seal(value), row_id])


def _dismissable_runs(db: sqlite_utils.Database) -> None:
    db.execute("ALTER TABLE runs ADD COLUMN dismissed INTEGER NOT NULL DEFAULT 0")


def _one_shot_records(db: sqlite_utils.Database) -> None:
    # `strmsync sync` kept its records as `cli-…` jobs (and their sources) the service showed,
    # with the secrets given on the command line: mark them one-shot and forget the secrets.
    for table in ("sources", "jobs"):
        db.execute(f"ALTER TABLE {table} ADD COLUMN one_shot INTEGER NOT NULL DEFAULT 0")
    db.execute("UPDATE jobs SET one_shot = 1 WHERE name LIKE 'cli-%'")
    db.execute("UPDATE sources SET one_shot = 1, secrets = '{}' WHERE id IN (SELECT source_id"
               " FROM jobs WHERE one_shot = 1) AND id NOT IN (SELECT source_id FROM jobs WHERE"
               " one_shot = 0)")


def _job_kinds(db: sqlite_utils.Database) -> None:
    # Every job so far builds a STRM tree; mirror jobs (DESIGN.md §7, §8) come with their
    # snapshot of the last successful sync, and runs keep the counts their kind declares.
    db.execute("ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'strm'")
    db.execute("ALTER TABLE jobs ADD COLUMN then_jobs TEXT NOT NULL DEFAULT '[]'")
    db.execute("ALTER TABLE runs ADD COLUMN counts TEXT")
    db["mirror_snapshot"].create({
        "job_id": int, "path": str, "local_size": int, "local_mtime_ns": int,
        "remote_size": int, "remote_mtime_ns": int,
    }, pk=("job_id", "path"), foreign_keys=[("job_id", "jobs", "id")])


def _trakt_jobs(db: sqlite_utils.Database) -> None:
    # A trakt job has no source (its Trakt app and tokens are its own, sealed in `secrets`);
    # its record keeps one row per history entry and where the last run left off.
    db["jobs"].transform(not_null={"source_id": False})
    db.execute("ALTER TABLE jobs ADD COLUMN secrets TEXT NOT NULL DEFAULT '{}'")
    db["trakt_history"].create({
        "job_id": int, "history_id": int, "type": str, "title": str, "year": int,
        "season": int, "episode": int, "ids": str, "watched_at": str, "item_id": str,
        "status": str, "reason": str, "run_id": int, "updated_at": float,
    }, pk=("job_id", "history_id"), foreign_keys=[("job_id", "jobs", "id")])
    db["trakt_history"].create_index(["job_id", "status"])
    db["trakt_state"].create({
        "job_id": int, "movies_watched_at": str, "episodes_watched_at": str,
        "newest_watched_at": str, "reconciled_at": float, "auth": str, "auth_error": str,
        "updated_at": float,
    }, pk="job_id", foreign_keys=[("job_id", "jobs", "id")])


MIGRATIONS = [_initial, _one_queued_run_per_job_and_mode, _media_servers, _settings,
              _seal_secrets, _dismissable_runs, _one_shot_records, _job_kinds, _trakt_jobs]
NEEDS_KEY = {_seal_secrets}
# Steps that rebuild a table others point at: foreign keys are off while they run (SQLite
# ignores the switch inside a transaction, so it is thrown before the step's own).
REBUILDS = {_trakt_jobs}


def migrate(db: sqlite_utils.Database, box: SecretBox) -> int:
    """Apply the migrations this database has not seen; returns the schema version."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        if step in REBUILDS:
            db.execute("PRAGMA foreign_keys=OFF")
        try:
            with db.conn:
                if step in NEEDS_KEY:
                    step(db, box)
                else:
                    step(db)
                db.execute(f"PRAGMA user_version = {number}")
        finally:
            if step in REBUILDS:
                db.execute("PRAGMA foreign_keys=ON")
    return len(MIGRATIONS)
