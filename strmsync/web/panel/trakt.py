"""Trakt jobs in the panel: the link's state, Disconnect, and what a run could not mark.

Authorise itself is a dialog in panel.js over the JSON API (`/api/v1/jobs/<id>/trakt/…`):
it shows Trakt's code and polls until the user has answered on trakt.tv.
"""

from flask import abort, flash, redirect, url_for

from strmsync.trakt import auth
from strmsync.trakt.record import TraktRecord
from strmsync.web.context import get_redis, get_store
from strmsync.web.panel import panel

SYNC_MODE = "incremental"  # "Sync now"; "Full re-sync" is mode full
MODES = ("incremental", "full")
MISSES = ("unmatched", "failed")  # a run's entries the user may have to act on
MISSES_SHOWN = 500
SHOWN_IDS = ("imdb", "tmdb", "tvdb")  # the ids a user can look up in their library


def link(job: dict) -> dict:
    """How a trakt job shows: its media server, user and link state (never a secret)."""
    from strmsync.trakt.kind import public_fields

    shown = public_fields(job, get_store())
    return {key: shown.get(key) for key in ("media_server", "user", "user_name",
                                            "authorization", "authorization_error",
                                            "client_secret_set")}


def ids_text(ids: dict) -> str:
    """A record row's provider ids as a person reads them: `imdb tt0133093 · tmdb 603`, and
    for an episode its own ids, then its show's."""
    if "episode" in ids or "show" in ids:
        parts = [(f"{side}: {_provider_ids(ids.get(side) or {})}") for side in
                 ("episode", "show") if _provider_ids(ids.get(side) or {})]
        return "; ".join(parts)
    return _provider_ids(ids)


def _provider_ids(ids: dict) -> str:
    shown = [f"{name} {ids[name]}" for name in SHOWN_IDS if ids.get(name)]
    if not shown and ids.get("trakt"):
        shown = [f"trakt {ids['trakt']}"]
    return " · ".join(shown)


def numbering(row: dict) -> str:
    """`S01E02` for an episode, empty for a movie."""
    if row.get("type") != "episode":
        return ""
    return f"S{row.get('season') or 0:02d}E{row.get('episode') or 0:02d}"


def run_misses(run: dict, job: dict | None, changes: dict) -> dict:
    """`{unmatched|failed: rows}` of one trakt run, taken out of its `changes`: the record's
    rows (title, year, numbering, ids, reason) for a real run; a dry run keeps no record,
    so its rows are the labels it noted."""
    misses = {}
    for status in MISSES:
        noted = changes.pop(status, [])
        rows = []
        if job is not None and not run["dry_run"]:
            rows, _ = TraktRecord(get_store(), job["id"]).rows(status, run["id"],
                                                                MISSES_SHOWN)
            rows = [{**row, "numbering": numbering(row), "ids_text": ids_text(row["ids"])}
                    for row in rows]
        if not rows:
            rows = [{"title": change["path"], "type": change["kind"]} for change in noted]
        if rows:
            misses[status] = rows
    return misses


@panel.post("/jobs/<int:job_id>/trakt/disconnect")
def trakt_disconnect(job_id: int):
    from strmsync.web.panel.jobs import job_or_404

    job = job_or_404(job_id)
    if job.get("kind") != "trakt":
        abort(404, f"{job['name']} is not a Trakt job.")
    auth.disconnect(get_store(), get_redis(), job)
    flash(f"{job['name']} is no longer linked to Trakt: its tokens are forgotten."
          " Authorise again to sync.", "ok")
    return redirect(url_for("panel.job_edit", job_id=job_id))
