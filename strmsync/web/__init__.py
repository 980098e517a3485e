"""The web side: a Flask app factory with the JSON API and the panel."""

from flask import Flask

from strmsync.config import Settings, load_settings
from strmsync.web import auth, context, errors, panel
from strmsync.web.api import api
from strmsync.web.ingress import IngressMiddleware
from strmsync.web.webhooks import webhooks

MAX_BODY = 1 << 20


def create_app(settings: Settings | None = None, redis_url: str | None = None) -> Flask:
    """Build the app for `settings`; `redis_url` names the queue's Redis."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.config["STRMSYNC_SETTINGS"] = settings or load_settings()
    app.config["STRMSYNC_REDIS_URL"] = redis_url or app.config["STRMSYNC_SETTINGS"].redis_url
    context.init_app(app)
    errors.init_app(app)
    auth.init_app(app)
    app.register_blueprint(api)
    app.register_blueprint(webhooks)
    panel.init_app(app)
    app.wsgi_app = IngressMiddleware(app.wsgi_app, app.config["STRMSYNC_SETTINGS"].ingress_address)
    return app
