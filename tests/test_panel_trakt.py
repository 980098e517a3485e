"""Trakt jobs in the panel: the form through the Flask test client, a real run's page with
what it could not mark, and one trip through Chromium authorising with the device flow and
syncing, against the Trakt and Emby/Jellyfin stand-ins."""

import os
import re
import time
from pathlib import Path

import pytest

from strmsync.service.queue import connect
from strmsync.service.tasks import perform_run
from strmsync.trakt.record import TraktRecord
from strmsync.web.panel.filters import when
from tests.conftest import wait_for
from tests.panelkit import PanelUser, Server, browser_missing
from tests.standins.mediaserver import MediaServerStandIn
from tests.standins.trakt import TraktStandIn
from tests.test_panel import field_errors, set_up
from tests.traktkit import ago, library, link

SECRET = TraktStandIn.client_secret


@pytest.fixture
def client(browser_client):
    """A browser's test client, logged in through the first-start setup."""
    browser_client.csrf = set_up(browser_client)
    return browser_client


@pytest.fixture
def trakt():
    with TraktStandIn() as standin:
        yield standin


@pytest.fixture
def media():
    with MediaServerStandIn("jellyfin") as standin:
        yield standin


def post(client, path: str, data: dict, **kwargs):
    return client.post(path, data={"csrf_token": client.csrf, **data}, **kwargs)


def add_server(client, store, standin, name: str = "den") -> dict:
    """A media server added through the panel's form."""
    answer = post(client, "/servers/new", {"name": name, "kind": standin.kind,
                                           "url": standin.url, "api_key": standin.api_key})
    assert answer.status_code == 302, field_errors(answer)
    return store.server(name)


def trakt_form(name: str, trakt, server_id, user: str, **fields) -> dict:
    """The new-trakt-job form, as a browser posts it (a field given as None is left out, as
    an unticked box is)."""
    form = {"kind": "trakt", "name": name, "client_id": trakt.client_id,
            "client_secret": trakt.client_secret, "media_server": str(server_id),
            "user": user, "user_name": "alice", "movies": "1", "episodes": "1",
            "overlap_days": "1", "reconcile_days": "7", "api_url": trakt.url,
            "get_budget": "450", "schedule": "", "enabled": "1", **fields}
    return {key: value for key, value in form.items() if value is not None}


def page(client, path: str) -> str:
    answer = client.get(path)
    assert answer.status_code == 200, path
    text = answer.get_data(as_text=True)
    assert SECRET not in text, f"{path} shows the client secret"
    return text


def test_a_trakt_job_is_made_by_form_with_errors_by_their_fields(client, store, trakt, media,
                                                                  data_dir):
    first = client.get("/jobs/new?kind=trakt")
    assert first.status_code == 302 and first.headers["Location"].endswith("/servers/new")
    server = add_server(client, store, media)
    user = media.add_user("alice")

    form = page(client, "/jobs/new?kind=trakt")
    assert "Trakt → watched" in form and 'data-job-kind="trakt" aria-current="true"' in form
    assert re.search(r'name="client_secret" type="password" value=""', form)
    assert f'<option value="{server["id"]}"' in form and "den (jellyfin)" in form
    assert "data-trakt-users" in form and 'name="user_name"' in form
    assert 'name="watch"' not in form and 'name="strm_mode"' not in form
    assert 'name="media_servers"' not in form and "data-trakt-link" not in form

    bad = post(client, "/jobs/new", trakt_form("", trakt, "", "", client_id="",
                                               overlap_days="400", get_budget="5",
                                               api_url="ftp://x"))
    assert bad.status_code == 400
    errors = field_errors(bad)
    assert set(errors) == {"name", "client_id", "media_server", "user", "overlap_days",
                           "get_budget", "api_url"}, errors
    shown = bad.get_data(as_text=True)
    assert SECRET not in shown, "a secret typed is never sent back"
    assert 'value="400"' in shown, "what was typed comes back to be fixed"
    assert re.search(r"<details class=\"advanced\" open", shown), "its errors are unfolded"
    neither = post(client, "/jobs/new", trakt_form("w", trakt, server["id"], user,
                                                   movies=None, episodes=None))
    assert "movies, episodes or both" in field_errors(neither)["movies"]
    assert store.jobs() == []
    nosecret = post(client, "/jobs/new", trakt_form("w", trakt, server["id"], user,
                                                    client_secret=""))
    assert set(field_errors(nosecret)) == {"client_secret"}

    saved = post(client, "/jobs/new", trakt_form("watched", trakt, server["id"], user,
                                                 episodes=None, overlap_days="2",
                                                 schedule="*/30 * * * *"))
    assert saved.status_code == 302, field_errors(saved)
    job = store.job("watched")
    assert job["kind"] == "trakt" and job["source_id"] is None
    assert job["options"] == {"movies": True, "episodes": False, "overlap_days": 2,
                              "reconcile_days": 7, "api_url": trakt.url, "get_budget": 450,
                              "client_id": trakt.client_id, "server_id": server["id"],
                              "user_id": user, "user_name": "alice"}
    assert job["secrets"]["client_secret"] == SECRET
    assert SECRET.encode() not in (data_dir / "strmsync.db").read_bytes()

    edit = page(client, saved.headers["Location"])
    assert "Client secret (set)" in edit and 'value="2"' in edit
    assert f'<option value="{user}" selected>alice</option>' in edit
    assert re.search(r'data-link-state="unauthorized"[^>]*>Not authorised yet<', edit)
    assert "data-authorize" in edit and "data-disconnect" not in edit
    assert re.search(r'value="incremental" data-run-sync', edit) and "Full re-sync" in edit
    # Saved with the secret left empty, the stored one stays.
    kept = post(client, f"/jobs/{job['id']}", trakt_form("watched", trakt, server["id"], user,
                                                         client_secret="", reconcile_days="3"))
    assert kept.status_code == 302, field_errors(kept)
    job = store.job("watched")
    assert job["secrets"]["client_secret"] == SECRET
    assert job["options"]["reconcile_days"] == 3 and job["options"]["episodes"] is True

    listed = page(client, "/jobs")
    assert 'data-kind="trakt"' in listed and "Trakt → den" in listed and "user alice" in listed
    assert "Not authorised yet" in listed and "data-run-sync" in listed
    assert "Trakt → den · alice" in page(client, "/")
    assert post(client, f"/jobs/{job['id']}/run", {"mode": "events"}).status_code == 400


def test_the_link_state_shows_and_disconnect_forgets_the_tokens(client, store, trakt, media,
                                                                 data_dir):
    server = add_server(client, store, media)
    post(client, "/jobs/new", trakt_form("watched", trakt, server["id"], media.add_user("a")))
    job = store.job("watched")
    link(data_dir, trakt, job["id"])
    shown = page(client, f"/jobs/{job['id']}")
    assert re.search(r'data-link-state="authorized"[^>]*>Authorised<', shown)
    assert "data-disconnect" in shown and "Authorise again" in shown
    assert not re.search(r"needs attention", page(client, "/"), re.I)

    TraktRecord(store, job["id"]).set_state(auth="authorize again",
                                            auth_error="Trakt refused the refresh token")
    dashboard = page(client, "/")
    attention = re.search(r"<section[^>]*data-failures>(.*?)</section>", dashboard, re.S)[1]
    assert 'data-relink="watched"' in attention and "Authorise again" in attention
    assert "Trakt refused the refresh token" in attention
    assert "Authorise again" in page(client, "/jobs")

    gone = post(client, f"/jobs/{job['id']}/trakt/disconnect", {}, follow_redirects=True)
    assert "no longer linked to Trakt" in gone.get_data(as_text=True)
    assert TraktRecord(store, job["id"]).tokens() is None
    assert "Not authorised yet" in page(client, f"/jobs/{job['id']}")
    assert client.post(f"/jobs/{job['id']}/trakt/disconnect").status_code == 400  # no CSRF


def test_a_trakt_run_page_lists_what_it_could_not_mark(client, store, trakt, media, data_dir,
                                                       redis_url, monkeypatch):
    from strmsync.mediaserver.library import ItemIndex

    user = library(media, movies=6, shows=1, episodes_per_show=3)
    trakt.fill_history(movies=6, episodes=2, newest=ago(days=1))
    trakt.add_movie_play("Not In The Library", 2001, ids={"imdb": "tt9999999", "tmdb": 999999},
                         watched_at=ago(hours=5))
    trakt.add_episode_play("Missing Show", 2, 5, year=2015, watched_at=ago(hours=4),
                           show_ids={"tvdb": 12345, "imdb": "tt7654321"}, ids={"tvdb": 555})
    played = next(i for i, item in media.items.items() if item.name == "Movie 0")
    media.set_played(user, played)
    server = add_server(client, store, media)
    post(client, "/jobs/new", trakt_form("watched", trakt, server["id"], user))
    job = store.job("watched")
    link(data_dir, trakt, job["id"])
    conn = connect(redis_url)

    dry = post(client, f"/jobs/{job['id']}/run", {"mode": "incremental", "dry_run": "1"})
    dry_id = int(dry.headers["Location"].rsplit("/", 1)[1])
    assert perform_run(store, conn, dry_id) == "succeeded"
    shown = page(client, f"/runs/{dry_id}")
    assert "marks nothing played" in shown and "<h2>Would mark played</h2>" in shown
    unmatched = re.search(r'data-miss-list="unmatched">(.*?)</table>', shown, re.S)[1]
    assert "Not In The Library (2001)" in unmatched and "Missing Show S02E05" in unmatched
    assert not media.played(user).keys() - {played}, "a dry run marks nothing"

    # The library loses a movie between listing and marking: that entry alone fails.
    gone = next(i for i, item in media.items.items() if item.name == "Movie 5")
    build = ItemIndex.build

    def build_then_remove(*args, **kwargs):
        index = build(*args, **kwargs)
        del media.items[gone]
        return index

    monkeypatch.setattr(ItemIndex, "build", build_then_remove)
    # As if a reconcile had just run: this run reads the history only, so the entry that
    # fails is tried once (the reconcile of the same run would try it again).
    TraktRecord(store, job["id"]).set_state(reconciled_at=time.time())
    real = post(client, f"/jobs/{job['id']}/run", {})
    run_id = int(real.headers["Location"].rsplit("/", 1)[1])
    assert store.run(run_id)["mode"] == "incremental", "Sync now is the default"
    assert perform_run(store, conn, run_id) == "partial"
    assert store.run(run_id)["counts"] == {"fetched": 10, "marked": 6, "already_played": 1,
                                           "unmatched": 2, "failed": 1}
    shown = page(client, f"/runs/{run_id}")
    figures = dict(re.findall(r'data-count="(\w+)">(\d+)<', shown))
    assert figures == {"fetched": "10", "marked": "6", "already_played": "1",
                       "unmatched": "2", "failed": "1"}, figures
    unmatched = re.search(r'data-miss-list="unmatched">(.*?)</table>', shown, re.S)[1]
    rows = [re.sub(r"<[^>]+>|\s+", " ", row).split() for row in
            re.findall(r"<tr>(.*?)</tr>", unmatched, re.S)[1:]]
    assert [" ".join(row) for row in rows] == [
        "Missing Show episode 2015 S02E05 episode: tvdb 555; show: imdb tt7654321 · tvdb 12345"
        f" {when(ago(hours=4).timestamp())}",
        "Not In The Library movie 2001 imdb tt9999999 · tmdb 999999"
        f" {when(ago(hours=5).timestamp())}"], rows
    failed = re.search(r'data-miss-list="failed">(.*?)</table>', shown, re.S)[1]
    assert "Movie 5" in failed and "imdb tt0000005" in failed and "no item" in failed
    assert "<h2>Marked played</h2>" in shown and "Movie 1 (1991)" in shown
    assert "Trakt sync" in shown and "data-kind=\"trakt\"" in shown
    for listing in ("/runs", "/", f"/jobs/{job['id']}"):
        summary = " ".join(re.sub(r"<[^>]+>", " ", page(client, listing)).split())
        assert "✓6 marked · 1 already · 2 unmatched · ✕1 failed" in summary, listing
    conn.close()


# --- one trip through a real browser ------------------------------------------------------


@pytest.mark.skipif(browser_missing() is not None,
                    reason=f"browser tests need Chromium: {browser_missing()}")
def test_in_the_browser_a_trakt_job_is_authorised_and_synced(chrome, tmp_path, trakt, media):
    trakt.device_interval = 0.2
    user_id = library(media, movies=4)
    media.add_user("bob")
    trakt.fill_history(movies=3, newest=ago(days=1))
    trakt.add_movie_play("Not In The Library", 2001, ids={"imdb": "tt9999999"},
                         watched_at=ago(hours=2))
    shots = Path(os.environ.get("PANEL_SCREENSHOTS") or tmp_path)  # to look at them
    served = Server(tmp_path / "data", tmp_path / "serve.log", STRMSYNC_INGRESS_ADDRESS="")
    try:
        chrome.set_window_size(1280, 1000)
        user = PanelUser(chrome, served.url)
        user.open("/")
        user.set_password("trakt user's password", served.setup_code())
        user.nav("Media servers")
        user.click('a[href$="/servers/new"]')
        user.fill({"name": "den", "kind": "Jellyfin", "url": media.url,
                   "api_key": media.api_key})
        user.click("[data-save]")

        user.nav("Jobs")
        user.click('a[href$="/jobs/new?kind=trakt"]')
        status = user.find("[data-users-status]")
        wait_for(lambda: "users on this server" in status.text, timeout=20)
        assert [o.text for o in user.all('[name="user"] option')] == \
            ["— choose a user —", "alice", "bob"]
        user.fill({"name": "watched", "client_id": trakt.client_id,
                   "client_secret": trakt.client_secret, "user": "alice"})
        user.find("[data-advanced] summary").click()
        user.fill({"api_url": trakt.url})
        user.click("[data-save]")
        assert "Job watched saved." in user.find(".flash-ok").text
        assert user.find('[name="client_secret"]').get_attribute("value") == ""
        assert user.find("[data-link-state]").text == "Not authorised yet"
        chrome.set_window_size(1280, 2200)
        chrome.save_screenshot(str(shots / "trakt-job-form.png"))
        chrome.set_window_size(1280, 1000)

        user.find("[data-authorize]").click()
        code = user.find("[data-user-code]")
        wait_for(lambda: code.text, timeout=20)
        verify = user.find("[data-verification]")
        assert verify.get_attribute("target") == "_blank"
        assert verify.get_attribute("href") == "https://trakt.tv/activate"
        countdown = user.find("[data-countdown]")
        assert re.fullmatch(r"\d+:\d\d", countdown.text), countdown.text
        chrome.save_screenshot(str(shots / "trakt-authorise-dialog.png"))
        trakt.approve(code.text)
        done = user.find("[data-authorised]")
        wait_for(lambda: done.is_displayed(), timeout=30)
        assert done.text == "✓ Authorised"
        chrome.save_screenshot(str(shots / "trakt-authorised.png"))
        user.click("[data-close]")  # the page reloads with the new state
        assert user.find("[data-link-state]").text == "Authorised"
        assert trakt.valid_access_tokens()
        chrome.save_screenshot(str(shots / "trakt-job-page.png"))

        user.click("[data-run-sync]")
        assert user.wait_until_ended() == "succeeded"
        assert user.find('[data-count="marked"]').text == "3"
        assert user.find('[data-count="unmatched"]').text == "1"
        assert "tt9999999" in user.find('[data-miss-list="unmatched"]').text
        assert len(media.played(user_id)) == 3
        chrome.save_screenshot(str(shots / "trakt-run-page.png"))
        user.nav("Dashboard")
        assert "✓3 marked · 1 unmatched" in " ".join(user.find("[data-runs]").text.split())
        chrome.save_screenshot(str(shots / "trakt-dashboard.png"))
    finally:
        served.stop()
