"""Property-based: random JSON to every write route never answers 500 and, refused, stores
nothing; generated valid bodies are stored and read back as sent."""

import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strmsync.config import MAX_DEPTH, STRATEGIES
from strmsync.jobs import JobBody, OptionsBody
from strmsync.servers import ServerBody
from strmsync.sources import BODIES
from strmsync.store import Store

FIELD_NAMES = sorted({*JobBody.model_fields, *OptionsBody.model_fields, *ServerBody.model_fields,
                      *(name for body in BODIES.values() for name in body.model_fields),
                      "dry_run", "mode", "job", "events", "data", "action", "path"})
TABLES = ("sources", "jobs", "media_servers", "job_media_servers", "runs", "events")
PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
unique = itertools.count()

scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
           | st.sampled_from(["full", "local", "emby", "/", "//x/./y", "true", "1e309", ""]))
keys = st.sampled_from(FIELD_NAMES) | st.text(max_size=10)
any_json = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(keys, inner, max_size=6), max_leaves=25)
bodies = st.dictionaries(keys, any_json, max_size=8) | any_json


def snapshot(data_dir) -> tuple:
    store = Store(data_dir / "strmsync.db")
    try:
        return tuple(tuple(map(tuple, store.db.execute(f"SELECT * FROM {table}").fetchall()))
                     for table in TABLES)
    finally:
        store.close()


@pytest.fixture
def seeded(client, tmp_path):
    """One record of each kind (ids 1), so edit routes reach their validation."""
    (tmp_path / "lib").mkdir()
    assert client.post("/api/v1/sources", json={"name": "mnt", "kind": "local",
                                                "root": str(tmp_path / "lib")}).status_code == 201
    assert client.post("/api/v1/jobs", json={"name": "j", "source": 1,
                                             "source_root": str(tmp_path / "lib"),
                                             "target_root": str(tmp_path / "strm")}
                       ).status_code == 201
    assert client.post("/api/v1/mediaservers", json={
        "name": "e", "kind": "emby", "url": "http://127.0.0.1:9", "api_key": "k"}
    ).status_code == 201
    token = client.get("/api/v1/settings").json["webhook_token"]
    return {"Authorization": f"Bearer {token}"}


ROUTES = [("post", "/api/v1/sources"), ("put", "/api/v1/sources/1"),
          ("patch", "/api/v1/sources/1"), ("post", "/api/v1/jobs"), ("patch", "/api/v1/jobs/1"),
          ("post", "/api/v1/mediaservers"), ("put", "/api/v1/mediaservers/1"),
          ("post", "/api/v1/jobs/1/run"), ("post", "/api/v1/webhook/events"),
          ("post", "/api/v1/webhook/clouddrive2/file_notify")]


@PROPERTY
@given(route=st.sampled_from(ROUTES), body=bodies)
def test_random_json_never_answers_500_and_stores_nothing_when_refused(client, seeded,
                                                                       data_dir, route, body):
    method, path = route
    before = snapshot(data_dir)
    answer = getattr(client, method)(path, data=json.dumps(body),
                                     content_type="application/json", headers=seeded)
    assert answer.status_code < 500, (route, body, answer.json)
    if answer.status_code >= 400:
        assert answer.json["error"]
        assert snapshot(data_dir) == before, (route, body)


names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 ._@+-]{0,20}", fullmatch=True).map(
    lambda name: f"{name.strip()}-{next(unique)}")
segments = st.lists(st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9 _.-]{0,10}", fullmatch=True)
                    .filter(lambda s: s not in (".", "..") and s.strip() == s),
                    min_size=1, max_size=3)
hosts = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
ports = st.integers(1, 65535)
options = st.fixed_dictionaries({}, optional={
    "strategy": st.sampled_from(STRATEGIES), "concurrency": st.integers(1, 64),
    "max_depth": st.integers(1, MAX_DEPTH), "max_delete": st.floats(0, 1),
    "settle_delay": st.floats(0, 3600), "cleanup": st.sampled_from(["managed", "off"]),
    "meta_mode": st.sampled_from(["none", "copy", "download"])})


@settings(PROPERTY, max_examples=40)
@given(data=st.data())
def test_valid_bodies_are_stored_and_read_back_as_sent(client, seeded, tmp_path, data):
    local = {"name": data.draw(names), "kind": "local",
             "root": "/" + "/".join(data.draw(segments)),
             "qps": data.draw(st.floats(0, 1000)), "concurrency": data.draw(st.integers(1, 64))}
    remote = {"name": data.draw(names), "kind": "openlist",
              "url": f"http://{data.draw(hosts)}:{data.draw(ports)}",
              "token": "T0K3N:" + data.draw(st.text(min_size=8, max_size=40)),
              "timeout": data.draw(st.floats(1, 600)), "attempts": data.draw(st.integers(1, 20))}
    for body in (local, remote):
        made = client.post("/api/v1/sources", json=body)
        assert made.status_code == 201, (body, made.json)
        shown = client.get(f"/api/v1/sources/{made.json['id']}").json
        assert {k: shown[k] for k in body if k != "token"} == \
            {k: v for k, v in body.items() if k != "token"}
        assert ("token" in shown["secrets_set"]) == ("token" in body)
        assert body.get("token", "\0") not in json.dumps(shown, ensure_ascii=False)

    job = {"name": data.draw(names), "source": 1, "source_root": str(tmp_path / "lib"),
           "target_root": str(tmp_path / "out" / "/".join(data.draw(segments))),
           "options": data.draw(options), "schedule": data.draw(
               st.sampled_from(["", "0 3 * * *", "*/15 * * * *", "30 2 * * 1-5"])),
           "enabled": data.draw(st.booleans()), "watch": data.draw(st.booleans()),
           "run_on_start": data.draw(st.booleans())}
    made = client.post("/api/v1/jobs", json=job)
    assert made.status_code == 201, (job, made.json)
    shown = client.get(f"/api/v1/jobs/{made.json['id']}").json
    assert {k: shown[k] for k in job if k not in ("source", "options")} == \
        {k: v for k, v in job.items() if k not in ("source", "options")}
    assert shown["source_id"] == 1
    assert {k: shown["options"][k] for k in job["options"]} == job["options"]

    server = {"name": data.draw(names), "kind": data.draw(st.sampled_from(["emby", "jellyfin"])),
              "url": f"http://{data.draw(hosts)}:{data.draw(ports)}",
              "api_key": data.draw(st.text(min_size=1, max_size=40).filter(str.strip)),
              "refresh_threshold": data.draw(st.integers(0, 1_000_000))}
    made = client.post("/api/v1/mediaservers", json=server)
    assert made.status_code == 201, (server, made.json)
    shown = client.get(f"/api/v1/mediaservers/{made.json['id']}").json
    assert {k: shown[k] for k in server if k != "api_key"} == \
        {k: v for k, v in server.items() if k != "api_key"}
    assert shown["api_key_set"] is True
