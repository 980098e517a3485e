"""How a failure on an SMB share is classified (DESIGN.md §8): network (retried), permission
(fatal for the run), filesystem (disk full: fatal; not found: changed underneath), name."""

from __future__ import annotations

from smbprotocol import exceptions as smbexc
from smbprotocol.header import NtStatus

from strmsync.errors import (
    ChangedUnderneath,
    NameRefused,
    NetworkError,
    NotFoundError,
    PermissionRefused,
    StorageError,
    StrmsyncError,
)

_LOGON = {NtStatus.STATUS_LOGON_FAILURE, NtStatus.STATUS_WRONG_PASSWORD,
          NtStatus.STATUS_PASSWORD_EXPIRED, 0xC0000072}  # the last: STATUS_ACCOUNT_DISABLED
_DENIED = {NtStatus.STATUS_ACCESS_DENIED, NtStatus.STATUS_PRIVILEGE_NOT_HELD,
           NtStatus.STATUS_CANNOT_DELETE}
_FULL = {NtStatus.STATUS_DISK_FULL, 0xC0000044}  # the last: STATUS_QUOTA_EXCEEDED
_GONE = {NtStatus.STATUS_OBJECT_NAME_NOT_FOUND, NtStatus.STATUS_OBJECT_PATH_NOT_FOUND,
         NtStatus.STATUS_NO_SUCH_FILE, NtStatus.STATUS_NOT_FOUND,
         NtStatus.STATUS_DELETE_PENDING, NtStatus.STATUS_OBJECT_NAME_COLLISION,
         NtStatus.STATUS_SHARING_VIOLATION, NtStatus.STATUS_DIRECTORY_NOT_EMPTY,
         NtStatus.STATUS_NOT_A_DIRECTORY, NtStatus.STATUS_FILE_IS_A_DIRECTORY}
_BAD_NAME = {NtStatus.STATUS_OBJECT_NAME_INVALID, NtStatus.STATUS_OBJECT_PATH_INVALID,
             NtStatus.STATUS_OBJECT_PATH_SYNTAX_BAD}


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "ntstatus", None)
    if status is None and isinstance(exc, smbexc.SMBResponseException):
        status = exc.status
    return status


def _status_name(status: int) -> str:
    return next((k for k, v in vars(NtStatus).items() if v == status), f"0x{status:08x}")


def classify(exc: BaseException, where: str) -> Exception:
    """The strmsync error class for an SMB or OS failure at `where` (DESIGN.md §8)."""
    if isinstance(exc, StrmsyncError):
        return exc
    status = _status(exc)
    if isinstance(exc, smbexc.SMBAuthenticationError) or status in _LOGON:
        return PermissionRefused(f"{where}: logon failed (wrong user or password?)")
    if status in _DENIED:
        return PermissionRefused(f"{where}: access denied")
    if status == NtStatus.STATUS_BAD_NETWORK_NAME:
        return NotFoundError(f"{where}: no such share")
    if status in _FULL:
        return StorageError(f"{where}: the share is full")
    if status == NtStatus.STATUS_OBJECT_NAME_COLLISION:
        return ChangedUnderneath(f"{where}: already exists")
    if status in _GONE:
        return ChangedUnderneath(f"{where}: {_status_name(status)}")
    if status in _BAD_NAME:
        return NameRefused(f"{where}: the share refuses this name")
    if status is not None:
        return NetworkError(f"{where}: the server answered {_status_name(status)}")
    # No NT status: the transport failed (refused, reset, closed, timed out); smbprotocol
    # reports a failed connect as ValueError("Failed to connect to ...").
    return NetworkError(f"{where}: cannot reach the server: {type(exc).__name__}: {exc}")
