"""What a trakt job keeps: its tokens (sealed with the job), where the last run left off,
and one row per Trakt history entry with what became of it (DESIGN.md §9)."""

import json
import time
from collections.abc import Iterable

from strmsync.store import Store

STATUSES = ("marked", "already_played", "unmatched", "failed")
DONE = ("marked", "already_played")  # entries a later run skips when it meets them again
AUTHORIZED, UNAUTHORIZED, AGAIN = "authorized", "unauthorized", "authorize again"


class TraktRecord:
    """One trakt job's part of the record."""

    def __init__(self, store: Store, job_id: int):
        self.store, self.job_id = store, job_id

    # tokens and the link ------------------------------------------------------------------

    def secrets(self) -> dict:
        """The job's sealed secrets, opened (client secret, tokens)."""
        job = self.store.job(self.job_id, one_shot=True) or {}
        if job.get("secrets_error"):
            return {}
        return dict(job.get("secrets") or {})

    def tokens(self) -> dict | None:
        """The stored tokens, or None when the job is not authorised."""
        return self.secrets().get("tokens")

    def save_tokens(self, tokens: dict | None) -> None:
        """Store both tokens together (or forget them), sealed with the job."""
        secrets = self.secrets()
        if tokens is None:
            secrets.pop("tokens", None)
        else:
            secrets["tokens"] = tokens
        self.store.update_job(self.job_id, {"secrets": secrets})
        self.set_state(auth=AUTHORIZED if tokens else UNAUTHORIZED, auth_error=None)

    def state(self) -> dict:
        """Where the last run left off, and the link's state."""
        row = self.store._one("SELECT * FROM trakt_state WHERE job_id = ?", [self.job_id])
        if row is None:
            row = {"job_id": self.job_id, "movies_watched_at": None,
                   "episodes_watched_at": None, "newest_watched_at": None,
                   "reconciled_at": None, "auth": None, "auth_error": None}
        if not row.get("auth"):
            row["auth"] = AUTHORIZED if self.tokens() else UNAUTHORIZED
        return row

    def set_state(self, **values) -> None:
        """Change some of the state's columns."""
        names = ", ".join(values)
        updates = ", ".join(f"{name} = excluded.{name}" for name in values)
        marks = ", ".join("?" for _ in values)
        self.store._write(
            f"INSERT INTO trakt_state (job_id, {names}, updated_at) VALUES (?, {marks}, ?)"
            f" ON CONFLICT(job_id) DO UPDATE SET {updates}, updated_at = excluded.updated_at",
            [self.job_id, *values.values(), time.time()])

    # history rows ----------------------------------------------------------------------------

    def done_ids(self, history_ids: Iterable[int]) -> set[int]:
        """Which of these history entries an earlier run already marked or found played."""
        ids = list(history_ids)
        found: set[int] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" for _ in chunk)
            found.update(row[0] for row in self.store.db.execute(
                f"SELECT history_id FROM trakt_history WHERE job_id = ? AND history_id IN"
                f" ({marks}) AND status IN ('marked', 'already_played')",
                [self.job_id, *chunk]).fetchall())
        return found

    def put(self, rows: Iterable[dict]) -> None:
        """Insert or replace history rows (the keys of the trakt_history table)."""
        now = time.time()
        values = [(self.job_id, r["history_id"], r["type"], r.get("title"), r.get("year"),
                   r.get("season"), r.get("episode"), json.dumps(r.get("ids") or {}),
                   r.get("watched_at"), r.get("item_id"), r["status"], r.get("reason"),
                   r.get("run_id"), now) for r in rows]
        if values:
            with self.store._lock, self.store.db.conn:
                self.store.db.conn.executemany(
                    "INSERT OR REPLACE INTO trakt_history (job_id, history_id, type, title,"
                    " year, season, episode, ids, watched_at, item_id, status, reason, run_id,"
                    " updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", values)

    def rows(self, status: str | None = None, run_id: int | None = None, limit: int = 500,
             offset: int = 0) -> tuple[list[dict], int]:
        """A page of history rows (newest watched first) with the total matching."""
        where, params = ["job_id = ?"], [self.job_id]
        if status:
            where.append("status = ?")
            params.append(status)
        if run_id is not None:
            where.append("run_id = ?")
            params.append(run_id)
        clause = " AND ".join(where)
        total = self.store.db.execute(f"SELECT count(*) FROM trakt_history WHERE {clause}",
                                      params).fetchone()[0]
        rows = list(self.store.db.query(
            f"SELECT history_id, type, title, year, season, episode, ids, watched_at, item_id,"
            f" status, reason, run_id FROM trakt_history WHERE {clause}"
            " ORDER BY watched_at DESC, history_id DESC LIMIT ? OFFSET ?",
            params + [limit, offset]))
        for row in rows:
            row["ids"] = json.loads(row["ids"] or "{}")
        return rows, total
