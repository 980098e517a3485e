"""The JSON API under `/api/v1`."""

from flask import Blueprint, request

from strmsync.errors import ConfigError

api = Blueprint("api", __name__, url_prefix="/api/v1")


def json_body() -> dict:
    """The request's JSON object, or a 400 that says what is wrong with it."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ConfigError("body: expected a JSON object")
    return data


from strmsync.web.api import (  # noqa: E402,F401 - registers routes
    health,
    jobs,
    runs,
    servers,
    settings,
    sources,
)
