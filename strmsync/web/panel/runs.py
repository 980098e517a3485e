"""Runs: history with filters and paging, one run's detail (live), cancel."""

from flask import abort, flash, redirect, render_template, request, url_for

from strmsync.service.queue import cancel_run, pause_run
from strmsync.store import ACTIVE_STATUSES
from strmsync.web.api.runs import CHANGES_PAGE, LEVELS, STATUSES
from strmsync.web.context import get_redis, get_store
from strmsync.web.panel import panel
from strmsync.web.panel.filters import run_kind
from strmsync.web.panel.records import final_progress, job_names, run_progress, with_kinds
from strmsync.web.panel.trakt import link, run_misses

PER_PAGE = 25
CHANGES_SHOWN = 500
ACTIONS = {"strm": ("create", "update", "copy", "delete"),
           "mirror": ("upload", "download", "delete_local", "delete_remote", "conflict",
                      "refused"),
           "trakt": ("marked", "already_played", "unmatched", "failed")}
CONFLICTS = ("conflict", "refused")  # a mirror run's, shown in a section of their own
LIVE = ("queued", *ACTIVE_STATUSES)


def run_or_404(run_id: int) -> dict:
    """The run with this id, or a 404 page."""
    run = get_store().run(run_id)
    if run is None:
        abort(404, f"There is no run {run_id}.")
    return run


def _page() -> int:
    raw = request.args.get("page", "1")
    return max(int(raw), 1) if raw.isdigit() else 1


@panel.get("/runs")
def runs():
    job_id = request.args.get("job", type=int)
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    page = _page()
    rows, total = get_store().runs(job_id, status, PER_PAGE, (page - 1) * PER_PAGE)
    return render_template("panel/runs.html", runs=with_kinds(rows), total=total, page=page,
                           pages=max((total + PER_PAGE - 1) // PER_PAGE, 1), job_id=job_id,
                           status=status, statuses=STATUSES, names=job_names())


def grouped_changes(run_id: int, kind: str = "strm") -> dict:
    """The run's first CHANGES_PAGE changes by action (create, update, copy, delete; a
    mirror's upload, download, delete_local, delete_remote, conflict, refused; a trakt
    run's marked, already_played, unmatched, failed)."""
    groups = {action: [] for action in ACTIONS.get(kind, ())}
    for change in get_store().run_changes(run_id, CHANGES_PAGE):
        groups.setdefault(change["action"], []).append(change)
    return {action: rows for action, rows in groups.items() if rows}


def _log(run_id: int, level: str) -> list[dict]:
    floor = LEVELS.index(level) if level in LEVELS else 0
    return [line for line in get_store().run_log(run_id)
            if line["level"] not in LEVELS or LEVELS.index(line["level"]) >= floor]


@panel.get("/runs/<int:run_id>")
def run(run_id: int):
    row = run_or_404(run_id)
    job = get_store().job(row["job_id"])
    kind = row["kind"] = (job.get("kind") or "strm") if job else run_kind(row)
    level = (request.args.get("level") or "").upper()
    live = row["status"] in LIVE
    progress = run_progress(row) if live else final_progress(row, kind)
    changes = grouped_changes(run_id, kind)
    conflicts = {action: changes.pop(action) for action in CONFLICTS if action in changes}
    misses = {}
    if kind == "trakt":
        misses = run_misses(row, job, changes)
        job = {**job, "trakt": link(job)} if job else None
    return render_template("panel/run.html", run=row, job=job, kind=kind,
                           progress=progress, live=live, changes=changes, conflicts=conflicts,
                           misses=misses,
                           change_counts=get_store().change_counts(run_id),
                           loaded=CHANGES_PAGE, shown=CHANGES_SHOWN, log=_log(run_id, level),
                           level=level, levels=LEVELS)


@panel.post("/runs/<int:run_id>/cancel")
def run_cancel(run_id: int):
    run_or_404(run_id)
    outcome = cancel_run(get_store(), get_redis(), run_id)
    if outcome is None:
        flash(f"Run {run_id} had already ended.", "info")
    else:
        flash(f"Run {run_id}: {outcome}.", "ok")
    return redirect(url_for("panel.run", run_id=run_id))


@panel.post("/runs/<int:run_id>/pause")
def run_pause(run_id: int):
    return _pause(run_id, True)


@panel.post("/runs/<int:run_id>/resume")
def run_resume(run_id: int):
    return _pause(run_id, False)


def _pause(run_id: int, paused: bool):
    """Pause a mirror run between files (it keeps its place), or let it go on."""
    run = run_or_404(run_id)
    job = get_store().job(run["job_id"])
    if (job or {}).get("kind") != "mirror":
        flash("Only a mirror run can pause; Cancel stops a STRM run.", "error")
    elif pause_run(get_store(), get_redis(), run_id, paused) is None:
        flash(f"Run #{run_id} is not under way.", "info")
    else:
        flash(f"Run #{run_id} {'pauses after the file it is on' if paused else 'goes on'}.",
              "ok")
    return redirect(url_for("panel.run", run_id=run_id))


@panel.post("/runs/<int:run_id>/dismiss")
def run_dismiss(run_id: int):
    run_or_404(run_id)
    get_store().dismiss_run(run_id)
    flash(f"Run #{run_id} no longer needs attention.", "ok")
    return redirect(url_for("panel.dashboard"))
