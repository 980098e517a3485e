"""Webhooks from CloudDrive2 and other tools: real HTTP posts, real worker, files on disk."""

import json
import socket

import pytest

from strmsync.store import Store
from tests.conftest import make_files, tree, wait_for

FINAL = ("succeeded", "partial", "failed", "cancelled")


def cd2_payload(*changes, **overrides):
    """CloudDrive2's file_notify body as its template renders it: every value a string."""
    body = {"device_name": "nas", "user_name": "me", "version": "0.9.8",
            "event_category": "file", "event_name": "notify", "event_time": "1795340000",
            "send_time": "1795340001",
            "data": [{"action": action, "is_dir": is_dir, "source_file": src,
                      "destination_file": dst} for action, src, dst, is_dir in changes]}
    body.update(overrides)
    return body


@pytest.fixture
def hooked(client, tmp_path):
    """A local source mapped from CloudDrive2's `/115open`, a job on its Movies folder."""
    lib = tmp_path / "cd2"
    (lib / "Movies").mkdir(parents=True)
    make_files(lib, {"Movies/Old (1990)/Old.mkv": "v", "Movies/Old (1990)/Old.nfo": "n"})
    source = client.post("/api/v1/sources", json={
        "name": "cd2mount", "kind": "local", "root": str(lib),
        "event_map": [["/115open", str(lib)]]}).json
    job = client.post("/api/v1/jobs", json={
        "name": "movies", "source": source["id"], "source_root": str(lib / "Movies"),
        "target_root": str(tmp_path / "strm"),
        "options": {"settle_delay": 0, "max_delete": 1.0}}).json
    token = client.get("/api/v1/settings").json["webhook_token"]
    return {"lib": lib, "target": tmp_path / "strm", "job": job, "token": token}


def post(client, hooked, body, path="/api/v1/webhook/clouddrive2/file_notify", **kwargs):
    headers = {"Authorization": f"Bearer {hooked['token']}", **kwargs.pop("headers", {})}
    return client.post(path, data=body if isinstance(body, str | bytes) else json.dumps(body),
                       content_type=kwargs.pop("content_type", "application/json"),
                       headers=headers, **kwargs)


def wait_run(client, run_id):
    return wait_for(lambda: (lambda r: r if r["status"] in FINAL else None)(
        client.get(f"/api/v1/runs/{run_id}").json))


def full_sync(client, hooked):
    run_id = client.post(f"/api/v1/jobs/{hooked['job']['id']}/run", json={}).json["run_id"]
    assert wait_run(client, run_id)["status"] == "succeeded"


def test_clouddrive2_create_lands_without_a_walk(client, workers, hooked, settings):
    workers(1)
    make_files(hooked["lib"], {"Movies/Heat (1995)/Heat.mkv": "v",
                               "Movies/Heat (1995)/Heat.nfo": "<nfo/>"})
    response = post(client, hooked, cd2_payload(
        ("create", "/115open/Movies/Heat (1995)/Heat.mkv", "", "false"),
        ("create", "/115open/Movies/Heat (1995)/Heat.nfo", "", "false")))
    assert response.status_code == 202, response.json
    assert response.json["accepted"] == 2 and response.json["ignored"] == 0
    run = wait_run(client, response.json["runs"][str(hooked["job"]["id"])])
    assert run["status"] == "succeeded" and run["mode"] == "events"
    assert run["trigger"] == "webhook" and (run["created"], run["meta_copied"]) == (1, 1)
    # Only the named files: the old film was never walked or written.
    assert tree(hooked["target"]) == {
        "Heat (1995)/Heat.strm": str(hooked["lib"] / "Movies/Heat (1995)/Heat.mkv").encode(),
        "Heat (1995)/Heat.nfo": b"<nfo/>"}
    store = Store(settings.database_path)
    assert set(store.load_manifest(hooked["job"]["id"])) == {"Heat (1995)/Heat.strm",
                                                            "Heat (1995)/Heat.nfo"}
    store.close()


def test_a_batch_with_rename_and_delete(client, workers, hooked):
    workers(1)
    make_files(hooked["lib"], {"Movies/A/a.mkv": "v", "Movies/B/b.mkv": "v"})
    full_sync(client, hooked)
    make_files(hooked["target"], {"B/fanart.jpg": "user art"})
    (hooked["lib"] / "Movies/A/a.mkv").rename(hooked["lib"] / "Movies/A/a2.mkv")
    (hooked["lib"] / "Movies/B/b.mkv").unlink()
    response = post(client, hooked, cd2_payload(
        ("rename", "/115open/Movies/A/a.mkv", "/115open/Movies/A/a2.mkv", "false"),
        ("delete", "/115open/Movies/B/b.mkv", "", "false")))
    run = wait_run(client, response.json["runs"][str(hooked["job"]["id"])])
    assert run["status"] == "succeeded", client.get(f"/api/v1/runs/{run['id']}/log").json
    assert (run["created"], run["deleted"]) == (1, 2)
    files = tree(hooked["target"])
    assert "A/a.strm" not in files and "A/a2.strm" in files
    assert "B/b.strm" not in files and files["B/fanart.jpg"] == b"user art"


def test_a_folder_delete_removes_its_managed_subtree(client, workers, hooked):
    workers(1)
    make_files(hooked["lib"], {"Movies/Show/S1/e1.mkv": "v", "Movies/Show/S1/e2.mkv": "v",
                               "Movies/Show/S2/e1.mkv": "v"})
    full_sync(client, hooked)
    for path in sorted((hooked["lib"] / "Movies/Show").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (hooked["lib"] / "Movies/Show").rmdir()
    response = post(client, hooked, cd2_payload(("delete", "/115open/Movies/Show", "", "true")))
    run = wait_run(client, response.json["runs"][str(hooked["job"]["id"])])
    assert run["deleted"] == 3
    assert not (hooked["target"] / "Show").exists()
    assert (hooked["target"] / "Old (1990)/Old.strm").exists()


def test_events_are_checked_against_the_source(client, workers, hooked):
    workers(1)
    full_sync(client, hooked)
    response = post(client, hooked, cd2_payload(
        ("delete", "/115open/Movies/Old (1990)/Old.mkv", "", "false"),
        ("create", "/115open/Movies/Ghost/ghost.mkv", "", "false")))
    run = wait_run(client, response.json["runs"][str(hooked["job"]["id"])])
    assert run["status"] == "succeeded" and run["deleted"] == 0 and run["created"] == 0
    assert (hooked["target"] / "Old (1990)/Old.strm").exists()
    assert not (hooked["target"] / "Ghost").exists()


def test_no_deletion_while_the_source_root_is_empty(client, workers, hooked):
    workers(1)
    full_sync(client, hooked)
    for path in sorted((hooked["lib"] / "Movies").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()   # the mount dropped
    response = post(client, hooked, cd2_payload(
        ("delete", "/115open/Movies/Old (1990)", "", "true")))
    run = wait_run(client, response.json["runs"][str(hooked["job"]["id"])])
    assert run["status"] == "partial" and run["deleted"] == 0
    assert "mount" in run["error"]
    assert (hooked["target"] / "Old (1990)/Old.strm").exists()


def test_token_is_required(client, hooked):
    body = cd2_payload(("create", "/115open/Movies/x.mkv", "", "false"))
    assert client.post("/api/v1/webhook/clouddrive2", json=body).status_code == 401
    wrong = client.post("/api/v1/webhook/clouddrive2", json=body,
                        headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json["error"].startswith("token:")
    ok = client.post(f"/api/v1/webhook/clouddrive2?token={hooked['token']}", json=body)
    assert ok.status_code == 202


@pytest.mark.parametrize("body, message", [
    ("{not json", "body: not valid JSON"),
    ({"data": "nope"}, "data: expected a list"),
    ({"data": [{"action": "explode", "source_file": "/115open/Movies/x.mkv"}]},
     "data[0].action:"),
    ({"data": [{"action": "create", "source_file": "Movies/x.mkv"}]},
     "data[0].source_file: expected an absolute path"),
    ({"data": [{"action": "create", "source_file": "/115open/Movies/../../etc/passwd"}]},
     "data[0].source_file: must not contain '..'"),
    ({"data": [{"action": "create", "source_file": "/115open/Movies/a\u0000.mkv"}]},
     "contains NUL"),
    ({"data": [{"action": "rename", "source_file": "/115open/Movies/a.mkv"}]},
     "data[0].destination_file: expected an absolute path"),
    ({"data": [{"action": "create", "source_file": "/115open/Movies/a.mkv",
                "is_dir": "maybe"}]}, "data[0].is_dir: expected true or false"),
    ([1, 2], "body: expected a JSON object"),
])
def test_malformed_bodies_are_refused_and_change_nothing(client, hooked, settings, body,
                                                         message):
    response = post(client, hooked, body)
    assert response.status_code == 400 and message in response.json["error"]
    store = Store(settings.database_path)
    assert store.pending_events() == {} and store.runs()[1] == 0
    store.close()


def test_a_huge_body_is_refused(client, hooked):
    body = "x" * (2 << 20)
    assert post(client, hooked, body).status_code == 413


def test_paths_outside_every_job_are_ignored(client, hooked, settings):
    response = post(client, hooked, cd2_payload(
        ("create", "/115open/TV/show.mkv", "", "false"),
        ("create", "/aliyun/Movies/x.mkv", "", "false")))
    assert response.status_code == 202
    assert response.json == {"accepted": 0, "ignored": 2, "runs": {}}


def test_other_event_categories_are_acknowledged(client, hooked):
    response = post(client, hooked, cd2_payload(event_category="mount"))
    assert response.status_code == 200 and response.json["accepted"] == 0


def test_generic_events_api(client, workers, hooked):
    workers(1)
    make_files(hooked["lib"], {"Movies/G/g.mkv": "v"})
    response = post(client, hooked, {"job": "movies", "events": [
        {"action": "create", "path": str(hooked["lib"] / "Movies/G/g.mkv")}]},
        path="/api/v1/webhook/events")
    assert response.status_code == 202, response.json
    wait_run(client, response.json["runs"][str(hooked["job"]["id"])])
    assert (hooked["target"] / "G/g.strm").exists()
    missing = post(client, hooked, {"job": "nope", "events": [
        {"action": "create", "path": "/x"}]}, path="/api/v1/webhook/events")
    assert missing.status_code == 404


def test_a_burst_coalesces_and_loses_nothing(client, workers, hooked, settings):
    count = 600
    make_files(hooked["lib"], {f"Movies/Burst/{i:04}.mkv": "v" for i in range(count)})
    run_ids = set()
    for start in range(0, count, 50):
        response = post(client, hooked, cd2_payload(*[
            ("create", f"/115open/Movies/Burst/{i:04}.mkv", "", "false")
            for i in range(start, start + 50)]))
        assert response.status_code == 202
        run_ids.update(response.json["runs"].values())
    workers(1)
    for run_id in run_ids:
        wait_run(client, run_id)
    store = Store(settings.database_path)
    wait_for(lambda: not store.pending_events() and
             store.runs(status="queued")[1] == 0 and store.runs(status="running")[1] == 0)
    store.close()
    assert len(run_ids) <= 3
    assert len([p for p in tree(hooked["target"]) if p.startswith("Burst/")]) == count


def test_settings_show_a_ready_to_paste_clouddrive2_config(client, hooked, settings):
    shown = client.get("/api/v1/settings").json
    assert f'authorization = "Bearer {hooked["token"]}"' in shown["clouddrive2_webhook_toml"]
    assert "/api/v1/webhook/clouddrive2/file_notify" in shown["clouddrive2_webhook_toml"]
    assert shown["webhook_urls"]["events"] == "http://localhost/api/v1/webhook/events"
    # Through Home Assistant's ingress the browser's address is HA's: the add-on's own
    # hostname and port are what another add-on posts to.
    via_ha = client.get("/api/v1/settings", headers={"X-Ingress-Path": "/api/hassio_ingress/t0k"},
                        environ_base={"REMOTE_ADDR": "172.30.32.2"}).json
    own = f"http://{socket.gethostname()}:{settings.port}"
    assert via_ha["webhook_urls"]["clouddrive2"] == own + "/api/v1/webhook/clouddrive2/file_notify"
    assert f'base_url = "{own}"' in via_ha["clouddrive2_webhook_toml"]
    fresh = client.post("/api/v1/settings/webhook-token").json["webhook_token"]
    assert fresh != hooked["token"]
    body = cd2_payload(("create", "/115open/Movies/x.mkv", "", "false"))
    assert post(client, hooked, body).status_code == 401
    assert post(client, {**hooked, "token": fresh}, body).status_code == 202
