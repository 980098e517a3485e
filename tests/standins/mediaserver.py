"""A stand-in Emby or Jellyfin server: real HTTP on 127.0.0.1 that checks keys and records calls.

Besides libraries and notifications it holds users, movies, series and episodes with each
user's played state, for the Trakt kind (DESIGN.md §9).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from requests.structures import CaseInsensitiveDict

_TOKEN = re.compile(r'Token="?([^",]*)"?', re.IGNORECASE)


@dataclass
class Library:
    """One library (virtual folder) of the stand-in server."""

    name: str
    locations: list[str]
    collection_type: str = "movies"
    item_id: str = ""

    def __post_init__(self) -> None:
        if not self.item_id:
            self.item_id = hashlib.md5(self.name.encode()).hexdigest()


@dataclass
class Item:
    """A movie, series or episode of the stand-in; `provider_ids` as the server shows them."""

    type: str
    name: str
    year: int | None = None
    provider_ids: dict[str, str] = field(default_factory=dict)
    series_id: str | None = None
    season: int | None = None
    number: int | None = None
    id: str = ""


@dataclass
class Call:
    """One request the stand-in received, whether it was accepted or not."""

    method: str
    path: str
    route: str
    query: dict[str, str]
    headers: CaseInsensitiveDict
    body: Any
    status: int = 0
    # What the call asked for, in the stand-in's words: "users", "items", "played",
    # "unplayed" (a route that marks an item unplayed), or "" for anything else.
    endpoint: str = ""


@dataclass
class _Reply:
    status: int
    body: Any = None


@dataclass
class MediaServerStandIn:
    """Behaves as Emby or Jellyfin for the calls strmsync makes; see DESIGN.md §5."""

    kind: str
    api_key: str = "stand-in-key"
    libraries: list[Library] = field(default_factory=list)
    # Jellyfin 10.12+ turns legacy authorization (X-Emby-Token, api_key=) off by default.
    legacy_auth: bool = False
    # Older Emby has only the plain /Library/VirtualFolders and /Users lists.
    emby_query_endpoint: bool = True
    # Jellyfin 10.9 added POST /UserPlayedItems/{itemId}; 10.8 has only the /Users/... route.
    user_played_items: bool = True
    # Jellyfin answers POST /Library/Refresh only when the scan is over.
    scan_seconds: float = 0.0
    # Answer every request with this status (500, 401...) when set.
    fail_with: int | None = None
    server_name: str = "stand-in"
    version: str = "4.8.10.0"
    server_id: str = "0123456789abcdef0123456789abcdef"
    calls: list[Call] = field(default_factory=list)
    users: dict[str, str] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in ("emby", "jellyfin"):
            raise ValueError(f"kind must be emby or jellyfin, not {self.kind!r}")
        self._lock = threading.Lock()
        self._played: dict[str, dict[str, datetime]] = {}
        self._next_id = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL a user would type (Emby's /emby prefix is added by the client)."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> MediaServerStandIn:
        """Bind an ephemeral port and serve in a background thread."""
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
        self._httpd = None

    def __enter__(self) -> MediaServerStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def calls_to(self, route: str, method: str | None = None) -> list[Call]:
        """The recorded calls to one route (without Emby's /emby prefix)."""
        with self._lock:
            return [c for c in self.calls if c.route == route and method in (None, c.method)]

    def calls_for(self, endpoint: str) -> list[Call]:
        """The recorded calls that asked for one thing ("items", "played", "unplayed"...)."""
        with self._lock:
            return [c for c in self.calls if c.endpoint == endpoint]

    # --- users, items and played state -------------------------------------------------

    def add_user(self, name: str) -> str:
        """A new user; returns its id."""
        user_id = self._new_id()
        self.users[user_id] = name
        self._played[user_id] = {}
        return user_id

    def add_movie(
        self, name: str, year: int | None = None, imdb: str | None = None, tmdb=None
    ) -> str:
        """A new movie; returns its id."""
        return self.add_items([Item("Movie", name, year, _ids(imdb=imdb, tmdb=tmdb))])[0]

    def add_series(
        self, name: str, year: int | None = None, tvdb=None, tmdb=None, imdb=None
    ) -> str:
        """A new series; returns its id."""
        ids = _ids(tvdb=tvdb, tmdb=tmdb, imdb=imdb)
        return self.add_items([Item("Series", name, year, ids)])[0]

    def add_episode(
        self, series_id: str, season: int, number: int, tvdb=None, tmdb=None, imdb=None
    ) -> str:
        """A new episode of a series added before; returns its id."""
        name = f"{self.items[series_id].name} S{season:02d}E{number:02d}"
        ids = _ids(tvdb=tvdb, tmdb=tmdb, imdb=imdb)
        return self.add_items([Item("Episode", name, None, ids, series_id, season, number)])[0]

    def add_items(self, items: Iterable[Item]) -> list[str]:
        """Add many items at once (20,000 take well under a second); returns their ids."""
        added = []
        for item in items:
            item.id = item.id or self._new_id()
            self.items[item.id] = item
            added.append(item.id)
        return added

    def set_played(self, user_id: str, item_id: str, when: datetime | None = None) -> None:
        """Mark an item played for a user, as if they had watched it on the server."""
        with self._lock:
            self._played[user_id][item_id] = when or datetime.now(timezone.utc)

    def played(self, user_id: str) -> dict[str, datetime]:
        """The items the user has played, with the date (UTC) each was marked."""
        with self._lock:
            return dict(self._played[user_id])

    def _new_id(self) -> str:
        self._next_id += 1
        return f"{self._next_id:032x}"

    def answer(self, call: Call) -> _Reply:
        """Decide the reply to one request."""
        if self.fail_with is not None:
            return _Reply(self.fail_with)
        if call.route == "/System/Info/Public" and call.method == "GET":
            return _Reply(200, self._public_info())
        if not self._authorized(call):
            return _Reply(401, "Access token is invalid or expired.")
        return self._route(call)

    def _route(self, call: Call) -> _Reply:
        route, method = call.route, call.method
        reply = self._library_route(call)
        if reply is not None:
            return reply
        if method == "GET" and route == "/System/Info":
            return _Reply(200, {**self._public_info(), "OperatingSystem": "Linux"})
        if method == "GET" and route == "/Library/VirtualFolders":
            return _Reply(200, [self._folder(lib) for lib in self.libraries])
        if method == "GET" and route == "/Library/VirtualFolders/Query":
            if self.kind != "emby" or not self.emby_query_endpoint:
                return _Reply(404)
            items = [self._folder(lib) for lib in self.libraries]
            return _Reply(200, {"Items": items, "TotalRecordCount": len(items)})
        if method == "POST" and route == "/Library/Media/Updated":
            return _Reply(204 if _valid_updates(call.body) else 400)
        if method == "POST" and route == "/Library/Refresh":
            time.sleep(self.scan_seconds)
            return _Reply(204)
        found = re.fullmatch(r"/Items/([^/]+)/Refresh", route)
        if method == "POST" and found:
            known = any(lib.item_id == found.group(1) for lib in self.libraries)
            return _Reply(204 if known else 404)
        return _Reply(404)

    def _library_route(self, call: Call) -> _Reply | None:
        """Users, items and played state; None when the call is for another route."""
        route, method = call.route, call.method
        # ASP.NET (and Emby) bind query names case-insensitively.
        query = {key.lower(): value for key, value in call.query.items()}
        if method == "GET" and route in ("/Users", "/Users/Query"):
            call.endpoint = "users"
            return self._user_list(route)
        by_user = re.fullmatch(r"/Users/([^/]+)/Items", route)
        if method == "GET" and (route == "/Items" or by_user):
            call.endpoint = "items"
            return self._item_page(by_user.group(1) if by_user else query.get("userid"), query)
        legacy = re.fullmatch(r"/Users/([^/]+)/PlayedItems/([^/]+)(/Delete)?", route)
        current = re.fullmatch(r"/UserPlayedItems/([^/]+)", route)
        if current and (self.kind == "emby" or not self.user_played_items):
            return None
        if not (legacy or current) or method not in ("POST", "DELETE"):
            return None
        user_id, item_id = legacy.groups()[:2] if legacy else (query.get("userid"), current[1])
        if method == "DELETE" or (legacy and legacy.group(3)):
            call.endpoint = "unplayed"
            return self._mark(user_id, item_id, None)
        call.endpoint = "played"
        return self._mark(user_id, item_id, query.get("dateplayed"), played=True)

    def _user_list(self, route: str) -> _Reply:
        users = [
            {"Name": name, "ServerId": self.server_id, "Id": user_id, "HasPassword": True}
            for user_id, name in self.users.items()
        ]
        if route == "/Users":
            return _Reply(200, users)
        if self.kind != "emby" or not self.emby_query_endpoint:
            return _Reply(404)
        return _Reply(200, {"Items": users, "TotalRecordCount": len(users)})

    def _item_page(self, user_id: str | None, query: dict[str, str]) -> _Reply:
        if user_id is not None and user_id not in self.users:
            return _Reply(404, "User not found")
        try:
            start = int(query.get("startindex") or 0)
            limit = int(query["limit"]) if query.get("limit") else None
        except ValueError:
            return _Reply(400, "StartIndex and Limit must be whole numbers")
        chosen = self._chosen_items(query)
        page = chosen[start : None if limit is None else start + limit]
        with_ids = "providerids" in query.get("fields", "").lower().split(",")
        items = [self._item_dto(item, user_id, with_ids) for item in page]
        return _Reply(200, {"Items": items, "TotalRecordCount": len(chosen), "StartIndex": start})

    def _chosen_items(self, query: dict[str, str]) -> list[Item]:
        # Without Recursive the server lists only the top-level views, which hold no items.
        if query.get("recursive", "").lower() != "true":
            return []
        types = {name.lower() for name in query.get("includeitemtypes", "").split(",") if name}
        chosen = [item for item in self.items.values() if not types or item.type.lower() in types]
        # Jellyfin ignores AnyProviderIdEquals (it returns everything); Emby filters by it.
        wanted = query.get("anyprovideridequals")
        if self.kind == "emby" and wanted:
            pairs = {tuple(pair.lower().split(".", 1)) for pair in wanted.split(",")}
            chosen = [
                item
                for item in chosen
                if any((k.lower(), v.lower()) in pairs for k, v in item.provider_ids.items())
            ]
        return chosen

    def _item_dto(self, item: Item, user_id: str | None, with_ids: bool) -> dict:
        dto = {
            "Name": item.name,
            "ServerId": self.server_id,
            "Id": item.id,
            "Type": item.type,
            "IsFolder": item.type == "Series",
        }
        if item.year is not None:
            dto["ProductionYear"] = item.year
        if with_ids:
            dto["ProviderIds"] = dict(item.provider_ids)
        if item.type == "Episode":
            dto["SeriesId"] = item.series_id
            dto["SeriesName"] = self.items[item.series_id].name
            dto["ParentIndexNumber"] = item.season
            dto["IndexNumber"] = item.number
        if user_id is not None:
            dto["UserData"] = self._user_data(user_id, item.id)
        return dto

    def _user_data(self, user_id: str, item_id: str) -> dict:
        with self._lock:
            when = self._played[user_id].get(item_id)
        data = {"PlayCount": int(when is not None), "IsFavorite": False, "Played": when is not None}
        if when is not None:
            data["LastPlayedDate"] = when.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
        return {**data, "Key": item_id, "PlaybackPositionTicks": 0}

    def _mark(self, user_id, item_id: str, date: str | None, played: bool = False) -> _Reply:
        if user_id is None:
            return _Reply(400, "userId is required with an API key")
        if user_id not in self.users or item_id not in self.items:
            return _Reply(404)
        when = self._date_played(date) if played else None
        if played and when is None:
            return _Reply(400, f"cannot read DatePlayed {date!r}")
        with self._lock:
            if played:
                self._played[user_id][item_id] = when
            else:
                self._played[user_id].pop(item_id, None)
        return _Reply(200, {**self._user_data(user_id, item_id), "ItemId": item_id})

    def _date_played(self, text: str | None) -> datetime | None:
        """Emby reads yyyyMMddHHmmss; Jellyfin reads that (as UTC) or an ISO date."""
        if not text:
            return datetime.now(timezone.utc)
        try:
            return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
        except ValueError:
            if self.kind == "emby":
                return None
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return when.replace(tzinfo=when.tzinfo or timezone.utc).astimezone(timezone.utc)

    def _authorized(self, call: Call) -> bool:
        return self._presented_key(call) == self.api_key

    def _presented_key(self, call: Call) -> str | None:
        headers = call.headers
        query = {key.lower(): value for key, value in call.query.items()}
        authorization = headers.get("Authorization", "")
        legacy = self.kind == "emby" or self.legacy_auth
        if self.kind == "jellyfin" and authorization.startswith("MediaBrowser "):
            return _token(authorization)
        if self.kind == "jellyfin" and "apikey" in query:
            return query["apikey"]
        if not legacy:
            return None
        for name in ("X-Emby-Token", "X-MediaBrowser-Token"):
            if name in headers:
                return headers[name]
        for value in (headers.get("X-Emby-Authorization", ""), authorization):
            if value.startswith(("Emby ", "MediaBrowser ")):
                return _token(value)
        return query.get("api_key")

    def _public_info(self) -> dict:
        info = {"ServerName": self.server_name, "Version": self.version, "Id": self.server_id}
        if self.kind == "jellyfin":
            info["ProductName"] = "Jellyfin Server"
        return info

    def _folder(self, lib: Library) -> dict:
        folder = {
            "Name": lib.name,
            "Locations": list(lib.locations),
            "CollectionType": lib.collection_type,
            "ItemId": lib.item_id,
            "LibraryOptions": {},
        }
        if self.kind == "emby":
            folder["Id"] = lib.item_id
        else:
            folder["RefreshStatus"] = "Idle"
        return folder

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)


def _ids(**ids: object) -> dict[str, str]:
    """Provider ids as both products name them (MetadataProvider: Imdb, Tmdb, Tvdb)."""
    return {name.capitalize(): str(value) for name, value in ids.items() if value is not None}


def _token(header: str) -> str | None:
    found = _TOKEN.search(header)
    return found.group(1) if found else None


def _valid_updates(body: Any) -> bool:
    if not isinstance(body, dict) or not isinstance(body.get("Updates"), list):
        return False
    return all(isinstance(u, dict) and isinstance(u.get("Path"), str) for u in body["Updates"])


class _Handler(BaseHTTPRequestHandler):
    server_version = "StandInMediaServer/1.0"

    def do_GET(self) -> None:  # noqa: N802
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _serve(self) -> None:
        owner: MediaServerStandIn = self.server.owner
        call = self._read_call(owner.kind)
        owner._record(call)
        reply = owner.answer(call)
        call.status = reply.status
        # strmsync hangs up on a long Jellyfin scan rather than wait for its answer.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._write(reply)

    def _read_call(self, kind: str) -> Call:
        parts = urlsplit(self.path)
        route = parts.path
        if kind == "emby" and route.lower().startswith("/emby/"):
            route = route[len("/emby") :]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        return Call(
            method=self.command,
            path=parts.path,
            route=route,
            query=dict(parse_qsl(parts.query)),
            headers=CaseInsensitiveDict(self.headers.items()),
            body=body,
        )

    def _write(self, reply: _Reply) -> None:
        data = b""
        if reply.body is not None:
            data = (
                json.dumps(reply.body) if not isinstance(reply.body, str) else reply.body
            ).encode()
        self.send_response(reply.status)
        if data:
            kind = "text/plain" if isinstance(reply.body, str) else "application/json"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
        elif reply.status != 204:
            self.send_header("Content-Length", "0")
        self.end_headers()
        if data:
            self.wfile.write(data)
