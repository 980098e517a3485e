"""A forward HTTP proxy on 127.0.0.1 that relays plain-HTTP requests and logs what it relayed."""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from .httpserver import BackgroundHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authorization", "proxy-connection", "te",
              "trailer", "transfer-encoding", "upgrade"}


class ForwardProxy:
    """Relays `GET/POST http://host/path` to its origin; `relayed` holds (method, url, auth)."""

    def __init__(self) -> None:
        self.relayed: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()
        self._http = BackgroundHTTPServer(_ProxyHandler, self)
        self.url = ""

    def start(self) -> ForwardProxy:
        """Start serving on an ephemeral port; `url` is then set."""
        self.url = f"http://127.0.0.1:{self._http.start()}"
        return self

    def stop(self) -> None:
        """Stop serving and close every connection."""
        self._http.stop()

    def paths(self) -> list[str]:
        """The path of every relayed request, in order."""
        with self.lock:
            return [urlsplit(url).path for _, url, _ in self.relayed]


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 10

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._relay()

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self._relay()

    def _relay(self) -> None:
        target = urlsplit(self.path)
        if target.scheme != "http" or not target.netloc:
            self.send_error(400, "a forward proxy takes absolute http:// URLs")
            return
        proxy: ForwardProxy = self.server.owner
        with proxy.lock:
            proxy.relayed.append((self.command, self.path,
                                  self.headers.get("Proxy-Authorization", "")))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        origin = http.client.HTTPConnection(target.netloc, timeout=10)
        try:
            path = target.path + (f"?{target.query}" if target.query else "")
            origin.request(self.command, path, body=body, headers=headers)
            answer = origin.getresponse()
            data = answer.read()
        finally:
            origin.close()
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's signature
        pass
