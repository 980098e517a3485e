"""Source drivers: `local` (a mounted path), `openlist` and `clouddrive2`."""

from strmsync.drivers.base import Driver, Listing, ScanReport
from strmsync.drivers.local import LocalDriver

__all__ = ["Driver", "Listing", "ScanReport", "LocalDriver"]
