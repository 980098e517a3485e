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
    UrlText,
    Word,
    collect,
    raise_errors,
    require,
    typed_fields,
)

JOB_FIELDS = ("name", "source", "source_root", "target_root", "options", "schedule",
              "run_on_start", "watch", "enabled", "media_servers")
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


class JobBody(Body):
    """A job as the API, the panel and the CLI send it."""

    unknown_field = "not a job field"

    name: Name | None = None
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


def validate_job(data, store, existing: dict | None = None) -> dict:
    """The columns of a job record from API/CLI input, merged over `existing`."""
    given, errors = typed_fields(JobBody, data)
    base = existing or {}
    if existing is None:
        require(given, ("name", "source", "source_root", "target_root"), errors)
    source_key = given.get("source", base.get("source_id"))
    source = store.source(source_key) if source_key not in (None, "") else None
    if source is None and "source" not in errors:
        errors["source"] = f"no such source: {source_key!r}"
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
    }
    if values["target_root"] and not {"target_root", "source_root"} & set(errors):
        collect(errors, "target_root", check_target, values["target_root"],
                store.path.parent, _local_root(values["source_root"], source))
    raise_errors(errors)
    return values


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
    target that lies in (or holds) another STRM job's target."""
    warnings = []
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


def public_job(row: dict, source: dict | None = None, servers: list | None = None) -> dict:
    """A job as the API shows it, with its next scheduled run times and media servers."""
    return {"id": row["id"], "name": row["name"], "source_id": row["source_id"],
            "source": source["name"] if source else None, "source_root": row["source_root"],
            "target_root": row["target_root"], "options": row["options"],
            "schedule": row["schedule"] or "", "next_runs": next_runs(row["schedule"] or ""),
            "run_on_start": bool(row["run_on_start"]), "watch": bool(row["watch"]),
            "enabled": bool(row["enabled"]),
            "media_servers": [server["name"] for server in servers or []]}
