"""SMB requests strmsync builds itself on smbprotocol's connection, where smbclient's
high-level calls cost a round trip (and ~0.5 ms of Python) per step: a folder listed in one
compound, a file put in place in one, and a deadline on every wait for an answer.

Speed decides a no-op mirror and a first upload (DESIGN.md §8, bench/README.md): each
answer is cut out of its raw bytes with `struct`, not smbprotocol's Structure classes.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Iterator

from smbprotocol import exceptions as smbexc
from smbprotocol.connection import Connection
from smbprotocol.file_info import FileAttributes, FileBasicInformation, FileRenameInformation
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    FileInformationClass,
    FilePipePrinterAccessMask,
    ImpersonationLevel,
    Open,
    QueryDirectoryFlags,
    ShareAccess,
    SMB2SetInfoRequest,
)

# One QUERY_DIRECTORY answer of up to 64 KiB costs one credit (MS-SMB2 3.1.5.2) and holds
# ~500 entries of typical media names: a title folder in one CREATE+QUERY+CLOSE round trip.
LIST_BUFFER = 65536
# The largest entry: the fixed part, a 255-unit name, alignment. An answer within this of
# the buffer's end may have left entries out; such a folder is listed again in parts.
LARGEST_ENTRY = 80 + 2 * 255 + 8
# FILETIME counts 100 ns ticks since 1601-01-01; this is the Unix epoch in those ticks.
EPOCH_FILETIME = 116444736000000000
# FILE_ID_FULL_DIR_INFORMATION (MS-FSCC 2.4.18): next offset, index, 4 times, end of file,
# allocation size, attributes, name length, EA size, reserved, file id; then the name.
_ENTRY = struct.Struct("<IIqqqqqqIIIIQ")
_ATTR_DIRECTORY = 0x10
_ATTR_REPARSE_POINT = 0x400
_HEADER = 64  # an SMB2 header; answers give their buffers' offsets from its start
# QUERY_DIRECTORY answer (MS-SMB2 2.2.34) after its structure size: buffer offset, length.
_QUERY_ANSWER = struct.Struct("<HI")
# CLOSE answer (MS-SMB2 2.2.16) with SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB: structure size,
# flags, reserved, 4 times, allocation size, end of file, attributes.
_CLOSE_ANSWER = struct.Struct("<HHIqqqqqqI")
_CREATE_FILE_ID = slice(64, 80)  # CREATE answer (MS-SMB2 2.2.14): the 16-byte file id

_DIR_READ = (FilePipePrinterAccessMask.FILE_READ_DATA
             | FilePipePrinterAccessMask.FILE_READ_ATTRIBUTES
             | FilePipePrinterAccessMask.FILE_READ_EA)
_FILE_PUT = (FilePipePrinterAccessMask.FILE_WRITE_DATA
             | FilePipePrinterAccessMask.FILE_WRITE_ATTRIBUTES
             | FilePipePrinterAccessMask.FILE_READ_ATTRIBUTES
             | FilePipePrinterAccessMask.DELETE)  # DELETE: to rename the open file
_SHARE_ALL = (ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE
              | ShareAccess.FILE_SHARE_DELETE)


def parse_entries(buffer: bytes) -> Iterator[tuple[str, bool, int, int]]:
    """(name, is_dir, size, mtime_ns) for each entry of a raw QUERY_DIRECTORY buffer."""
    # struct instead of smbprotocol's Structure classes: ~20x less Python per entry.
    offset = 0
    while True:
        (next_offset, _, _, _, mtime, _, size, _, attrs, name_len, _, _, _) = _ENTRY.unpack_from(
            buffer, offset
        )
        start = offset + _ENTRY.size
        name = buffer[start:start + name_len].decode("utf-16-le")
        if name not in (".", ".."):
            is_dir = bool(attrs & _ATTR_DIRECTORY) and not attrs & _ATTR_REPARSE_POINT
            yield name, is_dir, size, (mtime - EPOCH_FILETIME) * 100
        if not next_offset:
            return
        offset += next_offset


def list_folder(smb_open: Open, timeout: float) -> bytes:
    """The raw QUERY_DIRECTORY buffer of a folder, from one related CREATE + QUERY + CLOSE."""
    create, _ = smb_open.create(
        ImpersonationLevel.Impersonation, _DIR_READ, FileAttributes.FILE_ATTRIBUTE_DIRECTORY,
        _SHARE_ALL, CreateDisposition.FILE_OPEN, CreateOptions.FILE_DIRECTORY_FILE, send=False)
    query, _ = smb_open.query_directory(
        "*", FileInformationClass.FILE_ID_FULL_DIRECTORY_INFORMATION,
        flags=QueryDirectoryFlags.SMB2_RESTART_SCANS, max_output=LIST_BUFFER, send=False)
    close, _ = smb_open.close(send=False)
    opened, listed, _closed = _exchange(smb_open, [create, query, close], timeout)
    if isinstance(opened, Exception):
        raise opened
    if isinstance(listed, (smbexc.NoMoreFiles, smbexc.NoSuchFile)):
        return b""
    if isinstance(listed, Exception):
        raise listed
    data = listed["data"].get_value()
    offset, length = _QUERY_ANSWER.unpack_from(data, 2)
    return data[offset - _HEADER:offset - _HEADER + length]


def open_for_put(smb_open: Open, data: bytes) -> list:
    """The requests that create (or truncate) a file for writing, with its first bytes."""
    create, _ = smb_open.create(
        ImpersonationLevel.Impersonation, _FILE_PUT, FileAttributes.FILE_ATTRIBUTE_NORMAL,
        ShareAccess.FILE_SHARE_READ, CreateDisposition.FILE_OVERWRITE_IF,
        CreateOptions.FILE_NON_DIRECTORY_FILE, send=False)
    return [create] + ([smb_open.write(data, 0, send=False)[0]] if data else [])


def put_in_place(smb_open: Open, mtime_ns: int, final_path: str) -> list:
    """The requests that set an open file's mtime, rename it over `final_path` (inside the
    share) and close it, the close answering with the file's size."""
    # The mtime goes on the temp file, before the rename: a run killed between a rename and
    # a later time-setting would leave the final name with the time of the upload, which
    # the next run takes for a change on the share (a conflict). Set on the handle after the
    # writes, it stays (a time set explicitly is not moved by the close).
    ticks = mtime_ns // 100 + EPOCH_FILETIME
    basic = FileBasicInformation()
    basic["last_access_time"] = ticks
    basic["last_write_time"] = ticks
    rename = FileRenameInformation()
    rename["replace_if_exists"] = True
    rename["file_name"] = final_path
    close, _ = smb_open.close(get_attributes=True, send=False)
    return [_set_info(smb_open, basic), _set_info(smb_open, rename), close]


def put_answered(smb_open: Open, requests: list, timeout: float) -> int:
    """Send requests of open_for_put and/or put_in_place as one compound; the file's size
    as the closing answer gives it. A handle left open by a failure is closed."""
    answers = _exchange(smb_open, requests, timeout)
    failed = next((a for a in answers if isinstance(a, Exception)), None)
    if failed is None:
        # Closed: forgotten, or the session's log-off would close it again.
        smb_open._connected = False
        smb_open.tree_connect.session.open_table.pop(smb_open.file_id, None)
        return _CLOSE_ANSWER.unpack_from(answers[-1]["data"].get_value())[8]
    if smb_open.file_id == Open._RELATED_COMPOUND_FILE_ID and \
            not isinstance(answers[0], Exception):
        # A step after the create failed, and with it the related close (MS-SMB2
        # 3.3.5.2.7.2): the file is open on the server until it is closed by its id.
        smb_open.file_id = answers[0]["data"].get_value()[_CREATE_FILE_ID]
        smb_open._connected = True
    if smb_open.connected:
        with contextlib.suppress(Exception):
            smb_open.close()
    raise failed


def _set_info(smb_open: Open, info) -> SMB2SetInfoRequest:
    request = SMB2SetInfoRequest()
    request["info_type"] = info.INFO_TYPE
    request["file_info_class"] = info.INFO_CLASS
    request["file_id"] = smb_open.file_id
    request["buffer"] = info
    return request


def _exchange(smb_open: Open, requests: list, timeout: float) -> list:
    """Send requests as one related compound; each answer, or the error it carries."""
    tree, connection = smb_open.tree_connect, smb_open.connection
    sent = connection.send_compound(requests, tree.session.session_id, tree.tree_connect_id,
                                    related=True)
    answers: list = []
    for request in sent:  # each answer is taken, or its request stays outstanding
        try:
            answers.append(connection.receive(request, timeout=timeout))
        except smbexc.SMBResponseException as exc:
            answers.append(exc)
    return answers


def answer_within(connection: Connection, seconds: float) -> None:
    """Give every wait for an answer on `connection` a deadline; a missed one drops it."""
    receive = connection.receive

    def receive_by_deadline(request, wait=True, timeout=None, resolve_symlinks=True):
        try:
            return receive(request, wait=wait, timeout=seconds if timeout is None else timeout,
                           resolve_symlinks=resolve_symlinks)
        except smbexc.SMBException:
            if not request.response_event.is_set():
                # No answer in time: what the link is doing is unknown, so it is dropped;
                # every other waiter wakes with a connection error, the next call reconnects.
                connection.disconnect(close=False)
            raise

    # smbprotocol waits without a deadline wherever a caller gives none (session set-up,
    # tree connect, every smbclient call); this instance's receive is what they all call.
    connection.receive = receive_by_deadline
