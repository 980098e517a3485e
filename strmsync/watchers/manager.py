"""Start and stop watchers for the jobs that ask to be watched, following job edits.

Local sources get an inotify watcher per job; a CloudDrive2 source gets one PushMessage
subscription shared by its watched jobs.
"""

import logging
import threading

import redis

from strmsync.events import route
from strmsync.service.queue import enqueue_events, enqueue_run
from strmsync.store import Store
from strmsync.watchers.clouddrive2 import PushWatcher
from strmsync.watchers.inotify import InotifyWatcher

log = logging.getLogger(__name__)


class Watchers:
    """A thread that keeps one watcher per watched job, fed into the job's event buffer."""

    def __init__(self, store: Store, conn: redis.Redis, poll: float = 2.0):
        self.store, self.conn, self.poll = store, conn, poll
        self.active: dict[int, tuple] = {}
        self.pushed: dict[int, tuple] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="watchers", daemon=True)

    def start(self) -> "Watchers":
        """Begin following the jobs."""
        self.refresh()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop every watcher."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        for job_id in list(self.active):
            self._drop(job_id)
        for source_id in list(self.pushed):
            self.pushed.pop(source_id)[0].stop()

    def _loop(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.refresh()
            except Exception:  # noqa: BLE001 - keep following jobs after a bad poll
                log.exception("watchers: refresh failed")

    def refresh(self) -> None:
        """Match the running watchers to the jobs that want one."""
        local, pushed = {}, {}
        for job in self.store.jobs(kind="strm"):
            if not (job["enabled"] and job["watch"]):
                continue
            source = self.store.source(job["source_id"])
            if source["kind"] == "local":
                local[job["id"]] = job
            elif source["kind"] == "clouddrive2":
                pushed.setdefault(source["id"], (source, set()))[1].add(job["id"])
        self._follow_local(local)
        self._follow_pushed(pushed)

    def _follow_local(self, wanted: dict) -> None:
        for job_id in set(self.active) - set(wanted):
            self._drop(job_id)
        for job_id, job in wanted.items():
            if self.active.get(job_id, (None,))[0] != job["source_root"]:
                self._drop(job_id)
                self._add(job)

    def _follow_pushed(self, wanted: dict) -> None:
        for source_id in set(self.pushed) - set(wanted):
            self.pushed.pop(source_id)[0].stop()
        for source_id, (source, job_ids) in wanted.items():
            known = self.pushed.get(source_id)
            if known and known[1] != source:
                self.pushed.pop(source_id)[0].stop()
                known = None
            if known is None:
                watcher = PushWatcher(source, lambda events, s=source_id: self._route_pushed(
                    s, events))
                self.pushed[source_id] = (watcher.start(), source, job_ids)
            else:
                self.pushed[source_id] = (known[0], source, job_ids)

    def _add(self, job: dict) -> None:
        job_id = job["id"]
        watcher = InotifyWatcher(job["source_root"], lambda events: self._buffer([job_id], events,
                                                                                 False),
                                 lambda: self._catch_up(job_id))
        try:
            watcher.start()
        except OSError as exc:
            log.warning("job %d: cannot watch %s: %s", job_id, job["source_root"], exc)
            return
        self.active[job_id] = (job["source_root"], watcher)

    def _drop(self, job_id: int) -> None:
        entry = self.active.get(job_id)
        if entry:
            entry[1].stop()
            del self.active[job_id]

    def _route_pushed(self, source_id: int, events: list) -> None:
        entry = self.pushed.get(source_id)
        if entry:
            self._buffer(sorted(entry[2]), events, True)

    def _buffer(self, job_ids: list, events: list, their_paths: bool) -> None:
        with self._lock:
            store = Store(self.store.path)  # the watcher's own thread, its own connection
            try:
                jobs = [job for job in map(store.job, job_ids) if job is not None]
                sources = {source["id"]: source for source in store.sources()}
                routed, _ = route(events, jobs, sources, their_paths)
                enqueue_events(store, self.conn, routed, "watch")
            finally:
                store.close()

    def _catch_up(self, job_id: int) -> None:
        store = Store(self.store.path)
        try:
            job = store.job(job_id)
            if job is not None:
                enqueue_run(store, self.conn, job_id, job["options"].get("strategy", "full"),
                            "watch")
        finally:
            store.close()
