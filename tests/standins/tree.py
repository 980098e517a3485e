"""A directory on disk, seen as the storage tree a stand-in server exposes."""

from __future__ import annotations

import os
import posixpath
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote


@dataclass(frozen=True)
class Entry:
    """One file or folder of the tree, with the facts servers report about it."""

    name: str
    path: str
    is_dir: bool
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int


def clean_path(path: str) -> str:
    """Return `path` absolute and cleaned, the way Go's path.Clean treats "/" + path."""
    if "\x00" in path:
        raise ValueError("path contains NUL")
    # A leading "//" survives posixpath.normpath (POSIX allows it); Go collapses it.
    return posixpath.normpath("/" + path.lstrip("/"))


def join_path(parent: str, name: str) -> str:
    """Return the cleaned path of `name` inside folder `parent`."""
    return clean_path(posixpath.join(parent, name))


def quote_path(path: str) -> str:
    """Percent-escape each segment of `path` on its own, keeping the slashes."""
    return "/".join(quote(segment, safe="") for segment in path.split("/"))


class LocalTree:
    """Files under a local root, addressed by absolute POSIX paths ("/" is the root)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def local(self, path: str) -> Path:
        """Return the local file system path behind tree path `path`."""
        relative = clean_path(path).lstrip("/")
        return self.root / relative if relative else self.root

    def stat(self, path: str) -> Entry:
        """Return the entry at `path`; raise FileNotFoundError when there is none."""
        cleaned = clean_path(path)
        return _entry(cleaned, os.stat(self.local(cleaned)))

    def list(self, path: str) -> list[Entry]:
        """Return the children sorted by name; raise FileNotFoundError or NotADirectoryError."""
        cleaned = clean_path(path)
        with os.scandir(self.local(cleaned)) as children:
            entries = [_entry(join_path(cleaned, c.name), c.stat()) for c in children]
        return sorted(entries, key=lambda entry: entry.name)


def _entry(path: str, st: os.stat_result) -> Entry:
    is_dir = stat.S_ISDIR(st.st_mode)
    return Entry(
        name=posixpath.basename(path),
        path=path,
        is_dir=is_dir,
        size=0 if is_dir else st.st_size,
        mtime_ns=st.st_mtime_ns,
        ctime_ns=st.st_ctime_ns,
        inode=st.st_ino,
    )
