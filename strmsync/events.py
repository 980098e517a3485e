"""Change events from webhooks and watchers: parsed, routed to jobs, buffered (DESIGN §3)."""

import logging
import posixpath
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from strmsync.errors import ConfigError
from strmsync.eventmap import map_event_path
from strmsync.validation import Body, PathText, Word, validated

log = logging.getLogger(__name__)

ACTIONS = ("create", "modify", "delete", "rename")
ALIASES = {"create": "create", "created": "create", "add": "create", "new": "create",
           "modify": "modify", "modified": "modify", "update": "modify", "change": "modify",
           "delete": "delete", "deleted": "delete", "remove": "delete", "removed": "delete",
           "rename": "rename", "renamed": "rename", "move": "rename", "moved": "rename"}
MAX_EVENTS = 20_000
MAX_PATH = 4096


@dataclass(frozen=True)
class Event:
    """One change at a path (in the reporter's namespace); renames carry the new path."""

    action: str
    path: str
    new_path: str | None = None
    is_dir: bool | None = None


def parse_clouddrive2(payload) -> list[Event]:
    """Events from CloudDrive2's file_notify body (a user-editable template: be tolerant)."""
    if not isinstance(payload, dict):
        raise ConfigError("body: expected a JSON object")
    data = payload.get("data")
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise ConfigError("data: expected a list of changes")
    return [_event(item, f"data[{i}]", "source_file", "destination_file")
            for i, item in enumerate(_limited(data))]


class EventBody(Body):
    """One change in strmsync's own events format."""

    action: Word
    path: PathText
    new_path: PathText | None = None
    is_dir: bool | None = None


class EventsBody(Body):
    """The generic events webhook: one job, its changes (strmsync's format: strict)."""

    job: int | Annotated[str, Field(min_length=1, max_length=64)]
    events: Annotated[list[EventBody], Field(min_length=1, max_length=MAX_EVENTS)]


def parse_generic(payload) -> tuple[str | int, list[Event]]:
    """`(job, events)` from `{"job": id-or-name, "events": [{action, path, new_path?,
    is_dir?}]}`."""
    body = validated(EventsBody, payload)
    items = [item.model_dump() for item in body.events]
    return body.job, [_event(item, f"events[{i}]", "path", "new_path")
                      for i, item in enumerate(items)]


def _limited(items: list) -> list:
    if len(items) > MAX_EVENTS:
        raise ConfigError(f"events: at most {MAX_EVENTS} changes per request")
    return items


def _event(item, where: str, path_key: str, new_key: str) -> Event:
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: expected an object")
    action = ALIASES.get(str(item.get("action", "")).strip().lower())
    if action is None:
        raise ConfigError(f"{where}.action: must be one of {', '.join(ACTIONS)}")
    path = _path(item.get(path_key), f"{where}.{path_key}")
    new_path = _path(item.get(new_key), f"{where}.{new_key}") if action == "rename" else None
    return Event(action, path, new_path, _flag(item.get("is_dir"), f"{where}.is_dir"))


def _path(value, where: str) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise ConfigError(f"{where}: expected an absolute path")
    if len(value) > MAX_PATH:
        raise ConfigError(f"{where}: at most {MAX_PATH} characters")
    if "\x00" in value:
        raise ConfigError(f"{where}: contains NUL")
    if ".." in value.split("/"):
        raise ConfigError(f"{where}: must not contain '..'")
    return posixpath.normpath(value) if value != "/" else value


def _flag(value, where: str) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ConfigError(f"{where}: expected true or false, got {value!r}")


def relative_to(root: str, path: str) -> str | None:
    """`path` relative to `root` ('' for the root itself), or None when outside it."""
    root = root.rstrip("/") or "/"
    if path == root:
        return ""
    prefix = root if root == "/" else root + "/"
    return path[len(prefix):] if path.startswith(prefix) else None


def route(events: list[Event], jobs: list[dict], sources: dict,
          their_paths: bool = True) -> tuple[dict, int]:
    """`({job_id: [(action, rel, new_rel, is_dir)]}, ignored)` for the jobs holding each path.

    With `their_paths`, paths are CloudDrive2's and go through each source's event map;
    otherwise they are already the source's own. A rename whose ends lie in different jobs
    becomes a delete in one and a create in the other; an end outside every job is dropped.
    """
    routed: dict = {}
    ignored = 0
    for event in events:
        hits = 0
        for job in jobs:
            event_map = (sources[job["source_id"]]["config"].get("event_map") or []
                         if their_paths else [])
            old = _rel(event_map, job, event.path)
            new = _rel(event_map, job, event.new_path) if event.new_path else None
            rows = _rows_for(event, old, new)
            if rows:
                routed.setdefault(job["id"], []).extend(rows)
                hits += 1
        if not hits:
            ignored += 1
            log.info("event %s %s: outside every job's source root; ignored", event.action,
                     event.path)
    return routed, ignored


def _rel(event_map: list, job: dict, path: str) -> str | None:
    ours = map_event_path(event_map, path)
    return None if ours is None else relative_to(job["source_root"], ours)


def _rows_for(event: Event, old: str | None, new: str | None) -> list:
    if event.action != "rename":
        return [(event.action, old, None, event.is_dir)] if old is not None else []
    if old is not None and new is not None:
        return [("rename", old, new, event.is_dir)]
    if old is not None:
        return [("delete", old, None, event.is_dir)]
    if new is not None:
        return [("create", new, None, event.is_dir)]
    return []
