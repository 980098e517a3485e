"""`/api/v1/jobs/<id>/trakt/…`: link a trakt job to Trakt, unlink it, read its record."""

from flask import request

from strmsync.errors import ConfigError
from strmsync.trakt import auth
from strmsync.trakt.record import STATUSES, TraktRecord
from strmsync.web.api import api
from strmsync.web.api.jobs import job_or_404
from strmsync.web.context import get_redis, get_store
from strmsync.web.errors import ApiError


def _trakt_job(key) -> dict:
    job = job_or_404(key)
    if job["kind"] != "trakt":
        raise ApiError(409, f"{job['name']} is a {job['kind']} job; this is for trakt jobs")
    return job


@api.post("/jobs/<key>/trakt/authorize")
def authorize(key: str):
    """Start the device flow: the user's code and link; a task polls Trakt meanwhile."""
    return auth.start(get_store(), get_redis(), _trakt_job(key)), 202


@api.get("/jobs/<key>/trakt/authorize")
def authorization(key: str):
    """Where linking stands: pending, authorized, expired, denied, unauthorized, …"""
    return auth.status(get_store(), get_redis(), _trakt_job(key))


@api.post("/jobs/<key>/trakt/disconnect")
def disconnect(key: str):
    """Forget the job's Trakt tokens."""
    auth.disconnect(get_store(), get_redis(), _trakt_job(key))
    return {"state": "unauthorized"}


@api.get("/jobs/<key>/trakt/history")
def history(key: str):
    """A page of the job's history rows (`status`, `run` to filter), newest first."""
    job = _trakt_job(key)
    status = request.args.get("status") or None
    if status and status not in STATUSES:
        raise ConfigError(f"status: must be one of {', '.join(STATUSES)}")
    try:
        run_id = int(request.args["run"]) if request.args.get("run") else None
        limit = int(request.args.get("limit", 500))
        offset = int(request.args.get("offset", 0))
    except ValueError:
        raise ConfigError("run, limit, offset: whole numbers") from None
    if not 1 <= limit <= 5000 or offset < 0:
        raise ConfigError("limit: between 1 and 5000")
    rows, total = TraktRecord(get_store(), job["id"]).rows(status, run_id, limit, offset)
    return {"rows": rows, "total": total, "limit": limit, "offset": offset}
