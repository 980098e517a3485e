"""`strmsync serve`: Redis, workers, scheduler and web server in one supervised process."""

import logging
import os
import signal
import subprocess
import sys
import threading

import waitress

import _fastscan
from strmsync import __version__
from strmsync.config import Settings
from strmsync.secretbox import tighten_private_files
from strmsync.service import servicelog
from strmsync.service.lifeline import PARENT_ENV
from strmsync.service.queue import (
    EmbeddedRedis,
    connect,
    queue_pending_events,
    reap_dead_runs,
    redis_url,
    requeue_missing,
)
from strmsync.service.scheduler import Scheduler
from strmsync.store import Store
from strmsync.watchers.manager import Watchers
from strmsync.web import create_app
from strmsync.web.auth import password_origin, setup_code

log = logging.getLogger(__name__)
WORKER_STOP_GRACE = 60


class Service:
    """Everything `strmsync serve` runs, started and stopped in the right order."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.embedded = None if settings.redis_url else EmbeddedRedis(settings.data_dir)
        self.stopping = threading.Event()
        self.workers: list[subprocess.Popen] = []

    def start(self) -> None:
        """Start Redis (if embedded), recover the record, then workers, scheduler and web."""
        tighten_private_files(self.settings.data_dir)
        self.url = redis_url(self.settings, self.embedded)
        self.conn = connect(self.url)
        self.service_log = servicelog.attach(connect(self.url), servicelog.process_name("serve"))
        self.store = Store(self.settings.database_path)
        reap_dead_runs(self.store, self.conn)
        requeue_missing(self.store, self.conn)
        queue_pending_events(self.store, self.conn)
        self.workers = [self._spawn_worker(i) for i in range(self.settings.workers)]
        self.scheduler = Scheduler(Store(self.settings.database_path), self.conn)
        self.scheduler.start()
        self.watchers = Watchers(Store(self.settings.database_path), self.conn).start()
        app = create_app(self.settings, self.url)
        self.server = waitress.create_server(app, host=self.settings.host,
                                             port=self.settings.port, threads=8)
        self.port = self.server.effective_port
        threading.Thread(target=self.server.run, name="web", daemon=True).start()
        log.info("strmsync %s serving on http://%s:%s (_fastscan: %s, data: %s)", __version__,
                 self.settings.host, self.port, _fastscan.IMPLEMENTATION, self.settings.data_dir)
        if password_origin(self.settings) is None:
            log.warning("no panel password is set yet: open http://%s:%s/setup and give the"
                        " setup code %s (or set STRMSYNC_PANEL_PASSWORD)", self.settings.host,
                        self.port, setup_code(app), extra={"private": True})

    def _spawn_worker(self, index: int) -> subprocess.Popen:
        env = {**os.environ, "REDIS_URL": self.url, "STRMSYNC_DATA": str(self.settings.data_dir),
               PARENT_ENV: str(os.getpid())}
        name = f"strmsync-{os.getpid()}-{index}"
        return subprocess.Popen([sys.executable, "-m", "strmsync", "--log-level",
                                 self.settings.log_level, "worker", "--name", name], env=env)

    def supervise(self) -> None:
        """Until asked to stop: restart workers that died (their runs get reaped)."""
        while not self.stopping.wait(2.0):
            for i, proc in enumerate(self.workers):
                if proc.poll() is not None:
                    log.warning("worker %d exited with %s; starting a new one", i, proc.returncode)
                    reap_dead_runs(self.store, self.conn)
                    self.workers[i] = self._spawn_worker(i)

    def stop(self) -> None:
        """Cancel running runs at a safe point, stop workers, scheduler, web and Redis."""
        log.info("shutting down")
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # warm shutdown: the run cancels itself
        for proc in self.workers:
            try:
                proc.wait(WORKER_STOP_GRACE)
            except subprocess.TimeoutExpired:
                log.warning("worker %d did not stop in time; killing it", proc.pid)
                proc.kill()
                proc.wait()
        self.scheduler.stop()
        self.watchers.stop()
        self.server.close()
        reap_dead_runs(self.store, self.conn)
        servicelog.detach(self.service_log)
        self.conn.close()
        self.store.close()
        if self.embedded:
            self.embedded.stop()


def serve(settings: Settings) -> int:
    """Run the service until SIGTERM or SIGINT."""
    service = Service(settings)
    service.start()
    print(f"strmsync serving on http://{settings.host}:{service.port}", flush=True)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: service.stopping.set())
    try:
        service.supervise()
    finally:
        service.stop()
    return 0
