"""OpenList/Alist v3 HTTP API: JSON envelopes, login and token renewal, all through one gate."""

import json
import logging
import re
import threading
from datetime import datetime, timezone

from strmsync.errors import (
    AccessRefused,
    FatalError,
    ListingError,
    NotFoundError,
    RetryableError,
    ThrottledError,
)
from strmsync.strm.drivers.gate import SourceGate, SourcePolicy
from strmsync.strm.drivers.session import (
    ApiPool,
    Download,
    check_status,
    is_json,
    new_session,
    open_download,
)

log = logging.getLogger(__name__)
LOGIN = "/api/auth/login"
RENEWALS = 3
_FRACTION = re.compile(r"\.(\d+)")


class OpenListClient:
    """Calls one OpenList site's API with a token it renews by logging in again on expiry."""

    def __init__(self, site: str, gate: SourceGate, token: str = "", username: str = "",
                 password: str = ""):
        self.site = site.rstrip("/")
        self.gate = gate
        self.policy: SourcePolicy = gate.policy
        self.api = ApiPool(self.policy, self.site)
        # Downloads follow redirects to the cloud through requests, opened at first use.
        self._session = None
        self._session_lock = threading.Lock()
        self._token = token
        self._username, self._password = username, password
        self._generation = 0
        self._token_lock = threading.Lock()
        self._base_path: str | None = None
        self.logins = 0

    def close(self) -> None:
        """Close the pooled connections."""
        self.api.close()
        with self._session_lock:
            if self._session is not None:
                self._session.close()
                self._session = None

    # the calls strmsync makes ------------------------------------------------------------

    def me(self) -> dict:
        """The account the token stands for (`base_path` is its root)."""
        return self.call("GET", "/api/me")

    def base_path(self) -> str:
        """The user's root in the site's storage namespace, asked once."""
        if self._base_path is None:
            self._base_path = str(self.me().get("base_path") or "/")
        return self._base_path

    def list_page(self, path: str, page: int, per_page: int, password: str = "") -> dict:
        """One page of a folder from the cache (`refresh: false`: no live cloud listing)."""
        return self.call("POST", "/api/fs/list", {"path": path, "password": password,
                                                  "page": page, "per_page": per_page,
                                                  "refresh": False})

    def download(self, url: str) -> Download:
        """Open a `/d/` link as a stream, under the source's limits."""
        return self.gate.call(lambda: open_download(self.session, url, self.policy), "download")

    @property
    def session(self):
        """The requests session downloads go through."""
        with self._session_lock:
            if self._session is None:
                self._session = new_session(self.policy, self.site)
            return self._session

    # envelopes and tokens ----------------------------------------------------------------

    def call(self, method: str, route: str, body: dict | None = None):
        """The `data` of one API call, retried and paced by the gate."""
        return self.gate.call(lambda: self._call_once(method, route, body), route)

    def _call_once(self, method: str, route: str, body: dict | None):
        generation, token = self._current_token()
        envelope = self._send(method, route, body, token)
        # A fresh token can be refused too if other requests used it up meanwhile (OpenList
        # can limit a token's uses), so a few renewals are allowed before giving up.
        for _ in range(RENEWALS):
            if envelope.get("code") != 401 or route == LOGIN:
                break
            generation, token = self._renew(generation, envelope.get("message", ""))
            envelope = self._send(method, route, body, token)
        return _data(envelope, route)

    def _send(self, method: str, route: str, body: dict | None, token: str) -> dict:
        headers = {"Authorization": token} if token else {}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        response = self.api.request(method, route, data, headers)
        status = response.status
        check_status(status, response.headers)
        if status in (401, 403, 404) and not is_json(response.headers):
            raise FatalError(f"url: HTTP {status} for {route}: is this the OpenList site address?")
        try:
            envelope = json.loads(response.data)
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict) or "code" not in envelope:
            # OpenList answers everything as a JSON envelope; a page means a proxy or a limit.
            raise ThrottledError(f"HTML where JSON was expected (HTTP {status})")
        return envelope

    def _current_token(self) -> tuple[int, str]:
        with self._token_lock:
            if not self._token and self._password:
                self._token = self._login()
            return self._generation, self._token

    def _renew(self, generation: int, why: str) -> tuple[int, str]:
        with self._token_lock:
            if generation == self._generation:  # else another thread renewed it meanwhile
                if not self._password:
                    raise FatalError(f"token: OpenList refused the token ({why or 'expired'})")
                log.info("OpenList token refused (%s): logging in again", why or "expired")
                self._token = self._login()
                self._generation += 1
            return self._generation, self._token

    def _login(self) -> str:
        envelope = self._send("POST", LOGIN, {"username": self._username,
                                              "password": self._password}, "")
        if envelope.get("code") != 200:
            raise FatalError(f"login: OpenList refused the user name or password"
                             f" ({envelope.get('message') or envelope.get('code')})")
        self.logins += 1
        return str((envelope.get("data") or {}).get("token") or "")


def _data(envelope: dict, route: str):
    code, message = envelope.get("code"), str(envelope.get("message") or "")
    if code == 200:
        return envelope.get("data") or {}
    if code == 401:
        raise FatalError(f"token: OpenList refused the token again ({message})")
    if code == 429:
        raise ThrottledError(f"OpenList code 429: {message}")
    if isinstance(code, int) and code >= 500 and not message:
        # An empty-message failure is how OpenList passes on a throttled cloud (DESIGN §5).
        raise ThrottledError(f"OpenList code {code} with an empty message")
    if "object not found" in message:
        raise NotFoundError(message)
    if code == 403 and "password" in message:
        # server/handles/fsread.go: a folder password missing or wrong (or a user the folder's
        # meta does not let read) is refused alike: code 403 "password is incorrect or you
        # have no permission".
        raise AccessRefused(message)
    if isinstance(code, int) and code >= 500:
        raise RetryableError(f"OpenList code {code}: {message}")
    raise ListingError(f"OpenList code {code} for {route}: {message}")


def parse_time(text: str) -> int:
    """Epoch nanoseconds of an RFC 3339 time as Go writes it (0 when unreadable or before 1970)."""
    nanos = 0
    match = _FRACTION.search(text or "")
    if match:
        nanos = int(match.group(1)[:9].ljust(9, "0"))
        text = text[: match.start()] + text[match.end():]
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return 0
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    seconds = int(stamp.timestamp())
    return seconds * 10**9 + nanos if seconds >= 0 else 0
