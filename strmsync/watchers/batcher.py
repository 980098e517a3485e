"""Hand events over in batches, so a burst becomes a few buffer writes, not thousands."""

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class EventBatcher:
    """Collects events from any thread and passes them on every `interval` seconds."""

    def __init__(self, deliver: Callable[[list], None], interval: float = 0.5):
        self.deliver, self.interval = deliver, interval
        self._queue: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="event-batcher", daemon=True)
        self._thread.start()

    def add(self, events: list) -> None:
        """Queue events for the next batch."""
        for event in events:
            self._queue.put(event)

    def close(self) -> None:
        """Deliver what is left and stop."""
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._stop.wait(self.interval)
            self._flush()
        self._flush()

    def _flush(self) -> None:
        batch = []
        while True:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        if batch:
            try:
                self.deliver(batch)
            except Exception:  # noqa: BLE001 - keep batching after a failed hand-over
                log.exception("could not buffer %d event(s)", len(batch))
