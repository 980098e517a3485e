"""The queue-driven service: real embedded Redis, real RQ workers, the JSON API."""

import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import psutil
import pytest

from strmsync.service.queue import connect, enqueue_run, reap_dead_runs
from strmsync.service.scheduler import Scheduler
from strmsync.store import Store
from tests.conftest import API_PASSWORD, authed_http, make_files, strmsync_env, tree, wait_for
from tests.standins import OpenListStandIn, User

FINAL = ("succeeded", "partial", "failed", "cancelled")
# A slow source: its first sync lists SLOW_FOLDERS folders one at a time, each answer
# SLOW_LATENCY seconds late, so it lasts ~8 s on any machine and can be stopped halfway.
SLOW_FOLDERS, SLOW_FILES, SLOW_LATENCY = 40, 3, 0.2


def add_source(client, root, name="mnt"):
    response = client.post("/api/v1/sources", json={"name": name, "kind": "local",
                                                     "root": str(root)})
    assert response.status_code == 201, response.json
    return response.json["id"]


def add_job(client, source_id, source_root, target_root, name="movies", **fields):
    body = {"name": name, "source": source_id, "source_root": str(source_root),
            "target_root": str(target_root), **fields}
    response = client.post("/api/v1/jobs", json=body)
    assert response.status_code == 201, response.json
    return response.json["id"]


def run_now(client, job_id, **body):
    return client.post(f"/api/v1/jobs/{job_id}/run", json=body)


def finished(client, run_id):
    run = client.get(f"/api/v1/runs/{run_id}").json
    return run if run["status"] in FINAL else None


@pytest.fixture
def slow_openlist(tmp_path):
    """An OpenList stand-in serving /Library (SLOW_FOLDERS folders) with SLOW_LATENCY per call;
    yields its source record for the API (one request at a time)."""
    make_files(tmp_path / "storage/Library", {f"t{f:02d}/e{n}.mkv": "v"
                                              for f in range(SLOW_FOLDERS)
                                              for n in range(SLOW_FILES)})
    with OpenListStandIn(tmp_path / "storage", users=[User("alice", "alice-pw")]) as server:
        server.faults.latency = SLOW_LATENCY
        yield {"name": "slow", "kind": "openlist", "url": server.url, "username": "alice",
               "password": "alice-pw", "concurrency": 1}


def big_library(root, count, prefix="f"):
    make_files(root, {f"{prefix}{i % 40}/{prefix}{i}.mkv": "v" for i in range(count)})


def test_manual_run_through_the_queue(client, workers, tmp_path):
    make_files(tmp_path / "lib", {"Heat (1995)/Heat.mkv": "v", "Heat (1995)/Heat.nfo": "n"})
    job = add_job(client, add_source(client, tmp_path / "lib"), tmp_path / "lib",
                  tmp_path / "strm")
    workers(1)
    response = run_now(client, job)
    assert response.status_code == 202 and response.json["queued"] is True
    run = wait_for(lambda: finished(client, response.json["run_id"]))
    assert run["status"] == "succeeded" and run["trigger"] == "manual"
    assert (run["created"], run["meta_copied"]) == (1, 1)
    assert tree(tmp_path / "strm") == {
        "Heat (1995)/Heat.strm": str(tmp_path / "lib/Heat (1995)/Heat.mkv").encode(),
        "Heat (1995)/Heat.nfo": b"n"}
    log = client.get(f"/api/v1/runs/{run['id']}/log").json["lines"]
    assert any("run succeeded" in line["message"] for line in log)
    assert client.get(f"/api/v1/runs/{run['id']}/log?level=error").json["lines"] == []
    changes = client.get(f"/api/v1/runs/{run['id']}/changes").json["changes"]
    assert {c["path"] for c in changes} == {"Heat (1995)/Heat.strm", "Heat (1995)/Heat.nfo"}


def test_duplicate_triggers_are_coalesced(client, tmp_path):
    make_files(tmp_path / "lib", {"a.mkv": "v"})
    job = add_job(client, add_source(client, tmp_path / "lib"), tmp_path / "lib",
                  tmp_path / "strm")
    first = run_now(client, job)
    second = run_now(client, job)
    assert first.status_code == 202
    assert second.status_code == 409 and second.json["run_id"] == first.json["run_id"]
    assert "already queued" in second.json["error"]
    assert run_now(client, job, mode="incremental").status_code == 202
    assert run_now(client, job, dry_run=True).status_code == 202
    assert client.get("/api/v1/runs").json["total"] == 3


def test_cancel_a_queued_run(client, tmp_path):
    make_files(tmp_path / "lib", {"a.mkv": "v"})
    job = add_job(client, add_source(client, tmp_path / "lib"), tmp_path / "lib",
                  tmp_path / "strm")
    run_id = run_now(client, job).json["run_id"]
    response = client.post(f"/api/v1/runs/{run_id}/cancel")
    assert response.status_code == 202 and response.json["status"] == "cancelled"
    assert client.get(f"/api/v1/runs/{run_id}").json["status"] == "cancelled"
    assert client.post(f"/api/v1/runs/{run_id}/cancel").status_code == 409
    assert run_now(client, job).status_code == 202  # a new run may be queued again


def test_cancel_a_running_run(client, workers, tmp_path, slow_openlist):
    source = client.post("/api/v1/sources", json=slow_openlist).json["id"]
    job = add_job(client, source, "/Library", tmp_path / "strm", options={"concurrency": 1})
    workers(1)
    run_id = run_now(client, job).json["run_id"]
    wait_for(lambda: (client.get(f"/api/v1/runs/{run_id}").json.get("progress") or {})
             .get("scanned"))
    assert client.post(f"/api/v1/runs/{run_id}/cancel").json["status"] == "cancelling"
    run = wait_for(lambda: finished(client, run_id))
    assert run["status"] == "cancelled"
    written = tree(tmp_path / "strm")
    assert 0 < len(written) < SLOW_FOLDERS * SLOW_FILES
    assert not [p for p in written if p.endswith(".strmsync-tmp")]


def test_live_progress_is_readable_while_running(client, workers, tmp_path):
    big_library(tmp_path / "lib", 20000)
    job = add_job(client, add_source(client, tmp_path / "lib"), tmp_path / "lib",
                  tmp_path / "strm", options={"concurrency": 1})
    workers(1)
    run_id = run_now(client, job).json["run_id"]
    progress = wait_for(lambda: client.get(f"/api/v1/runs/{run_id}").json.get("progress"))
    assert {"scanned", "created", "rate", "eta_s", "total", "phase"} <= set(progress)
    assert wait_for(lambda: finished(client, run_id))["status"] == "succeeded"


def intervals(client, run_ids):
    runs = [client.get(f"/api/v1/runs/{run_id}").json for run_id in run_ids]
    return [(run["started_at"], run["finished_at"]) for run in runs]


def test_runs_on_one_target_are_serialised(client, workers, tmp_path):
    big_library(tmp_path / "a", 8000, "a")
    big_library(tmp_path / "b", 8000, "b")
    source = add_source(client, tmp_path)
    one = add_job(client, source, tmp_path / "a", tmp_path / "strm", name="one",
                  options={"concurrency": 1})
    two = add_job(client, source, tmp_path / "b", tmp_path / "strm/b", name="two",
                  options={"concurrency": 1})
    workers(2)
    ids = [run_now(client, one).json["run_id"], run_now(client, two).json["run_id"]]
    for run_id in ids:
        assert wait_for(lambda r=run_id: finished(client, r))["status"] == "succeeded"
    (s1, e1), (s2, e2) = intervals(client, ids)
    assert e1 <= s2 or e2 <= s1, "runs on overlapping targets ran at the same time"


def test_runs_on_different_targets_run_in_parallel(client, workers, tmp_path):
    big_library(tmp_path / "a", 8000, "a")
    big_library(tmp_path / "b", 8000, "b")
    source = add_source(client, tmp_path)
    one = add_job(client, source, tmp_path / "a", tmp_path / "strm-a", name="one",
                  options={"concurrency": 1})
    two = add_job(client, source, tmp_path / "b", tmp_path / "strm-b", name="two",
                  options={"concurrency": 1})
    procs = workers(2)
    wait_for(lambda: all(b"Listening" in b"" or p.poll() is None for p in procs))
    ids = [run_now(client, one).json["run_id"], run_now(client, two).json["run_id"]]
    for run_id in ids:
        assert wait_for(lambda r=run_id: finished(client, r))["status"] == "succeeded"
    (s1, e1), (s2, e2) = intervals(client, ids)
    assert s1 < e2 and s2 < e1, "runs on separate targets did not overlap"


def test_one_run_at_a_time_setting(client, workers, tmp_path):
    big_library(tmp_path / "a", 6000, "a")
    big_library(tmp_path / "b", 6000, "b")
    source = add_source(client, tmp_path)
    one = add_job(client, source, tmp_path / "a", tmp_path / "strm-a", name="one")
    two = add_job(client, source, tmp_path / "b", tmp_path / "strm-b", name="two")
    workers(2, STRMSYNC_ONE_RUN_AT_A_TIME="1")
    ids = [run_now(client, one).json["run_id"], run_now(client, two).json["run_id"]]
    for run_id in ids:
        assert wait_for(lambda r=run_id: finished(client, r))["status"] == "succeeded"
    (s1, e1), (s2, e2) = intervals(client, ids)
    assert e1 <= s2 or e2 <= s1


def test_cron_triggers_a_run_and_follows_edits(client, workers, tmp_path, settings):
    make_files(tmp_path / "lib", {"a.mkv": "v"})
    job = add_job(client, add_source(client, tmp_path / "lib"), tmp_path / "lib",
                  tmp_path / "strm", schedule="0 3 * * *")
    assert len(client.get(f"/api/v1/jobs/{job}").json["next_runs"]) == 3
    store = Store(settings.database_path)
    conn = connect(settings.redis_url)
    scheduler = Scheduler(store, conn)
    now = datetime.now(timezone.utc)
    assert scheduler.tick(now) == []
    assert client.patch(f"/api/v1/jobs/{job}", json={"schedule": "*/5 * * * *"}).status_code == 200
    queued = scheduler.tick(now + timedelta(minutes=6))
    assert len(queued) == 1
    workers(1)
    run = wait_for(lambda: finished(client, queued[0]))
    assert run["status"] == "succeeded" and run["trigger"] == "cron"
    assert (tmp_path / "strm/a.strm").exists()
    client.patch(f"/api/v1/jobs/{job}", json={"schedule": ""})
    assert scheduler.tick(now + timedelta(days=2)) == []
    store.close()
    conn.close()


def test_run_on_start(client, settings, tmp_path):
    make_files(tmp_path / "lib", {"a.mkv": "v"})
    job = add_job(client, add_source(client, tmp_path / "lib"), tmp_path / "lib",
                  tmp_path / "strm", run_on_start=True)
    store = Store(settings.database_path)
    queued = Scheduler(store, connect(settings.redis_url)).run_startup_jobs()
    assert len(queued) == 1 and store.run(queued[0])["trigger"] == "startup"
    assert store.run(queued[0])["job_id"] == job
    store.close()


def test_a_killed_workers_run_is_marked_failed(client, workers, tmp_path, settings):
    big_library(tmp_path / "lib", 20000)
    job = add_job(client, add_source(client, tmp_path / "lib"), tmp_path / "lib",
                  tmp_path / "strm", options={"concurrency": 1})
    (proc,) = workers(1, STRMSYNC_HEARTBEAT_TTL="2")
    run_id = run_now(client, job).json["run_id"]
    wait_for(lambda: client.get(f"/api/v1/runs/{run_id}").json["status"] == "running")
    # RQ's work horse runs in its own process group: kill it and its worker together.
    family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    assert len(family) == 2
    for member in family:
        member.kill()
    proc.wait()
    store = Store(settings.database_path)
    conn = connect(settings.redis_url)
    wait_for(lambda: reap_dead_runs(store, conn), timeout=10, interval=0.5)
    run = store.run(run_id)
    assert run["status"] == "failed" and "worker" in run["error"]
    store.close()
    conn.close()


def test_api_validation_messages(client, tmp_path):
    assert client.post("/api/v1/sources", data="nope",
                       content_type="application/json").status_code == 400
    bad = client.post("/api/v1/sources", json={"name": "x", "kind": "ftp"})
    assert bad.status_code == 400 and bad.json["error"].startswith("kind:")
    bad = client.post("/api/v1/sources", json={"name": "x", "kind": "local", "root": "rel"})
    assert bad.json["error"].startswith("root:")
    source = add_source(client, tmp_path / "lib")
    bad = client.post("/api/v1/jobs", json={"name": "j", "source": source,
                                            "source_root": str(tmp_path / "lib"),
                                            "target_root": str(tmp_path / "strm"),
                                            "schedule": "every night"})
    assert bad.status_code == 400 and bad.json["error"].startswith("schedule:")
    bad = client.post("/api/v1/jobs", json={"name": "j", "source": source,
                                            "source_root": str(tmp_path / "lib"),
                                            "target_root": str(tmp_path / "lib/strm")})
    assert bad.status_code == 400 and bad.json["error"].startswith("target_root:")
    bad = client.post("/api/v1/jobs", json={"name": "j", "source": source,
                                            "source_root": str(tmp_path / "lib"),
                                            "target_root": str(tmp_path / "strm"),
                                            "options": {"strm_mode": "mount"}})
    assert bad.json["error"] == "options.mount_prefix: required when strm_mode is 'mount'"
    assert client.get("/api/v1/runs/999").status_code == 404
    assert client.get("/api/v1/runs?status=weird").status_code == 400
    assert client.delete(f"/api/v1/sources/{source}").status_code == 204


def test_secrets_are_stored_but_never_returned(client, settings):
    response = client.post("/api/v1/sources", json={
        "name": "cloud", "kind": "openlist", "url": "http://nas:5244", "token": "s3cr3t"})
    assert response.status_code == 201
    assert "s3cr3t" not in response.get_data(as_text=True)
    assert response.json["secrets_set"] == ["token"]
    listed = client.get("/api/v1/sources").get_data(as_text=True)
    assert "s3cr3t" not in listed
    store = Store(settings.database_path)
    assert store.source("cloud")["secrets"] == {"token": "s3cr3t"}
    store.close()
    edited = client.patch(f"/api/v1/sources/{response.json['id']}", json={"qps": 2})
    assert edited.json["secrets_set"] == ["token"] and edited.json["qps"] == 2


def test_health_reports_every_part(client, workers):
    workers(1)
    health = wait_for(lambda: (lambda h: h if h["workers"]["count"] else None)(
        client.get("/api/v1/health").json))
    assert health["redis"]["ok"] and health["database"]["ok"]
    assert health["fastscan"] in ("compiled", "pure")
    assert health["workers"]["count"] == 1


def test_history_filters_and_paging(client, settings, tmp_path):
    make_files(tmp_path / "lib", {"a.mkv": "v"})
    source = add_source(client, tmp_path / "lib")
    one = add_job(client, source, tmp_path / "lib", tmp_path / "s1", name="one")
    two = add_job(client, source, tmp_path / "lib", tmp_path / "s2", name="two")
    store = Store(settings.database_path)
    conn = connect(settings.redis_url)
    for mode in ("full", "incremental"):
        enqueue_run(store, conn, one, mode, "manual")
        enqueue_run(store, conn, two, mode, "manual")
    store.close()
    conn.close()
    page = client.get("/api/v1/runs?job=one&per_page=1&page=2").json
    assert page["total"] == 2 and len(page["runs"]) == 1 and page["runs"][0]["job_id"] == one
    assert client.get("/api/v1/runs?status=queued").json["total"] == 4
    assert client.get("/api/v1/runs?status=succeeded").json["total"] == 0


@pytest.fixture
def serve(tmp_path, data_dir):
    """Start `strmsync serve` on embedded Redis: `serve(workers)` -> (process, base URL)."""
    started = []

    def start(workers: int = 1):
        env = strmsync_env(data_dir, STRMSYNC_WORKERS=str(workers), STRMSYNC_PORT="0",
                           STRMSYNC_PANEL_PASSWORD=API_PASSWORD)
        env.pop("REDIS_URL", None)
        out = tmp_path / f"serve-{len(started)}.out"
        with open(out, "w") as sink, open(out.with_suffix(".err"), "w") as errors:
            proc = subprocess.Popen([sys.executable, "-m", "strmsync", "serve", "--host",
                                     "127.0.0.1"], env=env, stdout=sink, stderr=errors)
        started.append(proc)
        return proc, wait_for(lambda: _served_url(out))

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


http = authed_http


def _served_url(out):
    text = out.read_text() if out.exists() else ""
    return text.split("serving on ")[1].split()[0] + "/api/v1" if "serving on " in text else None


def test_serve_keeps_queued_runs_across_a_restart(tmp_path, data_dir, serve):
    make_files(tmp_path / "lib", {"a.mkv": "v"})
    first, api = serve(workers=0)
    source = http.post(f"{api}/sources", json={"name": "mnt", "kind": "local",
                                                   "root": str(tmp_path / "lib")}).json()
    job = http.post(f"{api}/jobs", json={
        "name": "m", "source": source["id"], "source_root": str(tmp_path / "lib"),
        "target_root": str(tmp_path / "strm")}).json()
    run_id = http.post(f"{api}/jobs/{job['id']}/run", json={}).json()["run_id"]
    assert http.get(f"{api}/runs/{run_id}").json()["status"] == "queued"
    first.send_signal(signal.SIGTERM)
    assert first.wait(60) == 0
    second, api = serve(workers=1)
    run = wait_for(lambda: (lambda r: r if r["status"] in FINAL else None)(
        http.get(f"{api}/runs/{run_id}").json()))
    assert run["status"] == "succeeded"
    assert (tmp_path / "strm/a.strm").exists()
    second.send_signal(signal.SIGTERM)
    assert second.wait(60) == 0


def test_sigterm_cancels_a_running_sync_at_a_safe_point(tmp_path, data_dir, serve,
                                                        slow_openlist):
    proc, api = serve(workers=1)
    source = http.post(f"{api}/sources", json=slow_openlist).json()
    job = http.post(f"{api}/jobs", json={
        "name": "m", "source": source["id"], "source_root": "/Library",
        "target_root": str(tmp_path / "strm"), "options": {"concurrency": 1}}).json()
    run_id = http.post(f"{api}/jobs/{job['id']}/run", json={}).json()["run_id"]
    wait_for(lambda: (http.get(f"{api}/runs/{run_id}").json().get("progress") or {})
             .get("scanned"))
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    store = Store(data_dir / "strmsync.db")
    assert store.run(run_id)["status"] == "cancelled"
    store.close()
    written = tree(tmp_path / "strm")
    assert 0 < len(written) < SLOW_FOLDERS * SLOW_FILES
    assert not [p for p in written if p.endswith(".strmsync-tmp")]
    assert all(content == f"/Library/{rel[:-5]}.mkv".encode()  # strm_mode path
               for rel, content in written.items())


def test_cli_manages_sources_and_jobs(tmp_path, data_dir):
    def cli(*argv):
        return subprocess.run([sys.executable, "-m", "strmsync", *argv], capture_output=True,
                              text=True, env=strmsync_env(data_dir))

    make_files(tmp_path / "lib", {"a.mkv": "v"})
    assert cli("source", "add", "mnt", "--kind", "local", "--root",
               str(tmp_path / "lib")).returncode == 0
    bad = cli("job", "add", "m", "--source", "mnt", "--from", str(tmp_path / "lib"), "--to",
              str(tmp_path / "strm"), "--schedule", "daily")
    assert bad.returncode == 2 and "schedule: not a valid cron expression" in bad.stderr
    assert cli("job", "add", "m", "--source", "mnt", "--from", str(tmp_path / "lib"), "--to",
               str(tmp_path / "strm"), "--schedule", "0 3 * * *").returncode == 0
    listed = cli("job", "list")
    assert "m" in listed.stdout and "0 3 * * *" in listed.stdout
    assert cli("source", "test", "mnt").stdout.startswith("source mnt: ok")
    assert cli("source", "remove", "mnt").returncode == 2
