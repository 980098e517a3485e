"""OpenList folder passwords: sent per folder, a refused folder only fails itself, never shown."""

import json
import logging
import shutil

import pytest
import requests

from strmsync.errors import ConfigError
from strmsync.sources import public_source, validate_source
from strmsync.store import Store
from tests.remote import (
    AWKWARD,
    assert_links_work,
    media_targets,
    openlist_backend_of,
    run_sync,
    strm_files,
)
from tests.standins import ADMIN, Meta, OpenListStandIn, User
from tests.test_panel import field_errors, set_up

SHOWS_PW = "shows-pw-S3cret"
S02_PW = "s02-pw-S3cret"
PLAIN_PW = "plain-pw-S3cret"
WRONG_PW = "wrong-pw-S3cret"
SECRETS = (SHOWS_PW, S02_PW, PLAIN_PW, WRONG_PW)
# The admin's metas, by storage path (alice's base path is /115open): Shows and everything
# below it, S02 with a password of its own, Plain on its own (no sub folders).
METAS = {"/115open/Media/Shows": Meta(SHOWS_PW),
         "/115open/Media/Shows/Space Show/S02": Meta(S02_PW),
         "/115open/Media/Movies/Plain": Meta(PLAIN_PW, sub_folders=False)}
# The same folders as alice lists them.
FOLDER_PASSWORDS = {"/Media/Shows": SHOWS_PW, "/Media/Shows/Space Show/S02": S02_PW,
                    "/Media/Movies/Plain": PLAIN_PW}
USERS = [User("admin", "admin-pw", "/", ADMIN), User("alice", "alice-pw-S3cret", "/115open")]
TIMEOUT = 5


@pytest.fixture
def guarded(remote_storage):
    """An OpenList stand-in with password-protected folders; only those are signed."""
    with OpenListStandIn(remote_storage, users=USERS, metas=METAS, sign_all=False) as server:
        yield server


@pytest.fixture
def backend(guarded):
    """alice's source on the guarded site, holding the right folder passwords."""
    backend = openlist_backend_of(guarded)
    backend.source["secrets"]["folder_passwords"] = dict(FOLDER_PASSWORDS)
    yield backend
    backend.close()


def sent_passwords(server) -> dict:
    """`{listed path: password sent}` over every fs/list call the server received."""
    return {call.body["path"]: call.body["password"]
            for call in server.traffic.calls_to("fs/list")}


def fs_list(server, token: str, path: str, password: str = "") -> dict:
    answer = requests.post(f"{server.url}/api/fs/list", timeout=TIMEOUT,
                           headers={"Authorization": token},
                           json={"path": path, "password": password, "page": 1, "per_page": 0})
    assert answer.status_code == 200  # OpenList answers every refusal inside the envelope
    return answer.json()


# --- the stand-in keeps OpenList's rules ----------------------------------------------------


def test_standin_guards_folders_as_openlist_metas_do(remote_storage):
    metas = {"/115open/Media/Shows": Meta("a", sub_folders=False),
             "/115open/Media/Movies": Meta("b"),
             "/115open/Media/Movies/Plain": Meta("")}  # a nearer meta without a password
    with OpenListStandIn(remote_storage, users=USERS, metas=metas, sign_all=False) as server:
        alice = server.login("alice", "alice-pw-S3cret")
        refused = fs_list(server, alice, "/Media/Shows")
        assert (refused["code"], refused["message"], refused["data"]) == (
            403, "password is incorrect or you have no permission", None)
        assert fs_list(server, alice, "/Media/Shows", "wrong")["code"] == 403
        assert fs_list(server, alice, "/Media/Shows", "a")["code"] == 200
        assert fs_list(server, alice, "/Media/Shows/Space Show")["code"] == 200  # no sub folders
        movie = f"/Media/Movies/{AWKWARD} (2020)"
        assert fs_list(server, alice, movie)["code"] == 403  # covered from /Media/Movies
        items = fs_list(server, alice, movie, "b")["data"]["content"]
        film = next(item for item in items if item["name"].endswith(".mkv"))
        assert film["sign"]
        film_url = server.link(f"/115open{movie}/{film['name']}").split("?")[0]
        assert requests.get(film_url, timeout=TIMEOUT).status_code == 401
        signed = requests.get(f"{film_url}?sign={film['sign']}", timeout=TIMEOUT)
        assert signed.status_code == 200 and signed.content.endswith(b".mkv")
        plain = fs_list(server, alice, "/Media/Movies/Plain")["data"]["content"]
        assert {item["sign"] for item in plain} == {""}
        assert requests.get(server.link("/115open/Media/Movies/Plain/plain.mp4"),
                            timeout=TIMEOUT).status_code == 200
        assert fs_list(server, server.admin_token, "/115open/Media/Shows")["code"] == 200


# --- syncing ---------------------------------------------------------------------------------


def test_right_folder_passwords_sync_every_file_with_links_that_play(store, backend, tmp_path):
    target = tmp_path / "target"

    summary = run_sync(store, backend, target)

    assert summary.status == "succeeded", summary.error
    assert summary.counts["created"] == len(media_targets())
    assert assert_links_work(target) == len(media_targets())
    links = strm_files(target)
    assert "?sign=" in links["Shows/Space Show/S02/e1.strm"]
    assert "?sign=" not in links["Big/ep00.strm"]  # signing is off outside protected folders
    sent = sent_passwords(backend.server)
    assert sent["/Media/Shows"] == sent["/Media/Shows/Space Show/S01"] == SHOWS_PW
    assert sent["/Media/Shows/Space Show/S02"] == S02_PW  # the longest prefix wins
    assert sent["/Media/Movies/Plain"] == PLAIN_PW
    assert sent["/Media"] == sent["/Media/Movies"] == sent["/Media/Big"] == ""


def test_a_missing_or_wrong_folder_password_fails_that_folder_only(
        store, backend, remote_storage, tmp_path, caplog):
    target = tmp_path / "target"
    assert run_sync(store, backend, target).status == "succeeded"
    media = remote_storage / "115open" / "Media"
    (media / "Movies/New").mkdir()
    (media / "Movies/New/new.mkv").write_bytes(b"new")
    (media / "Big/ep00.mkv").unlink()
    shutil.rmtree(media / "Shows/Space Show/S02")  # gone, but its folder cannot be listed now
    folders = backend.source["secrets"]["folder_passwords"]
    del folders["/Media/Movies/Plain"]
    folders["/Media/Shows/Space Show"] = WRONG_PW
    caplog.set_level(logging.DEBUG)

    summary = run_sync(store, backend, target)

    assert summary.status == "partial"
    assert "Movies/Plain" in summary.error and "Shows/Space Show" in summary.error
    written = strm_files(target)
    assert "Movies/New/new.strm" in written  # other folders still sync
    for kept in ("Movies/Plain/plain.strm", "Shows/Space Show/S02/e1.strm",
                 "Shows/Space Show/S01/e1.strm", "Big/ep00.strm"):
        assert kept in written, kept  # nothing is cleaned up after a listing error
    log = [line["message"] for line in store.run_log(summary.run_id)]
    assert any(line.startswith("Movies/Plain: cannot list: /Media/Movies/Plain: OpenList"
                               " refused the folder (password is incorrect")
               and line.endswith("set its folder password (for it or a parent folder) in"
                                 " the source") for line in log), log
    assert any("/Media/Shows/Space Show: OpenList refused the folder" in line
               and line.endswith("fix the folder password the source holds for"
                                 " /Media/Shows/Space Show") for line in log), log
    seen = " ".join([json.dumps(summary.to_dict()), caplog.text, json.dumps(log),
                     json.dumps(store.run(summary.run_id))])
    for secret in SECRETS:
        assert secret not in seen


def test_a_refused_source_root_fails_the_run(store, backend, tmp_path):
    backend.source["secrets"]["folder_passwords"] = {}
    backend.root = "/Media/Shows"

    summary = run_sync(store, backend, tmp_path / "target")

    assert summary.status == "failed"
    assert "cannot list the source root: /Media/Shows: OpenList refused" in summary.error


# --- configuring: validation, API, CLI, panel -------------------------------------------------


def openlist_body(**fields) -> dict:
    return {"name": "cloud", "kind": "openlist", "url": "http://nas:5244", "token": "t0k3n",
            **fields}


def test_folder_passwords_are_validated_and_merged_per_folder():
    values = validate_source(openlist_body(folder_passwords="/Media/Shows = a\n\n/Kids//=b=c\n"))
    assert values["secrets"]["folder_passwords"] == {"/Media/Shows": "a", "/Kids": "b=c"}
    edited = validate_source({"folder_passwords": ["/Kids=", "/New=n"]}, {**values, "id": 1})
    assert edited["secrets"] == {"token": "t0k3n",
                                 "folder_passwords": {"/Media/Shows": "a", "/New": "n"}}
    kept = validate_source({"folder_passwords": ""}, {**edited, "id": 1})
    assert kept["secrets"] == edited["secrets"]
    cleared = validate_source({"folder_passwords": {"/Media/Shows": "", "/New": ""}}, edited)
    assert cleared["secrets"] == {"token": "t0k3n"}
    shown = public_source({**edited, "id": 1})
    assert shown["folder_passwords_set"] == ["/Media/Shows", "/New"]
    assert shown["secrets_set"] == ["folder_passwords", "token"]
    assert "folder_passwords" not in shown
    bad = {"Media=" + SHOWS_PW: "entry 1: the folder path must start with /",
           "/a=1\n" + SHOWS_PW: "entry 2: write each entry as /path=password",
           "/a/../b=" + SHOWS_PW: "entry 1: no '..' or NUL in a folder path"}
    for text, problem in bad.items():
        with pytest.raises(ConfigError) as refused:
            validate_source(openlist_body(folder_passwords=text))
        assert str(refused.value) == f"folder_passwords: {problem}"
    with pytest.raises(ConfigError, match="^folder_passwords: not a field of a clouddrive2"):
        validate_source({"name": "cd", "kind": "clouddrive2", "address": "nas:19798",
                         "token": "t", "folder_passwords": {"/a": "b"}})


def test_the_api_takes_folder_passwords_and_never_returns_them(client, settings):
    created = client.post("/api/v1/sources", json=openlist_body(
        folder_passwords={"/Media/Shows": SHOWS_PW, "/Media/Movies/Plain": PLAIN_PW}))
    assert created.status_code == 201, created.json
    assert created.json["folder_passwords_set"] == ["/Media/Movies/Plain", "/Media/Shows"]
    source_id = created.json["id"]
    edited = client.patch(f"/api/v1/sources/{source_id}", json={
        "folder_passwords": f"/Media/Movies/Plain=\n/Media/Shows/Space Show/S02={S02_PW}"})
    assert edited.json["folder_passwords_set"] == ["/Media/Shows", "/Media/Shows/Space Show/S02"]
    again = client.put(f"/api/v1/sources/{source_id}", json=edited.json)  # answers go back in
    assert again.status_code == 200 and again.json == edited.json
    bad = client.patch(f"/api/v1/sources/{source_id}",
                       json={"folder_passwords": f"Media/Kids={WRONG_PW}"})
    assert bad.status_code == 400
    assert bad.json["error"] == "folder_passwords: entry 1: the folder path must start with /"
    answers = " ".join(r.get_data(as_text=True) for r in (
        created, edited, again, bad, client.get("/api/v1/sources"),
        client.get(f"/api/v1/sources/{source_id}")))
    for secret in SECRETS:
        assert secret not in answers
    store = Store(settings.database_path)
    try:
        assert store.source(source_id)["secrets"]["folder_passwords"] == {
            "/Media/Shows": SHOWS_PW, "/Media/Shows/Space Show/S02": S02_PW}
    finally:
        store.close()


def test_cli_source_add_takes_folder_passwords(cli, guarded, data_dir):
    data = ("source", "--data", str(data_dir))
    added = cli(*data, "add", "cloud", "--kind", "openlist", "--url", guarded.url,
                "--username", "alice", "--password", "alice-pw-S3cret",
                *[f"--folder-password={path}={pw}" for path, pw in FOLDER_PASSWORDS.items()])
    assert added.code == 0, added.err
    bad = cli(*data, "add", "other", "--kind", "openlist", "--url", guarded.url, "--token", "t",
              "--folder-password", f"Media={WRONG_PW}")
    assert bad.code == 2
    assert "folder_passwords: entry 1: the folder path must start with /" in bad.err
    local = cli(*data, "add", "mnt", "--kind", "local", "--root", str(data_dir),
                "--folder-password", f"/Media={WRONG_PW}")
    assert local.code == 2 and "folder_passwords: not a field of a local source" in local.err
    listed = cli(*data, "list", "--json")
    assert json.loads(listed.out)[0]["folder_passwords_set"] == sorted(FOLDER_PASSWORDS)
    tested = cli(*data, "test", "cloud")
    assert tested.code == 0, tested.err
    for secret in SECRETS:
        assert secret not in added.out + added.err + bad.err + listed.out + tested.out
    store = Store(data_dir / "strmsync.db")
    try:
        assert store.source("cloud")["secrets"]["folder_passwords"] == FOLDER_PASSWORDS
    finally:
        store.close()


def test_cli_sync_takes_folder_passwords_from_flags_or_the_environment(
        cli, guarded, tmp_path, monkeypatch):
    host = guarded.url.split("//", 1)[1]
    url = f"openlist://alice:alice-pw-S3cret@{host}/Media"
    flags = [f"--folder-password={path}={pw}" for path, pw in FOLDER_PASSWORDS.items()]

    missing = cli("sync", url, tmp_path / "a", "--strm", "url", "--json")
    synced = cli("sync", url, tmp_path / "b", "--strm", "url", "--json", *flags)
    monkeypatch.setenv("STRMSYNC_OPENLIST_FOLDER_PASSWORDS",
                       "\n".join(f"{path}={pw}" for path, pw in FOLDER_PASSWORDS.items()))
    from_env = cli("sync", url, tmp_path / "c", "--strm", "url", "--json")
    local = cli("sync", str(tmp_path), tmp_path / "d", *flags)

    assert missing.code == 3 and missing.summary["status"] == "partial"
    assert "Shows" in missing.summary["error"] and "Movies/Plain" in missing.summary["error"]
    assert synced.code == 0, synced.err
    assert from_env.code == 0, from_env.err
    assert_links_work(tmp_path / "b")
    assert local.code == 2 and "folder_passwords: only openlist:// sources" in local.err
    for result in (missing, synced, from_env, local):
        for secret in SECRETS:
            assert secret not in result.out + result.err


def test_panel_source_form_takes_folder_passwords_and_never_shows_them(browser_client,
                                                                      settings):
    client = browser_client
    csrf = set_up(client)
    form = {"csrf_token": csrf, "name": "cloud", "kind": "openlist",
            "openlist-url": "http://nas:5244", "openlist-token": "t0k3n"}
    new_page = client.get("/sources/new").get_data(as_text=True)
    assert 'name="openlist-folder_passwords"' in new_page

    bad = client.post("/sources/new", data={**form, "openlist-folder_passwords":
                                            f"/Media/Shows={SHOWS_PW}\nMedia/Kids={WRONG_PW}"})
    saved = client.post("/sources/new", data={**form, "openlist-folder_passwords":
                                              f"/Media/Shows={SHOWS_PW}\r\n"
                                              f"/Media/Movies/Plain={PLAIN_PW}\r\n"})
    edit = client.get("/sources/1")
    kept = client.post("/sources/1", data={**form, "openlist-folder_passwords": ""})
    removed = client.post("/sources/1", data={**form,
                                              "openlist-folder_passwords": "/Media/Movies/Plain="})

    assert bad.status_code == 400
    assert field_errors(bad) == {"openlist-folder_passwords":
                                 "entry 2: the folder path must start with /"}
    assert saved.status_code == kept.status_code == removed.status_code == 302
    page = edit.get_data(as_text=True)
    assert "Folder passwords (set for /Media/Movies/Plain, /Media/Shows)" in page
    assert 'class="secret"' in page
    for secret in SECRETS:
        assert secret not in bad.get_data(as_text=True) + page
    store = Store(settings.database_path)
    try:
        assert store.source("cloud")["secrets"]["folder_passwords"] == {"/Media/Shows": SHOWS_PW}
    finally:
        store.close()
