"""Job records: validation of their settings and schedule, and how the API shows them."""

import os
from datetime import datetime
from typing import Annotated, Literal

from croniter import croniter
from pydantic import Field

from strmsync.config import (
    CLEANUP_MODES,
    MAX_DEPTH,
    META_MODES,
    META_UPDATES,
    STRATEGIES,
    STRM_MODES,
    SyncOptions,
)
from strmsync.errors import ConfigError
from strmsync.rootpaths import check_target, fold_path, inside, overlap
from strmsync.sources import validate_name
from strmsync.validation import (
    Body,
    InvalidBody,
    LongText,
    Name,
    PathText,
    SecretText,
    UrlText,
    Word,
    collect,
    raise_errors,
    require,
    typed_fields,
)

JOB_FIELDS = ("name", "source", "source_root", "target_root", "options", "schedule",
              "run_on_start", "watch", "enabled", "media_servers")
KINDS = ("strm", "mirror", "trakt")
MAX_THEN = 20
FLAGS = {"run_on_start": False, "watch": False, "enabled": True}


def validate_schedule(schedule) -> str:
    """An empty schedule, or a cron expression croniter accepts."""
    if schedule in (None, ""):
        return ""
    if not isinstance(schedule, str) or not _valid_cron(schedule.strip()):
        raise ConfigError(f"schedule: not a valid cron expression: {schedule!r}")
    return schedule.strip()


def _valid_cron(text: str) -> bool:
    try:
        return croniter.is_valid(text)
    except Exception:  # noqa: BLE001 - croniter raises more than it documents on odd text
        return False


def next_runs(schedule: str, count: int = 3, start: datetime | None = None) -> list[str]:
    """The next `count` run times of a cron schedule, in local time, ISO formatted."""
    if not schedule:
        return []
    it = croniter(schedule, start or datetime.now().astimezone())
    return [it.get_next(datetime).isoformat(timespec="minutes") for _ in range(count)]


class OptionsBody(Body):
    """A job's options as sent; any left out keep their stored (or default) value."""

    unknown_field = "unknown option"

    strategy: Literal[STRATEGIES] | None = None
    strm_mode: Literal[STRM_MODES] | None = None
    mount_prefix: PathText | None = None
    url_base: UrlText | None = None
    media_exts: Annotated[list[Word], Field(max_length=500)] | LongText | None = None
    meta_exts: Annotated[list[Word], Field(max_length=500)] | LongText | None = None
    meta_mode: Literal[META_MODES] | None = None
    meta_update: Literal[META_UPDATES] | None = None
    cleanup: Literal[CLEANUP_MODES] | None = None
    max_delete: Annotated[float, Field(ge=0, le=1)] | Annotated[str, Field(max_length=16)] \
        | None = None
    concurrency: Annotated[int, Field(ge=1, le=64)] | None = None
    max_depth: Annotated[int, Field(ge=1, le=MAX_DEPTH)] | None = None
    settle_delay: Annotated[float, Field(ge=0, le=3600)] | None = None


class MirrorOptionsBody(Body):
    """A mirror job's options as sent (mirror/options.py says what each means)."""

    unknown_field = "unknown option"

    mode: Literal["mirror", "upload", "download"] | None = None
    conflict: Literal["keep-both", "newer", "local", "remote"] | None = None
    max_delete: Annotated[float, Field(ge=0, le=1)] | Annotated[str, Field(max_length=16)] \
        | None = None
    concurrency: Annotated[int, Field(ge=1, le=32)] | None = None
    trash_days: Annotated[int, Field(ge=0, le=3650)] | None = None
    attempts: Annotated[int, Field(ge=1, le=10)] | None = None


class CommonJobBody(Body):
    """What every kind of job takes."""

    unknown_field = "not a job field"

    name: Name | None = None
    kind: Literal[KINDS] | None = None
    source: int | Name | None = None
    schedule: Annotated[str, Field(max_length=256)] | None = None
    run_on_start: bool | None = None
    enabled: bool | None = None
    then: Annotated[list[int | Name], Field(max_length=MAX_THEN)] | None = None
    # Shown in answers; ignored when a client sends a job back.
    id: int | None = None
    source_id: int | None = None
    next_runs: list[Annotated[str, Field(max_length=64)]] | None = None


class MirrorJobBody(CommonJobBody):
    """A mirror job: a local folder kept in step with a folder on an SMB source's share."""

    unknown_field = "not a field of a mirror job"

    local_root: PathText | None = None
    remote_path: PathText | None = None
    options: MirrorOptionsBody | None = None


class TraktOptionsBody(Body):
    """A trakt job's options as sent (trakt/options.py says what each means)."""

    unknown_field = "unknown option"

    movies: bool | None = None
    episodes: bool | None = None
    overlap_days: Annotated[int, Field(ge=0, le=365)] | None = None
    reconcile_days: Annotated[int, Field(ge=1, le=365)] | None = None
    api_url: UrlText | None = None
    get_budget: Annotated[int, Field(ge=10, le=5000)] | None = None


class TraktJobBody(CommonJobBody):
    """A trakt job: a Trakt account's watched history into one media-server user."""

    unknown_field = "not a field of a trakt job"

    client_id: Annotated[str, Field(max_length=128)] | None = None
    client_secret: SecretText | None = None
    media_server: int | Name | None = None
    user: Annotated[str, Field(max_length=64)] | None = None
    user_name: Annotated[str, Field(max_length=128)] | None = None
    options: TraktOptionsBody | None = None
    # Shown in answers; ignored when a client sends a job back.
    client_secret_set: bool | None = None
    authorization: Annotated[str, Field(max_length=32)] | None = None
    authorization_error: LongText | None = None


class JobBody(Body):
    """A job as the API, the panel and the CLI send it."""

    unknown_field = "not a job field"

    name: Name | None = None
    kind: Literal[KINDS] | None = None
    then: Annotated[list[int | Name], Field(max_length=MAX_THEN)] | None = None
    source: int | Name | None = None
    source_root: PathText | None = None
    target_root: PathText | None = None
    options: OptionsBody | None = None
    schedule: Annotated[str, Field(max_length=256)] | None = None
    run_on_start: bool | None = None
    watch: bool | None = None
    enabled: bool | None = None
    media_servers: Annotated[list[int | Name], Field(max_length=100)] | None = None
    # Shown in answers; ignored when a client sends a job back.
    id: int | None = None
    source_id: int | None = None
    next_runs: list[Annotated[str, Field(max_length=64)]] | None = None


class RunRequest(Body):
    """The body of "run now": which mode, and whether it is a dry run."""

    mode: Literal[STRATEGIES] | None = None
    dry_run: bool = False


def job_kind(data, existing: dict | None = None) -> str:
    """The kind a job body is for: the stored job's (it cannot change), else the sent one."""
    sent = data.get("kind") if isinstance(data, dict) else None
    if existing is not None:
        if sent not in (None, existing.get("kind", "strm")):
            raise InvalidBody({"kind": "cannot change; create a new job instead"})
        return existing.get("kind", "strm")
    if sent is None:
        return "strm"
    if sent not in KINDS:
        raise InvalidBody({"kind": f"must be one of {', '.join(KINDS)}"})
    return sent


def validate_job(data, store, existing: dict | None = None) -> dict:
    """The columns of a job record from API/CLI input, merged over `existing`."""
    kind = job_kind(data, existing)
    if kind == "mirror":
        return _validate_mirror_job(data, store, existing)
    if kind == "trakt":
        return _validate_trakt_job(data, store, existing)
    given, errors = typed_fields(JobBody, data)
    base = existing or {}
    if existing is None:
        require(given, ("name", "source", "source_root", "target_root"), errors)
    source_key = given.get("source", base.get("source_id"))
    source = store.source(source_key) if source_key not in (None, "") else None
    if source is None and "source" not in errors:
        errors["source"] = f"no such source: {source_key!r}"
    elif source is not None and source["kind"] == "smb":
        errors["source"] = "an smb source is for mirror jobs (kind: mirror)"
    options = collect(errors, "options", _options, base.get("options", {}),
                      given.get("options") or {})
    values = {
        "name": _field(errors, "name", validate_name, given, base),
        "source_id": source["id"] if source else None,
        "source_root": _field(errors, "source_root", _source_root, given, base, source),
        "target_root": _field(errors, "target_root", _target_root, given, base),
        "options": options.to_dict() if options else None,
        "schedule": collect(errors, "schedule", validate_schedule,
                            given.get("schedule", base.get("schedule"))),
        **{flag: int(given.get(flag, base.get(flag, default)))
           for flag, default in FLAGS.items()},
        "kind": "strm",
        "then_jobs": collect(errors, "then", _then, given, base, store),
    }
    if values["target_root"] and not {"target_root", "source_root"} & set(errors):
        collect(errors, "target_root", check_target, values["target_root"],
                store.path.parent, _local_root(values["source_root"], source))
    raise_errors(errors)
    return values


def _validate_mirror_job(data, store, existing: dict | None) -> dict:
    from strmsync.mirror.kind import check_source, mirror_values

    given, errors = typed_fields(MirrorJobBody, data)
    base = existing or {}
    if existing is None:
        require(given, ("name", "source", "local_root"), errors)
    source_key = given.get("source", base.get("source_id"))
    source = store.source(source_key) if source_key not in (None, "") else None
    if source is None and "source" not in errors:
        errors["source"] = f"no such source: {source_key!r}"
    collect(errors, "source", check_source, source)
    values = {
        "name": _field(errors, "name", validate_name, given, base),
        "kind": "mirror",
        "source_id": source["id"] if source else None,
        **mirror_values(given, base, errors, store),
        "schedule": collect(errors, "schedule", validate_schedule,
                            given.get("schedule", base.get("schedule"))),
        "run_on_start": int(given.get("run_on_start", base.get("run_on_start", False))),
        "watch": 0,
        "enabled": int(given.get("enabled", base.get("enabled", True))),
        "then_jobs": collect(errors, "then", _then, given, base, store),
    }
    raise_errors(errors)
    return values


def _validate_trakt_job(data, store, existing: dict | None) -> dict:
    from strmsync.trakt.kind import trakt_values

    given, errors = typed_fields(TraktJobBody, data)
    base = existing or {}
    if existing is None:
        require(given, ("name",), errors)
    values = {
        "name": _field(errors, "name", validate_name, given, base),
        "kind": "trakt",
        **trakt_values(given, base, errors, store),
        "schedule": collect(errors, "schedule", validate_schedule,
                            given.get("schedule", base.get("schedule"))),
        "run_on_start": int(given.get("run_on_start", base.get("run_on_start", False))),
        "watch": 0,
        "enabled": int(given.get("enabled", base.get("enabled", True))),
        "then_jobs": collect(errors, "then", _then, given, base, store),
    }
    raise_errors(errors)
    return values


def _then(given: dict, base: dict, store) -> list[int]:
    """The ids of the jobs to queue after this one succeeds; a cycle is refused."""
    if "then" not in given:
        return list(base.get("then_jobs") or [])
    ids = []
    for key in given["then"] or []:
        job = store.job(key)
        if job is None:
            raise ConfigError(f"then: no such job: {key!r}")
        if job["id"] not in ids:
            ids.append(job["id"])
    own = base.get("id")
    if own is not None and _reaches(store, ids, own):
        raise ConfigError("then: that would make a loop (a job that leads back to this one)")
    return ids


def _reaches(store, start: list[int], goal: int) -> bool:
    seen, todo = set(), list(start)
    while todo:
        job_id = todo.pop()
        if job_id == goal:
            return True
        if job_id in seen:
            continue
        seen.add(job_id)
        job = store.job(job_id)
        todo.extend((job or {}).get("then_jobs") or [])
    return False


def _field(errors: dict, name: str, check, given: dict, base: dict, *extra):
    value = given.get(name, base.get(name))
    if value is None:
        return None  # a missing required field is reported by require()
    return collect(errors, name, check, value, *extra)


def _options(stored: dict, given: dict) -> SyncOptions:
    try:
        sent = {name: value for name, value in given.items() if value is not None}
        return SyncOptions.from_dict({**stored, **sent})
    except ConfigError as exc:
        field, _, problem = str(exc).partition(": ")
        raise InvalidBody({f"options.{field}": problem}) from None


def _source_root(value: str, source: dict | None) -> str | None:
    value = fold_path(value, "source_root")
    if source is not None and source["kind"] == "local":
        root = fold_path(source["config"]["root"], "root")
        if not inside(value, root):
            raise ConfigError(f"source_root: must be inside the source's root {root}")
    return value


def _target_root(value: str) -> str:
    return fold_path(value, "target_root")


def _local_root(source_root: str | None, source: dict | None) -> str | None:
    return source_root if source is not None and source["kind"] == "local" else None


def job_warnings(values: dict, source: dict, others: list[dict]) -> list[str]:
    """What is accepted but worth telling: a local source root that is not there now, a
    target that lies in (or holds) another STRM job's target. (A mirror job's local folder
    is meant to hold a STRM job's target: that is what it pushes to the share.)"""
    warnings = []
    if values.get("kind", "strm") != "strm":
        return warnings
    others = [other for other in others if other.get("kind", "strm") == "strm"]
    if source["kind"] == "local" and not os.path.isdir(values["source_root"]):
        warnings.append(f"source_root: {values['source_root']} does not exist now (a mount"
                        " may be down); its runs fail without touching the target until"
                        " it is back")
    for other in others:
        if overlap(values["target_root"], other["target_root"]):
            warnings.append(f"target_root: overlaps the target of job {other['name']}"
                            f" ({other['target_root']}); their runs take turns, and each"
                            " cleans up only its own files")
    return warnings


def public_job(row: dict, source: dict | None = None, servers: list | None = None,
               names: dict | None = None, store=None) -> dict:
    """A job as the API shows it, with its next scheduled run times and media servers
    (`names`: job id → name, for its `then` list; `store`, for a trakt job's link)."""
    then = [(names or {}).get(job_id, job_id) for job_id in row.get("then_jobs") or []]
    if row.get("kind") == "trakt":
        from strmsync.trakt.kind import public_fields as trakt_fields

        return {"id": row["id"], "name": row["name"], "kind": "trakt",
                **trakt_fields(row, store), "schedule": row["schedule"] or "",
                "next_runs": next_runs(row["schedule"] or ""),
                "run_on_start": bool(row["run_on_start"]), "enabled": bool(row["enabled"]),
                "then": then}
    if row.get("kind") == "mirror":
        from strmsync.mirror.kind import public_fields

        return {"id": row["id"], "name": row["name"], "kind": "mirror",
                "source_id": row["source_id"], "source": source["name"] if source else None,
                **public_fields(row), "options": row["options"],
                "schedule": row["schedule"] or "", "next_runs": next_runs(row["schedule"] or ""),
                "run_on_start": bool(row["run_on_start"]), "enabled": bool(row["enabled"]),
                "then": then}
    return {"id": row["id"], "name": row["name"], "kind": "strm", "then": then,
            "source_id": row["source_id"],
            "source": source["name"] if source else None, "source_root": row["source_root"],
            "target_root": row["target_root"], "options": row["options"],
            "schedule": row["schedule"] or "", "next_runs": next_runs(row["schedule"] or ""),
            "run_on_start": bool(row["run_on_start"]), "watch": bool(row["watch"]),
            "enabled": bool(row["enabled"]),
            "media_servers": [server["name"] for server in servers or []]}
