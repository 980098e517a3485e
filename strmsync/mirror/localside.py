"""The local folder of a mirror job: listing (the compiled walker), trash and marker."""

import contextlib
import os
import time
from collections.abc import Callable, Iterator

import _fastscan
from strmsync.errors import ChangedUnderneath, StorageError
from strmsync.mirror.detect import Entry
from strmsync.mirror.smbremote import TEMP_PREFIX

MARKER = ".strmsync-mirror"
TRASH = ".strmsync-trash"
MAX_DEPTH = 64


def is_private(rel: str) -> bool:
    """True for what a mirror keeps for itself on each side: never mirrored."""
    name = rel.rpartition("/")[2]
    return rel in (MARKER, TRASH) or rel.startswith(TRASH + "/") or name.startswith(TEMP_PREFIX)


def trash_path(rel: str, day: str) -> str:
    """Where an overwritten or deleted file goes on its own side."""
    return f"{TRASH}/{day}/{rel}"


class LocalSide:
    """A local folder as one side of a mirror."""

    def __init__(self, root: str):
        self.root = root.rstrip("/") or "/"

    def path(self, rel: str) -> str:
        """The absolute path of a relative one (built by the one path joiner, §4.5)."""
        return _fastscan.join_relpath(self.root, rel) if rel else self.root

    def scan(self, on_error: Callable[[str, str], None]) -> Iterator[tuple[str, Entry]]:
        """Every file under the root with its size and mtime, folder by folder; a folder
        that cannot be listed goes to `on_error(rel, why)`. Temp files a killed run left
        are removed on the way (no run of this job can be under way now)."""
        report: list = []
        for rel, files, _dirs in _fastscan.walk(self.root, MAX_DEPTH, report):
            while report:
                _kind, where, why = report.pop()
                on_error(where, why)
            if is_private(rel):
                continue
            for name, size, mtime_ns in files:
                path = f"{rel}/{name}" if rel else name
                if name.startswith(TEMP_PREFIX):
                    with contextlib.suppress(OSError):
                        os.unlink(self.path(path))
                    continue
                if not is_private(path):
                    yield path, Entry(size, mtime_ns)
        for _kind, where, why in report:
            on_error(where, why)

    def stat(self, rel: str) -> Entry | None:
        """The file's size and mtime now, or None if it is gone."""
        try:
            st = os.stat(self.path(rel))
        except FileNotFoundError:
            return None
        return Entry(st.st_size, st.st_mtime_ns)

    def move(self, rel: str, new_rel: str) -> None:
        """Rename within the folder, making parents; never over an existing file."""
        src, dst = self.path(rel), self.path(new_rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.lexists(dst):
            raise ChangedUnderneath(f"{dst}: already exists")
        try:
            os.rename(src, dst)
        except FileNotFoundError:
            raise ChangedUnderneath(f"{src}: gone since it was listed") from None
        except OSError as exc:
            raise StorageError(f"{src}: cannot move to {dst}: {exc.strerror}") from None

    def has_marker(self) -> bool:
        """True when the folder carries the mirror's marker file."""
        return os.path.isfile(self.path(MARKER))

    def write_marker(self, text: str) -> None:
        """Create the marker file (the first run does)."""
        os.makedirs(self.root, exist_ok=True)
        with open(self.path(MARKER), "w", encoding="utf-8") as fh:
            fh.write(text)

    def purge_trash(self, keep_days: int) -> int:
        """Remove trash folders older than `keep_days`; returns how many files went."""
        return _purge(self.path(TRASH), keep_days)


def _purge(trash_root: str, keep_days: int) -> int:
    cutoff = time.strftime("%Y-%m-%d", time.gmtime(time.time() - keep_days * 86400))
    removed = 0
    with contextlib.suppress(FileNotFoundError):
        for day in sorted(os.listdir(trash_root)):
            if day >= cutoff:
                continue
            for dirpath, dirnames, filenames in os.walk(f"{trash_root}/{day}", topdown=False):
                for name in filenames:
                    os.unlink(os.path.join(dirpath, name))
                    removed += 1
                for name in dirnames:
                    os.rmdir(os.path.join(dirpath, name))
            os.rmdir(f"{trash_root}/{day}")
    return removed
