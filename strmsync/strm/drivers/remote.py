"""What the OpenList and CloudDrive2 drivers share: the walk, remote paths and STRM modes."""

import posixpath
from collections.abc import Iterator
from typing import TYPE_CHECKING

import _fastscan
from strmsync.errors import ConfigError, ListingError, NotFoundError
from strmsync.strm.drivers.base import Listing, ScanReport
from strmsync.strm.drivers.gate import SourceGate, SourcePolicy
from strmsync.strm.drivers.walker import Page, walk

if TYPE_CHECKING:
    from strmsync.strm.drivers.sharedlimits import SharedLimits


def clean_remote(path: str) -> str:
    """A remote path made absolute, with no `.`, `..` or doubled slashes."""
    if "\x00" in path:
        raise ConfigError("source_root: contains NUL")
    return posixpath.normpath("/" + path.strip().lstrip("/"))


class RemoteDriver:
    """A source reached over an API: subclasses list one folder page and build URLs."""

    kind = "remote"
    capabilities = frozenset({"download"})

    def __init__(self, root: str, policy: SourcePolicy, mount_prefix: str = "",
                 url_base: str = ""):
        self.root = clean_remote(root)
        self.policy = policy
        self.gate = SourceGate(policy, self.kind)
        self.relist_pause = policy.relist_pause
        self.mount_prefix = mount_prefix
        self.url_base = url_base

    def share_limits(self, shared: "SharedLimits | None") -> None:
        """Keep the source's pause and qps with every process using it (before any call)."""
        self.gate.shared = shared

    def remote_path(self, rel: str) -> str:
        """The path of `rel` (relative to the source root) in the source's namespace."""
        if not rel:
            return self.root
        return _fastscan.build_strm("path", self.root, _fastscan.safe_relpath(rel))

    def listings(self, max_depth: int, report: ScanReport) -> Iterator[Listing]:
        """Stream every folder page under the root, listed concurrently, breadth-first."""
        return walk(self.list_page, max_depth, report, self.policy.concurrency)

    def list_dir(self, rel: str) -> Listing | None:
        """List one folder again, every page of it; None when the source says it is gone."""
        try:
            first = self.list_page(rel, 1, None)
        except NotFoundError:
            return None
        files, subdirs = list(first.files), list(first.subdirs)
        for number in range(2, first.pages + 1):
            page = self.list_page(rel, number, first.total)
            files += page.files
            subdirs += page.subdirs
        return Listing(rel, files, subdirs)

    def list_page(self, rel: str, page: int, total: int | None) -> Page:
        """One page of one folder (raises ListingError and its kin)."""
        raise NotImplementedError

    def strm_text(self, rel: str, mode: str, extra=None) -> str:
        """`url`: a link players open; `path`: the remote path; `mount`: under the prefix."""
        if mode == "path":
            return self.remote_path(rel)
        if mode == "mount":
            if not self.mount_prefix:
                raise ConfigError("mount_prefix: required when strm_mode is 'mount'")
            return _fastscan.build_strm("mount", self.mount_prefix, rel)
        if mode == "url":
            return self.url_text(rel, extra)
        raise ConfigError(f"strm_mode: unknown mode {mode!r}")

    def url_text(self, rel: str, extra) -> str:
        """The `url` mode text for `rel`."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections (the driver may be used again afterwards)."""


def check_page(rel: str, page: int, per_page: int, count: int, total: int,
               first_total: int | None) -> None:
    """Refuse a page that does not fit the folder's total: the folder changed mid-listing."""
    if first_total is not None and total != first_total:
        raise ListingError(f"{rel or '/'} changed while it was listed page by page"
                           f" ({first_total} entries, then {total})")
    expected = max(0, min(per_page, total - (page - 1) * per_page))
    if count != expected:
        raise ListingError(f"{rel or '/'}: page {page} held {count} entries, expected {expected}")
