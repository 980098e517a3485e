"""Tell Emby and Jellyfin which folders of the target tree changed (DESIGN.md §5)."""

from __future__ import annotations

import logging
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from strmsync import __version__
from strmsync.errors import ConfigError, FatalError

log = logging.getLogger(__name__)

KINDS = ("emby", "jellyfin")
CREATED, MODIFIED, DELETED = "Created", "Modified", "Deleted"
BATCH_SIZE = 100
RETRIES, BACKOFF = 3, 0.5
TIMEOUT = (5.0, 30.0)
# Jellyfin answers POST /Library/Refresh only when the whole scan has ended; hanging up
# after a short wait leaves the scan running on the server.
SCAN_TIMEOUT = (5.0, 10.0)
# A library scan that discovers new files: Default, not FullRefresh, which would rewrite
# every item's metadata. Jellyfin ignores Recursive; its refresh of a library folder
# validates the children anyway. ASP.NET binds query names case-insensitively.
LIBRARY_REFRESH = {
    "Recursive": "true",
    "MetadataRefreshMode": "Default",
    "ImageRefreshMode": "Default",
    "ReplaceAllMetadata": "false",
    "ReplaceAllImages": "false",
}
_UPDATE_TYPES = {"create": CREATED, "delete": DELETED, "update": MODIFIED, "copy": MODIFIED}
_HINTS = {
    401: "check the API key",
    403: "the API key may not do this; use a key made in the server's admin dashboard",
    404: "check the URL",
}


@dataclass(frozen=True)
class MediaServer:
    """An Emby or Jellyfin server and how it sees our target tree."""

    name: str
    kind: str
    url: str
    api_key: str = field(repr=False)
    path_map: tuple[tuple[str, str], ...] = ()
    refresh_threshold: int = 50

    def __post_init__(self) -> None:
        _require(isinstance(self.name, str) and self.name.strip(), "name: must not be empty")
        kind = self.kind.strip().lower() if isinstance(self.kind, str) else self.kind
        _require(kind in KINDS, f"kind: must be 'emby' or 'jellyfin', not {self.kind!r}")
        _require(
            isinstance(self.api_key, str) and self.api_key.strip(), "api_key: must not be empty"
        )
        threshold = self.refresh_threshold
        _require(
            type(threshold) is int and threshold >= 0,
            "refresh_threshold: must be a whole number, 0 or more",
        )
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "url", _checked_url(self.url))
        object.__setattr__(self, "api_key", self.api_key.strip())
        object.__setattr__(self, "path_map", _checked_path_map(self.path_map))


@dataclass
class NotifyResult:
    """What telling one media server achieved, worded for the run log."""

    ok: bool
    mode: str
    calls: int = 0
    folders: int = 0
    libraries: list[str] = field(default_factory=list)
    message: str = ""


def map_path(server: MediaServer, path: str) -> str:
    """Translate one of our target paths into the path the media server sees."""
    path = posixpath.normpath(path)
    best = None
    for ours, theirs in server.path_map:
        if _is_within(path, ours) and (best is None or len(ours) > len(best[0])):
            best = (ours, theirs)
    if best is None:
        return path
    ours, theirs = best
    rest = path[len(ours) :].lstrip("/")
    if not rest:
        return theirs
    # A Windows server's side of the map ("D:\\Media") keeps its own separator.
    sep = "\\" if "\\" in theirs and "/" not in theirs else "/"
    return theirs.rstrip(sep) + sep + rest.replace("/", sep)


def changed_folders(target_root: str, changes: Iterable[tuple[str, str, str]]) -> dict[str, str]:
    """Each folder holding a changed file, as an absolute path, with its UpdateType."""
    root = posixpath.normpath(target_root)
    seen: dict[str, set[str]] = {}
    for action, _kind, rel_path in changes:
        update_type = _UPDATE_TYPES.get(action)
        if update_type is None:
            continue
        parent = posixpath.dirname(rel_path.lstrip("/"))
        folder = posixpath.normpath(posixpath.join(root, parent))
        seen.setdefault(folder, set()).add(update_type)
    return {
        folder: types.pop() if len(types) == 1 else MODIFIED
        for folder, types in sorted(seen.items())
    }


def make_session(retries: int = RETRIES, backoff: float = BACKOFF) -> requests.Session:
    """A session that retries refused connections and 5xx answers with short backoff."""
    retry = Retry(
        total=retries,
        connect=retries,
        # Never re-send a request the server may already be acting on.
        read=False,
        other=0,
        status=retries,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "POST"}),
        backoff_factor=backoff,
        backoff_max=10.0,
        raise_on_status=False,
        # A proxy's Retry-After could stall a run for minutes; the backoff stays bounded.
        respect_retry_after_header=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"User-Agent": f"strmsync/{__version__}", "Accept": "application/json"})
    return session


def notify(
    server: MediaServer,
    target_root: str,
    changes: Iterable[tuple[str, str, str]],
    session: requests.Session | None = None,
    *,
    batch_size: int = BATCH_SIZE,
) -> NotifyResult:
    """Tell the server which folders changed; never raises for a server problem."""
    folders = changed_folders(target_root, changes)
    if not folders:
        return NotifyResult(True, "none", message=f"{_label(server)}: nothing changed")
    updates = [(map_path(server, path), kind) for path, kind in folders.items()]
    mode = "targeted" if len(updates) <= server.refresh_threshold else "library"
    result = NotifyResult(False, mode, folders=len(updates))
    client = _Client(server, session)
    try:
        if mode == "targeted":
            detail = _send_updates(client, updates, batch_size)
        else:
            detail = _refresh_libraries(client, result, updates)
        result.ok = True
    except _Problem as problem:
        detail = str(problem)
    finally:
        result.calls = client.calls
        client.close()
    result.message = f"{_label(server)}: {detail}"
    if result.ok:
        log.info("%s", result.message)
    else:
        log.warning("%s", result.message)
    return result


def test_server(server: MediaServer, session: requests.Session | None = None) -> dict:
    """Check the key and list the libraries; raises FatalError when that fails."""
    client = _Client(server, session)
    try:
        info = client.get_json("/System/Info")
        if not isinstance(info, dict):
            raise _Problem("unexpected answer to GET /System/Info")
        libraries = [_library(raw) for raw in _virtual_folders(client)]
    except _Problem as problem:
        raise FatalError(f"{_label(server)}: {problem}") from None
    finally:
        client.close()
    return {
        "name": info.get("ServerName"),
        "version": info.get("Version"),
        "id": info.get("Id"),
        "libraries": libraries,
    }


# pytest would collect this function in any test module that imports it by name.
test_server.__test__ = False


class _Problem(Exception):
    """A server problem, worded for a person; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class _Client:
    """One conversation with a media server: base URL, auth header, calls counted."""

    def __init__(self, server: MediaServer, session: requests.Session | None) -> None:
        self.server = server
        self.owns_session = session is None
        self.session = session or make_session()
        self.base = _api_base(server)
        self.headers = _auth_headers(server)
        self.calls = 0

    def close(self) -> None:
        if self.owns_session:
            self.session.close()

    def send(self, method: str, path: str, *, timeout=None, **kwargs) -> requests.Response:
        self.calls += 1
        try:
            response = self.session.request(
                method, self.base + path, headers=self.headers, timeout=timeout or TIMEOUT, **kwargs
            )
        except requests.RequestException as exc:
            raise _Problem(_describe_failure(exc, self.server.url)) from exc
        if not response.ok:
            hint = _HINTS.get(response.status_code)
            text = f"{response.status_code} {response.reason}" + (f": {hint}" if hint else "")
            raise _Problem(text, response.status_code)
        return response

    def get_json(self, path: str):
        response = self.send("GET", path)
        try:
            return response.json()
        except ValueError:
            raise _Problem(f"unexpected answer to GET {path} (not JSON)") from None


def _send_updates(client: _Client, updates: list[tuple[str, str]], batch_size: int) -> str:
    """POST the changed folders in batches; stops at the first batch that fails."""
    batches = [updates[i : i + batch_size] for i in range(0, len(updates), batch_size)]
    for done, batch in enumerate(batches):
        body = {"Updates": [{"Path": path, "UpdateType": kind} for path, kind in batch]}
        try:
            client.send("POST", "/Library/Media/Updated", json=body)
        except _Problem as problem:
            if done:
                raise _Problem(f"{problem} (after {done} of {len(batches)} batches)") from None
            raise
    return f"notified {len(updates)} changed folders in {len(batches)} request(s)"


def _refresh_libraries(client: _Client, result: NotifyResult, updates: list) -> str:
    """Refresh each library holding a changed folder, or scan everything when none does."""
    threshold = client.server.refresh_threshold
    why = f"{len(updates)} folders changed (more than {threshold})"
    libraries = _libraries_holding(_virtual_folders(client), [path for path, _ in updates])
    if not libraries:
        result.mode = "all"
        return _scan_everything(client, why)
    for library in libraries:
        item = quote(library["id"], safe="")
        client.send("POST", f"/Items/{item}/Refresh", params=LIBRARY_REFRESH)
        result.libraries.append(library["name"])
    return f"{why}: refreshed {len(libraries)} library(ies): {', '.join(result.libraries)}"


def _scan_everything(client: _Client, why: str) -> str:
    """Start a scan of every library, without waiting for Jellyfin to finish it."""
    try:
        client.send("POST", "/Library/Refresh", timeout=SCAN_TIMEOUT)
    except _Problem as problem:
        if not isinstance(problem.__cause__, requests.ReadTimeout):
            raise
        return f"{why}, no library holds them: full library scan started (still running)"
    return f"{why}, no library holds them: full library scan started"


def _virtual_folders(client: _Client) -> list[dict]:
    """The server's libraries as it reports them."""
    if client.server.kind == "emby":
        # Emby documents only /Query ({"Items": [...]}); older Emby has the plain list.
        try:
            data = client.get_json("/Library/VirtualFolders/Query")
        except _Problem as problem:
            if problem.status != 404:
                raise
            data = client.get_json("/Library/VirtualFolders")
    else:
        data = client.get_json("/Library/VirtualFolders")
    items = data.get("Items") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise _Problem("unexpected answer to GET /Library/VirtualFolders")
    return [item for item in items if isinstance(item, dict)]


def _library(raw: dict) -> dict:
    """One library in our own words."""
    locations = raw.get("Locations")
    return {
        "name": raw.get("Name") or "",
        # Emby keeps ItemId and adds Id; Jellyfin has ItemId only.
        "id": raw.get("ItemId") or raw.get("Id"),
        "type": raw.get("CollectionType"),
        "locations": [loc for loc in locations or [] if isinstance(loc, str)],
    }


def _libraries_holding(raw_libraries: list[dict], folders: list[str]) -> list[dict]:
    """The libraries (with an id) whose locations contain at least one of the folders."""
    found = []
    for library in map(_library, raw_libraries):
        if library["id"] and any(
            _is_within(folder, location) for location in library["locations"] for folder in folders
        ):
            found.append(library)
    return found


def _is_within(path: str, root: str) -> bool:
    """Whether `path` is `root` or lies below it, comparing whole path components."""
    path, root = _comparable(path), _comparable(root)
    return root == "/" or path == root or path.startswith(root + "/")


def _comparable(path: str) -> str:
    path = path.replace("\\", "/").rstrip("/") or "/"
    # Windows drive paths ("D:/Media") compare case-insensitively, as Windows does.
    return path.lower() if len(path) >= 2 and path[1] == ":" else path


def _api_base(server: MediaServer) -> str:
    """The URL the API paths hang from: Emby's API lives under /emby."""
    if server.kind == "emby" and not urlsplit(server.url).path.lower().endswith("/emby"):
        return server.url + "/emby"
    return server.url


def _auth_headers(server: MediaServer) -> dict[str, str]:
    """Each product's own API-key header."""
    if server.kind == "emby":
        return {"X-Emby-Token": server.api_key}
    # Jellyfin 10.12+ ignores X-Emby-Token unless legacy authorization is switched back on.
    return {"Authorization": f'MediaBrowser Token="{server.api_key}"'}


def _describe_failure(exc: requests.RequestException, url: str) -> str:
    """A network failure in a few words."""
    if isinstance(exc, requests.ConnectTimeout):
        return f"cannot reach {url}: connection timed out"
    if isinstance(exc, requests.Timeout):
        return f"{url} did not answer in time"
    if isinstance(exc, requests.ConnectionError):
        # urllib3 buries the OS error ("[Errno 111] Connection refused") deep in its text.
        found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(exc))
        return f"cannot reach {url}: {found.group(1).strip() if found else 'connection failed'}"
    return f"request to {url} failed: {exc}"


def _label(server: MediaServer) -> str:
    return f"{server.kind} {server.name!r}"


def _require(condition: object, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _checked_url(url: object) -> str:
    _require(isinstance(url, str), "url: must be text")
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    _require(parts.scheme in ("http", "https"), "url: must start with http:// or https://")
    _require(parts.hostname, "url: has no host name")
    _require(not parts.query and not parts.fragment, "url: must not have a query or fragment")
    return url


def _checked_path_map(path_map: object) -> tuple[tuple[str, str], ...]:
    checked = []
    for index, pair in enumerate(path_map or ()):
        where = f"path_map[{index}]"
        _require(
            isinstance(pair, (tuple, list)) and len(pair) == 2,
            f"{where}: must be a pair (our path, the server's path)",
        )
        ours, theirs = pair
        _require(
            isinstance(ours, str) and ours.startswith("/"), f"{where}: our path must be absolute"
        )
        _require(isinstance(theirs, str) and theirs.strip(), f"{where}: the server's path is empty")
        checked.append((posixpath.normpath(ours), theirs.strip()))
    return tuple(checked)
