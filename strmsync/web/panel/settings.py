"""Settings: data directory, Redis, build; the panel password; the lead's settings API."""

from urllib.parse import urlsplit, urlunsplit

from flask import current_app, flash, redirect, render_template, request, url_for

from strmsync.config import Settings
from strmsync.errors import ConfigError
from strmsync.web.auth import check_password, log_in, password_origin, set_password, via_ingress
from strmsync.web.panel import panel
from strmsync.web.panel.records import health_report

# Shown only when the API offers them (another part of strmsync adds these endpoints).
OPTIONAL_APIS = {"settings": "/api/v1/settings", "mediaservers": "/api/v1/mediaservers"}


def settings_of() -> Settings:
    """The app's settings."""
    return current_app.config["STRMSYNC_SETTINGS"]


def redis_label(url: str) -> str:
    """A Redis URL with any password masked; `embedded` for the data directory's own."""
    if not settings_of().redis_url:
        return f"embedded ({url})"
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:••••@{parts.hostname}"
        netloc += f":{parts.port}" if parts.port else ""
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def _available_apis() -> dict:
    rules = {rule.rule for rule in current_app.url_map.iter_rules()}
    return {name: path for name, path in OPTIONAL_APIS.items() if path in rules}


def _page(errors: dict | None = None, status: int = 200):
    return render_template(
        "panel/settings.html", settings=settings_of(), health=health_report(),
        redis=redis_label(current_app.config["STRMSYNC_REDIS_URL"] or ""),
        origin=password_origin(settings_of()), ingress=via_ingress(),
        apis=_available_apis(), errors=errors or {}), status


@panel.get("/settings")
def settings():
    return _page()


@panel.post("/settings/password")
def password():
    current = request.form.get("current", "")
    needs_current = password_origin(settings_of()) == "stored" and not via_ingress()
    if needs_current and not check_password(settings_of(), current):
        return _page({"current": "not the current password"}, 400)
    try:
        set_password(settings_of(), request.form.get("password", ""),
                     request.form.get("repeat", ""))
    except ConfigError as exc:
        name, _, problem = str(exc).partition(": ")
        return _page({name: problem}, 400)
    if not via_ingress():
        log_in()
    flash("Password changed: other browsers must log in again.", "ok")
    return redirect(url_for("panel.settings"))
