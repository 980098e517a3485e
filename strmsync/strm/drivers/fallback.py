"""Reading metadata from a mount, falling back to the source's API when the mount fails."""

import errno
import io
import logging
from collections.abc import Callable
from typing import BinaryIO

log = logging.getLogger(__name__)

# How a FUSE/network mount says "the remote side failed" rather than "no such file".
MOUNT_ERRNOS = frozenset(
    getattr(errno, name) for name in (
        "EIO", "ENOTCONN", "ETIMEDOUT", "EHOSTDOWN", "EHOSTUNREACH", "ESTALE", "ECONNABORTED",
        "ECONNRESET", "ECONNREFUSED", "ENETDOWN", "ENETUNREACH", "EREMOTEIO", "ENXIO",
        "ECOMM", "EPROTO",
    ) if hasattr(errno, name))


def is_mount_failure(exc: BaseException) -> bool:
    """True for an OSError that means the mount, not the file, is the problem."""
    return isinstance(exc, OSError) and exc.errno in MOUNT_ERRNOS


class MountReader(io.RawIOBase):
    """Reads a file from the mount; on a mount failure mid-way, goes on from the API source."""

    def __init__(self, local: BinaryIO, open_remote: Callable[[], BinaryIO], rel: str):
        super().__init__()
        self._local: BinaryIO | None = local
        self._remote: BinaryIO | None = None
        self._open_remote = open_remote
        self._rel = rel
        self._position = 0

    def readable(self) -> bool:
        """A mount reader can be read."""
        return True

    def readinto(self, buffer) -> int:
        """Read the next bytes from the mount, or from the API source once the mount failed."""
        if self._local is not None:
            try:
                count = self._local.readinto(buffer)
            except OSError as exc:
                if not is_mount_failure(exc):
                    raise
                self._switch(exc)
            else:
                self._position += count or 0
                return count
        count = self._remote.readinto(buffer)
        self._position += count or 0
        return count

    def _switch(self, exc: OSError) -> None:
        log.warning("%s: mount read failed (%s); downloading it through the API instead",
                    self._rel, exc.strerror or exc)
        self._local.close()
        self._local = None
        self._remote = self._open_remote()
        skip = self._position
        while skip > 0:  # metadata files are small: skipping what we have is cheaper than a Range
            chunk = self._remote.read(min(skip, 1 << 20))
            if not chunk:
                raise OSError(errno.EIO, "the API source returned a shorter file")
            skip -= len(chunk)

    def close(self) -> None:
        """Close whichever stream is open."""
        for stream in (self._local, self._remote):
            if stream is not None:
                stream.close()
        super().close()
