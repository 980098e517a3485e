"""The CloudDrive2 stand-in's HTTP side: the /static/ download URLs GetDownloadUrlPath hands out."""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from .httpfile import send_file
from .traffic import Call
from .tree import clean_path

if TYPE_CHECKING:
    from .clouddrive2 import CloudDrive2StandIn

ENDPOINT = "static"
_STATUS_BY_FAULT = {"unavailable": 503, "resource_exhausted": 429, "deadline": 504}


class StaticHandler(BaseHTTPRequestHandler):
    """Serves `/static/<scheme>/<host>/<preview>/<escaped path>` with the file's bytes, no auth."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; Nagle plus delayed ACK would add ~40 ms to each.
    disable_nagle_algorithm = True
    server_version = "CloudDrive2-StandIn"
    timeout = 10

    @property
    def standin(self) -> CloudDrive2StandIn:
        """Return the stand-in this server belongs to."""
        return self.server.owner  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Keep test output quiet."""

    def do_GET(self) -> None:  # noqa: N802
        """Serve a download."""
        self._serve()

    def do_HEAD(self) -> None:  # noqa: N802
        """Serve a download's headers."""
        self._serve()

    def _serve(self) -> None:
        standin = self.standin
        standin.traffic.record(Call(ENDPOINT, self.command, self.path, None, dict(self.headers)))
        with standin.traffic.track():
            parts = urlsplit(self.path).path.split("/", 5)
            if len(parts) < 6 or parts[1] != ENDPOINT:
                return self._send_text(404, "not found")
            if any("{" in part or "%7B" in part.upper() for part in parts[2:5]):
                return self._send_text(400, "URL placeholders were not substituted")
            try:
                path = clean_path(unquote(parts[5], errors="strict"))
            except ValueError as error:
                return self._send_text(400, f"bad path: {error}")
            if self._inject(standin.faults.decide(ENDPOINT, path, explicit_only=True)):
                return
            local = standin.tree.local(path)
            if not local.is_file():
                return self._send_text(404, "file not found")
            send_file(self, local, head=self.command == "HEAD")

    def _inject(self, fault: str | None) -> bool:
        if fault is None:
            return False
        if fault == "deadline":
            time.sleep(self.standin.deadline_sleep)
        self._send_text(_STATUS_BY_FAULT.get(fault, 500), f"injected: {fault}")
        return True

    def _send_text(self, status: int, message: str) -> None:
        payload = message.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
