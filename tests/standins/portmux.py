"""One TCP port that relays gRPC (HTTP/2) connections to one backend and HTTP/1 to another."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading

# Every HTTP/2 connection opens with this preface (RFC 9113 §3.4); HTTP/1 starts with a method.
_H2_PREFACE_START = b"PRI"
_POLL = 0.05


class PortMux:
    """Relays each connection by its first bytes, like CloudDrive2's single gRPC+HTTP port."""

    def __init__(self, grpc_port: int, http_port: int) -> None:
        self.grpc_port = grpc_port
        self.http_port = http_port
        self.port = 0
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def start(self) -> int:
        """Bind, start accepting, and return the port."""
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(_POLL)
        self.port = self._listener.getsockname()[1]
        self._spawn(self._accept_loop)
        return self.port

    def stop(self) -> None:
        """Stop accepting, cut every relayed connection and wait for the relays to end."""
        self._stopping.set()
        if self._listener is not None:
            _hang_up(self._listener)
        with self._lock:
            open_sockets = list(self._sockets)
        for sock in open_sockets:
            _hang_up(sock)
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=self._run, args=(target, *args), daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _run(self, target, *args) -> None:
        try:
            target(*args)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._track(client)
            _no_delay(client)
            self._spawn(self._relay, client)

    def _relay(self, client: socket.socket) -> None:
        backend = None
        try:
            head = _read_head(client, len(_H2_PREFACE_START))
            if not head:
                return
            port = self.grpc_port if head == _H2_PREFACE_START else self.http_port
            backend = socket.create_connection(("127.0.0.1", port))
            self._track(backend)
            _no_delay(backend)
            backend.sendall(head)
            self._pump(client, backend)
        except OSError:
            pass
        finally:
            for sock in (client, backend):
                if sock is not None:
                    self._untrack(sock)
                    sock.close()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(a, selectors.EVENT_READ, b)
            selector.register(b, selectors.EVENT_READ, a)
            while not self._stopping.is_set():
                for key, _ in selector.select(_POLL):
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)


def _read_head(sock: socket.socket, size: int) -> bytes:
    sock.settimeout(5)
    head = b""
    while len(head) < size:
        chunk = sock.recv(size - len(head))
        if not chunk:
            break
        head += chunk
    sock.settimeout(None)
    return head


def _hang_up(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _no_delay(sock: socket.socket) -> None:
    # A relay must not hold back small frames (Nagle), or every call pays a delayed-ACK wait.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
