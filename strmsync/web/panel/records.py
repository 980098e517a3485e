"""What the panel's pages show, read from the store, the queue and the health report."""

import time

from strmsync.jobs import next_runs
from strmsync.service.queue import live_progress
from strmsync.store import ACTIVE_STATUSES
from strmsync.web.context import get_redis, get_store

FAILED = ("failed", "partial")
FAILURE_WINDOW = 7 * 86400
DASHBOARD_HISTORY = 20  # runs in each job's small chart on the dashboard


def job_names() -> dict:
    """`{job id: name}` for labelling runs."""
    return {job["id"]: job["name"] for job in get_store().jobs()}


def with_kinds(runs: list[dict]) -> list[dict]:
    """The runs, each told its job's kind (what its counts mean); a deleted job's runs are
    left for their counts to tell."""
    kinds = {job["id"]: job.get("kind") or "strm" for job in get_store().jobs()}
    for run in runs:
        if run["job_id"] in kinds:
            run["kind"] = kinds[run["job_id"]]
    return runs


def health_report() -> dict:
    """The API's health report (it never raises)."""
    from strmsync.web.api.health import health

    report, _status = health()
    return report


def live_runs() -> list[dict]:
    """Running runs (with their last progress), then queued ones, oldest first."""
    store = get_store()
    running = [run for status in ACTIVE_STATUSES for run in store.runs(status=status,
                                                                       limit=50)[0]]
    queued, _ = store.runs(status="queued", limit=50)
    for run in running:
        run["progress"] = run_progress(run)
    return with_kinds(sorted(running, key=lambda r: r["id"])
                      + sorted(queued, key=lambda r: r["id"]))


def run_progress(run: dict) -> dict | None:
    try:
        return live_progress(get_redis(), run)
    except Exception:  # noqa: BLE001 - a page renders without live progress
        return None


def recent_failures() -> list[dict]:
    """Jobs whose newest real run of the last week failed (or was partial) and was not
    dismissed, newest first: a later run that succeeded settles it."""
    since = time.time() - FAILURE_WINDOW
    return [run for run in get_store().latest_finished_runs()
            if run["status"] in FAILED and not run["dismissed"]
            and (run["finished_at"] or 0) >= since][:10]


def job_overview() -> list[dict]:
    """Every job with its source's name, its last run and next scheduled runs (and a trakt
    job's media server, user and link state)."""
    from strmsync.web.panel.trakt import link

    store = get_store()
    sources = {source["id"]: source["name"] for source in store.sources()}
    out = []
    for job in store.jobs():
        history = with_kinds(store.runs(job["id"], limit=DASHBOARD_HISTORY)[0])
        out.append({**job, "source_name": sources.get(job["source_id"], "?"),
                    "last_run": history[0] if history else None, "history": history,
                    "next_runs": next_runs(job["schedule"] or "", 1),
                    "trakt": link(job) if job.get("kind") == "trakt" else None})
    return out


def relink_needed(jobs: list[dict]) -> list[dict]:
    """The trakt jobs (of `job_overview`) Trakt no longer accepts: authorise them again."""
    return [job for job in jobs
            if (job.get("trakt") or {}).get("authorization") == "authorize again"]


def final_progress(run: dict, kind: str = "strm") -> dict:
    """A finished run's counts shaped like live progress (for the same bar)."""
    if kind == "mirror":
        return final_mirror_progress(run)
    if kind == "trakt":
        return {**(run["counts"] or {}), "phase": "done", "elapsed_s": run["duration_s"]}
    return {"scanned": run["scanned"] or 0, "total": run["scanned"] or 0, "phase": "done",
            "rate": round((run["scanned"] or 0) / run["duration_s"], 1)
            if run["duration_s"] else None, "eta_s": None}


def final_mirror_progress(run: dict) -> dict:
    """A finished mirror run's counts shaped like its live progress."""
    counts = run["counts"] or {}
    files = sum(int(counts.get(name) or 0) for name in ("uploaded", "downloaded"))
    nbytes = int(counts.get("bytes") or 0)
    rate = round(nbytes / run["duration_s"]) if run["duration_s"] else None
    return {**counts, "phase": "done", "files_done": files, "files_total": files,
            "bytes_done": nbytes, "bytes_total": nbytes, "rate_bytes_s": rate, "eta_s": None}
