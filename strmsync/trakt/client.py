"""A thin Trakt API client: device flow, token refresh and the sync reads (DESIGN.md §9).

Each client holds its own base URL, app credentials and pooled session; nothing is kept at
module level, so jobs and forked workers never share a token or a connection.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from strmsync import __version__
from strmsync.errors import FatalError, RetryableError, ThrottledError

log = logging.getLogger(__name__)

API_URL = "https://api.trakt.tv"
REDIRECT_URI = "urn:ietf:wg:oauth:2.0:oob"
RETRYABLE_STATUS = frozenset({500, 502, 503, 504, 520, 521, 522})
# Trakt's documented status codes (trakt.docs.apiary.io, "Status Codes", "Locked User
# Account", "VIP Methods"): each stops the run, and the user has to act.
REFUSALS = {
    403: "invalid client id or unapproved app (check the app at trakt.tv/oauth/applications)",
    420: "account limit exceeded (a limit Trakt VIP raises)",
    423: "the Trakt account is locked; the user has to contact Trakt support",
    426: "VIP only: this needs a Trakt VIP account",
}
DEVICE_STATES = {200: "authorized", 400: "pending", 404: "invalid", 409: "used",
                 410: "expired", 418: "denied", 429: "slow_down"}


class TokenRejected(RetryableError):
    """Trakt answered 401 to an API call: refresh the tokens once and try again."""


class TraktRefused(FatalError):
    """Trakt refused the app or the account (403, 420, 423, 426): the run stops."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class AuthorizeAgain(FatalError):
    """The refresh token was refused (invalid_grant): the user has to authorise again."""


@dataclass(frozen=True)
class Tokens:
    """One access token and the refresh token issued with it."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    created_at: float
    expires_in: float

    @property
    def expires_at(self) -> float:
        """The epoch second the access token stops working."""
        return self.created_at + self.expires_in

    def due(self, now: float | None = None) -> bool:
        """True once half the lifetime has passed: time to refresh."""
        now = time.time() if now is None else now
        return now >= self.created_at + self.expires_in / 2

    def to_dict(self) -> dict:
        """The tokens as a plain dict, for storing (encrypted) in the job's row."""
        return {"access_token": self.access_token, "refresh_token": self.refresh_token,
                "created_at": self.created_at, "expires_in": self.expires_in}

    @classmethod
    def from_dict(cls, d: dict) -> Tokens:
        """Tokens from `to_dict()` output or from Trakt's token answer."""
        return cls(str(d["access_token"]), str(d["refresh_token"]),
                   float(d["created_at"]), float(d["expires_in"]))


@dataclass(frozen=True)
class DeviceCode:
    """What POST /oauth/device/code hands out: the user enters `user_code` at the URL."""

    device_code: str = field(repr=False)
    user_code: str
    verification_url: str
    expires_in: int
    interval: int


def trakt_time(moment: datetime) -> str:
    """A full ISO time in UTC with milliseconds and a Z, as Trakt writes dates."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class TraktClient:
    """Talks to one Trakt app's API; every call has a timeout and bounded retries."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        timeout: tuple[float, float] = (5, 30),
        before_get: Callable[[], None] | None = None,
        *,
        attempts: int = 4,
        backoff: float = 0.5,
        throttle_retries: int = 2,
        max_throttle_wait: float = 30.0,
    ):
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self.timeout = timeout
        self.before_get = before_get
        self.attempts = attempts
        self.backoff = backoff
        self.throttle_retries = throttle_retries
        self.max_throttle_wait = max_throttle_wait
        self._session = _new_session(self.base_url, client_id)

    def __repr__(self) -> str:
        return f"TraktClient({self.base_url!r})"

    def close(self) -> None:
        """Release the pooled connections."""
        self._session.close()

    # --- authorisation ----------------------------------------------------------------

    def device_code(self) -> DeviceCode:
        """Start the device flow: a code for the user to enter on Trakt's site."""
        response = self._post("/oauth/device/code", {"client_id": self.client_id})
        if response.status_code != 200:
            raise self._failure(response, "POST /oauth/device/code")
        d = _json(response)
        # Rounded the safe way: never poll faster, never count on more time than given.
        return DeviceCode(str(d["device_code"]), str(d["user_code"]),
                          str(d["verification_url"]), int(float(d["expires_in"])),
                          max(1, math.ceil(float(d["interval"]))))

    def poll_device_token(self, device_code: str) -> tuple[str, Tokens | None]:
        """Ask once whether the user approved; the state is one of DEVICE_STATES' values."""
        body = {"code": device_code, "client_id": self.client_id,
                "client_secret": self._client_secret}
        response = self._post("/oauth/device/token", body)
        state = DEVICE_STATES.get(response.status_code)
        if state is None:
            raise self._failure(response, "POST /oauth/device/token")
        tokens = Tokens.from_dict(_json(response)) if state == "authorized" else None
        return state, tokens

    def refresh(self, refresh_token: str) -> Tokens:
        """Trade the (single-use) refresh token for new tokens; AuthorizeAgain if refused."""
        body = {"refresh_token": refresh_token, "client_id": self.client_id,
                "client_secret": self._client_secret, "redirect_uri": REDIRECT_URI,
                "grant_type": "refresh_token"}
        response = self._post("/oauth/token", body)
        if response.status_code == 200:
            return Tokens.from_dict(_json(response))
        error = _oauth_error(response)
        # Trakt answers a used, expired or revoked refresh token with invalid_grant (400
        # today, 401 in older reports), and some tokens with a bare 400 (trakt-api#888).
        if error == "invalid_grant" or response.status_code == 400:
            raise AuthorizeAgain("Trakt refused the refresh token (invalid_grant): "
                                 "authorise the job again")
        if response.status_code == 401:
            raise TraktRefused("Trakt refused the app's client id or secret "
                               f"({error or 'HTTP 401'})", 401)
        raise self._failure(response, "POST /oauth/token")

    # --- sync reads -------------------------------------------------------------------

    def last_activities(self, access_token: str) -> dict:
        """When each kind of activity last changed (GET /sync/last_activities)."""
        return _json(self._get("/sync/last_activities", access_token))

    def history(
        self,
        access_token: str,
        start_at: datetime | None,
        page: int,
        limit: int = 100,
        kind: str | None = None,
    ) -> tuple[list[dict], int]:
        """One page of watched history, newest first, and the page count Trakt reports."""
        if kind not in (None, "movies", "episodes"):
            raise ValueError(f"kind: {kind!r} is not movies or episodes")
        path = "/sync/history" + (f"/{kind}" if kind else "")
        params: dict[str, str | int] = {"page": page, "limit": limit}
        if start_at is not None:
            params["start_at"] = trakt_time(start_at)
        response = self._get(path, access_token, params)
        # Trakt clamps `limit` without saying so; only this header tells how many pages.
        count = response.headers.get("X-Pagination-Page-Count")
        if count is None or not count.isdigit():
            raise RetryableError(f"Trakt sent no page count for GET {path}")
        return _json(response), int(count)

    def watched(self, access_token: str, kind: str) -> list[dict]:
        """Everything watched, one row per movie or show (GET /sync/watched/{kind})."""
        if kind not in ("movies", "shows"):
            raise ValueError(f"kind: {kind!r} is not movies or shows")
        return _json(self._get(f"/sync/watched/{kind}", access_token))

    # --- transport --------------------------------------------------------------------

    def _get(self, path: str, access_token: str, params: dict | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {access_token}"}
        failures = throttles = 0
        while True:
            if self.before_get is not None:
                self.before_get()
            try:
                response = self._session.get(self.base_url + path, params=params,
                                             headers=headers, timeout=self.timeout)
            except requests.RequestException as exc:
                failures += 1
                if failures >= self.attempts:
                    raise self._transport_error(exc) from None
                self._back_off(failures, f"GET {path}: {type(exc).__name__}")
                continue
            status = response.status_code
            if status == 200:
                return response
            if status == 429:
                # Short waits happen here; a longer Retry-After goes to the caller, whose
                # wait a user can cancel.
                wait = _retry_after(response)
                throttles += 1
                if throttles > self.throttle_retries or wait > self.max_throttle_wait:
                    raise ThrottledError(f"Trakt rate limit on GET {path} (HTTP 429)", wait)
                log.info("Trakt throttled GET %s: waiting %.1f s", path, wait)
                time.sleep(wait)
                continue
            if status in RETRYABLE_STATUS:
                failures += 1
                if failures >= self.attempts:
                    raise RetryableError(f"Trakt answered HTTP {status} to GET {path}")
                self._back_off(failures, f"GET {path}: HTTP {status}")
                continue
            raise self._failure(response, f"GET {path}")

    def _post(self, path: str, body: dict) -> requests.Response:
        # Not retried after it was sent: a refresh token is single-use, so a second send of
        # a refresh Trakt already acted on would be refused (urllib3 retries failed connects).
        try:
            return self._session.post(self.base_url + path, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise self._transport_error(exc) from None

    def _back_off(self, failures: int, why: str) -> None:
        delay = self.backoff * 2 ** (failures - 1)
        log.info("Trakt %s; retrying in %.1f s", why, delay)
        time.sleep(delay)

    def _failure(self, response: requests.Response, what: str) -> Exception:
        status = response.status_code
        if status == 401:
            return TokenRejected(f"Trakt refused the access token (HTTP 401) on {what}")
        if status in REFUSALS:
            return TraktRefused(f"Trakt refused {what} (HTTP {status}): {_reason(response)}",
                                status)
        if status == 429:
            return ThrottledError(f"Trakt rate limit on {what} (HTTP 429)",
                                  _retry_after(response))
        if status in RETRYABLE_STATUS:
            return RetryableError(f"Trakt answered HTTP {status} to {what}")
        return FatalError(f"Trakt answered HTTP {status} to {what}")

    def _transport_error(self, exc: requests.RequestException) -> RetryableError:
        host = urlsplit(self.base_url).netloc or "Trakt"
        if isinstance(exc, requests.Timeout):
            return RetryableError(f"request to {host} timed out")
        return RetryableError(f"connection to {host} failed ({type(exc).__name__})")


def _new_session(base_url: str, client_id: str) -> requests.Session:
    session = requests.Session()
    # Proxies for the API host are read once, not on every request (see strm/drivers/session).
    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    # urllib3 retries only connects that failed (nothing reached Trakt); answers are
    # handled by the client, which counts them against the job's request budget.
    retry = Retry(total=2, connect=2, read=0, status=0, other=0, redirect=0,
                  backoff_factor=0.2, raise_on_status=False)
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=4, max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({
        "Content-Type": "application/json",
        "trakt-api-version": "2",
        "trakt-api-key": client_id,
        "User-Agent": f"strmsync/{__version__}",
    })
    return session


def _reason(response: requests.Response) -> str:
    reason = REFUSALS[response.status_code]
    if response.status_code == 423 and response.headers.get("X-Account-Deactivated") == "true":
        reason = "the Trakt account is deactivated; the user has to contact Trakt support"
    upgrade = response.headers.get("X-Upgrade-URL")
    return f"{reason} ({upgrade})" if upgrade else reason


def _retry_after(response: requests.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", 1)))
    except ValueError:
        return 1.0


def _oauth_error(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


def _json(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        raise RetryableError(f"Trakt sent a body that is not JSON (HTTP {response.status_code})"
                             ) from None
