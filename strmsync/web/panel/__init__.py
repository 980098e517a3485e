"""The web panel: HTML pages over the store and the queue, light JS on the JSON API."""

from flask import Blueprint, Flask

panel = Blueprint("panel", __name__, template_folder="templates", static_folder="static",
                  static_url_path="/panel/static")


def init_app(app: Flask) -> None:
    """Register the panel's pages, template filters and error pages."""
    from strmsync.web.panel import filters

    filters.init_app(app)
    app.register_blueprint(panel)


from strmsync.web.panel import (  # noqa: E402,F401 - registers routes
    dashboard,
    errors,
    jobs,
    login,
    runs,
    servers,
    servicelog,
    settings,
    sources,
    trakt,
)
