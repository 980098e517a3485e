"""An Emby or Jellyfin server: its settings, an authenticated session, and a connection test."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from strmsync import __version__
from strmsync.errors import ConfigError, FatalError

KINDS = ("emby", "jellyfin")
RETRIES, BACKOFF = 3, 0.5
TIMEOUT = (5.0, 30.0)
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

    def get_json(self, path: str, params: dict | None = None):
        response = self.send("GET", path, params=params)
        try:
            return response.json()
        except ValueError:
            raise _Problem(f"unexpected answer to GET {path} (not JSON)") from None


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
