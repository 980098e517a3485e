"""Tokens renewed when they expire; credentials kept out of logs, names and run records."""

import logging
import time

import pytest

from strmsync.errors import FatalError
from strmsync.store import Store
from strmsync.strm.drivers import open_remote
from strmsync.strm.drivers import test_source as check_source
from tests.remote import FAST, assert_links_work, media_targets, run_sync

PASSWORDS = ("alice-pw-S3cret", "cd2-pw-S3cret")


def test_openlist_logs_in_again_when_its_token_expires(store, openlist_backend, tmp_path):
    backend = openlist_backend
    backend.server.tokens.uses = 4  # every token is refused after four calls

    summary = run_sync(store, backend, tmp_path / "target")

    assert summary.status == "succeeded", summary.error
    assert backend.server.traffic.calls["auth/login"] >= 3
    assert_links_work(tmp_path / "target")


def test_clouddrive2_asks_a_new_token_when_one_is_refused(store, cd2_backend, tmp_path):
    backend = cd2_backend
    backend.server.tokens.uses = 4

    summary = run_sync(store, backend, tmp_path / "target")

    assert summary.status == "succeeded", summary.error
    assert backend.server.traffic.calls["GetToken"] >= 3


def test_clouddrive2_renews_its_token_before_it_expires(cd2_server):
    cd2_server.tokens.ttl = 0.4
    source = {"kind": "clouddrive2",
              "config": {"address": cd2_server.address, "username": cd2_server.username},
              "secrets": {"password": cd2_server.password}}
    driver = open_remote(source, "/115open/Media", **FAST)
    try:
        driver.list_dir("Movies")
        time.sleep(0.4)
        driver.list_dir("Movies")
    finally:
        driver.close()

    calls = [call.endpoint for call in cd2_server.traffic.log]
    # Renewed ahead of expiry: no listing was refused and tried again.
    assert calls == ["GetToken", "GetSubFiles", "GetToken", "GetSubFiles"]


@pytest.mark.parametrize("kind", ["openlist", "clouddrive2"])
def test_a_refused_permanent_token_is_fatal(openlist_server, cd2_server, kind):
    if kind == "openlist":
        source = {"kind": kind, "config": {"url": openlist_server.url},
                  "secrets": {"token": "not-the-token"}}
    else:
        source = {"kind": kind, "config": {"address": cd2_server.address},
                  "secrets": {"token": "not-the-token"}}

    with pytest.raises(FatalError, match="refused the token") as raised:
        check_source(source)

    assert "not-the-token" not in str(raised.value)


def test_connection_tests_report_facts(openlist_server, cd2_server):
    openlist = check_source({"kind": "openlist", "config": {"url": openlist_server.url,
                                                          "username": "alice"},
                            "secrets": {"password": "alice-pw-S3cret"}})
    cd2 = check_source({"kind": "clouddrive2", "config": {"address": cd2_server.address},
                       "secrets": {"token": cd2_server.api_token}})

    assert openlist["base_path"] == "/115open" and openlist["entries"] == 1
    assert cd2["ready"] and cd2["entries"] == 1
    assert cd2_server.traffic.calls["GetSystemInfo"] == 1


def cli_url(backend) -> str:
    """The backend's library as a source URL with the user name and password in it."""
    if backend.kind == "openlist":
        host = backend.server.url.split("//", 1)[1]
        return f"openlist://alice:alice-pw-S3cret@{host}/Media"
    return (f"clouddrive2://user%40example.com:cd2-pw-S3cret@{backend.server.address}"
            "/115open/Media")


def test_cli_syncs_a_source_url_and_keeps_credentials_out_of_everything(
        cli, backend, data_dir, tmp_path, caplog):
    target = tmp_path / "target"
    caplog.set_level(logging.DEBUG)

    first = cli("sync", cli_url(backend), target, "--strm", "url", "--json", "--qps", "200",
                "--list-concurrency", "3")
    again = cli("sync", cli_url(backend), target, "--strm", "url", "--qps", "200",
                "--list-concurrency", "3")

    assert first.code == 0, first.err
    assert first.summary["created"] == len(media_targets())
    assert again.code == 0 and "unchanged" in again.out
    assert_links_work(target)
    store = Store(data_dir / "strmsync.db")
    try:
        # One-shot records: kept for the manifest, out of the service's lists.
        assert store.sources() == [] and store.jobs() == []
        source = store.source(store.db.execute("SELECT id FROM sources").fetchone()[0],
                              one_shot=True)
        jobs = list(store.db.query("SELECT * FROM jobs"))
        runs = list(store.db.query("SELECT * FROM runs"))
        records = [source, jobs, runs, [store.run_log(run["id"]) for run in runs]]
        assert (source["qps"], source["concurrency"]) == (200, 3)
        assert source["secrets"] == {}, "a secret given for one run is not stored"
    finally:
        store.close()
    seen = " ".join(map(str, [first.out, first.err, again.out, again.err, caplog.text, records]))
    for secret in PASSWORDS:
        assert secret not in seen


def test_cli_takes_the_token_from_the_environment(cli, openlist_server, tmp_path, monkeypatch):
    host = openlist_server.url.split("//", 1)[1]
    monkeypatch.setenv("STRMSYNC_OPENLIST_TOKEN", openlist_server.admin_token)

    result = cli("sync", f"openlist://{host}/115open/Media", tmp_path / "t", "--json",
                 "--strm", "url", "--meta", "none")

    assert result.code == 0, result.err
    assert result.summary["created"] == len(media_targets())
    assert openlist_server.admin_token not in result.out + result.err


def test_cli_refuses_a_source_url_without_credentials(cli, openlist_server, tmp_path,
                                                      monkeypatch):
    monkeypatch.delenv("STRMSYNC_OPENLIST_TOKEN", raising=False)
    host = openlist_server.url.split("//", 1)[1]

    result = cli("sync", f"openlist://{host}/Media", tmp_path / "t")

    assert result.code == 2 and "--token" in result.err


def test_cli_wrong_password_fails_without_echoing_it(cli, openlist_server, tmp_path):
    host = openlist_server.url.split("//", 1)[1]

    result = cli("sync", f"openlist://alice:Wr0ng-Secret@{host}/Media", tmp_path / "t",
                 "--json")

    assert result.code == 1
    assert result.summary["status"] == "failed"
    assert "Wr0ng-Secret" not in result.out + result.err
