"""The one small interface every source driver offers the engine."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol


@dataclass(slots=True)
class Listing:
    """One folder's contents (or one page of it): files and subfolder names.

    Files are `(name, size, mtime_ns)`, or `(name, size, mtime_ns, extra)` where a driver
    carries something of its own from the listing to `strm_text`/`open` (an OpenList sign).
    """

    dir: str
    files: list
    subdirs: list = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when the folder listed with nothing in it."""
        return not self.files and not self.subdirs


@dataclass
class ScanReport:
    """What a walk could not see: listing errors, folders past the depth limit, loops."""

    errors: list = field(default_factory=list)
    truncated: list = field(default_factory=list)
    loops: list = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when every folder listed without error (cleanup is allowed)."""
        return not self.errors


class Driver(Protocol):
    """A source: streams listings, builds STRM text, opens files, tests itself."""

    kind: str
    capabilities: frozenset
    relist_pause: float

    def listings(self, max_depth: int, report: ScanReport) -> Iterator[Listing]:
        """Stream every folder under the source root, never all at once."""

    def list_dir(self, rel: str) -> Listing | None:
        """List one folder again (None when it does not exist); raises on listing errors."""

    def strm_text(self, rel: str, mode: str, extra=None) -> str:
        """The `.strm` text for the file at `rel` (relative to the source root)."""

    def open(self, rel: str, extra=None) -> BinaryIO:
        """Open a file's bytes for copying metadata."""

    def test(self) -> dict:
        """Check the connection; returns facts worth showing to the user."""

    def close(self) -> None:
        """Release connections; the driver may be used again afterwards."""
