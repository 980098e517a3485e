"""Job records: validation of their settings and schedule, and how the API shows them."""

import os
from datetime import datetime

from croniter import croniter

from strmsync.config import SyncOptions
from strmsync.errors import ConfigError
from strmsync.sources import validate_name

JOB_FIELDS = ("name", "source", "source_root", "target_root", "options", "schedule",
              "run_on_start", "watch", "enabled", "media_servers")


def validate_schedule(schedule) -> str:
    """An empty schedule, or a cron expression croniter accepts."""
    if schedule in (None, ""):
        return ""
    if not isinstance(schedule, str) or not croniter.is_valid(schedule.strip()):
        raise ConfigError(f"schedule: not a valid cron expression: {schedule!r}")
    return schedule.strip()


def next_runs(schedule: str, count: int = 3, start: datetime | None = None) -> list[str]:
    """The next `count` run times of a cron schedule, in local time, ISO formatted."""
    if not schedule:
        return []
    it = croniter(schedule, start or datetime.now().astimezone())
    return [it.get_next(datetime).isoformat(timespec="minutes") for _ in range(count)]


def validate_job(data: dict, store, existing: dict | None = None) -> dict:
    """The columns of a job record from API/CLI input, merged over `existing`."""
    if not isinstance(data, dict):
        raise ConfigError("body: expected a JSON object")
    unknown = sorted(set(data) - set(JOB_FIELDS) - {"id", "next_runs", "source_id"})
    if unknown:
        raise ConfigError(f"{unknown[0]}: not a job field")
    base = existing or {}
    source_key = data.get("source", base.get("source_id"))
    source = store.source(source_key) if source_key not in (None, "") else None
    if source is None:
        raise ConfigError(f"source: no such source: {source_key!r}")
    options = SyncOptions.from_dict({**base.get("options", {}), **(data.get("options") or {})})
    values = {
        "name": validate_name(data.get("name", base.get("name"))),
        "source_id": source["id"],
        "source_root": _source_root(data.get("source_root", base.get("source_root")), source),
        "target_root": _target_root(data.get("target_root", base.get("target_root"))),
        "options": options.to_dict(),
        "schedule": validate_schedule(data.get("schedule", base.get("schedule"))),
        "run_on_start": _flag(data, base, "run_on_start", False),
        "watch": _flag(data, base, "watch", False),
        "enabled": _flag(data, base, "enabled", True),
    }
    _check_overlap(values, source)
    return values


def _source_root(value, source: dict) -> str:
    if not value or not isinstance(value, str) or not value.startswith("/"):
        raise ConfigError("source_root: an absolute path in the source is required")
    if "\x00" in value or "/../" in value + "/":
        raise ConfigError("source_root: must not contain '..' or NUL")
    if source["kind"] == "local":
        root = source["config"]["root"].rstrip("/")
        if value != root and not value.startswith(root + "/"):
            raise ConfigError(f"source_root: must be inside the source's root {root}")
    return value.rstrip("/") or "/"


def _target_root(value) -> str:
    if not value or not isinstance(value, str) or not os.path.isabs(value):
        raise ConfigError("target_root: an absolute directory path is required")
    if "\x00" in value or "/../" in value + "/":
        raise ConfigError("target_root: must not contain '..' or NUL")
    return value.rstrip("/") or "/"


def _check_overlap(values: dict, source: dict) -> None:
    if source["kind"] != "local":
        return
    src, dst = values["source_root"], values["target_root"]
    if src == dst or dst.startswith(src + "/") or src.startswith(dst + "/"):
        raise ConfigError("target_root: must not overlap the source root")


def _flag(data: dict, base: dict, name: str, default: bool) -> int:
    value = data.get(name, base.get(name, default))
    if isinstance(value, str):
        value = value.strip().lower() in ("1", "true", "yes", "on")
    return int(bool(value))


def public_job(row: dict, source: dict | None = None, servers: list | None = None) -> dict:
    """A job as the API shows it, with its next scheduled run times and media servers."""
    return {"id": row["id"], "name": row["name"], "source_id": row["source_id"],
            "source": source["name"] if source else None, "source_root": row["source_root"],
            "target_root": row["target_root"], "options": row["options"],
            "schedule": row["schedule"] or "", "next_runs": next_runs(row["schedule"] or ""),
            "run_on_start": bool(row["run_on_start"]), "watch": bool(row["watch"]),
            "enabled": bool(row["enabled"]),
            "media_servers": [server["name"] for server in servers or []]}
