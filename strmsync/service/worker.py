"""The RQ worker that executes runs; a warm shutdown cancels its run at a safe point."""

import gc
import logging
import os

from rq import Worker
from rq.serializers import JSONSerializer

# Imported once, before the work horses fork: each run then starts without paying for them.
from strmsync.mirror import kind as _mirror_kind  # noqa: F401
from strmsync.service import runslots, servicelog, tasks  # noqa: F401
from strmsync.service.lifeline import die_with_parent, die_with_parent_from_env
from strmsync.service.queue import connect, run_queue
from strmsync.strm import kind as _strm_kind  # noqa: F401
from strmsync.trakt import auth as _trakt_auth  # noqa: F401
from strmsync.trakt import kind as _trakt_kind  # noqa: F401

log = logging.getLogger(__name__)


class RunWorker(Worker):
    """An RQ worker whose warm shutdown asks the current run to stop at a safe point.

    RQ's own warm shutdown waits for the job to end, which for a sync can take hours;
    SIGTERM should instead end the run now, as `cancelled`, with no half-written file.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.worker_pid = os.getpid()
        self.service_log = None

    def main_work_horse(self, job, queue):
        # The horse runs in a process group of its own: a kill of the worker's group (or of
        # serve's) would leave it writing the target with nobody watching.
        die_with_parent(self.worker_pid)
        if self.service_log is not None:
            self.service_log = servicelog.reattach_in_child(
                self.service_log, self.connection, servicelog.process_name("run"))
        super().main_work_horse(job, queue)

    def subscribe(self):
        # RQ's own waits up to 60 s per poll of the command channel; redis-py 8 joins that
        # thread when the worker unsubscribes, so each warm shutdown took up to a minute.
        # A 1 s poll bounds the join; the thread costs nothing between commands.
        self.log.info("Worker %s: subscribing to channel %s", self.name,
                      self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(
            sleep_time=1, daemon=True, exception_handler=self._pubsub_exception_handler)

    def handle_warm_shutdown_request(self):
        super().handle_warm_shutdown_request()
        job = self.get_current_job()
        if job is not None and job.args:
            log.info("shutting down: cancelling run %s", job.args[0])
            runslots.request_cancel(self.connection, int(job.args[0]))


def work(url: str, data_dir: str, burst: bool = False, name: str | None = None) -> bool:
    """Run one worker against the queue at `url` until stopped (or idle, with `burst`)."""
    os.environ["STRMSYNC_DATA"] = str(data_dir)  # the forked work horses read it
    die_with_parent_from_env()  # started by serve: end with it
    conn = connect(url)
    # Each run forks a work horse; frozen objects are not touched by its collector, so the
    # horse copies fewer of the parent's pages (tasks is imported above for the same reason).
    gc.freeze()
    worker = RunWorker([run_queue(conn)], connection=conn, serializer=JSONSerializer,
                       name=name)
    worker.service_log = servicelog.attach(conn, servicelog.process_name("worker"))
    return worker.work(burst=burst, logging_level=logging.getLevelName(
        logging.getLogger().level), with_scheduler=False)
