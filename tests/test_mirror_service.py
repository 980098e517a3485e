"""Mirror jobs in the service: SMB sources and mirror jobs through the API, `then` chains
and pause/resume through real RQ workers, against a real Samba server."""

import os
import time

import pytest

from strmsync.service import runslots
from strmsync.service.queue import connect
from strmsync.service.tasks import perform_run
from strmsync.store import Store
from tests.conftest import make_files, tree, wait_for

FINAL = ("succeeded", "partial", "failed", "cancelled")


def add_smb_source(client, share, name="nas", **fields):
    server = share.server
    body = {"name": name, "kind": "smb", "host": server.host, "port": server.port,
            "share": server.share, "path": share.path, "username": server.username,
            "password": server.password, **fields}
    response = client.post("/api/v1/sources", json=body)
    assert response.status_code == 201, response.json
    return response.json


def add_mirror_job(client, local, name="push", source="nas", **fields):
    body = {"kind": "mirror", "name": name, "source": source, "local_root": str(local),
            **fields}
    response = client.post("/api/v1/jobs", json=body)
    assert response.status_code == 201, response.json
    return response.json


def finished(client, run_id):
    run = client.get(f"/api/v1/runs/{run_id}").json
    return run if run["status"] in FINAL else None


def test_smb_source_keeps_its_password_and_tests_the_share(client, smb_share):
    shown = add_smb_source(client, smb_share)
    assert "password" not in shown and shown["secrets_set"] == ["password"]
    assert smb_share.server.password not in str(client.get("/api/v1/sources").json)
    response = client.post(f"/api/v1/sources/{shown['id']}/test")
    assert response.status_code == 200, response.json
    assert response.json["connected"] is True

    client.patch(f"/api/v1/sources/{shown['id']}", json={"password": "not-it"})
    response = client.post(f"/api/v1/sources/{shown['id']}/test")
    assert response.status_code == 502
    assert "logon" in response.json["error"] and "not-it" not in response.json["error"]


def test_smb_source_errors_name_every_field(client):
    response = client.post("/api/v1/sources", json={
        "name": "nas", "kind": "smb", "host": "bad host", "share": "a/b", "port": "445",
        "path": "../up", "share_name": "x"})
    assert response.status_code == 400
    assert set(response.json["errors"]) == {"host", "share", "port", "path", "share_name"}
    assert client.get("/api/v1/sources").json["sources"] == []


def test_mirror_job_fields_and_errors(client, smb_share, tmp_path, settings):
    add_smb_source(client, smb_share)
    local_source = client.post("/api/v1/sources", json={
        "name": "mnt", "kind": "local", "root": str(tmp_path)}).json
    job = add_mirror_job(client, tmp_path / "strm", options={"mode": "upload",
                                                              "max_delete": "20%"})
    assert job["kind"] == "mirror" and job["local_root"] == str(tmp_path / "strm")
    assert job["options"]["mode"] == "upload" and job["options"]["max_delete"] == 0.2
    assert job["options"]["conflict"] == "keep-both"

    bad = client.post("/api/v1/jobs", json={
        "kind": "mirror", "name": "x", "source": local_source["id"], "local_root": "/",
        "options": {"mode": "sideways", "fast": True}, "target_root": "/t"})
    assert bad.status_code == 400
    assert {"source", "local_root", "options.mode", "options.fast", "target_root"} \
        <= set(bad.json["errors"]), bad.json
    inside_data = client.post("/api/v1/jobs", json={
        "kind": "mirror", "name": "y", "source": "nas", "local_root": str(settings.data_dir)})
    assert inside_data.status_code == 400 and "local_root" in inside_data.json["errors"]
    changed = client.patch(f"/api/v1/jobs/{job['id']}", json={"kind": "strm"})
    assert changed.status_code == 400 and "kind" in changed.json["errors"]
    strm_on_smb = client.post("/api/v1/jobs", json={
        "name": "z", "source": "nas", "source_root": "/a", "target_root": str(tmp_path / "z")})
    assert strm_on_smb.status_code == 400 and "source" in strm_on_smb.json["errors"]
    assert [j["name"] for j in client.get("/api/v1/jobs").json["jobs"]] == ["push"]


def test_a_mirror_folder_inside_a_strm_target_is_allowed_without_warning(client, smb_share,
                                                                          tmp_path):
    make_files(tmp_path / "lib", {"a.mkv": "v"})
    client.post("/api/v1/sources", json={"name": "mnt", "kind": "local",
                                         "root": str(tmp_path / "lib")})
    client.post("/api/v1/jobs", json={"name": "films", "source": "mnt",
                                      "source_root": str(tmp_path / "lib"),
                                      "target_root": str(tmp_path / "strm")})
    add_smb_source(client, smb_share)
    job = add_mirror_job(client, tmp_path / "strm")
    assert "warnings" not in job


def test_then_refuses_loops(client, smb_share, tmp_path):
    add_smb_source(client, smb_share)
    first = add_mirror_job(client, tmp_path / "a", name="a")
    second = add_mirror_job(client, tmp_path / "b", name="b", then=["a"])
    assert second["then"] == ["a"]
    loop = client.patch(f"/api/v1/jobs/{first['id']}", json={"then": ["b"]})
    assert loop.status_code == 400 and "loop" in loop.json["errors"]["then"]
    self_loop = client.patch(f"/api/v1/jobs/{first['id']}", json={"then": ["a"]})
    assert self_loop.status_code == 400
    missing = client.patch(f"/api/v1/jobs/{first['id']}", json={"then": ["nope"]})
    assert missing.status_code == 400 and "no such job" in missing.json["errors"]["then"]
    client.delete(f"/api/v1/jobs/{first['id']}")
    assert client.get(f"/api/v1/jobs/{second['id']}").json["then"] == []


def test_then_chains_a_strm_job_into_a_mirror_job(client, workers, smb_share, tmp_path):
    make_files(tmp_path / "lib", {"Films/A (2020)/A.mkv": "v", "Films/A (2020)/A.nfo": "n"})
    add_smb_source(client, smb_share)
    push = add_mirror_job(client, tmp_path / "strm", options={"mode": "upload"})
    client.post("/api/v1/sources", json={"name": "mnt", "kind": "local",
                                         "root": str(tmp_path / "lib")})
    films = client.post("/api/v1/jobs", json={
        "name": "films", "source": "mnt", "source_root": str(tmp_path / "lib"),
        "target_root": str(tmp_path / "strm"), "then": ["push"]}).json
    workers(1)
    dry = client.post(f"/api/v1/jobs/{films['id']}/run", json={"dry_run": True}).json
    assert wait_for(lambda: finished(client, dry["run_id"]))["status"] == "succeeded"
    run = client.post(f"/api/v1/jobs/{films['id']}/run", json={}).json
    assert wait_for(lambda: finished(client, run["run_id"]))["status"] == "succeeded"
    chained = wait_for(lambda: [r for r in client.get(
        f"/api/v1/runs?job={push['id']}").json["runs"] if r["status"] in FINAL])
    assert len(chained) == 1, "the dry run must not chain"
    assert chained[0]["trigger"] == "then" and chained[0]["status"] == "succeeded"
    assert chained[0]["kind"] == "mirror" and chained[0]["counts"]["uploaded"] == 2
    on_share = tree(smb_share.dir)
    assert on_share["Films/A (2020)/A.strm"] == str(tmp_path / "lib/Films/A (2020)/A.mkv")\
        .encode()
    assert on_share["Films/A (2020)/A.nfo"] == b"n"
    assert ".strmsync-mirror" in on_share


def test_pause_resume_and_stop_through_the_api(client, workers, smb_share, tmp_path):
    # Enough files that the run is still going when each request lands: a small upload is
    # one round trip, and the run sees a pause or stop within the heartbeat's 0.5 s poll.
    count = 1500
    make_files(tmp_path / "local", {f"d{i % 10}/f{i}.nfo": os.urandom(2_000)
                                    for i in range(count)})
    add_smb_source(client, smb_share)
    job = add_mirror_job(client, tmp_path / "local", options={"concurrency": 1})
    workers(1)
    run_id = client.post(f"/api/v1/jobs/{job['id']}/run", json={}).json["run_id"]
    wait_for(lambda: len(list(smb_share.dir.rglob("*.nfo"))) >= 5, timeout=60)
    response = client.post(f"/api/v1/runs/{run_id}/pause")
    assert response.status_code == 202 and response.json["status"] == "paused"
    assert client.get(f"/api/v1/runs/{run_id}").json["status"] == "paused"
    time.sleep(1.5)  # the transfer under way when the pause came finishes first
    held = len(list(smb_share.dir.rglob("*.nfo")))
    time.sleep(1.5)
    assert len(list(smb_share.dir.rglob("*.nfo"))) == held < count
    progress = client.get(f"/api/v1/runs/{run_id}").json["progress"]
    assert progress["phase"] == "paused" and progress["files_total"] == count
    assert client.post(f"/api/v1/runs/{run_id}/resume").json["status"] == "running"
    wait_for(lambda: len(list(smb_share.dir.rglob("*.nfo"))) >= held + 5, timeout=60)
    assert client.post(f"/api/v1/runs/{run_id}/pause").status_code == 202
    stopped = client.post(f"/api/v1/runs/{run_id}/cancel")
    assert stopped.status_code == 202
    run = wait_for(lambda: finished(client, run_id))
    assert run["status"] == "cancelled"
    assert 0 < run["counts"]["uploaded"] < count
    uploaded = {p.relative_to(smb_share.dir).as_posix(): p.read_bytes()
                for p in smb_share.dir.rglob("*.nfo")}
    local = tree(tmp_path / "local")
    assert all(local[rel] == data for rel, data in uploaded.items())  # no partial file
    again = client.post(f"/api/v1/jobs/{job['id']}/run", json={}).json["run_id"]
    run = wait_for(lambda: finished(client, again), timeout=120)
    assert run["status"] == "succeeded"
    assert run["counts"]["uploaded"] == count - len(uploaded)


def test_pause_is_refused_for_strm_runs_and_ended_runs(client, tmp_path):
    make_files(tmp_path / "lib", {"a.mkv": "v"})
    client.post("/api/v1/sources", json={"name": "mnt", "kind": "local",
                                         "root": str(tmp_path / "lib")})
    job = client.post("/api/v1/jobs", json={"name": "films", "source": "mnt",
                                            "source_root": str(tmp_path / "lib"),
                                            "target_root": str(tmp_path / "strm")}).json
    run_id = client.post(f"/api/v1/jobs/{job['id']}/run", json={}).json["run_id"]
    assert client.post(f"/api/v1/runs/{run_id}/pause").status_code == 409
    assert client.post("/api/v1/runs/999/pause").status_code == 404


def test_a_mirror_run_holds_its_local_folder_and_its_share_folder(redis_url):
    conn = connect(redis_url)
    try:
        for run_id in (1, 2, 3, 4):
            conn.set(f"strmsync:run:{run_id}:alive", 1, ex=60)
        mirror = ["/media/strm", "smb://nas:445/media/strm"]
        assert runslots.acquire(conn, 1, mirror, False) is None
        assert runslots.acquire(conn, 2, ["/media/strm/Films"], False) == 1
        assert runslots.acquire(conn, 3, ["/elsewhere", "smb://nas:445/media"], False) == 1
        assert runslots.acquire(conn, 4, ["/media/other", "smb://nas:445/media/x"], False) \
            is None
    finally:
        conn.close()


@pytest.mark.parametrize("dry_run", [True, False])
def test_job_cli_adds_and_runs_a_mirror_job(cli, smb_share, tmp_path, dry_run, data_dir,
                                            redis_url, monkeypatch):
    make_files(tmp_path / "local", {"a.nfo": "a"})
    server = smb_share.server
    monkeypatch.setenv("STRMSYNC_SOURCE_PASSWORD", server.password)
    assert cli("--data", data_dir, "source", "add", "nas", "--kind", "smb", "--host",
               server.host, "--port", str(server.port), "--share", server.share, "--path",
               smb_share.path, "--username", server.username).code == 0
    assert cli("--data", data_dir, "source", "test", "nas").code == 0
    result = cli("--data", data_dir, "job", "add", "push", "--kind", "mirror", "--source", "nas",
                       "--local", str(tmp_path / "local"), "--mode", "upload",
                       "--max-delete", "20%")
    assert result.code == 0, result.err
    assert cli("--data", data_dir, "job", "add", "x", "--kind", "mirror", "--source", "nas",
               "--local", str(tmp_path / "x"), "--strm", "url").code == 2
    store, conn = Store(data_dir / "strmsync.db"), connect(redis_url)
    try:
        job = store.job("push")
        assert job["kind"] == "mirror" and job["options"]["max_delete"] == 0.2
        assert job["options"]["mode"] == "upload"
        run_id = store.create_run(job["id"], "full", "manual", dry_run)
        assert perform_run(store, conn, run_id) == "succeeded"
        changes = store.run_changes(run_id)
    finally:
        conn.close()
        store.close()
    assert changes == [{"action": "upload", "kind": "file", "path": "a.nfo"}]
    assert (smb_share.dir / "a.nfo").exists() is not dry_run
    assert (smb_share.dir / ".strmsync-mirror").exists() is not dry_run
