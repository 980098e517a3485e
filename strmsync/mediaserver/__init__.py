"""Emby and Jellyfin: the server and its client, change notifications, and the user's library.

Used by the STRM kind (notifications) and the Trakt kind (library, played state); the names
below are what the rest of strmsync imports from here.
"""

import sys
import types

from strmsync.mediaserver import library, notifications, server
from strmsync.mediaserver.library import ItemIndex, LibraryItem, list_users, mark_played
from strmsync.mediaserver.notifications import (
    BATCH_SIZE,
    CREATED,
    DELETED,
    LIBRARY_REFRESH,
    MODIFIED,
    SCAN_TIMEOUT,
    NotifyResult,
    changed_folders,
    map_path,
    notify,
)
from strmsync.mediaserver.server import (
    BACKOFF,
    KINDS,
    RETRIES,
    TIMEOUT,
    MediaServer,
    make_session,
    test_server,
)

__all__ = [
    "BACKOFF",
    "BATCH_SIZE",
    "CREATED",
    "DELETED",
    "KINDS",
    "LIBRARY_REFRESH",
    "MODIFIED",
    "RETRIES",
    "SCAN_TIMEOUT",
    "TIMEOUT",
    "ItemIndex",
    "LibraryItem",
    "MediaServer",
    "NotifyResult",
    "changed_folders",
    "list_users",
    "make_session",
    "map_path",
    "mark_played",
    "notify",
    "test_server",
]


class _Package(types.ModuleType):
    """Setting a knob here (`strmsync.mediaserver.SCAN_TIMEOUT = …`, as tests do) sets it
    where the code reads it, in the module that defines it."""

    def __setattr__(self, name: str, value: object) -> None:
        for module in (server, notifications, library):
            if name.isupper() and hasattr(module, name):
                setattr(module, name, value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
