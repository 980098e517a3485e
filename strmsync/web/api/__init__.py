"""The JSON API under `/api/v1`."""

from flask import Blueprint, request

from strmsync.validation import InvalidBody, parse_json

api = Blueprint("api", __name__, url_prefix="/api/v1")


def json_body(optional: bool = False) -> dict:
    """The request's JSON object (depth-bounded, NaN refused), or a 400 saying what is wrong.

    With `optional`, an empty body is an empty object (a bare `POST …/run`).
    """
    data = parse_json(request.get_data(cache=True))
    if data is None and optional:
        return {}
    if not isinstance(data, dict):
        raise InvalidBody({"body": "expected a JSON object"})
    return data


from strmsync.web.api import (  # noqa: E402,F401 - registers routes
    health,
    jobs,
    runs,
    servers,
    settings,
    sources,
    trakt,
)
