"""Jobs: list, add, edit, delete, run now, dry run, and the schedule preview."""

from flask import abort, flash, redirect, render_template, request, url_for

from strmsync.config import STRATEGIES
from strmsync.errors import ConfigError
from strmsync.jobs import JOB_FIELDS, job_warnings, next_runs, validate_job, validate_schedule
from strmsync.service.queue import enqueue_run
from strmsync.web.context import get_redis, get_store
from strmsync.web.panel import panel
from strmsync.web.panel.forms import (
    OPTION_CHOICES,
    job_field,
    job_form_values,
    job_from_form,
    job_values,
    option_names,
    place_errors,
)
from strmsync.web.panel.mirrorform import (
    MIRROR_CHOICES,
    MIRROR_FIELDS,
    mirror_form_values,
    mirror_from_form,
    mirror_values,
)
from strmsync.web.panel.records import job_overview, with_kinds
from strmsync.web.panel.trakt import MODES as TRAKT_MODES
from strmsync.web.panel.trakt import SYNC_MODE, link
from strmsync.web.panel.traktform import (
    TRAKT_FIELDS,
    advanced_open,
    trakt_form_values,
    trakt_from_form,
    trakt_job_values,
)

HISTORY = 30  # runs in the job page's chart
MIRROR_MODE = "full"  # a mirror run lists both sides; its direction is an option
JOB_KINDS = (("strm", "STRM tree"), ("mirror", "Mirror with an SMB share"),
             ("trakt", "Trakt → watched"))
# Per kind: the posted form as an API body, as values to show again, the fields errors sit by.
FORMS = {
    "strm": (job_from_form, job_form_values, {*JOB_FIELDS, *option_names(), "then"}),
    "mirror": (mirror_from_form, mirror_form_values, MIRROR_FIELDS),
    "trakt": (trakt_from_form, trakt_form_values, TRAKT_FIELDS),
}


def job_or_404(job_id: int) -> dict:
    """The job with this id, or a 404 page."""
    job = get_store().job(job_id)
    if job is None:
        abort(404, f"There is no job {job_id}.")
    return job


def _kind(job: dict | None) -> str:
    """The kind of job a form is for: the job's own, else the one asked for (STRM)."""
    if job is not None:
        return job.get("kind") or "strm"
    asked = request.values.get("kind")
    return asked if asked in ("mirror", "trakt") else "strm"


def _form(values: dict, errors: dict, job: dict | None = None, status: int = 200):
    store = get_store()
    kind = _kind(job)
    recent = with_kinds(store.runs(job["id"], limit=8)[0]) if job else []
    history = with_kinds(store.runs(job["id"], limit=HISTORY)[0]) if job else []
    sources = [source for source in store.sources() if (source["kind"] == "smb")
               == (kind == "mirror")]
    others = [other for other in store.jobs() if job is None or other["id"] != job["id"]]
    choices = {"mirror": MIRROR_CHOICES, "trakt": {}}.get(kind, OPTION_CHOICES)
    trakt = {"link": link(job) if job else None, "advanced": advanced_open(values, errors)} \
        if kind == "trakt" else None
    return render_template("panel/job_form.html", values=values, errors=errors, job=job,
                           kind=kind, kinds=JOB_KINDS, sources=sources,
                           servers=store.servers(), options=option_names(), choices=choices,
                           recent=recent, history=history, others=others, trakt=trakt,
                           next_runs=_preview(values.get("schedule", ""))), status


def _linked_servers(job: dict | None) -> list[str]:
    return [str(server["id"]) for server in get_store().job_servers(job["id"])] if job else []


def _server_ids() -> list[int]:
    known = {server["id"] for server in get_store().servers()}
    chosen = {int(key) for key in request.form.getlist("media_servers") if key.isdigit()}
    return sorted(chosen & known)


def _preview(schedule: str) -> list[str]:
    try:
        return next_runs(validate_schedule(schedule), 3)
    except ConfigError:
        return []


def _save(job: dict | None = None):
    """Validate and store the posted job; the form again, with errors, when it is wrong."""
    store = get_store()
    kind = _kind(job)
    from_form, form_values, known = FORMS[kind]
    body = from_form(request.form)
    try:
        values = validate_job(body, store, job)
        other = store.job(values["name"])
        if other is not None and (job is None or other["id"] != job["id"]):
            raise ConfigError(f"name: a job called {values['name']!r} exists")
    except ConfigError as exc:
        return _form(form_values(request.form), place_errors(exc, known, job_field), job, 400)
    if job is None:
        job_id = store.add_job(values)
    else:
        job_id = job["id"]
        store.update_job(job_id, values)
    if kind != "trakt":  # a trakt job's media server is its own field
        store.set_job_servers(job_id, _server_ids())
    flash(f"Job {values['name']} saved.", "ok")
    if kind != "strm":
        return redirect(url_for("panel.job_edit", job_id=job_id))
    others = [other for other in store.jobs() if other["id"] != job_id]
    for warning in job_warnings(values, store.source(values["source_id"]), others):
        text = warning.partition(": ")[2]
        flash(text[:1].upper() + text[1:] + ".", "info")
    return redirect(url_for("panel.job_edit", job_id=job_id))


@panel.get("/jobs")
def jobs():
    return render_template("panel/jobs.html", jobs=job_overview())


@panel.route("/jobs/new", methods=["GET", "POST"])
def job_new():
    if request.method == "POST":
        return _save()
    kind = _kind(None)
    if kind == "trakt":
        if not get_store().servers():
            flash("Add an Emby or Jellyfin server first: a Trakt job marks played on one.",
                  "info")
            return redirect(url_for("panel.server_new"))
        return _form(trakt_job_values(None), {})
    if not get_store().sources():
        flash("Add a source first: a job copies from a source.", "info")
        return redirect(url_for("panel.source_new"))
    if kind == "mirror":
        return _form(mirror_values(None), {})
    return _form({**job_values(None), "media_servers": []}, {})


@panel.route("/jobs/<int:job_id>", methods=["GET", "POST"])
def job_edit(job_id: int):
    job = job_or_404(job_id)
    if request.method == "POST":
        return _save(job)
    if _kind(job) == "mirror":
        return _form(mirror_values(job), {}, job)
    if _kind(job) == "trakt":
        return _form(trakt_job_values(job), {}, job)
    return _form({**job_values(job), "media_servers": _linked_servers(job)}, {}, job)


@panel.post("/jobs/<int:job_id>/delete")
def job_delete(job_id: int):
    job = job_or_404(job_id)
    get_store().delete_job(job_id)
    flash(f"Job {job['name']} deleted (its files stay on disk).", "ok")
    return redirect(url_for("panel.jobs"))


@panel.post("/jobs/<int:job_id>/run")
def job_run(job_id: int):
    job = job_or_404(job_id)
    if _kind(job) == "mirror":
        mode = request.form.get("mode") or MIRROR_MODE
        if mode != MIRROR_MODE:
            abort(400, "mode: a mirror run always lists both sides (its direction is the"
                       " job's mode option)")
    elif _kind(job) == "trakt":
        mode = request.form.get("mode") or SYNC_MODE
        if mode not in TRAKT_MODES:
            abort(400, "mode: incremental (Sync now) or full (Full re-sync)")
    else:
        mode = request.form.get("mode") or job["options"].get("strategy", "full")
    if mode not in STRATEGIES:
        abort(400, f"mode: must be one of {', '.join(STRATEGIES)}")
    dry_run = request.form.get("dry_run") == "1"
    run_id, queued = enqueue_run(get_store(), get_redis(), job_id, mode, "manual", dry_run)
    if not queued:
        flash(f"A {mode} run of {job['name']} was already queued: here it is.", "info")
    return redirect(url_for("panel.run", run_id=run_id))


@panel.get("/jobs/schedule")
def schedule_preview():
    try:
        return {"next_runs": next_runs(validate_schedule(request.args.get("cron", "")), 3)}
    except ConfigError as exc:
        return {"error": str(exc).partition(": ")[2]}
