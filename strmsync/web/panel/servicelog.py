"""The service log page: recent lines of every strmsync process, filtered by level."""

from flask import render_template, request

from strmsync.service import servicelog
from strmsync.web.context import get_redis
from strmsync.web.panel import panel

SHOWN = 500


@panel.get("/log")
def log_page():
    level = (request.args.get("level") or "").upper()
    level = level if level in servicelog.LEVELS else ""
    try:
        lines, problem = servicelog.recent(get_redis(), level, SHOWN), None
    except Exception as exc:  # noqa: BLE001 - the page says Redis is down instead
        lines, problem = [], f"The log lives in Redis, which does not answer: {exc}"
    return render_template("panel/log.html", lines=lines, level=level, problem=problem,
                           levels=servicelog.LEVELS[1:4], shown=SHOWN)
