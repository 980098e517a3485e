"""Where a source's paths sit in CloudDrive2's namespace, for routing webhook events."""

from strmsync.errors import ConfigError
from strmsync.pathpairs import parse_path_pairs


def parse_event_map(value) -> list:
    """`[[their_prefix, our_prefix], ...]` from a list of pairs or `"/115open=/mnt/cd2/115open"`.

    Their prefix is a path as CloudDrive2 reports it; ours is the same place as this source
    sees it (its root, or a mount path for a local source). Empty means the same paths.
    """
    value = parse_path_pairs(value, "event_map", "/their/path=/our/path")
    out = []
    for pair in value:
        if not (isinstance(pair, list | tuple) and len(pair) == 2
                and all(isinstance(p, str) and p.startswith("/") for p in pair)):
            raise ConfigError("event_map: each pair needs two absolute paths")
        out.append([_norm(pair[0]), _norm(pair[1])])
    # Longest prefix first, so the most specific mapping wins.
    return sorted(out, key=lambda pair: -len(pair[0]))


def _norm(path: str) -> str:
    return path.rstrip("/") or "/"


def map_event_path(event_map: list, path: str) -> str | None:
    """Our path for one of theirs: the longest matching prefix swapped; None if none match."""
    if not event_map:
        return path
    for theirs, ours in event_map:
        if theirs == "/":
            return _join(ours, path.lstrip("/"))
        if path == theirs:
            return ours
        if path.startswith(theirs + "/"):
            return _join(ours, path[len(theirs) + 1:])
    return None


def _join(base: str, rest: str) -> str:
    if not rest:
        return base
    return (base.rstrip("/") or "") + "/" + rest
