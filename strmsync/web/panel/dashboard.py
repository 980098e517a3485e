"""The dashboard: queue and workers, live runs, recent runs, failures at a glance."""

from flask import render_template

from strmsync.web.context import get_store
from strmsync.web.panel import panel
from strmsync.web.panel.records import (
    health_report,
    job_names,
    job_overview,
    live_runs,
    recent_failures,
    relink_needed,
    with_kinds,
)


@panel.get("/")
def dashboard():
    recent, total = get_store().runs(limit=12)
    jobs = job_overview()
    return render_template("panel/dashboard.html", health=health_report(), live=live_runs(),
                           recent=with_kinds(recent), total=total, failures=recent_failures(),
                           relink=relink_needed(jobs), jobs=jobs, names=job_names())
