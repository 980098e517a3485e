"""Sources: list, add, edit, delete (the connection test runs through the JSON API)."""

from flask import abort, flash, redirect, render_template, request, url_for

from strmsync.errors import ConfigError
from strmsync.sources import KINDS, validate_source
from strmsync.web.context import get_store
from strmsync.web.panel import panel
from strmsync.web.panel.forms import (
    source_errors,
    source_from_form,
    source_kinds,
    source_values,
    tuning_defaults,
)

FALLBACK_KINDS = ("openlist", "clouddrive2")  # sources that can download a file's bytes


def source_or_404(source_id: int) -> dict:
    """The source with this id, or a 404 page."""
    source = get_store().source(source_id)
    if source is None:
        abort(404, f"There is no source {source_id}.")
    return source


def _form(values: dict, errors: dict, source: dict | None = None, status: int = 200):
    fallbacks = [(row["name"], f"{row['name']} ({row['kind']})") for row in get_store().sources()
                 if row["kind"] in FALLBACK_KINDS]
    return render_template("panel/source_form.html", values=values, errors=errors,
                           source=source, kinds=source_kinds(), tuning=tuning_defaults(),
                           fallbacks=fallbacks), status


def _save(source: dict | None = None):
    """Validate and store the posted source; the form again, with errors, when it is wrong."""
    kind = source["kind"] if source else request.form.get("kind", "")
    store = get_store()
    try:
        values = validate_source(source_from_form(request.form, kind), source)
        other = store.source(values["name"])
        if other is not None and (source is None or other["id"] != source["id"]):
            raise ConfigError(f"name: a source called {values['name']!r} exists")
    except ConfigError as exc:
        shown = {**request.form.to_dict(), "kind": kind if kind in KINDS else "local"}
        return _form(shown, source_errors(exc, kind), source, 400)
    if source is None:
        store.add_source(values)
    else:
        store.update_source(source["id"], values)
    flash(f"Source {values['name']} saved.", "ok")
    return redirect(url_for("panel.sources"))


@panel.get("/sources")
def sources():
    store = get_store()
    used = {}
    for job in store.jobs():
        used.setdefault(job["source_id"], []).append(job["name"])
    return render_template("panel/sources.html", sources=store.sources(), used=used)


@panel.route("/sources/new", methods=["GET", "POST"])
def source_new():
    if request.method == "POST":
        return _save()
    return _form(source_values(None), {})


@panel.route("/sources/<int:source_id>", methods=["GET", "POST"])
def source_edit(source_id: int):
    source = source_or_404(source_id)
    if request.method == "POST":
        return _save(source)
    return _form(source_values(source), {}, source)


@panel.post("/sources/<int:source_id>/delete")
def source_delete(source_id: int):
    source = source_or_404(source_id)
    users = [job["name"] for job in get_store().jobs(source_id)]
    if users:
        flash(f"Source {source['name']} is used by {', '.join(users)}: delete those jobs "
              "first.", "error")
    else:
        get_store().delete_source(source_id)
        flash(f"Source {source['name']} deleted.", "ok")
    return redirect(url_for("panel.sources"))
