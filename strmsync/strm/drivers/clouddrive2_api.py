"""CloudDrive2 gRPC calls with the official stubs: deadlines, bearer tokens, error classes."""

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import grpc
import grpc.experimental
from clouddrive2_client.proto import clouddrive_pb2 as pb
from clouddrive2_client.proto import clouddrive_pb2_grpc as pb_grpc
from google.protobuf import empty_pb2

from strmsync.errors import (
    FatalError,
    ListingError,
    NotFoundError,
    RetryableError,
    ThrottledError,
)
from strmsync.strm.drivers.gate import SourceGate

log = logging.getLogger(__name__)
T = TypeVar("T")
Code = grpc.StatusCode
RETRYABLE = frozenset({Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED, Code.INTERNAL, Code.UNKNOWN,
                       Code.ABORTED})
# A streamed call read on the calling thread (GetSubFiles, PushMessage) skips the hand-off
# through the channel's polling thread: ~0.2 ms less CPU per folder listed. Its streams are
# iterated by one thread each and cancelled with cancel(), which is all strmsync does.
CHANNEL_OPTIONS = [("grpc.max_receive_message_length", 64 << 20),
                   ("grpc.keepalive_time_ms", 60_000),
                   (grpc.experimental.ChannelOptions.SingleThreadedUnaryStream, 1)]
# Renew a login token this long before it expires (or a tenth of its life, if shorter).
RENEW_MARGIN = 300.0
RENEWALS = 3


class CloudDrive2Client:
    """One channel to a CloudDrive2 server; every call has a deadline and goes through the gate."""

    def __init__(self, address: str, gate: SourceGate, token: str = "", username: str = "",
                 password: str = "", tls: bool = False):
        self.address = address
        self.tls = tls
        self.gate = gate
        self._api_token = token
        self._username, self._password = username, password
        self._jwt = ""
        self._renew_at = 0.0
        self._generation = 0
        self._token_lock = threading.Lock()
        self._channel_lock = threading.Lock()
        self._channel: grpc.Channel | None = None
        self._stub: pb_grpc.CloudDriveFileSrvStub | None = None
        self.logins = 0

    def close(self) -> None:
        """Close the channel (a later call opens a new one)."""
        with self._channel_lock:
            if self._channel is not None:
                self._channel.close()
            self._channel = self._stub = None

    @property
    def stub(self) -> pb_grpc.CloudDriveFileSrvStub:
        """The service stub, on a channel opened at first use (after any fork)."""
        with self._channel_lock:
            if self._stub is None:
                self._channel = (grpc.secure_channel(self.address, grpc.ssl_channel_credentials(),
                                                     CHANNEL_OPTIONS) if self.tls
                                 else grpc.insecure_channel(self.address, CHANNEL_OPTIONS))
                self._stub = pb_grpc.CloudDriveFileSrvStub(self._channel)
            return self._stub

    # the calls strmsync makes ------------------------------------------------------------

    def system_info(self) -> pb.CloudDriveSystemInfo:
        """The public system information (the connection test)."""
        return self.call("GetSystemInfo", lambda stub, meta, timeout: stub.GetSystemInfo(
            empty_pb2.Empty(), timeout=timeout), public=True)

    def sub_files(self, path: str, read: Callable) -> T:
        """Read a folder's GetSubFiles stream to its end with `read(stream)`."""
        request = pb.ListSubFileRequest(path=path, forceRefresh=False)
        timeout = self.gate.policy.list_timeout
        return self.call("GetSubFiles", lambda stub, meta, _: read(stub.GetSubFiles(
            request, metadata=meta, timeout=timeout)))

    def download_url_path(self, path: str) -> pb.DownloadUrlPathInfo:
        """GetDownloadUrlPath for one file: a URL path with placeholders to fill."""
        request = pb.GetDownloadUrlPathRequest(path=path, preview=False)
        return self.call("GetDownloadUrlPath", lambda stub, meta, timeout: stub.GetDownloadUrlPath(
            request, metadata=meta, timeout=timeout))

    def push_messages(self, deadline: float):
        """Open the PushMessage stream (outside the gate: it is one long-lived subscription)."""
        _, meta = self._metadata()
        return self.stub.PushMessage(empty_pb2.Empty(), metadata=meta, timeout=deadline)

    # deadlines, tokens, errors -----------------------------------------------------------

    def call(self, method: str, invoke: Callable, public: bool = False):
        """Run `invoke(stub, metadata, deadline)` through the gate, renewing a refused token."""
        return self.gate.call(lambda: self._call_once(method, invoke, public), method)

    def _call_once(self, method: str, invoke: Callable, public: bool):
        timeout = self.gate.policy.timeout
        generation, meta = (0, None) if public else self._metadata()
        # A fresh token can be refused too if it expired or was used up meanwhile, so a few
        # renewals are allowed before the refusal counts.
        for renewal in range(RENEWALS + 1):
            try:
                return invoke(self.stub, meta, timeout)
            except grpc.RpcError as exc:
                refused = exc.code() == Code.UNAUTHENTICATED and not public
                if not refused or renewal == RENEWALS:
                    raise translate(exc, method) from None
                generation, meta = self._renew(generation, exc.details())
        raise AssertionError("unreachable")

    def _metadata(self) -> tuple[int, list]:
        with self._token_lock:
            if self._api_token:
                return 0, [("authorization", f"Bearer {self._api_token}")]
            if not self._jwt or time.time() >= self._renew_at:
                self._login()
            return self._generation, [("authorization", f"Bearer {self._jwt}")]

    def _renew(self, generation: int, why: str) -> tuple[int, list]:
        with self._token_lock:
            if self._api_token or not self._password:
                raise FatalError(f"token: CloudDrive2 refused the token ({why})")
            if generation == self._generation:  # else another thread renewed it meanwhile
                log.info("CloudDrive2 token refused (%s): asking for a new one", why)
                self._login()
            return self._generation, [("authorization", f"Bearer {self._jwt}")]

    def _login(self) -> None:
        try:
            answer = self.stub.GetToken(pb.GetTokenRequest(userName=self._username,
                                                      password=self._password),
                                   timeout=self.gate.policy.timeout)
        except grpc.RpcError as exc:
            raise translate(exc, "GetToken") from None
        if not answer.success:
            raise FatalError(f"login: CloudDrive2 refused the user name or password"
                             f" ({answer.errorMessage})")
        self._jwt = answer.token
        self._generation += 1
        self.logins += 1
        expires = answer.expiration.seconds + answer.expiration.nanos / 1e9
        now = time.time()
        life = expires - now if expires > now else 3600.0
        self._renew_at = now + life - min(RENEW_MARGIN, life / 10)


def translate(exc: grpc.RpcError, method: str) -> Exception:
    """A gRPC failure as the error class that says what to do about it."""
    code, details = exc.code(), exc.details() or ""
    text = f"{method}: {code.name if code else 'error'}: {details}"
    if code == Code.RESOURCE_EXHAUSTED:
        return ThrottledError(text)
    if code in RETRYABLE:
        return RetryableError(text)
    if code == Code.NOT_FOUND:
        return NotFoundError(text)
    if code == Code.UNAUTHENTICATED:
        return FatalError(f"token: CloudDrive2 refused the token ({details})")
    return ListingError(text)
