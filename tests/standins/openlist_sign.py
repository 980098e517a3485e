"""OpenList/Alist v3 download-link signs (`/d/<path>?sign=...`).

As in alist `pkg/sign/hmac.go` and `internal/sign/sign.go` (same in OpenList v4): HMAC-SHA256
keyed by the site's admin token over "<abs path>:<expire>", encoded with base64.URLEncoding
(url-safe alphabet, padding kept), then ":<expire>" appended; expire 0 never expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


class SignRejected(Exception):
    """A sign that is missing, malformed, expired or wrong."""


def make_sign(secret: str, path: str, expire: int = 0) -> str:
    """Return the sign of absolute path `path` valid until epoch second `expire` (0: for ever)."""
    message = f"{path}:{expire}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return f"{base64.urlsafe_b64encode(digest).decode()}:{expire}"


def verify_sign(secret: str, path: str, sign: str) -> None:
    """Raise SignRejected unless `sign` is a valid, unexpired sign of `path`."""
    expire_text = sign.rsplit(":", 1)[-1]
    if expire_text == "":
        raise SignRejected("expire missing")
    try:
        expire = int(expire_text)
    except ValueError:
        raise SignRejected("expire invalid") from None
    if expire != 0 and expire < time.time():
        raise SignRejected("sign expired")
    if not hmac.compare_digest(make_sign(secret, path, expire), sign):
        raise SignRejected("sign invalid")
