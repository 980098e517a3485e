"""CSRF protection: a per-session token sent back in forms or an `X-CSRF-Token` header."""

import hmac
import secrets

from flask import abort, request, session

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def csrf_token() -> str:
    """This session's token, created on first use."""
    if FIELD not in session:
        session[FIELD] = secrets.token_urlsafe(32)
    return session[FIELD]


def check_csrf() -> None:
    """Abort with 400 unless an unsafe request carries this session's token."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(HEADER) or request.form.get(FIELD) or ""
    expected = session.get(FIELD, "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, "CSRF token missing or wrong: reload the page and try again")
