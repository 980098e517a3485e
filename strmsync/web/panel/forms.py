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
from strmsync.sources import CONFIG_FIELDS, KINDS, SECRET_FIELDS, TUNING_FIELDS
from strmsync.web.errors import error_fields

OPTION_CHOICES = {name: [(choice, choice) for choice in choices] for name, choices in (
    ("strategy", STRATEGIES), ("strm_mode", STRM_MODES), ("meta_mode", META_MODES),
    ("meta_update", META_UPDATES), ("cleanup", CLEANUP_MODES))}
JOB_FLAGS = ("run_on_start", "watch", "enabled")
SOURCE_FLAGS = ("tls", "encrypt")
THEN_SHOWN = "then_shown"  # the form had the `then` checkboxes (none ticked sends nothing)
FORM_KEY = "_form"


def option_names() -> list[str]:
    """Every job option, in the order SyncOptions declares them."""
    return [f.name for f in fields(SyncOptions)]


INT_OPTIONS = ("concurrency", "max_depth")
FLOAT_OPTIONS = ("settle_delay",)
INT_SOURCE_FIELDS = ("concurrency", "attempts", "page_size", "port")
NUMBER_SOURCE_FIELDS = (*TUNING_FIELDS, "port")


def typed_number(text: str, kind: type):
    """A form's number as `kind`: None when left empty, the text itself when it is not a
    number (so validation names the field)."""
    text = text.strip()
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        return text


def place_errors(exc: ConfigError, known, rename=None) -> dict:
    """`{form field: problem}` for every invalid field; fields not on the form go to the top.

    `rename` turns an API field name (`options.concurrency`) into the form's input name.
    """
    placed: dict = {}
    for name, problem in error_fields(exc).items():
        name = rename(name) if rename else name
        if name in known:
            placed.setdefault(name, problem)
        else:
            top = f"{name}: {problem}" if name != "body" else problem
            placed[FORM_KEY] = f"{placed[FORM_KEY]}; {top}" if FORM_KEY in placed else top
    return placed


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
    values["then"] = then_values(job)
    return values


def then_values(job: dict) -> list[str]:
    """The ids of the jobs a job runs after it succeeds, as the form's checkbox values."""
    return [str(job_id) for job_id in job.get("then_jobs") or []]


def then_from_form(form: MultiDict, body: dict) -> None:
    """Put the ticked `then` jobs into an API body (only when the form showed them)."""
    if THEN_SHOWN in form:
        body["then"] = [int(key) for key in form.getlist("then") if key.isdigit()]


def job_from_form(form: MultiDict) -> dict:
    """The API body for a job from the posted form, with numbers and flags typed."""
    body = {key: form.get(key, "").strip() for key in
            ("name", "source", "source_root", "target_root", "schedule")}
    if str(body.get("source", "")).isdigit():
        body["source"] = int(body["source"])
    options = {}
    for name in option_names():
        if name not in form:
            continue
        kind = int if name in INT_OPTIONS else float if name in FLOAT_OPTIONS else None
        value = typed_number(form[name], kind) if kind else form[name].strip()
        if value is not None:
            options[name] = value
    body["options"] = options
    body.update({flag: flag in form for flag in JOB_FLAGS})
    then_from_form(form, body)
    return body


def job_field(name: str) -> str:
    """The job form's input for an API field (options sit flat on the form)."""
    return name.removeprefix("options.")


def job_form_values(form: MultiDict) -> dict:
    """The posted job form as values to show again."""
    values = {key: value for key, value in form.items() if key != "csrf_token"}
    values.update({flag: flag in form for flag in JOB_FLAGS})
    values["media_servers"] = form.getlist("media_servers")
    values["then"] = form.getlist("then")
    return values


def pairs_text(pairs) -> str:
    """Stored `[[a, b], ...]` path pairs as the form's `a=b` lines."""
    if isinstance(pairs, str):
        return pairs
    return "\n".join(f"{left}={right}" for left, right in pairs or ())


def source_values(source: dict | None) -> dict:
    """The flat form values of a source, inputs named `kind-field` (secrets never shown)."""
    source = source or {"kind": "local", "qps": 0, "concurrency": 8, "config": {}}
    values = {"name": source.get("name", ""), "kind": source["kind"],
              "qps": f"{source.get('qps') or 0:g}", "concurrency": source.get("concurrency")}
    for name, value in source["config"].items():
        shown = pairs_text(value) if name == "event_map" else value
        values[f"{source['kind']}-{name}"] = "" if shown is None else shown
    return values


def source_from_form(form: MultiDict, kind: str) -> dict:
    """The API body for a source of `kind` from the posted form, numbers and flags typed."""
    body = {"name": form.get("name", "").strip(), "kind": kind,
            "qps": typed_number(form.get("qps", ""), float),
            "concurrency": typed_number(form.get("concurrency", ""), int)}
    for name in CONFIG_FIELDS.get(kind, ()):
        key = f"{kind}-{name}"
        if name in SOURCE_FLAGS:
            body[name] = key in form
        elif name in NUMBER_SOURCE_FIELDS and key in form:
            body[name] = typed_number(form[key], int if name in INT_SOURCE_FIELDS else float)
        elif key in form:
            body[name] = form[key].strip()
    for name in SECRET_FIELDS.get(kind, ()):
        if form.get(f"{kind}-{name}"):
            body[name] = form[f"{kind}-{name}"]
    # An emptied tuning field goes back to its default (None); qps and concurrency keep theirs.
    return {key: value for key, value in body.items()
            if value is not None or key in TUNING_FIELDS}


def source_errors(exc: ConfigError, kind: str) -> dict:
    """A source's errors placed beside its (kind-prefixed) fields."""
    common = {"name", "kind", "qps", "concurrency"}
    own = {*CONFIG_FIELDS.get(kind, ()), *SECRET_FIELDS.get(kind, ())}
    return place_errors(exc, common | {f"{kind}-{name}" for name in own},
                        lambda name: f"{kind}-{name}" if name in own else name)


def source_kinds() -> list[tuple]:
    """`(kind, config fields, secret fields)` for every source kind."""
    return [(kind, CONFIG_FIELDS[kind], SECRET_FIELDS[kind]) for kind in KINDS]


def tuning_defaults() -> dict:
    """`{tuning field: its default}`, shown beside the empty fields of a remote source."""
    from strmsync.strm.drivers.gate import SourcePolicy

    policy = SourcePolicy()
    return {name: f"{getattr(policy, name):g}" for name in TUNING_FIELDS}
