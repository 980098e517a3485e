"""OpenList folder passwords: which password opens which folder, as users write them.

An OpenList admin can guard a folder with a password (a meta; "apply to sub folders" makes it
cover the folders below too). A source holds `{remote path: password}` in its secrets; the
longest configured path that is a folder or one of its parents gives the folder's password.
Nothing given is echoed in messages (a line typed the wrong way round would show its
password): an entry that cannot be read is named by its number.
"""

import posixpath

from strmsync.errors import ConfigError

FIELD = "folder_passwords"
SHAPE = "/path=password"


def parse_folder_passwords(value) -> dict[str, str]:
    """`{path: password}` from a dict, `["/path=password", ...]`, or text, one per line.

    An empty password is kept as "" (on an edit it removes that folder's password).
    """
    if value in (None, "", [], {}):
        return {}
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, str):
        pairs = [_split(line) for line in value.splitlines() if line.strip()]
    elif isinstance(value, list | tuple):
        pairs = [_split(item) if isinstance(item, str) else item for item in value]
    else:
        raise ConfigError(f"{FIELD}: expected {SHAPE} pairs")
    out: dict[str, str] = {}
    for number, pair in enumerate(pairs, 1):
        out.update([_checked(pair, number)])
    return out


def update_folder_passwords(stored: dict | None, given) -> dict[str, str]:
    """The stored passwords with the given ones set over them; an empty password removes one."""
    merged = {**(stored or {}), **parse_folder_passwords(given)}
    return {path: password for path, password in merged.items() if password}


def _split(line: str):
    path, sep, password = line.partition("=")
    # Typed text: a path cannot hold "=" (a password may) and spaces around either are
    # dropped; the API's JSON object takes any path and password as they are.
    return (path.strip(), password.strip()) if sep else None


def _checked(pair, number: int) -> tuple[str, str]:
    if not (isinstance(pair, list | tuple) and len(pair) == 2
            and all(isinstance(part, str) for part in pair)):
        raise ConfigError(f"{FIELD}: entry {number}: write each entry as {SHAPE}")
    path = pair[0].strip()
    if not path.startswith("/"):
        raise ConfigError(f"{FIELD}: entry {number}: the folder path must start with /")
    if "\x00" in path or ".." in path.split("/"):
        raise ConfigError(f"{FIELD}: entry {number}: no '..' or NUL in a folder path")
    return posixpath.normpath("/" + path.lstrip("/")), pair[1]


class FolderPasswords:
    """Looks up the password of a remote folder: the longest configured prefix wins."""

    def __init__(self, passwords: dict | None = None):
        # Longest first, so the most specific folder is found first.
        self._passwords = sorted((passwords or {}).items(), key=lambda item: -len(item[0]))

    def __bool__(self) -> bool:
        return bool(self._passwords)

    def lookup(self, path: str) -> tuple[str, str] | None:
        """`(configured folder, password)` that applies to remote folder `path`, or None."""
        for prefix, password in self._passwords:
            if prefix == "/" or path == prefix or path.startswith(prefix + "/"):
                return prefix, password
        return None

    def password(self, path: str) -> str:
        """The password to send when listing `path` ("" when none is configured)."""
        found = self.lookup(path)
        return found[1] if found else ""
