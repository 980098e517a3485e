"""`/api/v1/jobs`: create, list, edit, delete jobs, and queue their runs."""

from strmsync.jobs import RunRequest, job_warnings, public_job, validate_job
from strmsync.servers import resolve_servers
from strmsync.service.kinds import kind_of
from strmsync.service.queue import enqueue_run
from strmsync.validation import InvalidBody, validated
from strmsync.web.api import api, json_body
from strmsync.web.context import get_redis, get_store
from strmsync.web.errors import ApiError


def job_or_404(key) -> dict:
    """The job with this id (or name), or a 404."""
    job = get_store().job(key)
    if job is None:
        raise ApiError(404, f"no such job: {key}")
    return job


def _show(job: dict) -> dict:
    store = get_store()
    names = {other["id"]: other["name"] for other in store.jobs()}
    return public_job(job, store.source(job["source_id"]), store.job_servers(job["id"]), names,
                      store)


def _save(data: dict, existing: dict | None = None) -> dict:
    """Validate and store a job; the job as shown, with warnings when there are any."""
    store = get_store()
    values = validate_job(data, store, existing)
    server_ids = resolve_servers(data["media_servers"], store) \
        if data.get("media_servers") is not None else None
    _name_free(values["name"], existing["id"] if existing else None)
    if existing:
        store.update_job(existing["id"], values)
        job_id = existing["id"]
    else:
        job_id = store.add_job(values)
    if server_ids is not None:
        store.set_job_servers(job_id, server_ids)
    shown = _show(store.job(job_id))
    others = [job for job in store.jobs() if job["id"] != job_id]
    warnings = job_warnings(values, store.source(values["source_id"]), others)
    return {**shown, "warnings": warnings} if warnings else shown


def _name_free(name: str, own_id: int | None = None) -> None:
    other = get_store().job(name)
    if other is not None and other["id"] != own_id:
        raise ApiError(409, f"name: a job called {name!r} exists")


@api.get("/jobs")
def list_jobs():
    return {"jobs": [_show(job) for job in get_store().jobs()]}


@api.post("/jobs")
def add_job():
    return _save(json_body()), 201


@api.get("/jobs/<int:job_id>")
def show_job(job_id: int):
    return _show(job_or_404(job_id))


@api.route("/jobs/<int:job_id>", methods=["PUT", "PATCH"])
def edit_job(job_id: int):
    return _save(json_body(), job_or_404(job_id))


@api.delete("/jobs/<int:job_id>")
def delete_job(job_id: int):
    job_or_404(job_id)
    get_store().delete_job(job_id)
    return "", 204


@api.post("/jobs/<key>/run")
def run_job(key: str):
    """Queue a run of the job with this id or name."""
    job = job_or_404(key)
    job_id = job["id"]
    asked = validated(RunRequest, json_body(optional=True))
    if job["kind"] == "mirror" and asked.mode not in (None, "full"):
        raise InvalidBody({"mode": "a mirror run always lists both sides (its direction"
                                   " is the job's mode option)"})
    mode = asked.mode or kind_of(job).default_mode(job)
    dry_run = asked.dry_run
    run_id, queued = enqueue_run(get_store(), get_redis(), job_id, mode, "manual", dry_run)
    if not queued:
        raise ApiError(409, f"a {mode} run of this job is already queued (run {run_id})",
                       run_id=run_id, queued=False)
    return {"run_id": run_id, "queued": True}, 202
