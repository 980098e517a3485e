"""Cron schedules on RQ's cron support: follows job edits, runs jobs at start-up."""

import logging
import threading
from datetime import datetime, timezone

import redis
from rq.cron import CronJob

from strmsync.service.kinds import kind_of
from strmsync.service.queue import QUEUE_NAME, RUN_TASK, enqueue_run, reap_dead_runs
from strmsync.store import Store

log = logging.getLogger(__name__)
ALIVE_KEY = "strmsync:scheduler:alive"


class Scheduler:
    """A thread that enqueues due runs, re-reading the jobs' schedules on every tick."""

    def __init__(self, store: Store, conn: redis.Redis, poll: float = 1.0):
        self.store, self.conn, self.poll = store, conn, poll
        self.crons: dict[int, CronJob] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)

    def start(self) -> None:
        """Queue the start-up runs, then tick in the background."""
        self.run_startup_jobs()
        self._thread.start()

    def stop(self) -> None:
        """Stop ticking."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def run_startup_jobs(self) -> list[int]:
        """Queue a run for every enabled job that asks to run when the service starts."""
        queued = []
        for job in self.store.jobs():
            if job["enabled"] and job["run_on_start"]:
                run_id, _ = enqueue_run(self.store, self.conn, job["id"],
                                        kind_of(job).default_mode(job), "startup")
                queued.append(run_id)
        return queued

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the scheduler must outlive a bad tick
                log.exception("scheduler tick failed")
            self._stop.wait(self.poll)

    def tick(self, now: datetime | None = None) -> list[int]:
        """Sync the cron list with the jobs, queue what is due, reap dead runs."""
        now = now or datetime.now(timezone.utc)
        self._follow_jobs()
        queued = []
        for job_id, cron in list(self.crons.items()):
            if cron.next_enqueue_time and now >= cron.next_enqueue_time:
                cron.set_enqueue_time(now)
                mode = kind_of(self._jobs[job_id]).default_mode(self._jobs[job_id])
                run_id, _ = enqueue_run(self.store, self.conn, job_id, mode, "cron")
                log.info("job %d: cron run %d queued", job_id, run_id)
                queued.append(run_id)
        reap_dead_runs(self.store, self.conn)
        self.conn.set(ALIVE_KEY, 1, ex=max(int(self.poll * 5), 10))
        return queued

    def _follow_jobs(self) -> None:
        self._jobs = {job["id"]: job for job in self.store.jobs()
                      if job["enabled"] and job["schedule"]}
        for job_id in set(self.crons) - set(self._jobs):
            del self.crons[job_id]
        for job_id, job in self._jobs.items():
            known = self.crons.get(job_id)
            if known is None or known.cron != job["schedule"]:
                self.crons[job_id] = CronJob(QUEUE_NAME, func_name=RUN_TASK,
                                             cron=job["schedule"], name=f"job-{job_id}")


def scheduler_alive(conn: redis.Redis) -> bool:
    """True while some scheduler has ticked recently."""
    return bool(conn.exists(ALIVE_KEY))
