"""Secrets at rest: private files, sealed values, plaintext records sealed by the migration,
and a lost or wrong key that never drops a secret nor stores one in the clear."""

import sqlite3
import stat

import sqlite_utils
from cryptography.fernet import Fernet

from strmsync.migrations import MIGRATIONS
from strmsync.secretbox import KEY_FILE, tighten_private_files
from strmsync.service.tasks import perform_run
from strmsync.store import Store

TOKEN = "openlist-T0KEN-never-in-the-clear"
API_KEY = "emby-K3Y-never-in-the-clear"


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def raw_bytes(data_dir) -> bytes:
    return b"".join((data_dir / name).read_bytes() for name in
                    ("strmsync.db", "strmsync.db-wal") if (data_dir / name).exists())


def add_records(client, url="http://127.0.0.1:9"):
    source = client.post("/api/v1/sources", json={"name": "cloud", "kind": "openlist",
                                                   "url": url, "token": TOKEN})
    server = client.post("/api/v1/mediaservers", json={"name": "emby", "kind": "emby",
                                                        "url": "http://127.0.0.1:9",
                                                        "api_key": API_KEY})
    assert source.status_code == 201 and server.status_code == 201
    return source.json["id"], server.json["id"]


def test_the_record_and_its_key_are_private_and_hold_no_plaintext(client, data_dir, store):
    add_records(client)  # with `store` open, SQLite keeps its -wal and -shm files
    assert mode(data_dir) == 0o700
    for name in ("strmsync.db", "strmsync.db-wal", "strmsync.db-shm", KEY_FILE,
                 "panel-secret", "panel-password"):
        assert mode(data_dir / name) == 0o600, name
    raw = raw_bytes(data_dir)
    assert TOKEN.encode() not in raw and API_KEY.encode() not in raw
    assert b"sealed:v1:" in raw
    assert client.get("/api/v1/sources/1").json["secrets_set"] == ["token"]


def test_loose_permissions_of_an_older_install_are_tightened(tmp_path):
    data = tmp_path / "old"
    Store(data / "strmsync.db").close()
    for name in ("strmsync.db", KEY_FILE):
        (data / name).touch()
        (data / name).chmod(0o644)
    data.chmod(0o755)
    tighten_private_files(data)
    assert mode(data) == 0o700 and mode(data / "strmsync.db") == 0o600
    assert mode(data / KEY_FILE) == 0o600


def test_plaintext_secrets_of_an_older_record_are_sealed_by_the_migration(tmp_path):
    data = tmp_path / "old"
    data.mkdir()
    conn = sqlite3.connect(data / "strmsync.db")
    old = sqlite_utils.Database(conn)
    for step in MIGRATIONS[:4]:  # the schema before secrets were sealed
        step(old)
    conn.execute("INSERT INTO sources (name, kind, config, secrets, qps, concurrency)"
                 " VALUES ('cloud', 'openlist', '{\"url\": \"http://nas:5244\"}', ?, 0, 8)",
                 [f'{{"token": "{TOKEN}"}}'])
    conn.execute("INSERT INTO media_servers (name, kind, url, api_key, path_map,"
                 " refresh_threshold) VALUES ('emby', 'emby', 'http://e:8096', ?, '[]', 50)",
                 [API_KEY])
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()
    store = Store(data / "strmsync.db")
    assert store.source("cloud")["secrets"] == {"token": TOKEN}
    assert store.server("emby")["api_key"] == API_KEY
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    raw = raw_bytes(data)
    assert TOKEN.encode() not in raw and API_KEY.encode() not in raw


def test_a_wrong_key_keeps_the_secret_says_enter_it_again_and_fails_the_run(
        client, data_dir, tmp_path, store, redis_conn):
    source_id, server_id = add_records(client)
    sealed = store.db.execute("SELECT secrets FROM sources").fetchone()[0]
    (data_dir / KEY_FILE).write_bytes(Fernet.generate_key())  # a restore with another key

    shown = client.get(f"/api/v1/sources/{source_id}").json
    assert "enter the secret again" in shown["secrets_error"] and shown["secrets_set"] == []
    assert "enter the secret again" in client.get(
        f"/api/v1/mediaservers/{server_id}").json["api_key_error"]
    page = client.get(f"/sources/{source_id}", headers={"X-Ingress-Path": "/ha"},
                      environ_base={"REMOTE_ADDR": "172.30.32.2"}).get_data(as_text=True)
    assert "enter the secret again" in page
    assert client.post(f"/api/v1/sources/{source_id}/test").status_code == 502

    renamed = client.patch(f"/api/v1/sources/{source_id}", json={"name": "cloud2"})
    assert renamed.status_code == 200, renamed.json
    assert store.db.execute("SELECT secrets FROM sources").fetchone()[0] == sealed

    job = client.post("/api/v1/jobs", json={"name": "m", "source": source_id,
                                            "source_root": "/Media",
                                            "target_root": str(tmp_path / "strm")}).json
    run_id = client.post(f"/api/v1/jobs/{job['id']}/run").json["run_id"]
    assert perform_run(store, redis_conn, run_id) == "failed"
    assert "enter the secret again" in store.run(run_id)["error"]

    fixed = client.patch(f"/api/v1/sources/{source_id}", json={"token": "new-token"})
    assert fixed.status_code == 200 and "secrets_error" not in fixed.json
    assert fixed.json["secrets_set"] == ["token"]


def test_a_lost_key_file_is_not_silently_replaced_by_plaintext(client, data_dir, store):
    source_id, _ = add_records(client)
    (data_dir / KEY_FILE).unlink()
    shown = client.get(f"/api/v1/sources/{source_id}").json
    assert "enter the secret again" in shown["secrets_error"]
    client.patch(f"/api/v1/sources/{source_id}", json={"token": "another-T0KEN"})
    assert b"another-T0KEN" not in raw_bytes(data_dir)
    assert (data_dir / KEY_FILE).exists() and mode(data_dir / KEY_FILE) == 0o600
