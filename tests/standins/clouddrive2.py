"""A stand-in CloudDrive2 server: gRPC API and download URLs on one port, over a local directory."""

from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
from clouddrive2_client.proto import clouddrive_pb2 as pb
from clouddrive2_client.proto import clouddrive_pb2_grpc as pb_grpc

from .clouddrive2_http import StaticHandler
from .clouddrive2_rpc import BREAK, DEADLINE, CloudDriveService, cloud_file
from .faults import EMPTY, FaultPlan
from .httpserver import BackgroundHTTPServer
from .portmux import PortMux
from .tokens import TokenBook
from .traffic import Traffic
from .tree import LocalTree, clean_path, quote_path

# From the proto's comment on GetDownloadUrlPath: the client substitutes the placeholders.
DOWNLOAD_PREFIX = "/static/{SCHEME}/{HOST}/{PREVIEW}"

FAULT_KINDS = (
    "unavailable",  # UNAVAILABLE (HTTP 503 on downloads)
    "resource_exhausted",  # RESOURCE_EXHAUSTED (HTTP 429 on downloads)
    "internal",  # INTERNAL
    "unauthenticated",  # UNAUTHENTICATED, as for an expired token
    DEADLINE,  # sleep `deadline_sleep` seconds, then DEADLINE_EXCEEDED
    EMPTY,  # GetSubFiles streams no entries
    BREAK,  # GetSubFiles sends its first batch, then fails UNAVAILABLE
)

CHANGE_TYPES = {
    "CREATE": pb.FileSystemChange.CREATE,
    "DELETE": pb.FileSystemChange.DELETE,
    "RENAME": pb.FileSystemChange.RENAME,
}


class CloudDrive2StandIn:
    """Serves CloudDriveFileSrv and /static/ downloads of the files under `root`, on one port."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        username: str = "user@example.com",
        password: str = "password",
        api_token: str = "cd2-standin-api-token",
        batch_size: int = 100,
        token_ttl: float | None = None,
        token_uses: int | None = None,
        download_prefix: str = DOWNLOAD_PREFIX,
        hashes: bool = False,
        max_workers: int = 32,
    ) -> None:
        self.tree = LocalTree(root)
        self.username = username
        self.password = password
        self.api_token = api_token
        self.batch_size = batch_size
        self.download_prefix = download_prefix
        self.hashes = hashes
        self.deadline_sleep = 1.0
        self.tokens = TokenBook(api_token, token_ttl, token_uses)
        self.faults = FaultPlan(
            FAULT_KINDS,
            list_endpoint="GetSubFiles",
            list_only_kinds=(EMPTY, BREAK),
            error_kind="unavailable",
            throttle_kind="resource_exhausted",
        )
        self.traffic = Traffic()
        self.stopping = threading.Event()
        self.address = ""
        self.url = ""
        self._max_workers = max_workers
        self._inboxes: list[queue.Queue] = []
        self._inboxes_changed = threading.Condition()
        self._http = BackgroundHTTPServer(StaticHandler, self)
        self._executor: ThreadPoolExecutor | None = None
        self._grpc: grpc.Server | None = None
        self._mux: PortMux | None = None

    def start(self) -> CloudDrive2StandIn:
        """Start gRPC, HTTP and the shared port; sets `address` ("127.0.0.1:port") and `url`."""
        self.stopping.clear()
        self._executor = ThreadPoolExecutor(self._max_workers, thread_name_prefix="cd2-standin")
        self._grpc = grpc.server(self._executor)
        pb_grpc.add_CloudDriveFileSrvServicer_to_server(CloudDriveService(self), self._grpc)
        self.grpc_port = self._grpc.add_insecure_port("127.0.0.1:0")
        self._grpc.start()
        self.http_port = self._http.start()
        self._mux = PortMux(self.grpc_port, self.http_port)
        self.address = f"127.0.0.1:{self._mux.start()}"
        self.url = f"http://{self.address}"
        return self

    def stop(self) -> None:
        """Stop serving; open streams end and every connection is closed."""
        if self._grpc is None:
            return
        self.stopping.set()
        self._mux.stop()
        self._grpc.stop(grace=None).wait()
        self._http.stop()
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._grpc = None

    def __enter__(self) -> CloudDrive2StandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def download_path(self, path: str) -> str:
        """Return GetDownloadUrlPath's answer for `path`: placeholders kept, segments escaped."""
        return self.download_prefix + quote_path(clean_path(path))

    def download_url(self, path: str, scheme: str = "http", preview: bool = False) -> str:
        """Return the full URL a client builds from download_path(path) for this server."""
        filled = (
            self.download_path(path)
            .replace("{SCHEME}", scheme)
            .replace("{HOST}", self.address)
            .replace("{PREVIEW}", "true" if preview else "false")
        )
        return f"{scheme}://{self.address}{filled}"

    def push_change(
        self, change_type: str, path: str, new_path: str | None = None, is_dir: bool = False
    ) -> None:
        """Send a FILE_SYSTEM_CHANGE (CREATE, DELETE or RENAME) to every PushMessage stream."""
        change = pb.FileSystemChange(
            changeType=CHANGE_TYPES[change_type], isDirectory=is_dir, path=path
        )
        if new_path is not None:
            change.newPath = new_path
        current = new_path or path
        if change_type != "DELETE" and self.tree.local(current).exists():
            change.theFile.CopyFrom(cloud_file(self.tree.stat(current)))
        self.push(
            pb.CloudDrivePushMessage(
                messageType=pb.CloudDrivePushMessage.FILE_SYSTEM_CHANGE, fileSystemChange=change
            )
        )

    def push(self, message: pb.CloudDrivePushMessage) -> None:
        """Send any push message to every open PushMessage stream."""
        with self._inboxes_changed:
            for inbox in self._inboxes:
                inbox.put(message)

    @property
    def subscribers(self) -> int:
        """Return how many PushMessage streams are open."""
        with self._inboxes_changed:
            return len(self._inboxes)

    def wait_for_subscribers(self, count: int = 1, timeout: float = 2.0) -> bool:
        """Wait until at least `count` PushMessage streams are open; tell whether they are."""
        with self._inboxes_changed:
            return self._inboxes_changed.wait_for(lambda: len(self._inboxes) >= count, timeout)

    def subscribe(self) -> queue.Queue:
        """Open an inbox for a new PushMessage stream."""
        inbox: queue.Queue = queue.Queue()
        with self._inboxes_changed:
            self._inboxes.append(inbox)
            self._inboxes_changed.notify_all()
        return inbox

    def unsubscribe(self, inbox: queue.Queue) -> None:
        """Close a PushMessage stream's inbox."""
        with self._inboxes_changed:
            self._inboxes.remove(inbox)
            self._inboxes_changed.notify_all()
