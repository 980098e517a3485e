"""Runs through the queue tell their Emby/Jellyfin servers what changed."""

import socket

import pytest

from tests.conftest import make_files, wait_for
from tests.standins.mediaserver import Library, MediaServerStandIn

FINAL = ("succeeded", "partial", "failed", "cancelled")


@pytest.fixture
def jellyfin():
    with MediaServerStandIn("jellyfin", api_key="jf-key",
                            libraries=[Library("Films", ["/mnt/strm"])]) as server:
        yield server


@pytest.fixture
def emby():
    with MediaServerStandIn("emby", api_key="emby-key") as server:
        yield server


def setup_job(client, tmp_path, servers):
    source = client.post("/api/v1/sources", json={"name": "mnt", "kind": "local",
                                                  "root": str(tmp_path / "lib")}).json["id"]
    names = []
    for name, kind, url, key in servers:
        response = client.post("/api/v1/mediaservers", json={
            "name": name, "kind": kind, "url": url, "api_key": key,
            "path_map": [[str(tmp_path / "strm"), "/mnt/strm"]]})
        assert response.status_code == 201, response.json
        assert key not in response.get_data(as_text=True)
        names.append(name)
    response = client.post("/api/v1/jobs", json={
        "name": "films", "source": source, "source_root": str(tmp_path / "lib"),
        "target_root": str(tmp_path / "strm"), "media_servers": names})
    assert response.status_code == 201, response.json
    assert response.json["media_servers"] == sorted(names)
    return response.json["id"]


def run_and_wait(client, job_id, **body):
    run_id = client.post(f"/api/v1/jobs/{job_id}/run", json=body).json["run_id"]
    return wait_for(lambda: (lambda r: r if r["status"] in FINAL else None)(
        client.get(f"/api/v1/runs/{run_id}").json))


def log_text(client, run_id):
    return "\n".join(line["message"] for line in
                     client.get(f"/api/v1/runs/{run_id}/log").json["lines"])


def updates(server):
    return [update for call in server.calls_to("/Library/Media/Updated")
            for update in call.body["Updates"]]


def test_changed_folders_are_sent_mapped_with_each_products_auth(
        client, workers, tmp_path, jellyfin, emby):
    make_files(tmp_path / "lib", {"Heat (1995)/Heat.mkv": "v", "Alien (1979)/Alien.mkv": "v"})
    job = setup_job(client, tmp_path, [("living room", "jellyfin", jellyfin.url, "jf-key"),
                                       ("den", "emby", emby.url, "emby-key")])
    workers(1)
    run = run_and_wait(client, job)
    assert run["status"] == "succeeded"
    wait_for(lambda: updates(jellyfin) and updates(emby))
    expected = [{"Path": "/mnt/strm/Alien (1979)", "UpdateType": "Created"},
                {"Path": "/mnt/strm/Heat (1995)", "UpdateType": "Created"}]
    for server in (jellyfin, emby):
        assert sorted(updates(server), key=lambda u: u["Path"]) == expected
    (jf_call,) = jellyfin.calls_to("/Library/Media/Updated")
    assert jf_call.headers["Authorization"] == 'MediaBrowser Token="jf-key"'
    (emby_call,) = emby.calls_to("/Library/Media/Updated")
    assert emby_call.headers["X-Emby-Token"] == "emby-key"
    assert wait_for(lambda: "living room" in log_text(client, run["id"]))


def test_no_call_for_a_no_op_run_or_a_dry_run(client, workers, tmp_path, jellyfin):
    make_files(tmp_path / "lib", {"Heat/Heat.mkv": "v"})
    job = setup_job(client, tmp_path, [("jf", "jellyfin", jellyfin.url, "jf-key")])
    workers(1)
    run_and_wait(client, job)
    wait_for(lambda: jellyfin.calls_to("/Library/Media/Updated"))
    before = len(jellyfin.calls)
    assert run_and_wait(client, job)["skipped"] == 1
    make_files(tmp_path / "lib", {"New/New.mkv": "v"})
    dry = run_and_wait(client, job, dry_run=True)
    assert dry["created"] == 1 and dry["dry_run"] is True
    # One worker runs tasks in turn: once the next one ends, the dry run's task (and any
    # notification it would have sent) is over.
    run_and_wait(client, job, dry_run=True, mode="incremental")
    assert len(jellyfin.calls) == before


def test_deletions_are_reported_as_deleted(client, workers, tmp_path, jellyfin):
    make_files(tmp_path / "lib", {f"Show/e{i}.mkv": "v" for i in range(10)})
    job = setup_job(client, tmp_path, [("jf", "jellyfin", jellyfin.url, "jf-key")])
    workers(1)
    run_and_wait(client, job)
    wait_for(lambda: jellyfin.calls_to("/Library/Media/Updated"))
    (tmp_path / "lib/Show/e0.mkv").unlink()
    jellyfin.calls.clear()
    run = run_and_wait(client, job)
    assert run["deleted"] == 1
    wait_for(lambda: jellyfin.calls_to("/Library/Media/Updated"))
    assert updates(jellyfin) == [{"Path": "/mnt/strm/Show", "UpdateType": "Deleted"}]


def test_many_folders_refresh_the_library_instead(client, workers, tmp_path, jellyfin):
    make_files(tmp_path / "lib", {f"Film {i}/f.mkv": "v" for i in range(8)})
    job = setup_job(client, tmp_path, [("jf", "jellyfin", jellyfin.url, "jf-key")])
    client.patch("/api/v1/mediaservers/1", json={"refresh_threshold": 5})
    workers(1)
    run_and_wait(client, job)
    wait_for(lambda: [c for c in jellyfin.calls if c.route.endswith("/Refresh")])
    assert jellyfin.calls_to("/Library/Media/Updated") == []
    (refresh,) = [c for c in jellyfin.calls if c.route.endswith("/Refresh")]
    assert refresh.route == f"/Items/{jellyfin.libraries[0].item_id}/Refresh"


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_broken_media_server_never_fails_the_run(client, workers, tmp_path, jellyfin):
    make_files(tmp_path / "lib", {"Heat/Heat.mkv": "v"})
    job = setup_job(client, tmp_path, [
        ("wrong key", "jellyfin", jellyfin.url, "not-the-key"),
        ("gone", "emby", f"http://127.0.0.1:{closed_port()}", "gone-key")])
    workers(1)
    run = run_and_wait(client, job)
    assert run["status"] == "succeeded" and run["created"] == 1
    # Media servers are told after the run has ended, so their lines arrive a little later.
    log = wait_for(lambda: (lambda t: t if "cannot reach" in t else None)(
        log_text(client, run["id"])))
    assert "401" in log and "check the API key" in log
    assert "cannot reach" in log
    assert jellyfin.calls and all(call.status == 401 for call in jellyfin.calls)


def test_mediaserver_api_validation_and_test_action(client, jellyfin):
    bad = client.post("/api/v1/mediaservers", json={"name": "x", "kind": "plex",
                                                    "url": "http://h", "api_key": "k"})
    assert bad.status_code == 400 and bad.json["error"].startswith("kind:")
    bad = client.post("/api/v1/mediaservers", json={"name": "x", "kind": "emby",
                                                    "url": "ftp://h", "api_key": "k"})
    assert bad.json["error"].startswith("url:")
    made = client.post("/api/v1/mediaservers", json={"name": "jf", "kind": "jellyfin",
                                                     "url": jellyfin.url, "api_key": "jf-key"})
    tested = client.post(f"/api/v1/mediaservers/{made.json['id']}/test")
    assert tested.status_code == 200 and tested.json["libraries"][0]["name"] == "Films"
    client.patch(f"/api/v1/mediaservers/{made.json['id']}", json={"api_key": "wrong"})
    failed = client.post(f"/api/v1/mediaservers/{made.json['id']}/test")
    assert failed.status_code == 502 and "401" in failed.json["error"]
