"""Watch mode: real file changes under a watched folder reach the target tree."""

import pytest

from strmsync.service.queue import connect
from strmsync.store import Store
from strmsync.watchers.manager import Watchers
from tests.conftest import make_files, tree, wait_for


@pytest.fixture
def watched(client, settings, workers, tmp_path):
    lib = tmp_path / "lib"
    make_files(lib, {"Old/old.mkv": "v"})
    source = client.post("/api/v1/sources", json={"name": "mnt", "kind": "local",
                                                  "root": str(lib)}).json
    job = client.post("/api/v1/jobs", json={
        "name": "watched", "source": source["id"], "source_root": str(lib),
        "target_root": str(tmp_path / "strm"), "watch": True,
        "options": {"settle_delay": 0, "max_delete": 1.0}}).json
    workers(1)
    run_id = client.post(f"/api/v1/jobs/{job['id']}/run", json={}).json["run_id"]
    wait_for(lambda: client.get(f"/api/v1/runs/{run_id}").json["status"] == "succeeded")
    store = Store(settings.database_path)
    watchers = Watchers(store, connect(settings.redis_url), poll=0.2).start()
    yield {"lib": lib, "target": tmp_path / "strm", "job": job, "watchers": watchers,
           "store": store}
    watchers.stop()
    store.close()


def test_new_files_and_folders_appear(watched):
    lib, target = watched["lib"], watched["target"]
    make_files(lib, {"Old/new.mkv": "v"})
    (lib / "Fresh" / "Season 1").mkdir(parents=True)
    make_files(lib, {"Fresh/Season 1/e1.mkv": "v", "Fresh/Season 1/e1.nfo": "n"})
    wait_for(lambda: (target / "Old/new.strm").exists()
             and (target / "Fresh/Season 1/e1.strm").exists()
             and (target / "Fresh/Season 1/e1.nfo").exists())
    assert (target / "Fresh/Season 1/e1.strm").read_text() == str(lib / "Fresh/Season 1/e1.mkv")


def test_renames_and_deletes_follow(watched):
    lib, target = watched["lib"], watched["target"]
    (lib / "Old/old.mkv").rename(lib / "Old/renamed.mkv")
    wait_for(lambda: (target / "Old/renamed.strm").exists()
             and not (target / "Old/old.strm").exists())
    (lib / "Old/renamed.mkv").unlink()
    wait_for(lambda: not (target / "Old").exists())
    assert tree(target) == {}


def test_watching_follows_job_edits(watched, client):
    job_id = watched["job"]["id"]
    assert job_id in watched["watchers"].active
    client.patch(f"/api/v1/jobs/{job_id}", json={"watch": False})
    wait_for(lambda: job_id not in watched["watchers"].active)
    make_files(watched["lib"], {"Old/unwatched.mkv": "v"})
    client.patch(f"/api/v1/jobs/{job_id}", json={"watch": True})
    wait_for(lambda: job_id in watched["watchers"].active)
    make_files(watched["lib"], {"Old/watched.mkv": "v"})
    wait_for(lambda: (watched["target"] / "Old/watched.strm").exists())
    assert not (watched["target"] / "Old/unwatched.strm").exists()


def test_clouddrive2_push_messages_are_followed(client, settings, workers, cd2_server,
                                                remote_storage, tmp_path):
    source = client.post("/api/v1/sources", json={
        "name": "cd2", "kind": "clouddrive2", "address": cd2_server.address,
        "token": cd2_server.api_token}).json
    job = client.post("/api/v1/jobs", json={
        "name": "pushed", "source": source["id"], "source_root": "/115open/Media/Movies",
        "target_root": str(tmp_path / "strm"), "watch": True,
        "options": {"settle_delay": 0, "max_delete": 1.0, "strm_mode": "path"}}).json
    workers(1)
    store = Store(settings.database_path)
    watchers = Watchers(store, connect(settings.redis_url), poll=0.2).start()
    try:
        assert cd2_server.wait_for_subscribers(1, timeout=10)
        make_files(remote_storage / "115open/Media/Movies", {"New (2024)/New.mkv": "v"})
        cd2_server.push_change("CREATE", "/115open/Media/Movies/New (2024)/New.mkv")
        cd2_server.push_change("CREATE", "/115open/Media/Shows/elsewhere.mkv")
        strm = tmp_path / "strm/New (2024)/New.strm"
        wait_for(strm.exists)
        assert strm.read_text() == "/115open/Media/Movies/New (2024)/New.mkv"
        assert set(tree(tmp_path / "strm")) == {"New (2024)/New.strm"}
        (remote_storage / "115open/Media/Movies/New (2024)/New.mkv").rename(
            remote_storage / "115open/Media/Movies/New (2024)/Newer.mkv")
        cd2_server.push_change("RENAME", "/115open/Media/Movies/New (2024)/New.mkv",
                               "/115open/Media/Movies/New (2024)/Newer.mkv")
        wait_for(lambda: set(tree(tmp_path / "strm")) == {"New (2024)/Newer.strm"})
        runs = client.get(f"/api/v1/runs?job={job['id']}").json["runs"]
        assert {run["trigger"] for run in runs} == {"watch"}
        assert {run["mode"] for run in runs} == {"events"}
    finally:
        watchers.stop()
        store.close()


def test_push_watcher_reconnects_after_the_server_drops(cd2_server):
    from strmsync.watchers.clouddrive2 import PushWatcher

    got = []
    cd2_server.faults.fail("unavailable", endpoint="PushMessage", times=2)
    watcher = PushWatcher({"name": "cd2", "kind": "clouddrive2", "id": 1,
                           "config": {"address": cd2_server.address},
                           "secrets": {"token": cd2_server.api_token}, "qps": 0,
                           "concurrency": 2}, got.extend).start()
    try:
        assert cd2_server.wait_for_subscribers(1, timeout=15)
        assert cd2_server.traffic.calls["PushMessage"] == 3  # two refusals, then subscribed
        cd2_server.push_change("DELETE", "/a/b.mkv")
        wait_for(lambda: got)
        assert got[0].action == "delete" and got[0].path == "/a/b.mkv"
    finally:
        watcher.stop()
