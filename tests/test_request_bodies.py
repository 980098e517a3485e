"""Every request body typed: wrong types, unknown fields, deep nesting and NaN are a 400
naming each field, never a 500, and nothing is stored or started (issue: hardening)."""

import json

import pytest

from tests.conftest import make_files

DEEP = b"[" * 5000 + b"]" * 5000


@pytest.fixture
def job(client, tmp_path):
    """A local source and a job on it; yields the job's id."""
    make_files(tmp_path / "lib", {"a.mkv": "v"})
    source = client.post("/api/v1/sources", json={"name": "mnt", "kind": "local",
                                                   "root": str(tmp_path / "lib")})
    assert source.status_code == 201, source.json
    made = client.post("/api/v1/jobs", json={"name": "movies", "source": source.json["id"],
                                             "source_root": str(tmp_path / "lib"),
                                             "target_root": str(tmp_path / "strm")})
    assert made.status_code == 201, made.json
    return made.json["id"]


def runs(client) -> int:
    return client.get("/api/v1/runs").json["total"]


@pytest.mark.parametrize("body, field", [
    ({"dryrun": True}, "dryrun"),
    ({"dry_run": "false"}, "dry_run"),
    ({"dry_run": 0}, "dry_run"),
    ({"mode": "fast"}, "mode"),
    ({"mode": ["full"]}, "mode"),
])
def test_run_now_refuses_a_body_it_cannot_read_and_starts_nothing(client, job, body, field):
    answer = client.post(f"/api/v1/jobs/{job}/run", json=body)
    assert answer.status_code == 400 and field in answer.json["errors"], answer.json
    assert answer.json["error"].startswith(f"{field}: ")
    assert runs(client) == 0


@pytest.mark.parametrize("raw", [b"dry_run=true", b"{not json", b"[1, 2]", b'"x"', DEEP,
                                 b'{"dry_run": NaN}', b"\xff\xfe"])
def test_run_now_refuses_what_is_not_a_json_object(client, job, raw):
    answer = client.post(f"/api/v1/jobs/{job}/run", data=raw,
                         content_type="application/json")
    assert answer.status_code == 400 and "body" in answer.json["errors"], answer.json
    assert runs(client) == 0


def test_run_now_without_a_body_and_with_a_real_one(client, job):
    assert client.post(f"/api/v1/jobs/{job}/run").status_code == 202
    dry = client.post(f"/api/v1/jobs/{job}/run", json={"dry_run": True})
    assert dry.status_code == 202
    assert client.get(f"/api/v1/runs/{dry.json['run_id']}").json["dry_run"] in (1, True)


@pytest.mark.parametrize("change, field, problem", [
    ({"options": "fast"}, "options", "expected an object"),
    ({"source": {"id": 1}}, "source", None),
    ({"media_servers": [{"a": 1}]}, "media_servers[0]", None),
    ({"enabled": "maybe"}, "enabled", "expected true or false"),
    ({"watch": [1]}, "watch", "expected true or false"),
    ({"run_on_start": 1}, "run_on_start", "expected true or false"),
    ({"options": {"settle_delay": "5"}}, "options.settle_delay", "expected a number"),
    ({"options": {"concurrency": 4.5}}, "options.concurrency", "expected a whole number"),
    ({"options": {"concurrency": 0}}, "options.concurrency", "must be at least 1"),
    ({"options": {"fast": True}}, "options.fast", "unknown option"),
    ({"name": "n" * 100_000}, "name", "at most 64 characters"),
    ({"target_root": "/x" * 50_000}, "target_root", "at most 4096 characters"),
    ({"schedule": 5}, "schedule", "expected a string"),
    ({"colour": "red"}, "colour", "not a job field"),
])
def test_a_job_edit_with_a_wrong_type_is_refused_and_changes_nothing(client, job, change,
                                                                      field, problem):
    before = client.get(f"/api/v1/jobs/{job}").json
    answer = client.patch(f"/api/v1/jobs/{job}", json=change)
    assert answer.status_code == 400, answer.json
    assert field in answer.json["errors"], answer.json
    if problem:
        assert answer.json["errors"][field] == problem
    assert client.get(f"/api/v1/jobs/{job}").json == before


def test_nan_and_infinity_never_reach_the_record(client, job):
    before = client.get(f"/api/v1/jobs/{job}").json
    for constant in (b"NaN", b"Infinity", b"-Infinity"):
        raw = b'{"options": {"settle_delay": ' + constant + b"}}"
        answer = client.patch(f"/api/v1/jobs/{job}", data=raw, content_type="application/json")
        assert answer.status_code == 400 and "body" in answer.json["errors"]
    shown = client.get(f"/api/v1/jobs/{job}")
    assert shown.status_code == 200 and shown.json == before
    json.loads(shown.get_data())  # still valid JSON


def test_every_invalid_field_is_reported_at_once(client, job):
    answer = client.post("/api/v1/jobs", json={
        "name": "", "source": 99, "source_root": "relative", "target_root": "also relative",
        "options": {"max_delete": "lots", "concurrency": 0}, "schedule": "every night"})
    assert answer.status_code == 400
    errors = answer.json["errors"]
    assert {"name", "source", "target_root", "options.concurrency", "schedule"} <= set(errors)
    assert answer.json["error"] == f"{next(iter(errors))}: {errors[next(iter(errors))]}"
    empty = client.post("/api/v1/jobs", json={})
    assert set(empty.json["errors"]) == {"name", "source", "source_root", "target_root"}
    assert all(problem == "required" for problem in empty.json["errors"].values())
    assert len(client.get("/api/v1/jobs").json["jobs"]) == 1


@pytest.mark.parametrize("route", ["/api/v1/sources", "/api/v1/jobs", "/api/v1/mediaservers",
                                   "/api/v1/sources/1", "/api/v1/jobs/1", "/api/v1/mediaservers/1"])
def test_deep_nesting_is_refused_before_parsing(client, job, route):
    method = client.post if route.count("/") == 3 else client.put
    answer = method(route, data=b'{"name": ' + DEEP + b"}", content_type="application/json")
    assert answer.status_code in (400, 404) and answer.status_code != 500
    if answer.status_code == 400:
        assert "nested" in answer.json["errors"]["body"]


def test_sources_and_media_servers_are_typed_too(client, job):
    cases = [
        ("/api/v1/sources", {"name": "c", "kind": "openlist", "url": "http://nas:5244",
                             "token": "t", "timeout": "30"}, "timeout", "expected a number"),
        ("/api/v1/sources", {"name": "c", "kind": "openlist", "url": "http://nas:5244",
                             "token": ["t"]}, "token", "expected a string"),
        ("/api/v1/sources", {"name": "c", "kind": "clouddrive2", "address": "nas:19798",
                             "token": "t", "tls": "yes"}, "tls", "expected true or false"),
        ("/api/v1/sources", {"name": "c", "kind": "local", "root": "/x", "qps": "fast"},
         "qps", "expected a number"),
        ("/api/v1/sources", {"name": "c", "kind": "ftp"}, "kind", None),
        ("/api/v1/mediaservers", {"name": "e", "kind": "emby", "url": "http://e:8096",
                                  "api_key": "k", "refresh_threshold": "50"},
         "refresh_threshold", "expected a whole number"),
        ("/api/v1/mediaservers", {"name": "e", "kind": "plex", "url": "http://e:8096",
                                  "api_key": "k"}, "kind", "must be one of emby, jellyfin"),
    ]
    for route, body, field, problem in cases:
        answer = client.post(route, json=body)
        assert answer.status_code == 400 and field in answer.json["errors"], (body, answer.json)
        if problem:
            assert answer.json["errors"][field] == problem
    assert [s["name"] for s in client.get("/api/v1/sources").json["sources"]] == ["mnt"]
    assert client.get("/api/v1/mediaservers").json["mediaservers"] == []


def test_webhooks_refuse_deep_and_malformed_bodies_with_a_valid_token(client, job):
    token = client.get("/api/v1/settings").json["webhook_token"]
    headers = {"Authorization": f"Bearer {token}"}
    for route in ("/api/v1/webhook/clouddrive2", "/api/v1/webhook/clouddrive2/file_notify",
                  "/api/v1/webhook/events"):
        for raw in (DEEP, b'{"data": ' + DEEP + b"}", b"\x00\x01", b"{"):
            answer = client.post(route, data=raw, headers=headers,
                                 content_type="application/json")
            assert answer.status_code == 400, (route, raw[:20], answer.json)
    strict = client.post("/api/v1/webhook/events", headers=headers, json={
        "job": job, "events": [{"action": "create", "path": "/x/a.mkv", "is_dir": "false"}],
        "extra": 1})
    assert strict.status_code == 400
    assert {"events[0].is_dir", "extra"} <= set(strict.json["errors"])
    assert runs(client) == 0


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("body", [
    {"kind": "openlist", "url": "http://127.0.0.1:{port}", "token": "t"},
    {"kind": "clouddrive2", "address": "127.0.0.1:{port}", "token": "t"},
])
def test_testing_a_source_with_nothing_listening_says_cannot_connect(client, body):
    port = free_port()
    body = {"name": "down", **{k: v.format(port=port) for k, v in body.items()}}
    source = client.post("/api/v1/sources", json=body).json["id"]
    answer = client.post(f"/api/v1/sources/{source}/test")
    assert answer.status_code == 502, answer.json
    assert answer.json["error"].startswith("cannot connect to ")
    assert f"127.0.0.1:{port}" in answer.json["error"]
