"""`/api/v1/runs`: history, live progress, logs, changes, cancel."""

import itertools

from flask import Response, request

from strmsync.errors import ConfigError
from strmsync.service.queue import cancel_run, live_progress, pause_run
from strmsync.store import Store
from strmsync.web.api import api
from strmsync.web.context import get_redis, get_store
from strmsync.web.errors import ApiError

STATUSES = ("queued", "running", "paused", "succeeded", "partial", "failed", "cancelled")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
CHANGES_PAGE = 5000


def _run_or_404(run_id: int) -> dict:
    run = get_store().run(run_id)
    if run is None:
        raise ApiError(404, f"no such run: {run_id}")
    return run


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}: must be between {low} and {high}")
    return value


def public_run(run: dict) -> dict:
    """A run as the API shows it: `counts` holds what its job's kind counts."""
    out = {key: value for key, value in run.items() if key not in ("pid", "rq_job_id")}
    out["dry_run"] = bool(run["dry_run"])
    job = get_store().job(run["job_id"], one_shot=True)
    out["kind"] = (job or {}).get("kind", "strm")
    return out


@api.get("/runs")
def list_runs():
    status = request.args.get("status") or None
    if status and status not in STATUSES:
        raise ConfigError(f"status: must be one of {', '.join(STATUSES)}")
    job = request.args.get("job")
    job_id = None
    if job:
        found = get_store().job(job)
        if found is None:
            raise ApiError(404, f"no such job: {job}")
        job_id = found["id"]
    page = _int_arg("page", 1, 1, 1_000_000)
    per_page = _int_arg("per_page", 20, 1, 200)
    rows, total = get_store().runs(job_id, status, per_page, (page - 1) * per_page)
    return {"runs": [public_run(row) for row in rows], "total": total, "page": page,
            "per_page": per_page}


@api.get("/runs/<int:run_id>")
def show_run(run_id: int):
    run = _run_or_404(run_id)
    return {**public_run(run), "progress": live_progress(get_redis(), run)}


@api.get("/runs/<int:run_id>/log")
def run_log(run_id: int):
    _run_or_404(run_id)
    level = (request.args.get("level") or "").upper()
    if level and level not in LEVELS:
        raise ConfigError(f"level: must be one of {', '.join(LEVELS)}")
    floor = LEVELS.index(level) if level else 0
    after = _int_arg("after", 0, 0, 2**62)
    lines = [line for line in get_store().run_log(run_id, after)
             if line["level"] not in LEVELS or LEVELS.index(line["level"]) >= floor]
    return {"run_id": run_id, "lines": lines}


@api.get("/runs/<int:run_id>/changes")
def run_changes(run_id: int):
    """A page of the run's changes with their total; `truncated` when more follow."""
    _run_or_404(run_id)
    limit = _int_arg("limit", CHANGES_PAGE, 1, 100_000)
    offset = _int_arg("offset", 0, 0, 2**62)
    counts = get_store().change_counts(run_id)
    changes = get_store().run_changes(run_id, limit, offset)
    total = sum(counts.values())
    return {"run_id": run_id, "changes": changes, "total": total, "counts": counts,
            "offset": offset, "truncated": offset + len(changes) < total}


@api.get("/runs/<int:run_id>/changes.txt")
def run_changes_text(run_id: int):
    """Every change of the run as text, one `action kind path` a line, for download."""
    _run_or_404(run_id)
    path = get_store().path

    def lines():
        # Streamed after the request's own store is closed: the pages come from one of ours.
        store = Store(path)
        try:
            for offset in itertools.count(0, CHANGES_PAGE):
                page = store.run_changes(run_id, CHANGES_PAGE, offset)
                yield "".join(f"{c['action']}\t{c['kind']}\t{c['path']}\n" for c in page)
                if len(page) < CHANGES_PAGE:
                    return
        finally:
            store.close()

    return Response(lines(), mimetype="text/plain", headers={
        "Content-Disposition": f'attachment; filename="run-{run_id}-changes.txt"'})


@api.post("/runs/<int:run_id>/cancel")
def cancel(run_id: int):
    _run_or_404(run_id)
    outcome = cancel_run(get_store(), get_redis(), run_id)
    if outcome is None:
        status = get_store().run(run_id)["status"]
        raise ApiError(409, f"run {run_id} has already ended: {status}", run_status=status)
    return {"run_id": run_id, "status": outcome}, 202


@api.post("/runs/<int:run_id>/pause")
def pause(run_id: int):
    """Pause a mirror run between files (it keeps its slot); resume goes on from there."""
    return _pause(run_id, True)


@api.post("/runs/<int:run_id>/resume")
def resume(run_id: int):
    """Let a paused mirror run go on."""
    return _pause(run_id, False)


def _pause(run_id: int, paused: bool):
    run = _run_or_404(run_id)
    if public_run(run)["kind"] != "mirror":
        raise ApiError(409, "only mirror runs can pause; cancel stops a sync")
    outcome = pause_run(get_store(), get_redis(), run_id, paused)
    if outcome is None:
        status = get_store().run(run_id)["status"]
        raise ApiError(409, f"run {run_id} is not under way: {status}", run_status=status)
    return {"run_id": run_id, "status": outcome}, 202


@api.post("/runs/<int:run_id>/dismiss")
def dismiss(run_id: int):
    """Take a failed run off the dashboard's "needs attention"."""
    _run_or_404(run_id)
    get_store().dismiss_run(run_id)
    return {"run_id": run_id, "dismissed": True}
