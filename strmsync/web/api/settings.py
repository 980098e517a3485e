"""`/api/v1/settings`: the webhook token and where things live."""

import socket

from flask import current_app, request

import _fastscan
from strmsync import __version__
from strmsync.web.api import api
from strmsync.web.context import get_store
from strmsync.web.ingress import INGRESS_KEY
from strmsync.web.webhooks import regenerate_token, webhook_token
from strmsync.webhook_config import clouddrive2_webhook_toml


def webhook_base_url(port: int) -> str:
    """Where webhook callers reach this service, as far as the request tells.

    Through Home Assistant's ingress the browser's address is HA's, which a webhook cannot
    use (ingress wants HA's login): there the add-on's own hostname and port are given,
    which other add-ons on the same Home Assistant (CloudDrive2's, say) can reach.
    """
    if request.environ.get(INGRESS_KEY):
        return f"http://{socket.gethostname()}:{port}"
    return request.host_url.rstrip("/")


def _describe(token: str) -> dict:
    settings = current_app.config["STRMSYNC_SETTINGS"]
    base_url = webhook_base_url(settings.port)
    return {
        "webhook_token": token,
        "webhook_token_configured": bool(settings.webhook_token),
        "webhook_urls": {
            "clouddrive2": f"{base_url}/api/v1/webhook/clouddrive2/file_notify",
            "events": f"{base_url}/api/v1/webhook/events",
        },
        "clouddrive2_webhook_toml": clouddrive2_webhook_toml(base_url, token),
        "data_dir": str(settings.data_dir),
        "redis": "external" if settings.redis_url else "embedded",
        "version": __version__,
        "fastscan": _fastscan.IMPLEMENTATION,
    }


@api.get("/settings")
def show_settings():
    return _describe(webhook_token(get_store()))


@api.post("/settings/webhook-token")
def new_webhook_token():
    return _describe(regenerate_token(get_store()))
