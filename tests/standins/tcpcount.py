"""A TCP forwarder on 127.0.0.1 that counts the connections made through it (what `ss`
would show a user, for tests that say how many connections a client opens) and can lose
the server's replies (a link that stays up while answers never arrive)."""

from __future__ import annotations

import contextlib
import socket
import threading


class CountingProxy:
    """Forwards every connection to (host, port) and counts them; use as a context manager."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.accepted = 0
        self.losing_replies = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="tcpcount", daemon=True)

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        _shut(self._listener)  # wakes the accept() that close() alone would leave waiting
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                _shut(sock)
                sock.close()
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self._lock:
                self.accepted += 1
                self._sockets += [client, server]
            for src, dst, lose in ((client, server, None), (server, client, self.losing_replies)):
                threading.Thread(target=_pump, args=(src, dst, lose), daemon=True).start()


def _pump(src: socket.socket, dst: socket.socket, lose: threading.Event | None) -> None:
    try:
        while data := src.recv(65536):
            if lose is None or not lose.is_set():
                dst.sendall(data)
    except OSError:
        pass
    _shut(dst)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
