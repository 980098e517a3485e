"""Media-server records: validation, the jobs they serve, and what the API may show."""

from strmsync.errors import ConfigError
from strmsync.mediaserver import MediaServer
from strmsync.pathpairs import parse_path_pairs
from strmsync.sources import validate_name

FIELDS = ("name", "kind", "url", "api_key", "path_map", "refresh_threshold")


def validate_server(data: dict, existing: dict | None = None) -> dict:
    """The columns of a media-server record from API/CLI input, merged over `existing`."""
    if not isinstance(data, dict):
        raise ConfigError("body: expected a JSON object")
    unknown = sorted(set(data) - set(FIELDS) - {"id", "api_key_set"})
    if unknown:
        raise ConfigError(f"{unknown[0]}: not a media-server field")
    base = existing or {}
    merged = {name: data.get(name, base.get(name)) for name in FIELDS}
    if not data.get("api_key"):
        merged["api_key"] = base.get("api_key")
    merged["name"] = validate_name(merged["name"])
    merged["path_map"] = parse_path_pairs(merged["path_map"], "path_map",
                                          "/our/path=/their/path")
    merged["refresh_threshold"] = _threshold(merged["refresh_threshold"])
    server = to_media_server({**merged, "api_key": merged["api_key"] or ""})
    return {**merged, "kind": server.kind, "url": server.url,
            "path_map": [list(pair) for pair in server.path_map]}


def _threshold(value) -> int:
    if value in (None, ""):
        return 50
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"refresh_threshold: expected a whole number, got {value!r}") from None


def to_media_server(row: dict) -> MediaServer:
    """The notifier's view of a stored record (validates it too)."""
    return MediaServer(name=row["name"], kind=row["kind"], url=row["url"],
                       api_key=row["api_key"] or "",
                       path_map=tuple(tuple(pair) for pair in row.get("path_map") or ()),
                       refresh_threshold=row.get("refresh_threshold") or 0)


def public_server(row: dict, jobs: list | None = None) -> dict:
    """A media server as the API shows it: the API key replaced by whether one is set."""
    out = {name: row[name] for name in ("id", "name", "kind", "url", "refresh_threshold")}
    out["path_map"] = row.get("path_map") or []
    out["api_key_set"] = bool(row.get("api_key"))
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
