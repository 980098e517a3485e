"""The error hierarchy: how a failure affects a run (DESIGN.md §4.6)."""


class StrmsyncError(Exception):
    """Base of every error strmsync raises on purpose."""


class ConfigError(StrmsyncError, ValueError):
    """An unusable option or option combination; the message reads `field: problem`."""


class FatalError(StrmsyncError):
    """The run cannot go on: bad credentials, target not writable."""


class RetryableError(StrmsyncError):
    """A transient failure (timeout, 5xx, gRPC UNAVAILABLE) worth retrying with backoff."""


class ThrottledError(RetryableError):
    """The source asked us to slow down; the whole source pauses before resuming."""

    def __init__(self, message: str = "", retry_after: float = 0.0):
        super().__init__(message)
        self.retry_after = retry_after


class FileError(StrmsyncError):
    """One file failed; the run records it and continues."""


class ListingError(StrmsyncError):
    """A folder could not be listed; the run continues but will not clean up."""


class NotFoundError(ListingError):
    """The source says the path does not exist (as opposed to failing to answer)."""


class AccessRefused(ListingError):
    """The source refused to list a folder to this user (an OpenList folder password)."""


# Mirror jobs classify what goes wrong on a share (DESIGN.md §8): each class says what the
# run does about it.


class NetworkError(RetryableError):
    """The connection dropped, timed out or the server was busy: retried, then left for the
    next run."""

    category = "network"


class PermissionRefused(FatalError):
    """Logon failure or access denied: the run stops."""

    category = "permission"


class StorageError(FatalError):
    """The file system cannot go on (disk full, read-only): the run stops."""

    category = "filesystem"


class ChangedUnderneath(FileError):
    """A file vanished or changed while the run worked on it: it is re-listed next run."""

    category = "filesystem"


class NameRefused(FileError):
    """A name the other side cannot hold (SMB's forbidden characters, case twins)."""

    category = "conflict"
