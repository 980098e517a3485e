"""Panel forms: HTML form fields to API-shaped dicts, and errors placed beside fields."""

from dataclasses import fields

from werkzeug.datastructures import MultiDict

from strmsync.config import (
    CLEANUP_MODES,
    META_MODES,
    META_UPDATES,
    STRATEGIES,
    STRM_MODES,
    SyncOptions,
)
from strmsync.errors import ConfigError
from strmsync.sources import CONFIG_FIELDS, KINDS, SECRET_FIELDS

OPTION_CHOICES = {name: [(choice, choice) for choice in choices] for name, choices in (
    ("strategy", STRATEGIES), ("strm_mode", STRM_MODES), ("meta_mode", META_MODES),
    ("meta_update", META_UPDATES), ("cleanup", CLEANUP_MODES))}
JOB_FLAGS = ("run_on_start", "watch", "enabled")
SOURCE_FLAGS = ("tls",)
FORM_KEY = "_form"


def option_names() -> list[str]:
    """Every job option, in the order SyncOptions declares them."""
    return [f.name for f in fields(SyncOptions)]


def place_error(exc: ConfigError, known) -> dict:
    """`{field: problem}` from a `field: problem` message; unknown fields go to the top."""
    name, sep, problem = str(exc).partition(": ")
    if sep and name in known:
        return {name: problem}
    return {FORM_KEY: str(exc)}


def option_text(name: str, value) -> str:
    """An option's value as the form shows it."""
    if name in ("media_exts", "meta_exts"):
        return " ".join(sorted(value))
    if name == "max_delete":
        return f"{float(value) * 100:g}%"
    return "" if value is None else str(value)


def job_values(job: dict | None) -> dict:
    """The flat form values of a job (defaults for a new one)."""
    options = {**SyncOptions().to_dict(), **((job or {}).get("options") or {})}
    values = {name: option_text(name, options[name]) for name in option_names()}
    job = job or {"enabled": 1}
    values.update({key: job.get(key) or "" for key in
                   ("name", "source_root", "target_root", "schedule")})
    values["source"] = str(job.get("source_id") or "")
    values.update({flag: bool(job.get(flag)) for flag in JOB_FLAGS})
    return values


def job_from_form(form: MultiDict) -> dict:
    """The API body for a job from the posted form."""
    body = {key: form.get(key, "").strip() for key in
            ("name", "source", "source_root", "target_root", "schedule")}
    body["options"] = {name: form[name].strip() for name in option_names() if name in form}
    body.update({flag: flag in form for flag in JOB_FLAGS})
    return body


def job_form_values(form: MultiDict) -> dict:
    """The posted job form as values to show again."""
    values = {key: value for key, value in form.items() if key != "csrf_token"}
    values.update({flag: flag in form for flag in JOB_FLAGS})
    values["media_servers"] = form.getlist("media_servers")
    return values


def source_values(source: dict | None) -> dict:
    """The flat form values of a source, inputs named `kind-field` (secrets never shown)."""
    source = source or {"kind": "local", "qps": 0, "concurrency": 8, "config": {}}
    values = {"name": source.get("name", ""), "kind": source["kind"],
              "qps": f"{source.get('qps') or 0:g}", "concurrency": source.get("concurrency")}
    for name, value in source["config"].items():
        values[f"{source['kind']}-{name}"] = value
    return values


def source_from_form(form: MultiDict, kind: str) -> dict:
    """The API body for a source of `kind` from the posted form."""
    body = {"name": form.get("name", "").strip(), "kind": kind,
            "qps": form.get("qps", "0").strip() or "0",
            "concurrency": form.get("concurrency", "8").strip() or "8"}
    for name in CONFIG_FIELDS.get(kind, ()):
        if name in SOURCE_FLAGS:
            body[name] = f"{kind}-{name}" in form
        elif f"{kind}-{name}" in form:
            body[name] = form[f"{kind}-{name}"].strip()
    for name in SECRET_FIELDS.get(kind, ()):
        if form.get(f"{kind}-{name}"):
            body[name] = form[f"{kind}-{name}"]
    return body


def source_error(exc: ConfigError, kind: str) -> dict:
    """A source's ConfigError placed beside its (kind-prefixed) field."""
    placed = place_error(exc, {"name", "kind", "qps", "concurrency",
                               *CONFIG_FIELDS.get(kind, ()), *SECRET_FIELDS.get(kind, ())})
    return {(f"{kind}-{key}" if key not in ("name", "kind", "qps", "concurrency", FORM_KEY)
             else key): problem for key, problem in placed.items()}


def source_kinds() -> list[tuple]:
    """`(kind, config fields, secret fields)` for every source kind."""
    return [(kind, CONFIG_FIELDS[kind], SECRET_FIELDS[kind]) for kind in KINDS]
