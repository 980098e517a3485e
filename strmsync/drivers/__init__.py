"""Source drivers: `local` (a mounted path), `openlist` and `clouddrive2`."""

from strmsync.config import SyncOptions
from strmsync.drivers.base import Driver, Listing, ScanReport
from strmsync.drivers.local import LocalDriver
from strmsync.errors import ConfigError

__all__ = ["Driver", "Listing", "LocalDriver", "ScanReport", "open_driver", "test_source"]


def open_driver(source: dict, source_root: str, options: SyncOptions) -> Driver:
    """The driver for a source record, rooted at a job's source root."""
    if source["kind"] == "local":
        return LocalDriver(source_root, options.mount_prefix, options.url_base)
    raise ConfigError(f"kind: {source['kind']} sources are not supported yet")


def test_source(source: dict) -> dict:
    """Check a source's connection; FatalError with a clear message when it fails."""
    if source["kind"] == "local":
        return LocalDriver(source["config"]["root"]).test()
    raise ConfigError(f"kind: {source['kind']} sources are not supported yet")
