"""The trakt job's form: its fields to an API-shaped body and back (forms.py does STRM)."""

from dataclasses import fields

from werkzeug.datastructures import MultiDict

from strmsync.trakt.options import TraktOptions
from strmsync.web.panel.forms import then_from_form, then_values, typed_number

TRAKT_OPTIONS = tuple(f.name for f in fields(TraktOptions))
OPTION_FLAGS = ("movies", "episodes")
INT_OPTIONS = ("overlap_days", "reconcile_days", "get_budget")
ADVANCED = ("api_url", "get_budget")  # folded away unless changed or wrong
FLAGS = ("run_on_start", "enabled")
TEXT_FIELDS = ("name", "client_id", "media_server", "user", "user_name", "schedule")
# The fields a trakt job's errors can sit beside (the API names options `options.<name>`).
TRAKT_FIELDS = frozenset({*TEXT_FIELDS, "client_secret", "kind", "then", *TRAKT_OPTIONS})


def trakt_job_values(job: dict | None) -> dict:
    """The flat form values of a trakt job (defaults for a new one); never its secret."""
    job = job or {"enabled": 1}
    stored = job.get("options") or {}
    options = {**TraktOptions().to_dict(),
               **{k: v for k, v in stored.items() if k in TRAKT_OPTIONS}}
    values = {name: "" if options[name] is None else str(options[name])
              for name in TRAKT_OPTIONS if name not in OPTION_FLAGS}
    values.update({flag: bool(options[flag]) for flag in OPTION_FLAGS})
    values.update(name=job.get("name") or "", client_id=stored.get("client_id") or "",
                  media_server=str(stored.get("server_id") or ""),
                  user=stored.get("user_id") or "", user_name=stored.get("user_name") or "",
                  schedule=job.get("schedule") or "", then=then_values(job))
    values.update({flag: bool(job.get(flag)) for flag in FLAGS})
    return values


def trakt_from_form(form: MultiDict) -> dict:
    """The API body for a trakt job from the posted form, numbers and flags typed (an empty
    secret is left out: it keeps the stored one)."""
    body = {"kind": "trakt", **{key: form.get(key, "").strip() for key in TEXT_FIELDS}}
    for key in ("media_server", "user"):
        if not body[key]:
            del body[key]  # left unpicked: the API says "required"
    if str(body.get("media_server", "")).isdigit():
        body["media_server"] = int(body["media_server"])
    if form.get("client_secret", "").strip():
        body["client_secret"] = form["client_secret"].strip()
    options = {flag: flag in form for flag in OPTION_FLAGS}
    for name in INT_OPTIONS:
        value = typed_number(form.get(name, ""), int)
        if value is not None:
            options[name] = value
    if form.get("api_url", "").strip():
        options["api_url"] = form["api_url"].strip()
    body["options"] = options
    body.update({flag: flag in form for flag in FLAGS})
    then_from_form(form, body)
    return body


def trakt_form_values(form: MultiDict) -> dict:
    """The posted trakt form as values to show again (the secret never comes back)."""
    values = {key: value for key, value in form.items()
              if key not in ("csrf_token", "client_secret")}
    values.update({flag: flag in form for flag in (*FLAGS, *OPTION_FLAGS)})
    values["then"] = form.getlist("then")
    return values


def advanced_open(values: dict, errors: dict) -> bool:
    """Whether the advanced fields show unfolded: one of them is wrong or not the default."""
    defaults = TraktOptions()
    return any(name in errors for name in ADVANCED) or any(
        str(values.get(name, "")).strip() not in ("", str(getattr(defaults, name)))
        for name in ADVANCED)
