"""A stand-in Emby or Jellyfin server: real HTTP on 127.0.0.1 that checks keys and records calls."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
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
class Call:
    """One request the stand-in received, whether it was accepted or not."""

    method: str
    path: str
    route: str
    query: dict[str, str]
    headers: CaseInsensitiveDict
    body: Any
    status: int = 0


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
    # Older Emby has only the plain /Library/VirtualFolders list.
    emby_query_endpoint: bool = True
    # Jellyfin answers POST /Library/Refresh only when the scan is over.
    scan_seconds: float = 0.0
    # Answer every request with this status (500, 401...) when set.
    fail_with: int | None = None
    server_name: str = "stand-in"
    version: str = "4.8.10.0"
    server_id: str = "0123456789abcdef0123456789abcdef"
    calls: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in ("emby", "jellyfin"):
            raise ValueError(f"kind must be emby or jellyfin, not {self.kind!r}")
        self._lock = threading.Lock()
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
