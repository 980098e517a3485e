"""The SMB side of a mirror job: list, upload, download and tidy a folder on a share."""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import queue
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import smbclient
from smbclient._io import SMBDirectoryIO
from smbclient._pool import ClientConfig, get_smb_tree
from smbprotocol import exceptions as smbexc
from smbprotocol.connection import Connection
from smbprotocol.open import (
    FileInformationClass,
    Open,
    QueryDirectoryFlags,
    SMB2QueryDirectoryResponse,
)
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

from strmsync.errors import ChangedUnderneath, NetworkError, NotFoundError, StorageError
from strmsync.mirror import smbwire
from strmsync.mirror.smberrors import classify
from strmsync.mirror.smbwire import LARGEST_ENTRY, LIST_BUFFER, parse_entries

log = logging.getLogger(__name__)

TEMP_PREFIX = ".strmsync-part-"
CHUNK = 1024 * 1024
LIST_THREADS = 4
# Credits asked for once the session is up: every thread's requests share one connection
# and a 1 MiB read or write is charged 16 (32 threads at most, DESIGN.md §8).
CREDITS = 512


@dataclass(frozen=True)
class SmbTarget:
    """Where a mirror job's remote folder lives and how to log on to it."""

    host: str
    share: str
    path: str = ""
    port: int = 445
    username: str = ""
    password: str = field(default="", repr=False)
    domain: str = ""
    encrypt: bool = False
    timeout: float = 30.0

    def unc(self, rel: str = "") -> str:
        """The UNC path of `rel` (a posix path relative to the target folder)."""
        parts = [p for p in f"{self.path}/{rel}".split("/") if p]
        return "\\".join([f"\\\\{self.host}", self.share, *parts])

    def label(self) -> str:
        """How the folder is named in logs and messages: no user, no password."""
        path = "/".join(p for p in self.path.split("/") if p)
        return f"smb://{self.host}:{self.port}/{self.share}" + (f"/{path}" if path else "")


@dataclass(frozen=True)
class RemoteFile:
    """One file on the share, as listed."""

    path: str
    size: int
    mtime_ns: int


class _Callback(Exception):
    """Carries an exception raised by a caller's callback through our error mapping."""

    def __init__(self, original: BaseException):
        super().__init__(repr(original))
        self.original = original


def _temp_name(name: str) -> str:
    head = f"{TEMP_PREFIX}{secrets.token_hex(4)}-"
    data = name.encode()[: 255 - len(head)]
    return head + data.decode(errors="ignore")


class _OneConnection(dict):
    """The connection cache handed to smbclient: every lookup gets the remote's one
    connection, made (or made again after it dropped) under the remote's lock."""

    # smbclient's register_session does an unlocked get-or-create on the cache it is given
    # (DESIGN.md §8); answering every get with a live, logged-on connection means it never
    # creates one, so threads share the connection without racing to set it up.
    def __init__(self, connect: Callable[[], Connection]):
        super().__init__()
        self._connect = connect

    def get(self, key, default=None):
        return self._connect()


class SmbRemote:
    """One connection to one SmbTarget, shared by many threads; close() drops it."""

    def __init__(self, target: SmbTarget):
        self.target = target
        self._lock = threading.RLock()
        self._cache = _OneConnection(self._connection)
        self._attempts = 0  # connects tried; with _failure, how the last one ended
        self._failure: Exception | None = None
        self._known_dirs: set[str] = set()
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False

    def __enter__(self) -> SmbRemote:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SmbRemote({self.target.label()})"

    def close(self) -> None:
        """Stop the listing threads and close the connection."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._closed = True
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            smbclient.reset_connection_cache(fail_on_error=False, connection_cache=self._cache)

    def _user(self) -> str | None:
        t = self.target
        return (f"{t.domain}\\{t.username}" if t.domain and t.username else t.username) or None

    def _kw(self) -> dict:
        t = self.target
        return {"port": t.port, "connection_cache": self._cache, "username": self._user(),
                "password": t.password or None, "encrypt": t.encrypt,
                "connection_timeout": t.timeout}

    def _connection(self) -> Connection:
        attempts = self._attempts
        with self._lock:
            if self._closed:
                raise NetworkError(f"{self._where()}: this connection is closed")
            key = f"{self.target.host.lower()}:{self.target.port}"
            connection = dict.get(self._cache, key)
            if connection is not None and connection.transport.connected:
                return connection
            if attempts != self._attempts and self._failure is not None:
                # A connect failed while this thread waited for it: fail at once rather
                # than have every waiting thread sit out its own connect timeout in turn.
                raise type(self._failure)(str(self._failure))
            self._attempts += 1
            try:
                connection = self._connect()
            except Exception as exc:
                self._failure = classify(exc, self._where())
                raise self._failure from None
            self._failure = None
            dict.__setitem__(self._cache, key, connection)
            return connection

    def _connect(self) -> Connection:
        t = self.target
        # A client GUID of its own: Samba hands a new connection with a GUID it already
        # serves to that smbd process (multichannel), which then granted it no credits and
        # never answered its SESSION_SETUP (the hang in bench/README.md).
        connection = Connection(uuid.uuid4(), t.host, t.port, require_signing=True)
        smbwire.answer_within(connection, t.timeout)
        try:
            connection.connect(timeout=t.timeout)
            session = Session(connection, username=self._user(), password=t.password or None,
                              require_encryption=t.encrypt,
                              auth_protocol=ClientConfig().auth_protocol)
            session.connect()
            connection.echo(sid=session.session_id, timeout=t.timeout, credit_request=CREDITS)
            TreeConnect(session, rf"\\{t.host}\{t.share}").connect(
                require_secure_negotiate=ClientConfig().require_secure_negotiate)
        except BaseException:
            # Half set up (no answer to the negotiate, a refused log-on): its socket and
            # receive thread go now, not when the process ends.
            with contextlib.suppress(Exception):
                connection.disconnect(close=False)
            raise
        return connection

    def _where(self, rel: str = "") -> str:
        return f"{self.target.label()}/{rel}" if rel else self.target.label()

    def _call(self, rel: str, fn: Callable, *args, **kwargs):
        try:
            return fn(*args, **self._kw(), **kwargs)
        except Exception as exc:
            raise classify(exc, self._where(rel)) from None

    def check(self) -> None:
        """Connect, log on and make sure the target folder exists."""
        try:
            info = self._call("", smbclient.stat, self.target.unc())
        except ChangedUnderneath:
            raise NotFoundError(f"{self._where()}: no such folder") from None
        if not info.st_mode & 0o040000:
            raise NotFoundError(f"{self._where()}: not a folder")

    def ensure_root(self) -> None:
        """Make the target folder and its parents if missing."""
        self._call("", smbclient.makedirs, self.target.unc(), exist_ok=True)

    def _makedirs(self, rel_dir: str) -> None:
        if not rel_dir or rel_dir in self._known_dirs:
            return
        self._call(rel_dir, smbclient.makedirs, self.target.unc(rel_dir), exist_ok=True)
        self._known_dirs.add(rel_dir)

    # --- listing -------------------------------------------------------------------------

    def _list(self, rel_dir: str) -> list[tuple[str, bool, int, int]]:
        """Every entry of one folder, in one round trip when it fits one answer."""
        tree, path = get_smb_tree(self.target.unc(rel_dir), **self._kw())
        buffer = smbwire.list_folder(Open(tree, path), self.target.timeout)
        if len(buffer) > LIST_BUFFER - LARGEST_ENTRY:
            return self._list_in_parts(rel_dir)
        return list(parse_entries(buffer)) if buffer else []

    def _list_in_parts(self, rel_dir: str) -> list[tuple[str, bool, int, int]]:
        """Every entry of a folder too big for one answer: open, query until done, close."""
        found: list[tuple[str, bool, int, int]] = []
        folder = SMBDirectoryIO(self.target.unc(rel_dir), share_access="rwd", **self._kw())
        folder.open()
        with _closing(folder):
            smb_open = folder.fd
            flags = QueryDirectoryFlags.SMB2_RESTART_SCANS
            while True:
                query, _ = smb_open.query_directory(
                    "*", FileInformationClass.FILE_ID_FULL_DIRECTORY_INFORMATION,
                    flags=flags, max_output=LIST_BUFFER, send=False)
                tree = smb_open.tree_connect
                request = smb_open.connection.send(
                    query, tree.session.session_id, tree.tree_connect_id)
                try:
                    response = smb_open.connection.receive(request)
                except (smbexc.NoMoreFiles, smbexc.NoSuchFile):
                    return found
                flags = 0
                body = SMB2QueryDirectoryResponse()
                body.unpack(response["data"].get_value())
                found.extend(parse_entries(body["buffer"].get_value()))

    def _list_safely(self, rel_dir: str) -> tuple[str, list | None, Exception | None]:
        try:
            return rel_dir, self._list(rel_dir), None
        except Exception as exc:
            return rel_dir, None, classify(exc, self._where(rel_dir))

    def _listing_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._closed:
                raise NetworkError(f"{self._where()}: this connection is closed")
            if self._pool is None:
                self._pool = ThreadPoolExecutor(LIST_THREADS, thread_name_prefix="smb-list")
            return self._pool

    def scan(self, on_error: Callable[[str, Exception], None],
             skip: Callable[[str], bool] | None = None, folder: str = "") -> Iterator[RemoteFile]:
        """Every file under `folder` (the target folder by default), with paths relative to
        the target folder, yielded folder by folder as listings arrive."""
        pool = self._listing_pool()
        # Workers hand each listing over through a queue: waiting on the set of pending
        # futures instead locks every one of them on each wake-up (bench/README.md).
        results: queue.SimpleQueue = queue.SimpleQueue()
        futures: list[Future] = []
        where = self._where()

        def submit(rel_dir: str) -> None:
            future = pool.submit(self._list_safely, rel_dir)
            future.add_done_callback(lambda done: results.put(_listing(done, rel_dir, where)))
            futures.append(future)

        submit(folder)
        pending = 1
        try:
            while pending:
                rel_dir, entries, error = results.get()
                pending -= 1
                if error is not None:
                    on_error(rel_dir, error)
                    continue
                prefix = f"{rel_dir}/" if rel_dir else ""
                for name, is_dir, size, mtime_ns in entries:
                    rel = prefix + name
                    if name.startswith(TEMP_PREFIX) or (skip is not None and skip(rel)):
                        continue
                    if is_dir:
                        submit(rel)
                        pending += 1
                    else:
                        yield RemoteFile(rel, size, mtime_ns)
        finally:
            if pending:
                for future in futures:
                    future.cancel()
                wait(futures)

    # --- transfers -----------------------------------------------------------------------

    def upload(self, local_path: str, rel: str, mtime_ns: int,
               on_bytes: Callable[[int], None] | None = None,
               checkpoint: Callable[[], None] | None = None) -> int:
        """Copy a local file to a temp name, set its mtime, put it in place as `rel`, check
        its size; return the bytes sent."""
        parent, name = posixpath.split(rel)
        self._makedirs(parent)
        temp = posixpath.join(parent, _temp_name(name))
        try:
            sent, on_share = self._put(local_path, temp, rel, mtime_ns, on_bytes, checkpoint)
        except BaseException as exc:
            self._discard(temp)
            raise _unwrap(exc, self._where(rel)) from None
        if on_share != sent:
            raise ChangedUnderneath(f"{self._where(rel)}: size changed while uploading")
        return sent

    def _put(self, local_path: str, temp: str, rel: str, mtime_ns: int, on_bytes,
             checkpoint) -> tuple[int, int]:
        # A file of one chunk is one round trip (create, write, set mtime, rename, close);
        # a bigger one is a create, its writes, then the same three steps in one.
        tree, path = get_smb_tree(self.target.unc(temp), **self._kw())
        final = get_smb_tree(self.target.unc(rel), **self._kw())[1]
        smb_open, timeout = Open(tree, path), self.target.timeout
        chunk_size = min(CHUNK, smb_open.connection.max_write_size)
        with open(local_path, "rb") as src:
            _run(checkpoint)
            chunk = src.read(chunk_size)
            if len(chunk) < chunk_size:
                on_share = smbwire.put_answered(
                    smb_open, smbwire.open_for_put(smb_open, chunk)
                    + smbwire.put_in_place(smb_open, mtime_ns, final), timeout)
                if chunk:
                    _run(on_bytes, len(chunk))
                return len(chunk), on_share
            return self._put_in_chunks(smb_open, src, chunk, final, mtime_ns, on_bytes,
                                       checkpoint)

    def _put_in_chunks(self, smb_open: Open, src, chunk: bytes, final: str, mtime_ns: int,
                       on_bytes, checkpoint) -> tuple[int, int]:
        (create,) = smbwire.open_for_put(smb_open, b"")
        tree, size = smb_open.tree_connect, len(chunk)
        smb_open._create_response(smb_open.connection.send(
            create, tree.session.session_id, tree.tree_connect_id))
        sent = 0
        try:
            while chunk:
                if smb_open.write(chunk, sent) != len(chunk):
                    raise StorageError(f"{self._where(final)}: the share took part of a write")
                sent += len(chunk)
                _run(on_bytes, len(chunk))
                _run(checkpoint)
                chunk = src.read(size)
        except BaseException:
            with contextlib.suppress(Exception):
                smb_open.close()
            raise
        return sent, smbwire.put_answered(
            smb_open, smbwire.put_in_place(smb_open, mtime_ns, final), self.target.timeout)

    def _open(self, rel: str, mode: str) -> contextlib.AbstractContextManager:
        # Unbuffered: a BufferedWriter whose flush fails on a dead connection raises again
        # from its finalizer; the raw handle is closed (or forgotten) by _closing.
        raw = smbclient.open_file(self.target.unc(rel), mode=mode, buffering=0,
                                  share_access="r", **self._kw())
        return _closing(raw)

    def _discard(self, temp: str) -> None:
        with contextlib.suppress(Exception):
            smbclient.remove(self.target.unc(temp), **self._kw())

    def download(self, rel: str, local_path: str,
                 on_bytes: Callable[[int], None] | None = None,
                 checkpoint: Callable[[], None] | None = None) -> RemoteFile:
        """Copy `rel` to a local file through a temp name, with the share's mtime."""
        folder, name = os.path.split(os.path.abspath(local_path))
        os.makedirs(folder, exist_ok=True)
        temp = os.path.join(folder, _temp_name(name))
        try:
            got, remote = self._receive(rel, temp, on_bytes, checkpoint)
            if got != remote.size:
                raise ChangedUnderneath(f"{self._where(rel)}: size changed while downloading")
            os.utime(temp, ns=(remote.mtime_ns, remote.mtime_ns))
            os.replace(temp, local_path)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise _unwrap(exc, self._where(rel), local=(temp, local_path)) from None
        return remote

    def _receive(self, rel: str, temp: str, on_bytes, checkpoint) -> tuple[int, RemoteFile]:
        got = 0
        with self._open(rel, "rb") as src, open(temp, "xb") as dst:
            info = smbclient.stat(self.target.unc(rel), **self._kw())
            remote = RemoteFile(rel, info.st_size, info.st_mtime_ns)
            while True:
                _run(checkpoint)
                chunk = _read_upto(src, CHUNK)
                if not chunk:
                    return got, remote
                dst.write(chunk)
                got += len(chunk)
                _run(on_bytes, len(chunk))

    # --- small operations ----------------------------------------------------------------

    def rename(self, rel: str, new_rel: str) -> None:
        """Move `rel` to `new_rel` within the share; fails if `new_rel` exists."""
        self._makedirs(posixpath.dirname(new_rel))
        self._call(rel, smbclient.rename, self.target.unc(rel), self.target.unc(new_rel))

    def remove(self, rel: str) -> None:
        """Delete one file."""
        self._call(rel, smbclient.remove, self.target.unc(rel))

    def stat(self, rel: str) -> RemoteFile | None:
        """The file's size and mtime, or None if there is no such file."""
        try:
            info = self._call(rel, smbclient.stat, self.target.unc(rel))
        except ChangedUnderneath:
            return None
        return RemoteFile(rel, info.st_size, info.st_mtime_ns)

    def write_text(self, rel: str, text: str) -> None:
        """Write a small UTF-8 file (the marker)."""
        self._makedirs(posixpath.dirname(rel))
        try:
            with self._open(rel, "wb") as out:
                _write_all(out, text.encode())
        except Exception as exc:
            raise classify(exc, self._where(rel)) from None

    def read_text(self, rel: str) -> str | None:
        """A small UTF-8 file's text, or None if it is missing."""
        try:
            with self._open(rel, "rb") as src:
                return src.readall().decode()
        except Exception as exc:
            error = classify(exc, self._where(rel))
            if isinstance(error, ChangedUnderneath):
                return None
            raise error from None

    def remove_empty_dirs(self, rel_dirs: Iterable[str]) -> None:
        """Remove the folders that are empty, deepest first; others stay silently."""
        for rel in sorted(set(rel_dirs), key=lambda p: p.count("/"), reverse=True):
            if not rel:
                continue
            with contextlib.suppress(ChangedUnderneath):
                self._call(rel, smbclient.rmdir, self.target.unc(rel))
            self._known_dirs.discard(rel)

    def free_bytes(self) -> int | None:
        """Free space for this user on the share, or None if the server won't say."""
        try:
            return self._call("", smbclient.stat_volume, self.target.unc()).caller_available_size
        except (ChangedUnderneath, NetworkError):
            return None


def _listing(future: Future, rel_dir: str, where: str) -> tuple:
    """What a listing worker's future holds, or why there is nothing (stopped, crashed)."""
    if future.cancelled():
        return rel_dir, None, NetworkError(f"{where}: the connection was closed")
    if future.exception() is not None:
        return rel_dir, None, classify(future.exception(), f"{where}/{rel_dir}")
    return future.result()


def _run(callback: Callable | None, *args) -> None:
    if callback is None:
        return
    try:
        callback(*args)
    except BaseException as exc:
        raise _Callback(exc) from exc


def _unwrap(exc: BaseException, where: str, local: tuple[str, ...] = ()) -> BaseException:
    """The exception to re-raise: a callback's own, or the classified failure."""
    if isinstance(exc, _Callback):
        return exc.original
    if not isinstance(exc, Exception):
        return exc
    if isinstance(exc, OSError) and getattr(exc, "filename", None) in local and local:
        return StorageError(f"{where}: local file: {exc.strerror or exc}")
    return classify(exc, where)


@contextlib.contextmanager
def _closing(raw) -> Iterator:
    """Close an SMB handle; if the connection is gone, forget it instead of warning later."""
    try:
        yield raw
    except BaseException:
        with contextlib.suppress(Exception):
            _close(raw)
        raise
    _close(raw)


def _close(raw) -> None:
    try:
        raw.close()
    except Exception:
        raw.fd._connected = False  # smbclient warns about "unclosed" handles of dead links
        raise


def _write_all(dst, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[dst.write(view):]


def _read_upto(src, size: int) -> bytes:
    # One SMB read returns at most the server's max read size; gather up to `size`.
    parts, got = [], 0
    while got < size:
        part = src.read(size - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)
