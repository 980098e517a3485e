"""`/api/v1/health`: Redis, database, workers, scheduler, and the active hot path."""

import redis
from flask import request
from rq import Worker

import _fastscan
from strmsync import __version__
from strmsync.errors import ConfigError
from strmsync.service import servicelog
from strmsync.service.queue import run_queue
from strmsync.service.scheduler import scheduler_alive
from strmsync.web.api import api
from strmsync.web.auth import access
from strmsync.web.context import get_redis, get_store


@api.get("/health")
def health():
    """The service's health; anonymous callers get the status only (no paths, no counts)."""
    report = _report()
    if access() is None:
        return {"status": report["status"]}, 200 if report["status"] == "ok" else 503
    return report, 200 if report["status"] == "ok" else 503


def _report() -> dict:
    report = {"version": __version__, "fastscan": _fastscan.IMPLEMENTATION}
    try:
        get_store().db.execute("SELECT 1").fetchone()
        report["database"] = {"ok": True, "path": str(get_store().path)}
    except Exception as exc:  # noqa: BLE001 - health reports, never raises
        report["database"] = {"ok": False, "error": str(exc)}
    try:
        conn = get_redis()
        conn.ping()
        queue = run_queue(conn)
        workers = Worker.all(queue=queue)
        report["redis"] = {"ok": True}
        report["queue"] = {"queued": queue.count}
        report["workers"] = {"count": len(workers), "busy": sum(
            1 for w in workers if w.get_state() == "busy")}
        report["scheduler"] = {"ok": scheduler_alive(conn)}
    except (redis.RedisError, RuntimeError) as exc:
        report["redis"] = {"ok": False, "error": str(exc)}
    healthy = report["database"]["ok"] and report.get("redis", {}).get("ok")
    report["status"] = "ok" if healthy else "degraded"
    return report


@api.get("/log")
def service_log():
    """Recent lines of the service's log (every process), `?level=` and `?limit=`."""
    level = (request.args.get("level") or "").upper()
    if level and level not in servicelog.LEVELS:
        raise ConfigError(f"level: must be one of {', '.join(servicelog.LEVELS)}")
    try:
        limit = int(request.args.get("limit", 500))
    except ValueError:
        raise ConfigError("limit: expected a whole number") from None
    if not 1 <= limit <= servicelog.KEPT:
        raise ConfigError(f"limit: must be between 1 and {servicelog.KEPT}")
    return {"lines": servicelog.recent(get_redis(), level, limit)}
