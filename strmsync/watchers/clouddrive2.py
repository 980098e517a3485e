"""Follow a CloudDrive2 server's PushMessage stream of file-system changes."""

import logging
import threading
from collections.abc import Callable

import grpc
from clouddrive2_client.proto import clouddrive_pb2 as pb

from strmsync.events import Event
from strmsync.strm.drivers import open_remote
from strmsync.watchers.batcher import EventBatcher

log = logging.getLogger(__name__)

ACTIONS = {pb.FileSystemChange.CREATE: "create", pb.FileSystemChange.DELETE: "delete",
           pb.FileSystemChange.RENAME: "rename"}
# A subscription is re-opened at least this often, so a half-dead connection cannot hide.
STREAM_DEADLINE = 3600.0
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 60.0


def change_event(change) -> Event | None:
    """An Event for one FileSystemChange (paths in CloudDrive2's namespace)."""
    action = ACTIONS.get(change.changeType)
    if action is None or not change.path.startswith("/"):
        return None
    new_path = change.newPath if action == "rename" and change.HasField("newPath") else None
    if action == "rename" and not new_path:
        return None
    return Event(action, change.path, new_path, change.isDirectory)


class PushWatcher:
    """A thread feeding `on_events` from PushMessage, reconnecting with backoff."""

    def __init__(self, source: dict, on_events: Callable[[list], None]):
        self.source = source
        self.batcher = EventBatcher(on_events)
        self.driver = open_remote(source, "/")
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._stream = None
        self._thread = threading.Thread(target=self._loop, name=f"push:{source['name']}",
                                        daemon=True)

    def start(self) -> "PushWatcher":
        """Subscribe in the background."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Cancel the subscription and wait for the thread."""
        self._stop.set()
        if self._stream is not None:
            self._stream.cancel()
        if self._thread.is_alive():
            self._thread.join()
        self.batcher.close()
        self.driver.close()

    def _loop(self) -> None:
        delay = BACKOFF_FIRST
        while not self._stop.is_set():
            try:
                self._stream = self.driver.client.push_messages(STREAM_DEADLINE)
                self.connected.set()
                for message in self._stream:
                    delay = BACKOFF_FIRST
                    self._handle(message)
            except grpc.RpcError as exc:
                if self._stop.is_set():
                    return
                if exc.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                    log.warning("CloudDrive2 %s: push stream ended (%s); again in %.0f s",
                                self.source["name"], exc.code().name, delay)
            except Exception:  # noqa: BLE001 - keep watching whatever one message does
                log.exception("CloudDrive2 %s: push stream failed", self.source["name"])
            self.connected.clear()
            self._stop.wait(delay)
            delay = min(delay * 2, BACKOFF_MAX)

    def _handle(self, message) -> None:
        if message.messageType != pb.CloudDrivePushMessage.FILE_SYSTEM_CHANGE:
            return
        event = change_event(message.fileSystemChange)
        if event is not None:
            self.batcher.add([event])
