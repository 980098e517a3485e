"""Media servers (Emby, Jellyfin): list, add, edit, delete; the test runs through the API."""

from flask import abort, flash, redirect, render_template, request, url_for

from strmsync.errors import ConfigError
from strmsync.servers import FIELDS, validate_server
from strmsync.web.context import get_store
from strmsync.web.panel import panel
from strmsync.web.panel.forms import place_errors, typed_number

KINDS = ("emby", "jellyfin")


def server_or_404(server_id: int) -> dict:
    """The media server with this id, or a 404 page."""
    server = get_store().server(server_id)
    if server is None:
        abort(404, f"There is no media server {server_id}.")
    return server


def server_values(server: dict | None) -> dict:
    """The form values of a media server (the API key never shown)."""
    server = server or {"kind": "jellyfin", "refresh_threshold": 50}
    pairs = server.get("path_map") or []
    return {"name": server.get("name", ""), "kind": server["kind"],
            "url": server.get("url", ""), "refresh_threshold": server["refresh_threshold"],
            "path_map": "\n".join(f"{ours}={theirs}" for ours, theirs in pairs)}


def _form(values: dict, errors: dict, server: dict | None = None, status: int = 200):
    jobs = []
    if server:
        jobs = [job["name"] for job in get_store().jobs()
                if server["id"] in {s["id"] for s in get_store().job_servers(job["id"])}]
    return render_template("panel/server_form.html", values=values, errors=errors,
                           server=server, kinds=KINDS, jobs=jobs), status


def _save(server: dict | None = None):
    """Validate and store the posted media server; the form again when it is wrong."""
    store = get_store()
    body = {name: request.form.get(name, "").strip() for name in FIELDS}
    body["refresh_threshold"] = typed_number(body["refresh_threshold"], int)
    # An empty API key keeps the stored one; an empty path map clears it.
    body = {name: value for name, value in body.items()
            if value is not None and not (name == "api_key" and not value)}
    try:
        values = validate_server(body, server)
        other = store.server(values["name"])
        if other is not None and (server is None or other["id"] != server["id"]):
            raise ConfigError(f"name: a media server called {values['name']!r} exists")
    except ConfigError as exc:
        shown = {**request.form.to_dict(), "api_key": ""}
        return _form(shown, place_errors(exc, FIELDS), server, 400)
    if server is None:
        store.add_server(values)
    else:
        store.update_server(server["id"], values)
    flash(f"Media server {values['name']} saved.", "ok")
    return redirect(url_for("panel.servers"))


@panel.get("/servers")
def servers():
    store = get_store()
    used = {}
    for job in store.jobs():
        for server in store.job_servers(job["id"]):
            used.setdefault(server["id"], []).append(job["name"])
    return render_template("panel/servers.html", servers=store.servers(), used=used)


@panel.route("/servers/new", methods=["GET", "POST"])
def server_new():
    if request.method == "POST":
        return _save()
    return _form(server_values(None), {})


@panel.route("/servers/<int:server_id>", methods=["GET", "POST"])
def server_edit(server_id: int):
    server = server_or_404(server_id)
    if request.method == "POST":
        return _save(server)
    return _form(server_values(server), {}, server)


@panel.post("/servers/<int:server_id>/delete")
def server_delete(server_id: int):
    server = server_or_404(server_id)
    get_store().delete_server(server_id)
    flash(f"Media server {server['name']} deleted.", "ok")
    return redirect(url_for("panel.servers"))
