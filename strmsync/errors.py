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
