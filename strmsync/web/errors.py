"""Errors turned into JSON responses in one place, not in every view."""

import logging

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from strmsync.errors import ConfigError, FatalError, ListingError, RetryableError, StrmsyncError
from strmsync.validation import InvalidBody

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with an HTTP status and a message for the client."""

    def __init__(self, status: int, message: str, **extra):
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


def error_fields(exc: ConfigError) -> dict[str, str]:
    """`{field: problem}` of a ConfigError: every field of an InvalidBody, else its one."""
    if isinstance(exc, InvalidBody):
        return exc.errors
    name, sep, problem = str(exc).partition(": ")
    return {name: problem} if sep and " " not in name else {"body": str(exc)}


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return jsonify({"error": exc.message, **exc.extra}), exc.status

    @app.errorhandler(ConfigError)
    def config_error(exc: ConfigError):
        return jsonify({"error": str(exc), "errors": error_fields(exc)}), 400

    @app.errorhandler(FatalError)
    @app.errorhandler(RetryableError)
    @app.errorhandler(ListingError)
    def outside_error(exc: StrmsyncError):
        # A source or media server that failed or refused: their fault, not ours.
        return jsonify({"error": str(exc)}), 502

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        # Keep what the exception says beyond its page (Retry-After, say).
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        message = exc.description or exc.name
        if isinstance(exc, NotFound) and exc.description == NotFound.description:
            message = f"no such API route: {request.method} {request.path}"
        elif isinstance(exc, MethodNotAllowed):
            message = f"{request.method} is not allowed on {request.path}"
        return jsonify({"error": message}), exc.code, headers

    @app.errorhandler(Exception)
    def internal_error(exc: Exception):
        log.exception("unhandled error")
        return jsonify({"error": "internal error; see the service log (GET /api/v1/log)"}), 500
