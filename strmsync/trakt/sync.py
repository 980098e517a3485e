"""One trakt run: Trakt's watched history in, the media-server user's played state out.

Incremental runs ask `last_activities` first and stop when nothing was watched since the
last run; otherwise they page the history from the newest play seen minus the overlap,
skip entries an earlier run settled, match each through an index of the user's library
and mark it played with the date it was watched. Every `reconcile_days` (and on a full
re-sync) `/sync/watched` catches plays added with an old date. Nothing is ever marked
unplayed (DESIGN.md §9).
"""

import logging
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from strmsync.errors import (
    ConfigError,
    FatalError,
    FileError,
    RetryableError,
    ThrottledError,
)
from strmsync.service.runlog import RunLog
from strmsync.store import Store
from strmsync.trakt.matching import (
    describe,
    find_item,
    iso,
    label,
    parse_time,
    watched_entries,
)
from strmsync.trakt.options import TraktOptions
from strmsync.trakt.record import AGAIN, TraktRecord

log = logging.getLogger(__name__)
COUNTS = ("fetched", "marked", "already_played", "unmatched", "failed")
PAGE_LIMIT = 100
THROTTLED_TRIES = 5


class Stopped(Exception):
    """The user stopped the run."""


@dataclass
class TraktSummary:
    """The outcome of a trakt run, as stored and as printed."""

    run_id: int
    status: str
    dry_run: bool
    counts: dict
    duration_s: float
    error: str | None = None
    changes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """The summary for `--json` output."""
        return {"run_id": self.run_id, "status": self.status, "dry_run": self.dry_run,
                **self.counts, "duration_s": self.duration_s, "error": self.error}


@dataclass
class TraktParts:
    """What a run talks to: Trakt (client and token keeper) and the media server user."""

    client: object  # strmsync.trakt.client.TraktClient
    keeper: object  # strmsync.trakt.tokens.TokenKeeper
    server: object  # strmsync.mediaserver.MediaServer
    user_id: str
    build_index: object  # callable() -> ItemIndex
    mark_played: object  # callable(item_id, datetime) -> None


class TraktRun:
    """One run of a trakt job for one run record."""

    def __init__(self, store: Store, run_id: int, job: dict, parts: TraktParts,
                 options: TraktOptions, mode: str, dry_run: bool, cancel, report=None,
                 run_log: RunLog | None = None):
        self.store, self.run_id, self.job, self.parts = store, run_id, job, parts
        self.options, self.mode, self.dry_run, self.cancel = options, mode, dry_run, cancel
        self.report, self.log = report, run_log or RunLog()
        self.record = TraktRecord(store, job["id"])
        self.counts = dict.fromkeys(COUNTS, 0)
        self.failed_items: set[str] = set()  # marked in vain this run: not tried twice
        self.started = time.monotonic()
        self.phase = "starting"
        self._last_report = 0.0

    def execute(self) -> TraktSummary:
        """Run to the end and record the outcome; never raises for a failed run."""
        if not self.store.start_run(self.run_id, os.getpid(), socket.gethostname()):
            return self._summary("cancelled", "cancelled before it started")
        status, error = "failed", None
        try:
            status = self._run()
        except Stopped:
            status, error = "cancelled", "stopped by the user"
        except FatalError as exc:
            error = str(exc)
            self.log.error("run failed: %s", exc)
            if exc.__class__.__name__ == "AuthorizeAgain":
                self.record.set_state(auth=AGAIN, auth_error=str(exc))
        except (ConfigError, RetryableError) as exc:
            error = str(exc)
            self.log.error("run failed: %s", exc)
        except Exception as exc:  # noqa: BLE001 - a bug must still end the run as failed
            error = f"internal error: {exc!r}"
            self.log.error("run failed with an internal error: %r", exc)
            log.exception("run %d failed with an internal error", self.run_id)
        if status == "partial" and error is None:
            error = f"{self.counts['failed']} item(s) could not be marked; tried again next run"
        return self._finish(status, error)

    # the run -------------------------------------------------------------------------------

    def _run(self) -> str:
        full = self.mode == "full"
        state = self.record.state()
        self.log.info("%s run of job %s%s: Trakt %s -> %s user %s", self.mode,
                      self.job["name"], " (dry run)" if self.dry_run else "",
                      self.options.api_url, self.parts.server.name, self.parts.user_id)
        self._set_phase("checking Trakt")
        activity = self._call(self.parts.client.last_activities)
        moved = self._watched_at(activity)
        reconcile = full or not state.get("reconciled_at") or \
            time.time() - state["reconciled_at"] >= self.options.reconcile_days * 86400
        if not full and not reconcile and moved == (state.get("movies_watched_at"),
                                                    state.get("episodes_watched_at")):
            self.log.info("nothing watched on Trakt since the last run")
            return "succeeded"
        self._set_phase("indexing the library")
        self.index = self.parts.build_index()
        self.log.info("library of %s: %d items", self.parts.user_id, len(self.index))
        newest = self._history(None if full else parse_time(state.get("newest_watched_at")))
        if reconcile:
            self._reconcile()
        if not self.dry_run:
            values = {"movies_watched_at": moved[0], "episodes_watched_at": moved[1]}
            if newest:
                values["newest_watched_at"] = newest
            if reconcile:
                values["reconciled_at"] = time.time()
            self.record.set_state(**values)
        return "partial" if self.counts["failed"] else "succeeded"

    def _watched_at(self, activity: dict) -> tuple:
        return ((activity.get("movies") or {}).get("watched_at"),
                (activity.get("episodes") or {}).get("watched_at"))

    def _history(self, since: datetime | None) -> str | None:
        start_at = since - timedelta(days=self.options.overlap_days) if since else None
        self.log.info("history %s", f"since {iso(start_at)}" if start_at else "in full")
        self._set_phase("reading the history")
        kind = None if self.options.movies and self.options.episodes else \
            ("movies" if self.options.movies else "episodes")
        newest, page, pages = None, 1, 1
        while page <= pages:
            self._check_cancel()
            entries, pages = self._call(self.parts.client.history, start_at, page,
                                        PAGE_LIMIT, kind)
            newest = max([e.get("watched_at") or "" for e in entries] + [newest or ""]) \
                or None
            self._settle(entries, "history")
            page += 1
        return newest

    def _reconcile(self) -> None:
        self._set_phase("reconciling")
        movies = self._call(self.parts.client.watched, "movies") if self.options.movies \
            else []
        shows = self._call(self.parts.client.watched, "shows") if self.options.episodes \
            else []
        entries = watched_entries(movies, shows)
        self.log.info("reconcile: %d watched items on Trakt", len(entries))
        self._settle(entries, "reconcile")

    def _settle(self, entries: list, source: str) -> None:
        wanted = [e for e in entries if (e.get("type") == "movie" and self.options.movies)
                  or (e.get("type") == "episode" and self.options.episodes)]
        if source == "history":
            self.counts["fetched"] += len(wanted)
        done = self.record.done_ids(e["id"] for e in wanted)
        rows, changes = [], []
        for entry in wanted:
            if entry["id"] in done:
                continue
            self._check_cancel()
            row = self._settle_one(entry, count=source == "history")
            if source == "reconcile" and row["status"] in ("unmatched", "already_played",
                                                           "skipped"):
                continue  # the history entries it stands for report those, not twice
            rows.append(row)
            changes.append((row["status"], row["type"], label(entry)))
        if not self.dry_run:
            self.record.put(rows)
        self.store.add_changes(self.run_id, changes)
        self._maybe_report()

    def _settle_one(self, entry: dict, count: bool = True) -> dict:
        row = {**describe(entry), "history_id": entry["id"], "watched_at": entry.get("watched_at"),
               "run_id": self.run_id}
        item = find_item(self.index, entry)
        if item is None:
            self.counts["unmatched"] += int(count)
            return {**row, "status": "unmatched", "reason": "not in the library (no item with"
                    " these ids)"}
        row["item_id"] = item.id
        if item.id in self.failed_items:
            return {**row, "status": "skipped", "reason": "failed earlier in this run"}
        if item.played:
            self.counts["already_played"] += int(count)
            return {**row, "status": "already_played", "reason": None}
        if self.dry_run:
            item.played = True  # in this run's index only: counted once, like a real mark
            self.counts["marked"] += 1
            return {**row, "status": "marked", "reason": "dry run: would mark"}
        try:
            self.parts.mark_played(item.id, parse_time(entry.get("watched_at"))
                                   or datetime.now(timezone.utc))
        except (RetryableError, FatalError, ConfigError, FileError) as exc:
            self.counts["failed"] += 1
            self.failed_items.add(item.id)
            self.log.warning("%s: could not mark played: %s", label(entry), exc)
            return {**row, "status": "failed", "reason": str(exc)}
        item.played = True  # a second play of it in the history counts as already played
        self.counts["marked"] += 1
        return {**row, "status": "marked", "reason": None}

    # calls to Trakt ------------------------------------------------------------------------

    def _call(self, method, *args):
        """A Trakt call with a fresh token: one refresh on a 401, Retry-After obeyed."""
        refreshed = False
        for _attempt in range(THROTTLED_TRIES):
            self._check_cancel()
            token = self.parts.keeper.access_token(force=refreshed)
            try:
                return method(token, *args)
            except ThrottledError as exc:
                wait = max(exc.retry_after, 1.0)
                self.log.warning("Trakt asks to slow down: waiting %.0f s", wait)
                if self.cancel.wait(wait):
                    raise Stopped from None
            except RetryableError as exc:
                if exc.__class__.__name__ != "TokenRejected" or refreshed:
                    raise
                self.log.info("Trakt refused the access token; refreshing it")
                refreshed = True
        raise RetryableError("Trakt kept asking to slow down; the next run goes on")

    # progress and record -------------------------------------------------------------------

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Stopped

    def _set_phase(self, phase: str) -> None:
        self.phase = phase
        self._maybe_report(force=True)

    def _maybe_report(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._last_report < 0.5:
            return
        self._last_report = time.monotonic()
        self.store.add_log(self.run_id, self.log.take())
        if self.report is not None:
            self.report({"phase": self.phase, **self.counts,
                         "elapsed_s": round(time.monotonic() - self.started, 1)})

    def _finish(self, status: str, error: str | None) -> TraktSummary:
        summary = self._summary(status, error)
        self.phase = "done"
        self.log.info("run %s: %s", status, ", ".join(
            f"{name.replace('_', ' ')} {value}" for name, value in self.counts.items()))
        self.store.add_log(self.run_id, self.log.take())
        self.store.finish_run(self.run_id, status, dict(self.counts), error)
        return summary

    def _summary(self, status: str, error: str | None) -> TraktSummary:
        return TraktSummary(self.run_id, status, self.dry_run, dict(self.counts),
                            round(time.monotonic() - self.started, 3), error)
