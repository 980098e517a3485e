"""Runs: history with filters and paging, one run's detail (live), cancel."""

from flask import abort, flash, redirect, render_template, request, url_for

from strmsync.service.queue import cancel_run
from strmsync.web.api.runs import CHANGES_PAGE, LEVELS, STATUSES
from strmsync.web.context import get_redis, get_store
from strmsync.web.panel import panel
from strmsync.web.panel.records import final_progress, job_names, run_progress

PER_PAGE = 25
CHANGES_SHOWN = 500
ACTIONS = ("create", "update", "copy", "delete")


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
    return render_template("panel/runs.html", runs=rows, total=total, page=page,
                           pages=max((total + PER_PAGE - 1) // PER_PAGE, 1), job_id=job_id,
                           status=status, statuses=STATUSES, names=job_names())


def grouped_changes(run_id: int) -> dict:
    """The run's first CHANGES_PAGE changes by action (create, update, copy, delete)."""
    groups = {action: [] for action in ACTIONS}
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
    level = (request.args.get("level") or "").upper()
    live = row["status"] in ("queued", "running")
    progress = run_progress(row) if live else final_progress(row)
    return render_template("panel/run.html", run=row, job=get_store().job(row["job_id"]),
                           progress=progress, live=live, changes=grouped_changes(run_id),
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


@panel.post("/runs/<int:run_id>/dismiss")
def run_dismiss(run_id: int):
    run_or_404(run_id)
    get_store().dismiss_run(run_id)
    flash(f"Run #{run_id} no longer needs attention.", "ok")
    return redirect(url_for("panel.dashboard"))
