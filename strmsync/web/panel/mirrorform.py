"""The mirror job's form: its fields to an API-shaped body and back (forms.py does STRM)."""

import re
from dataclasses import fields

from werkzeug.datastructures import MultiDict

from strmsync.mirror.options import MirrorOptions
from strmsync.web.panel.forms import option_text, then_from_form, then_values, typed_number

MIRROR_OPTIONS = tuple(f.name for f in fields(MirrorOptions))
INT_OPTIONS = ("concurrency", "trash_days", "attempts")
FLAGS = ("run_on_start", "enabled")
TEXT_FIELDS = ("name", "source", "remote_path", "local_root", "schedule")
# The fields a mirror job's errors can sit beside (the API names options `options.<name>`).
MIRROR_FIELDS = frozenset({*TEXT_FIELDS, "kind", "then", *MIRROR_OPTIONS})
MIRROR_CHOICES = {
    "mode": [("mirror", "Both ways (mirror)"), ("upload", "Local → share only (upload)"),
             ("download", "Share → local only (download)")],
    "conflict": [("keep-both", "Keep both (rename the loser)"), ("newer", "The newer one wins"),
                 ("local", "The local one wins"), ("remote", "The share's one wins")],
}
BARE_NUMBER = re.compile(r"^\d+(\.\d+)?$")


def mirror_values(job: dict | None) -> dict:
    """The flat form values of a mirror job (defaults for a new one)."""
    job = job or {"enabled": 1}
    options = {**MirrorOptions().to_dict(), **(job.get("options") or {})}
    values = {name: option_text(name, options[name]) for name in MIRROR_OPTIONS}
    values.update(name=job.get("name") or "", source=str(job.get("source_id") or ""),
                  remote_path=job.get("source_root") or "",
                  local_root=job.get("target_root") or "", schedule=job.get("schedule") or "",
                  then=then_values(job))
    values.update({flag: bool(job.get(flag)) for flag in FLAGS})
    return values


def mirror_from_form(form: MultiDict) -> dict:
    """The API body for a mirror job from the posted form, numbers and flags typed."""
    body = {"kind": "mirror", **{key: form.get(key, "").strip() for key in TEXT_FIELDS}}
    if body["source"].isdigit():
        body["source"] = int(body["source"])
    options = {}
    for name in MIRROR_OPTIONS:
        text = form.get(name, "").strip()
        if name in INT_OPTIONS:
            value = typed_number(text, int)
        elif name == "max_delete" and BARE_NUMBER.match(text):
            value = text + "%"  # the form asks for a percentage
        else:
            value = text or None
        if value is not None:
            options[name] = value
    body["options"] = options
    body.update({flag: flag in form for flag in FLAGS})
    then_from_form(form, body)
    return body


def mirror_form_values(form: MultiDict) -> dict:
    """The posted mirror form as values to show again."""
    values = {key: value for key, value in form.items() if key != "csrf_token"}
    values.update({flag: flag in form for flag in FLAGS})
    values["then"] = form.getlist("then")
    return values
