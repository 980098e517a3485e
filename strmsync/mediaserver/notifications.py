"""Tell Emby and Jellyfin which folders of the target tree changed (DESIGN.md §5)."""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote

import requests

from strmsync.mediaserver.server import (
    MediaServer,
    _Client,
    _label,
    _library,
    _Problem,
    _virtual_folders,
)

log = logging.getLogger(__name__)

CREATED, MODIFIED, DELETED = "Created", "Modified", "Deleted"
BATCH_SIZE = 100
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
