"""Session tokens a stand-in issues at login, which tests can make expire."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass

# OpenList's login tokens last 48 hours (conf TokenExpiresIn); used when no ttl is set.
DEFAULT_LIFETIME = 48 * 3600


class TokenRejected(Exception):
    """A token that was never issued, has expired, or has no uses left."""


@dataclass
class _Grant:
    subject: str
    expires_at: float | None
    uses_left: int | None


class TokenBook:
    """Issues JWT-shaped tokens that expire after `ttl` seconds or `uses` checks (None: never)."""

    def __init__(self, secret: str, ttl: float | None = None, uses: int | None = None) -> None:
        self.ttl = ttl
        self.uses = uses
        self._secret = secret.encode()
        self._grants: dict[str, _Grant] = {}
        self._serial = itertools.count(1)
        self._lock = threading.Lock()

    def issue(self, subject: str) -> tuple[str, float]:
        """Return a new token for `subject` and the epoch second it claims to expire at."""
        expires_at = time.time() + (self.ttl if self.ttl is not None else DEFAULT_LIFETIME)
        with self._lock:
            token = self._mint(subject, expires_at, next(self._serial))
            grant_expiry = expires_at if self.ttl is not None else None
            self._grants[token] = _Grant(subject, grant_expiry, self.uses)
        return token, expires_at

    def check(self, token: str) -> str:
        """Return the token's subject and spend one use; raise TokenRejected otherwise."""
        with self._lock:
            grant = self._grants.get(token)
            if grant is None:
                raise TokenRejected("token is invalidated")
            if grant.expires_at is not None and time.time() >= grant.expires_at:
                raise TokenRejected("token is expired")
            if grant.uses_left is not None:
                if grant.uses_left <= 0:
                    raise TokenRejected("token is expired")
                grant.uses_left -= 1
            return grant.subject

    def expire_all(self) -> None:
        """Make every token issued so far expired."""
        with self._lock:
            for grant in self._grants.values():
                grant.expires_at = 0.0

    @property
    def issued(self) -> int:
        """Return how many tokens were issued."""
        return len(self._grants)

    def _mint(self, subject: str, expires_at: float, serial: int) -> str:
        header = _b64({"alg": "HS256", "typ": "JWT"})
        now = int(time.time())
        claims = {
            "username": subject,
            "exp": int(expires_at),
            "iat": now,
            "nbf": now,
            "jti": serial,
        }
        unsigned = f"{header}.{_b64(claims)}"
        signature = hmac.new(self._secret, unsigned.encode(), hashlib.sha256).digest()
        return f"{unsigned}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def _b64(document: dict) -> str:
    raw = json.dumps(document, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
