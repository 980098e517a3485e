"""Media-server records: validation, the jobs they serve, and what the API may show."""

from typing import Annotated, Literal

from pydantic import Field

from strmsync.errors import ConfigError
from strmsync.mediaserver import MediaServer
from strmsync.pathpairs import parse_path_pairs
from strmsync.sources import validate_name
from strmsync.validation import (
    Body,
    LongText,
    Name,
    PathText,
    SecretText,
    UrlText,
    collect,
    raise_errors,
    require,
    typed_fields,
)

FIELDS = ("name", "kind", "url", "api_key", "path_map", "refresh_threshold")


class ServerBody(Body):
    """A media server as the API, the panel and the CLI send it."""

    unknown_field = "not a media-server field"

    name: Name | None = None
    kind: Literal["emby", "jellyfin"] | None = None
    url: UrlText | None = None
    api_key: SecretText | None = None
    path_map: LongText | Annotated[list[list[PathText]], Field(max_length=1000)] \
        | Annotated[dict[PathText, PathText], Field(max_length=1000)] | None = None
    refresh_threshold: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    # Shown in answers; ignored when a client sends a media server back.
    id: int | None = None
    api_key_set: bool | None = None
    api_key_error: LongText | None = None
    jobs: list[Name] | None = None


def validate_server(data, existing: dict | None = None) -> dict:
    """The columns of a media-server record from API/CLI input, merged over `existing`.

    An API key that cannot be read (a lost key file) stays stored as it is unless a new
    one is given: the returned values then leave out `api_key`.
    """
    given, errors = typed_fields(ServerBody, data)
    base = existing or {}
    if existing is None:
        require(given, ("name", "kind", "url"), errors)
    merged = {name: given.get(name, base.get(name)) for name in FIELDS}
    if not given.get("api_key"):
        merged["api_key"] = base.get("api_key")
    unreadable = bool(base.get("api_key_error")) and not given.get("api_key")
    if merged["name"] is not None:
        merged["name"] = collect(errors, "name", validate_name, merged["name"])
    merged["path_map"] = collect(errors, "path_map", parse_path_pairs, merged["path_map"],
                                 "path_map", "/our/path=/their/path")
    if merged["refresh_threshold"] is None:
        merged["refresh_threshold"] = 50
    raise_errors(errors)
    # An unreadable stored key is still a key: the record is checked as if it were there.
    key = merged["api_key"] or ("unreadable" if unreadable else "")
    server = collect(errors, "url", to_media_server, {**merged, "api_key": key})
    raise_errors(errors)
    values = {**merged, "kind": server.kind, "url": server.url,
              "path_map": [list(pair) for pair in server.path_map]}
    if unreadable:
        del values["api_key"]  # keep what is stored; it may be readable with the right key
    return values


def to_media_server(row: dict) -> MediaServer:
    """The notifier's view of a stored record (validates it too)."""
    if row.get("api_key_error"):
        raise ConfigError(f"api_key: {row['api_key_error']}")
    return MediaServer(name=row["name"], kind=row["kind"], url=row["url"],
                       api_key=row["api_key"] or "",
                       path_map=tuple(tuple(pair) for pair in row.get("path_map") or ()),
                       refresh_threshold=row.get("refresh_threshold") or 0)


def public_server(row: dict, jobs: list | None = None) -> dict:
    """A media server as the API shows it: the API key replaced by whether one is set."""
    out = {name: row[name] for name in ("id", "name", "kind", "url", "refresh_threshold")}
    out["path_map"] = row.get("path_map") or []
    out["api_key_set"] = bool(row.get("api_key"))
    if row.get("api_key_error"):
        out["api_key_error"] = row["api_key_error"]
    if jobs is not None:
        out["jobs"] = jobs
    return out


def resolve_servers(value, store) -> list[int]:
    """Media-server ids from a list of ids or names; ConfigError for unknown ones."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [item.strip() for item in value.split(",") if item.strip()]
    if not isinstance(value, list):
        raise ConfigError("media_servers: expected a list of media-server names or ids")
    ids = []
    for key in value:
        server = store.server(key)
        if server is None:
            raise ConfigError(f"media_servers: no such media server: {key!r}")
        ids.append(server["id"])
    return ids
