"""Pairs of path prefixes (`/ours=/theirs`), as typed in forms, flags and JSON."""

from strmsync.errors import ConfigError


def parse_path_pairs(value, field: str, shape: str) -> list:
    """`[[a, b], ...]` from a list of pairs, a `{a: b}` dict, or text `"a=b, c=d"`.

    Only the form is checked here; what the paths must look like is the caller's rule.
    `shape` names the two sides for messages, e.g. `/our/path=/their/path`.
    """
    if value in (None, "", [], {}):
        return []
    if isinstance(value, dict):
        return [[left, right] for left, right in value.items()]
    if isinstance(value, str):
        pairs = []
        for item in value.replace("\n", ",").split(","):
            if item.strip():
                left, sep, right = item.partition("=")
                if not sep:
                    raise ConfigError(f"{field}: write each pair as {shape}")
                pairs.append([left.strip(), right.strip()])
        return pairs
    if isinstance(value, list):
        return value
    raise ConfigError(f"{field}: expected pairs written as {shape}")
