"""The OpenList stand-in's HTTP layer: routing, envelopes, injected faults, /d/ downloads."""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from . import openlist_api as api
from .faults import EMPTY
from .httpfile import send_file
from .openlist_sign import SignRejected, verify_sign
from .traffic import Call
from .tree import clean_path

if TYPE_CHECKING:
    from .openlist import OpenListStandIn


@dataclass(frozen=True)
class Route:
    """An API endpoint: its counter name, its view, and whether it needs a user."""

    endpoint: str
    view: Callable[..., Any]
    needs_user: bool = True


ROUTES = {
    ("POST", "/api/auth/login"): Route("auth/login", api.login, needs_user=False),
    ("GET", "/api/me"): Route("me", api.me),
    ("POST", "/api/fs/list"): Route("fs/list", api.fs_list),
    ("POST", "/api/fs/get"): Route("fs/get", api.fs_get),
    ("GET", "/api/public/settings"): Route(
        "public/settings", api.public_settings, needs_user=False
    ),
}

_ENVELOPE_FAULTS = {
    "error": (500, "injected server error"),
    "empty_message": (500, ""),
    "code429": (429, "too many requests"),
    "unauthorized": (401, "token is expired"),
}
_PAGE_FAULTS = {"http429": 429, "http502": 502, "html": 200}


class OpenListHandler(BaseHTTPRequestHandler):
    """Answers one connection's requests the way an OpenList server would."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; Nagle plus delayed ACK would add ~40 ms to each.
    disable_nagle_algorithm = True
    server_version = "OpenList-StandIn"
    timeout = 10

    @property
    def standin(self) -> OpenListStandIn:
        """Return the stand-in this server belongs to."""
        return self.server.owner  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Keep test output quiet."""

    def do_GET(self) -> None:  # noqa: N802
        """Serve a GET request."""
        self._dispatch()

    def do_HEAD(self) -> None:  # noqa: N802
        """Serve a HEAD request."""
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        """Serve a POST request."""
        self._dispatch()

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        body, body_error = self._read_body()
        if url.path.startswith(("/d/", "/p/")):
            return self._download(url)
        if (self.command, url.path) == ("GET", "/ping"):
            return self._send(200, "text/plain; charset=utf-8", b"pong")
        route = ROUTES.get((self.command, url.path))
        if route is None:
            return self._send(404, "text/plain; charset=utf-8", b"404 page not found")
        self.standin.traffic.record(
            Call(route.endpoint, self.command, self.path, body, dict(self.headers))
        )
        with self.standin.traffic.track():
            self._answer(route, body, body_error)

    def _answer(self, route: Route, body: dict, body_error: str | None) -> None:
        standin = self.standin
        if standin.faults.latency:
            time.sleep(standin.faults.latency)
        path = body.get("path")
        fault = standin.faults.decide(route.endpoint, None if path is None else str(path))
        if fault is not None and fault != EMPTY:
            return self._send_fault(fault)
        try:
            if body_error:
                raise api.ApiError(400, body_error)
            user = (
                api.current_user(standin, self.headers.get("Authorization", ""))
                if route.needs_user
                else None
            )
            data = route.view(standin, user, body, fault == EMPTY)
        except api.ApiError as error:
            return self._send_envelope(error.code, error.message, None)
        self._send_envelope(200, "success", data)

    def _download(self, url: SplitResult) -> None:
        standin = self.standin
        endpoint = url.path[1]
        standin.traffic.record(Call(endpoint, self.command, self.path, None, dict(self.headers)))
        try:
            abs_path = clean_path(unquote(url.path[2:], errors="strict"))
        except ValueError as error:  # UnicodeDecodeError is a ValueError too
            return self._send_page(400, f"bad path: {error}")
        with standin.traffic.track():
            fault = standin.faults.decide(endpoint, abs_path, explicit_only=True)
            if fault is not None:
                return self._send_fault(fault)
            if standin.needs_sign(abs_path):
                sign = parse_qs(url.query, keep_blank_values=True).get("sign", [""])[0]
                try:
                    verify_sign(standin.admin_token, abs_path, sign.removesuffix("/"))
                except SignRejected as rejected:
                    # OpenList v4 answers a bad sign with a real 401 HTML page (common.ErrorPage).
                    return self._send_page(401, str(rejected))
            local = standin.tree.local(abs_path)
            if not local.is_file():
                return self._send_page(500, "failed link: object not found")
            send_file(self, local, head=self.command == "HEAD")

    def _read_body(self) -> tuple[dict, str | None]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}, None
        try:
            body = json.loads(raw)
        except ValueError as error:
            return {}, f"invalid JSON body: {error}"
        return (body, None) if isinstance(body, dict) else ({}, "JSON body must be an object")

    def _send_fault(self, kind: str) -> None:
        if kind == "drop":
            self.close_connection = True
            return
        if kind in _ENVELOPE_FAULTS:
            return self._send_envelope(*_ENVELOPE_FAULTS[kind], None)
        status = _PAGE_FAULTS[kind]
        headers = {"Retry-After": "1"} if status == 429 else {}
        self._send_page(status, "injected: busy, try again later", headers)

    def _send_envelope(self, code: int, message: str, data: Any) -> None:
        envelope = {"code": code, "message": message, "data": data}
        payload = json.dumps(envelope, ensure_ascii=False).encode()
        self._send(200, "application/json; charset=utf-8", payload)

    def _send_page(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        title = f"{status} {self.responses.get(status, ('',))[0]}"
        page = (
            f"<!DOCTYPE html><html><head><title>{title}</title></head>"
            f"<body><h1>{title}</h1><hr><p>{html.escape(message)}</p></body></html>"
        )
        self._send(status, "text/html; charset=utf-8", page.encode(), headers)

    def _send(
        self, status: int, content_type: str, payload: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
