"""The `local` driver: a directory on this machine, often a CloudDrive2 or rclone mount."""

import logging
import os
from collections.abc import Iterator
from typing import BinaryIO

import _fastscan
from strmsync.errors import ConfigError, FatalError, ListingError
from strmsync.strm.drivers.base import Driver, Listing, ScanReport
from strmsync.strm.drivers.fallback import MountReader, is_mount_failure

log = logging.getLogger(__name__)


class LocalDriver:
    """Walks a local directory tree with the compiled hot path.

    Listings leave file sizes and mtimes `_fastscan.UNKNOWN`: the walk stats no regular
    file, and the engine asks `stat_files` for the few it needs (metadata it copies or
    compares), so a no-op resync costs no stat per source file.
    """

    kind = "local"
    capabilities = frozenset({"watch", "download"})
    relist_pause = 0.0

    def __init__(self, root: str, mount_prefix: str = "", url_base: str = "",
                 fallback: Driver | None = None, download: bool = False, workers: int = 8):
        self.root = os.path.abspath(root)
        self.workers = max(1, workers)
        self.mount_prefix = mount_prefix
        self.url_base = url_base
        # An API source for the same files: metadata comes from it when the mount fails
        # (DESIGN.md §4.3), or always when `download` (meta_mode "download") is asked.
        self.fallback = fallback
        self.download = download and fallback is not None

    def listings(self, max_depth: int, report: ScanReport) -> Iterator[Listing]:
        """Stream each folder's listing through `_fastscan.walk`, as each is listed."""
        if not os.path.isdir(self.root):
            raise FatalError(f"source: not a directory: {self.root}")
        raw: list = []
        for rel, files, subdirs in _fastscan.walk(self.root, max_depth, raw, stat_files=False,
                                                   workers=self.workers):
            self._sort_report(raw, report)
            yield Listing(rel, files, subdirs)
        self._sort_report(raw, report)

    @staticmethod
    def _sort_report(raw: list, report: ScanReport) -> None:
        for kind, rel, message in raw:
            if kind == _fastscan.REPORT_DEPTH:
                report.truncated.append(rel)
            elif kind == _fastscan.REPORT_LOOP:
                report.loops.append(rel)
            else:
                report.errors.append((rel, message))
        raw.clear()

    def list_dir(self, rel: str) -> Listing | None:
        """List one folder without descending; None when it is gone."""
        path = _fastscan.join_relpath(self.root, rel) if rel else self.root
        if not os.path.isdir(path):
            return None
        raw: list = []
        walker = _fastscan.walk(path, 0, raw, stat_files=False)
        try:
            first = next(walker, None)
        finally:
            walker.close()
        errors = [item for item in raw if item[0] == _fastscan.REPORT_ERROR]
        if errors or first is None:
            raise ListingError(f"{rel or '/'}: {errors[0][2] if errors else 'cannot list'}")
        return Listing(rel, first[1], first[2])

    def stat_files(self, rels: list) -> list:
        """`(size, mtime_ns)` of each source file; None if gone, STAT_BROKEN if unreadable."""
        return _fastscan.stat_files([_fastscan.join_relpath(self.root, rel) for rel in rels])

    def local_paths(self, rels: list) -> list | None:
        """The files' paths for the writer to copy directly; None when reads must go
        through `open` (an API source to fall back on, or download mode)."""
        if self.fallback is not None:
            return None
        return [_fastscan.join_relpath(self.root, rel) for rel in rels]

    def strm_text(self, rel: str, mode: str, extra=None) -> str:
        """`path`: the file's absolute path; `mount`: under the mount prefix; `url`: a link."""
        if mode == "path":
            return _fastscan.build_strm("path", self.root, rel)
        if mode == "mount":
            return _fastscan.build_strm("mount", self.mount_prefix, rel)
        if not self.url_base:
            raise ConfigError("url_base: required for strm_mode 'url' on a local source")
        return _fastscan.build_strm("url", self.url_base, rel)

    def open(self, rel: str, extra=None) -> BinaryIO:
        """Open a source file for reading, through the fallback source if the mount fails."""
        if self.download:
            return self.fallback.open(rel)
        try:
            local = self._open_local(rel)
        except OSError as exc:
            if self.fallback is None or not is_mount_failure(exc):
                raise
            log.warning("%s: mount failed (%s); downloading it through the API instead",
                        rel, exc.strerror or exc)
            return self.fallback.open(rel)
        if self.fallback is None:
            return local
        return MountReader(local, lambda: self.fallback.open(rel), rel)

    def _open_local(self, rel: str) -> BinaryIO:
        # Unbuffered: the copy reads large chunks anyway, and a buffered reader costs an
        # isatty ioctl and an lseek per file.
        return open(_fastscan.join_relpath(self.root, rel), "rb", buffering=0)

    def close(self) -> None:
        """Close the fallback source's connections."""
        if self.fallback is not None and hasattr(self.fallback, "close"):
            self.fallback.close()

    def test(self) -> dict:
        """A local source works when its root is a readable directory."""
        if not os.path.isdir(self.root):
            raise FatalError(f"source: not a directory: {self.root}")
        if not os.access(self.root, os.R_OK | os.X_OK):
            raise FatalError(f"source: not readable: {self.root}")
        return {"root": self.root, "entries": len(os.listdir(self.root))}
