"""The CloudDrive2 stand-in's gRPC service: the CloudDriveFileSrv methods a sync client uses."""

from __future__ import annotations

import hashlib
import queue
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING

import grpc
from clouddrive2_client.proto import clouddrive_pb2 as pb
from clouddrive2_client.proto import clouddrive_pb2_grpc as pb_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from .faults import EMPTY
from .tokens import TokenRejected
from .traffic import Call
from .tree import Entry, clean_path, join_path

if TYPE_CHECKING:
    from .clouddrive2 import CloudDrive2StandIn

BREAK = "break"
DEADLINE = "deadline"
_ABORTS = {
    "unavailable": (grpc.StatusCode.UNAVAILABLE, "injected: service unavailable"),
    "resource_exhausted": (grpc.StatusCode.RESOURCE_EXHAUSTED, "injected: too many requests"),
    "internal": (grpc.StatusCode.INTERNAL, "injected: internal error"),
    "unauthenticated": (grpc.StatusCode.UNAUTHENTICATED, "injected: token expired"),
}
_SERVICE = "/clouddrive.CloudDriveFileSrv/"


class CloudDriveService(pb_grpc.CloudDriveFileSrvServicer):
    """Implements CloudDriveFileSrv over the stand-in's tree; other methods stay UNIMPLEMENTED."""

    def __init__(self, standin: CloudDrive2StandIn) -> None:
        self.standin = standin

    def GetSystemInfo(self, request, context):  # noqa: N802
        """Public: report a logged-in, ready service."""
        with self._call(context, "GetSystemInfo", request, public=True):
            return pb.CloudDriveSystemInfo(
                IsLogin=True, UserName=self.standin.username, SystemReady=True
            )

    def GetToken(self, request, context):  # noqa: N802
        """Public: trade the account's user name and password for a JWT."""
        with self._call(context, "GetToken", request, public=True):
            standin = self.standin
            if (request.userName, request.password) != (standin.username, standin.password):
                return pb.JWTToken(success=False, errorMessage="invalid user name or password")
            token, expires_at = standin.tokens.issue(request.userName)
            return pb.JWTToken(
                success=True, token=token, expiration=timestamp(int(expires_at * 1e9))
            )

    def GetSubFiles(self, request, context):  # noqa: N802
        """Stream a folder's children in batches of `batch_size`."""
        with self._call(context, "GetSubFiles", request, path=request.path) as fault:
            path = clean_path(request.path)
            self.standin.traffic.record_listing(path, request.forceRefresh)
            entries = [] if fault == EMPTY else self._children(context, path)
            size = max(1, self.standin.batch_size)
            for start in range(0, len(entries), size):
                yield pb.SubFilesReply(
                    subFiles=[self._file(e) for e in entries[start : start + size]]
                )
                if fault == BREAK:
                    break
            if fault == BREAK:
                context.abort(grpc.StatusCode.UNAVAILABLE, "injected: stream broken")

    def FindFileByPath(self, request, context):  # noqa: N802
        """Return one file or folder, by full `path` or by `path` inside `parentPath`."""
        path = (
            request.path
            if request.path.startswith("/")
            else join_path(request.parentPath or "/", request.path)
        )
        with self._call(context, "FindFileByPath", request, path=path):
            return self._file(self._stat(context, path))

    def GetDownloadUrlPath(self, request, context):  # noqa: N802
        """Return the download URL path, {SCHEME}/{HOST}/{PREVIEW} left for the client."""
        with self._call(context, "GetDownloadUrlPath", request, path=request.path):
            entry = self._stat(context, request.path)
            if entry.is_dir:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "not a file")
            return pb.DownloadUrlPathInfo(downloadUrlPath=self.standin.download_path(entry.path))

    def PushMessage(self, request, context):  # noqa: N802
        """Stream the messages tests push, until the client leaves or the server stops."""
        with self._call(context, "PushMessage", request, tracked=False):
            inbox = self.standin.subscribe()
            try:
                while context.is_active() and not self.standin.stopping.is_set():
                    try:
                        yield inbox.get(timeout=0.05)
                    except queue.Empty:
                        continue
            finally:
                self.standin.unsubscribe(inbox)

    @contextmanager
    def _call(
        self,
        context,
        method: str,
        request,
        path: str | None = None,
        public: bool = False,
        tracked: bool = True,
    ) -> Iterator[str | None]:
        """Log, count, delay, fault and authorize the call; yield the fault left to the method."""
        standin = self.standin
        metadata = {key: value for key, value in context.invocation_metadata()}
        standin.traffic.record(Call(method, "grpc", _SERVICE + method, request, metadata))
        with standin.traffic.track() if tracked else nullcontext():
            if standin.faults.latency:
                standin.stopping.wait(standin.faults.latency)
            fault = standin.faults.decide(method, path)
            self._apply_fault(context, fault)
            if not public:
                self._authorize(context, metadata.get("authorization", ""))
            yield fault

    def _apply_fault(self, context, fault: str | None) -> None:
        if fault == DEADLINE:
            # Outlive the client's deadline so it sees DEADLINE_EXCEEDED from its own side.
            self.standin.stopping.wait(self.standin.deadline_sleep)
            context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "injected: too slow")
        if fault in _ABORTS:
            context.abort(*_ABORTS[fault])

    def _authorize(self, context, header: str) -> None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing bearer token")
        if token == self.standin.api_token:
            return
        try:
            self.standin.tokens.check(token)
        except TokenRejected as rejected:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, str(rejected))

    def _children(self, context, path: str) -> list[Entry]:
        try:
            return self.standin.tree.list(path)
        except (FileNotFoundError, NotADirectoryError) as error:
            context.abort(grpc.StatusCode.NOT_FOUND, f"{path}: {error.strerror}")

    def _stat(self, context, path: str) -> Entry:
        try:
            return self.standin.tree.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            context.abort(grpc.StatusCode.NOT_FOUND, f"{clean_path(path)}: not found")

    def _file(self, entry: Entry) -> pb.CloudDriveFile:
        digest = None
        if self.standin.hashes and not entry.is_dir:
            digest = hashlib.md5(self.standin.tree.local(entry.path).read_bytes()).hexdigest()
        return cloud_file(entry, digest)


def cloud_file(entry: Entry, md5: str | None = None) -> pb.CloudDriveFile:
    """Return the CloudDriveFile for `entry`; top-level folders count as cloud roots."""
    depth = 0 if entry.path == "/" else entry.path.count("/")
    kind = pb.CloudDriveFile.Directory if entry.is_dir else pb.CloudDriveFile.File
    message = pb.CloudDriveFile(
        id=str(entry.inode),
        name=entry.name,
        fullPathName=entry.path,
        size=entry.size,
        fileType=kind,
        createTime=timestamp(entry.ctime_ns),
        writeTime=timestamp(entry.mtime_ns),
        accessTime=timestamp(entry.mtime_ns),
        isDirectory=entry.is_dir,
        isRoot=depth == 0,
        isCloudRoot=depth == 1 and entry.is_dir,
        isCloudDirectory=entry.is_dir and depth >= 1,
        isCloudFile=not entry.is_dir,
    )
    if md5 is not None:
        message.fileHashes[pb.CloudDriveFile.Md5] = md5
    return message


def timestamp(ns: int) -> Timestamp:
    """Return a protobuf Timestamp for epoch nanoseconds."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    return Timestamp(seconds=seconds, nanos=nanos)
