"""A stand-in Trakt API: real HTTP on 127.0.0.1 speaking Trakt's wire format (DESIGN.md §9).

Facts it follows, from Trakt's API documents (trakt.docs.apiary.io, "Status Codes", "Rate
Limiting", "Pagination", "Authentication - Devices"): required headers `trakt-api-key`,
`trakt-api-version: 2`, `Content-Type: application/json` (412 without it on a POST); 403 for a
bad API key; device token polling answers 400 pending, 404, 409, 410, 418 and 429; paginated
methods send `X-Pagination-*` headers and clamp `limit` silently; a 429 carries `Retry-After`
and `X-Ratelimit`; 420/426 carry `X-Upgrade-URL`, 423 `X-Account-Locked`. Refresh tokens are
single-use (Trakt's OAuth server is Doorkeeper with refresh-token rotation); a reused or
revoked one answers `invalid_grant` with HTTP 400 today (older reports show 401:
trakt/trakt-api#48, #888; `invalid_grant_status` picks). On a refresh the old access token is
revoked with the old refresh token (Doorkeeper revokes the whole previous grant);
`revoke_old_access=False` keeps it valid until it expires instead.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from requests.structures import CaseInsensitiveDict

from .httpserver import BackgroundHTTPServer

REDIRECT_URI = "urn:ietf:wg:oauth:2.0:oob"
INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match the "
    "redirection URI used in the authorization request, or was issued to another client."
)
# Trakt history ids are 64-bit; start above 2**32 so a 32-bit column would show.
FIRST_HISTORY_ID = 9_000_000_001
_REFUSAL_HEADERS = {
    420: {"X-Upgrade-URL": "https://trakt.tv/vip", "X-VIP-User": "false", "X-Account-Limit": "100"},
    423: {"X-Account-Locked": "true", "X-Account-Deactivated": "false"},
    426: {"X-Upgrade-URL": "https://trakt.tv/vip"},
}


def iso(moment: datetime) -> str:
    """Trakt's date format: GMT, milliseconds, a Z (`2014-09-01T09:10:11.000Z`)."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    """Read an ISO time (a trailing Z allowed); a bare date or garbage raises ValueError."""
    if "T" not in text:
        raise ValueError(f"not a full ISO time: {text!r}")
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(timezone.utc)


@dataclass
class TraktCall:
    """One request the stand-in received, and the status it answered."""

    method: str
    path: str
    query: dict[str, str]
    headers: CaseInsensitiveDict
    body: Any
    status: int = 0
    at: float = field(default_factory=time.monotonic)


@dataclass
class Reply:
    """What the stand-in answers: status, JSON body, extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class DeviceGrant:
    """One device code handed out by POST /oauth/device/code."""

    device_code: str
    user_code: str
    issued: float
    expires_in: float
    interval: float
    state: str = "pending"  # pending | approved | denied | used
    last_poll: float | None = None


@dataclass
class Grant:
    """An access token and the refresh token issued with it."""

    access_token: str
    refresh_token: str
    issued: float
    expires_in: float
    revoked: bool = False
    refresh_used: bool = False


@dataclass
class TraktStandIn:
    """One Trakt app and one account's watched history, served over real HTTP."""

    client_id: str = "stand-in-client-id"
    client_secret: str = "stand-in-client-secret"
    token_expires_in: float = 7 * 24 * 3600
    device_expires_in: float = 600
    device_interval: float = 5
    max_limit: int = 100
    invalid_grant_status: int = 400
    revoke_old_access: bool = True
    # GETs allowed per token per window (None: no limit); Trakt documents 1000 per 300 s.
    get_limit: int | None = None
    get_window: float = 300.0
    # Authenticated writes (POST/PUT/DELETE) allowed per token per second.
    writes_per_second: int = 1
    calls: list[TraktCall] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._server = BackgroundHTTPServer(_Handler, self)
        self._devices: dict[str, DeviceGrant] = {}
        self._grants: dict[str, Grant] = {}  # by access token
        self._by_refresh: dict[str, Grant] = {}
        self._history: list[dict] = []
        self._ids = itertools.count(FIRST_HISTORY_ID)
        self._trakt_ids = itertools.count(1000)
        self._catalogue: dict[tuple, int] = {}  # the same title gets the same trakt id
        self._activity = {"movies": None, "episodes": None}
        self._last_activity: datetime | None = None
        self._fail: deque[int] = deque()
        self._throttle: deque[float] = deque()
        self._stop_status: int | None = None
        self._gets: dict[str, deque[float]] = {}
        self._writes: dict[str, float] = {}
        self.refresh_count = 0
        self.reused_refresh_tokens = 0
        self.revoked_all = False

    # --- life cycle -------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL a client is given in place of https://api.trakt.tv."""
        return f"http://127.0.0.1:{self._server.port}"

    def start(self) -> TraktStandIn:
        """Bind an ephemeral port and serve in a background thread."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.stop()

    def __enter__(self) -> TraktStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def calls_to(self, path: str, method: str | None = None) -> list[TraktCall]:
        """The recorded calls to one path, oldest first."""
        with self._lock:
            return [c for c in self.calls if c.path == path and method in (None, c.method)]

    # --- knobs: authorisation ---------------------------------------------------------

    def approve(self, user_code: str) -> None:
        """The user types `user_code` on trakt.tv/activate and allows the app."""
        self._device_by_user(user_code).state = "approved"

    def deny(self, user_code: str) -> None:
        """The user types `user_code` and denies the app."""
        self._device_by_user(user_code).state = "denied"

    def issue_tokens(self, expires_in: float | None = None) -> dict:
        """Tokens as POST /oauth/device/token would return them, without the device flow."""
        with self._lock:
            return self._issue(expires_in)

    def revoke_all(self) -> None:
        """The user revokes the app: every token is dead and every refresh is invalid_grant."""
        with self._lock:
            self.revoked_all = True
            for grant in self._grants.values():
                grant.revoked = True

    def valid_access_tokens(self) -> list[str]:
        """The access tokens an API call would accept now."""
        with self._lock:
            return [t for t, g in self._grants.items() if self._alive(g)]

    # --- knobs: faults ----------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        """Answer the next `n` requests with `status` (a 5xx or Cloudflare 52x)."""
        with self._lock:
            self._fail.extend([status] * n)

    def throttle_next(self, n: int = 1, retry_after: float = 1) -> None:
        """Answer the next `n` requests 429 with `Retry-After: retry_after`."""
        with self._lock:
            self._throttle.extend([retry_after] * n)

    def stop_with(self, status: int | None) -> None:
        """Answer every request `status` (403, 420, 423, 426) until `stop_with(None)`."""
        with self._lock:
            self._stop_status = status

    # --- knobs: history ---------------------------------------------------------------

    def add_movie_play(
        self,
        title: str,
        year: int,
        *,
        ids: dict | None = None,
        watched_at: datetime | None = None,
        action: str = "scrobble",
    ) -> dict:
        """Record one play of a movie; returns the history entry as Trakt sends it."""
        with self._lock:
            movie = {"title": title, "year": year, "ids": self._ids_for("movie", title, year, ids)}
            return self._add("movie", {"movie": movie}, watched_at, action)

    def add_episode_play(
        self,
        show: str,
        season: int,
        number: int,
        *,
        year: int = 2008,
        show_ids: dict | None = None,
        ids: dict | None = None,
        title: str | None = None,
        watched_at: datetime | None = None,
        action: str = "watch",
    ) -> dict:
        """Record one play of an episode; returns the history entry as Trakt sends it."""
        with self._lock:
            show_obj = {"title": show, "year": year,
                        "ids": self._ids_for("show", show, year, show_ids)}
            key = ("episode", show_obj["ids"]["trakt"], season, number)
            trakt_id = self._catalogue.setdefault(key, next(self._trakt_ids))
            episode_ids = {"trakt": trakt_id, "tvdb": None, "imdb": None, "tmdb": None,
                           **(ids or {})}
            episode = {"season": season, "number": number,
                       "title": title or f"Episode {number}", "ids": episode_ids}
            return self._add("episode", {"episode": episode, "show": show_obj}, watched_at, action)

    def backdate(self, watched_at: datetime, kind: str = "movie", **play: Any) -> dict:
        """Add a play watched long ago (Trakt's "add to history" with an old date): it is in
        /sync/watched and moves last_activities, but a history window after it misses it."""
        if kind == "movie":
            return self.add_movie_play(watched_at=watched_at, **play)
        return self.add_episode_play(watched_at=watched_at, **play)

    def fill_history(
        self, movies: int = 0, episodes: int = 0, *, newest: datetime | None = None,
        step: timedelta = timedelta(minutes=7),
    ) -> None:
        """Add `movies` + `episodes` plays, one every `step` back from `newest`, with
        predictable ids (movie n: tt{n:07d}, tmdb n; episode n: show 1 + n // 20, s1 e n % 20)."""
        newest = newest or utcnow()
        for n in range(movies + episodes):
            moment = newest - step * n
            if n < movies:
                self.add_movie_play(f"Movie {n}", 1990 + n % 30, watched_at=moment,
                                    ids={"imdb": f"tt{n:07d}", "tmdb": n + 1})
                continue
            k = n - movies
            show = k // 20 + 1
            self.add_episode_play(
                f"Show {show}", 1, k % 20 + 1, watched_at=moment,
                show_ids={"tvdb": 70000 + show, "tmdb": 9000 + show, "imdb": f"tt9{show:06d}"},
                ids={"tvdb": 500000 + k, "tmdb": 800000 + k, "imdb": f"tt8{k:06d}"},
            )

    @property
    def history(self) -> list[dict]:
        """Every history entry as Trakt would send it, newest first."""
        with self._lock:
            return [_public(e) for e in self._sorted_history()]

    # --- answering --------------------------------------------------------------------

    def answer(self, call: TraktCall) -> Reply:
        """Decide the reply to one request."""
        with self._lock:
            fault = self._fault()
            if fault is not None:
                return fault
            problem = self._check_headers(call)
            if problem is not None:
                return problem
            if call.path.startswith("/oauth/"):
                return self._oauth(call)
            token = call.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            grant = self._grants.get(token)
            if grant is None or not self._alive(grant):
                return Reply(401, {"error": "invalid_token",
                                   "error_description": "The access token is invalid"},
                             {"WWW-Authenticate": 'Bearer realm="Doorkeeper", '
                                                 'error="invalid_token"'})
            limited = self._rate_limit(call.method, token)
            if limited is not None:
                return limited
            return self._sync(call)

    def _fault(self) -> Reply | None:
        if self._fail:
            return Reply(self._fail.popleft(), {"error": "injected server error"})
        if self._throttle:
            return self._too_many(self._throttle.popleft(), "AUTHED_API_GET_LIMIT", 0)
        if self._stop_status is not None:
            status = self._stop_status
            return Reply(status, {"error": f"injected {status}"}, _REFUSAL_HEADERS.get(status, {}))
        return None

    def _check_headers(self, call: TraktCall) -> Reply | None:
        if call.headers.get("trakt-api-key") != self.client_id:
            return Reply(403, {"error": "invalid api key or unapproved app"})
        if call.headers.get("trakt-api-version") != "2":
            return Reply(400, {"error": "trakt-api-version must be 2"})
        content_type = call.headers.get("Content-Type", "")
        if call.method == "POST" and not content_type.startswith("application/json"):
            return Reply(412, {"error": "use application/json content type"})
        return None

    def _rate_limit(self, method: str, token: str) -> Reply | None:
        now = time.monotonic()
        if method != "GET":
            last = self._writes.get(token)
            if last is not None and now - last < 1.0 / self.writes_per_second:
                return self._too_many(1, "AUTHED_API_POST_LIMIT", 0)
            self._writes[token] = now
            return None
        if self.get_limit is None:
            return None
        seen = self._gets.setdefault(token, deque())
        while seen and now - seen[0] >= self.get_window:
            seen.popleft()
        if len(seen) >= self.get_limit:
            return self._too_many(math.ceil(seen[0] + self.get_window - now),
                                  "AUTHED_API_GET_LIMIT", self.get_limit)
        seen.append(now)
        return None

    def _too_many(self, retry_after: float, name: str, limit: int) -> Reply:
        until = utcnow() + timedelta(seconds=retry_after)
        ratelimit = {"name": name, "period": int(self.get_window), "limit": limit,
                     "remaining": 0, "until": iso(until)}
        seconds = f"{retry_after:g}"
        return Reply(429, {"error": "rate limit exceeded"},
                     {"Retry-After": seconds, "X-Ratelimit": json.dumps(ratelimit)})

    # --- /oauth -----------------------------------------------------------------------

    def _oauth(self, call: TraktCall) -> Reply:
        body = call.body if isinstance(call.body, dict) else {}
        if call.method != "POST":
            return Reply(405)
        if call.path == "/oauth/device/code":
            return self._device_code(body)
        if call.path == "/oauth/device/token":
            return self._device_token(body)
        if call.path == "/oauth/token":
            return self._refresh(body)
        return Reply(404)

    def _device_code(self, body: dict) -> Reply:
        if body.get("client_id") != self.client_id:
            return Reply(401, {"error": "invalid_client"})
        grant = DeviceGrant(secrets.token_hex(32), secrets.token_hex(4).upper(),
                            time.monotonic(), self.device_expires_in, self.device_interval)
        self._devices[grant.device_code] = grant
        return Reply(200, {"device_code": grant.device_code, "user_code": grant.user_code,
                           "verification_url": "https://trakt.tv/activate",
                           "expires_in": grant.expires_in, "interval": grant.interval})

    def _device_token(self, body: dict) -> Reply:
        if (body.get("client_id"), body.get("client_secret")) != (
                self.client_id, self.client_secret):
            return Reply(401, {"error": "invalid_client"})
        grant = self._devices.get(str(body.get("code", "")))
        if grant is None:
            return Reply(404)
        now = time.monotonic()
        too_soon = grant.last_poll is not None and now - grant.last_poll < grant.interval
        grant.last_poll = now
        if grant.state == "used":
            return Reply(409)
        if now - grant.issued >= grant.expires_in:
            return Reply(410)
        if too_soon:
            return Reply(429)
        if grant.state == "denied":
            return Reply(418)
        if grant.state == "pending":
            return Reply(400)
        grant.state = "used"
        return Reply(200, self._issue(None))

    def _refresh(self, body: dict) -> Reply:
        if (body.get("client_id"), body.get("client_secret")) != (
                self.client_id, self.client_secret):
            return Reply(401, {"error": "invalid_client",
                               "error_description": "Client authentication failed"})
        if body.get("grant_type") != "refresh_token" or body.get("redirect_uri") != REDIRECT_URI:
            return Reply(400, {"error": "invalid_request",
                               "error_description": "grant_type or redirect_uri is wrong"})
        old = self._by_refresh.get(str(body.get("refresh_token", "")))
        if old is not None and old.refresh_used:
            self.reused_refresh_tokens += 1
        if old is None or old.refresh_used or self.revoked_all:
            return Reply(self.invalid_grant_status,
                         {"error": "invalid_grant", "error_description": INVALID_GRANT})
        old.refresh_used = True
        if self.revoke_old_access:
            old.revoked = True
        self.refresh_count += 1
        return Reply(200, self._issue(None))

    def _issue(self, expires_in: float | None) -> dict:
        lifetime = self.token_expires_in if expires_in is None else expires_in
        grant = Grant(secrets.token_hex(32), secrets.token_hex(32), time.time(), lifetime)
        self._grants[grant.access_token] = grant
        self._by_refresh[grant.refresh_token] = grant
        return {"access_token": grant.access_token, "token_type": "bearer",
                "expires_in": lifetime, "refresh_token": grant.refresh_token,
                "scope": "public", "created_at": int(grant.issued)}

    def _alive(self, grant: Grant) -> bool:
        return not grant.revoked and time.time() < grant.issued + grant.expires_in

    # --- /sync ------------------------------------------------------------------------

    def _sync(self, call: TraktCall) -> Reply:
        if call.method != "GET":
            return Reply(405)
        path = call.path.rstrip("/")
        if path == "/sync/last_activities":
            return Reply(200, self._last_activities())
        if path in ("/sync/history", "/sync/history/movies", "/sync/history/episodes"):
            return self._history_page(path.rpartition("/")[2], call.query)
        if path == "/sync/watched/movies":
            return Reply(200, self._watched_movies())
        if path == "/sync/watched/shows":
            return Reply(200, self._watched_shows())
        return Reply(404)

    def _history_page(self, kind: str, query: dict[str, str]) -> Reply:
        try:
            start = parse_iso(query["start_at"]) if "start_at" in query else None
            end = parse_iso(query["end_at"]) if "end_at" in query else None
            page = max(1, int(query.get("page", 1)))
            limit = min(max(1, int(query.get("limit", 10))), self.max_limit)
        except ValueError as exc:
            return Reply(400, {"error": str(exc)})
        wanted = {"movies": "movie", "episodes": "episode"}.get(kind)
        entries = [
            e for e in self._sorted_history()
            if wanted in (None, e["type"])
            and (start is None or parse_iso(e["watched_at"]) >= start)
            and (end is None or parse_iso(e["watched_at"]) <= end)
        ]
        pages = math.ceil(len(entries) / limit)
        headers = {"X-Pagination-Page": str(page), "X-Pagination-Limit": str(limit),
                   "X-Pagination-Page-Count": str(pages),
                   "X-Pagination-Item-Count": str(len(entries))}
        return Reply(200, entries[(page - 1) * limit: page * limit], headers)

    def _last_activities(self) -> dict:
        epoch = iso(datetime(1970, 1, 1, tzinfo=timezone.utc))
        movies = iso(self._activity["movies"]) if self._activity["movies"] else epoch
        episodes = iso(self._activity["episodes"]) if self._activity["episodes"] else epoch
        everything = iso(self._last_activity) if self._last_activity else epoch
        others = dict.fromkeys(("collected_at", "rated_at", "watchlisted_at", "commented_at",
                                "paused_at"), epoch)
        return {
            "all": everything,
            "movies": {"watched_at": movies, **others, "favorited_at": epoch, "hidden_at": epoch},
            "episodes": {"watched_at": episodes, **others},
            "shows": dict.fromkeys(("rated_at", "watchlisted_at", "favorited_at",
                                    "commented_at", "hidden_at", "dropped_at"), epoch),
            "seasons": dict.fromkeys(("rated_at", "watchlisted_at", "commented_at",
                                      "hidden_at"), epoch),
            "comments": dict.fromkeys(("liked_at", "reacted_at", "blocked_at"), epoch),
            "lists": dict.fromkeys(("liked_at", "reacted_at", "updated_at", "commented_at"),
                                   epoch),
            "watchlist": {"updated_at": epoch},
            "favorites": {"updated_at": epoch},
            "account": dict.fromkeys(("settings_at", "followed_at", "following_at",
                                      "pending_at", "requested_at"), epoch),
        }

    def _watched_movies(self) -> list[dict]:
        by_movie: dict[int, dict] = {}
        for entry in reversed(self._sorted_history()):
            if entry["type"] != "movie":
                continue
            row = by_movie.setdefault(entry["movie"]["ids"]["trakt"], {
                "plays": 0, "last_watched_at": None, "last_updated_at": None,
                "movie": entry["movie"]})
            row["plays"] += 1
            row["last_watched_at"] = entry["watched_at"]
            row["last_updated_at"] = max(row["last_updated_at"] or "", entry["_added_at"])
        return list(by_movie.values())

    def _watched_shows(self) -> list[dict]:
        by_show: dict[int, dict] = {}
        for entry in reversed(self._sorted_history()):
            if entry["type"] != "episode":
                continue
            row = by_show.setdefault(entry["show"]["ids"]["trakt"], {
                "plays": 0, "last_watched_at": None, "last_updated_at": None,
                "reset_at": None, "show": entry["show"], "seasons": {}})
            row["plays"] += 1
            row["last_watched_at"] = entry["watched_at"]
            row["last_updated_at"] = max(row["last_updated_at"] or "", entry["_added_at"])
            episode = entry["episode"]
            season = row["seasons"].setdefault(episode["season"], {})
            seen = season.setdefault(episode["number"], {
                "number": episode["number"], "plays": 0, "last_watched_at": None})
            seen["plays"] += 1
            seen["last_watched_at"] = entry["watched_at"]
        shows = []
        for row in by_show.values():
            seasons = [{"number": number, "episodes": [season[n] for n in sorted(season)]}
                       for number, season in sorted(row["seasons"].items())]
            shows.append({**row, "seasons": seasons})
        return shows

    # --- internals --------------------------------------------------------------------

    def _add(self, kind: str, media: dict, watched_at: datetime | None, action: str) -> dict:
        # last_activities moves when the history changes, whatever date the play carries;
        # keep it strictly increasing so a test adding two plays in one millisecond sees it.
        now = utcnow()
        if self._last_activity is not None and now <= self._last_activity:
            now = self._last_activity + timedelta(milliseconds=1)
        self._last_activity = now
        self._activity["movies" if kind == "movie" else "episodes"] = now
        entry = {"id": next(self._ids), "watched_at": iso(watched_at or now), "action": action,
                 "type": kind, **media, "_added_at": iso(now)}
        self._history.append(entry)
        return _public(entry)

    def _sorted_history(self) -> list[dict]:
        return sorted(self._history, key=lambda e: (e["watched_at"], e["id"]), reverse=True)

    def _ids_for(self, kind: str, title: str, year: int, ids: dict | None) -> dict:
        slug = "-".join(title.lower().split()) + f"-{year}"
        trakt_id = self._catalogue.setdefault((kind, title, year), next(self._trakt_ids))
        extra = {"tvdb": None} if kind == "show" else {}
        return {"trakt": trakt_id, "slug": slug, **extra, "imdb": None, "tmdb": None,
                **(ids or {})}

    def _device_by_user(self, user_code: str) -> DeviceGrant:
        with self._lock:
            for grant in self._devices.values():
                if grant.user_code == user_code:
                    return grant
        raise KeyError(user_code)


def _public(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if not k.startswith("_")}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; Nagle plus delayed ACK would add ~40 ms.
    disable_nagle_algorithm = True
    server_version = "Trakt-StandIn"
    timeout = 10

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Keep test output quiet."""

    def do_GET(self) -> None:  # noqa: N802
        """Serve a GET request."""
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        """Serve a POST request."""
        self._serve()

    def _serve(self) -> None:
        standin: TraktStandIn = self.server.owner  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        call = TraktCall(self.command, parts.path, dict(parse_qsl(parts.query)),
                         CaseInsensitiveDict(self.headers.items()), body)
        reply = standin.answer(call)
        call.status = reply.status
        with standin._lock:
            standin.calls.append(call)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._write(reply)

    def _write(self, reply: Reply) -> None:
        payload = b"" if reply.body is None else json.dumps(_strip(reply.body)).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


def _strip(body: Any) -> Any:
    if isinstance(body, list):
        return [_public(e) if isinstance(e, dict) else e for e in body]
    return body
