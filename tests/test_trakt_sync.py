"""Trakt jobs end to end: a Trakt stand-in and Emby/Jellyfin stand-ins on 127.0.0.1, the
job made through the API, runs through the service's run path on a real Redis."""

import threading
import time
from datetime import timedelta

import pytest

from strmsync.service.queue import connect
from strmsync.store import Store
from tests.conftest import wait_for
from tests.standins.mediaserver import MediaServerStandIn
from tests.standins.trakt import TraktStandIn
from tests.traktkit import add_server, add_trakt_job, ago, library, link, run

FINAL = ("succeeded", "partial", "failed", "cancelled")


@pytest.fixture
def trakt():
    with TraktStandIn() as standin:
        yield standin


@pytest.fixture(params=["emby", "jellyfin"])
def media(request):
    with MediaServerStandIn(request.param) as standin:
        yield standin


def test_job_is_made_and_shown_without_secrets(client, trakt, media, data_dir):
    user = media.add_user("alice")
    server = add_server(client, media)
    job = add_trakt_job(client, trakt, server, user, user_name="alice")
    assert job["kind"] == "trakt" and job["authorization"] == "unauthorized"
    assert job["client_secret_set"] is True and job["media_server"] == "den"
    assert trakt.client_secret not in str(client.get("/api/v1/jobs").json)
    assert trakt.client_secret.encode() not in (data_dir / "strmsync.db").read_bytes()
    bad = client.post("/api/v1/jobs", json={"kind": "trakt", "name": "x", "media_server": 99,
                                            "options": {"movies": False, "episodes": False,
                                                        "api_url": "ftp://x"}})
    assert bad.status_code == 400
    assert {"client_id", "client_secret", "media_server", "user", "options.movies"} \
        <= set(bad.json["errors"]), bad.json
    users = client.get(f"/api/v1/mediaservers/{server['id']}/users").json["users"]
    assert users == [{"id": user, "name": "alice"}]


def test_device_authorisation_through_the_queue(client, workers, trakt, media, data_dir):
    trakt.device_interval = 0.2
    server = add_server(client, media)
    job = add_trakt_job(client, trakt, server, media.add_user("alice"))
    workers(1)
    started = client.post(f"/api/v1/jobs/{job['id']}/trakt/authorize")
    assert started.status_code == 202
    code = started.json
    assert code["state"] == "pending" and code["verification_url"] and code["expires_in"] > 0
    assert client.get(f"/api/v1/jobs/{job['id']}/trakt/authorize").json["state"] == "pending"
    time.sleep(1)
    trakt.approve(code["user_code"])
    done = wait_for(lambda: (lambda s: s if s["state"] != "pending" else None)(
        client.get(f"/api/v1/jobs/{job['id']}/trakt/authorize").json))
    assert done == {"state": "authorized"}
    assert client.get(f"/api/v1/jobs/{job['id']}").json["authorization"] == "authorized"
    assert trakt.valid_access_tokens()
    raw = (data_dir / "strmsync.db").read_bytes()
    assert all(token.encode() not in raw for token in trakt.valid_access_tokens())
    assert client.post(f"/api/v1/jobs/{job['id']}/trakt/disconnect").status_code == 200
    assert client.get(f"/api/v1/jobs/{job['id']}").json["authorization"] == "unauthorized"


def test_denied_and_expired_codes(client, workers, trakt, media):
    trakt.device_interval = 0.2
    job = add_trakt_job(client, trakt, add_server(client, media), media.add_user("alice"))
    workers(1)
    code = client.post(f"/api/v1/jobs/{job['id']}/trakt/authorize").json
    trakt.deny(code["user_code"])
    state = wait_for(lambda: (lambda s: s if s["state"] != "pending" else None)(
        client.get(f"/api/v1/jobs/{job['id']}/trakt/authorize").json))
    assert state["state"] == "denied"
    trakt.device_expires_in = 2
    client.post(f"/api/v1/jobs/{job['id']}/trakt/authorize")
    state = wait_for(lambda: (lambda s: s if s["state"] != "pending" else None)(
        client.get(f"/api/v1/jobs/{job['id']}/trakt/authorize").json), timeout=20)
    assert state["state"] == "expired"
    assert client.get(f"/api/v1/jobs/{job['id']}").json["authorization"] == "unauthorized"


def test_first_sync_marks_thousands_then_incremental_reads_only_new_pages(
        client, trakt, media, data_dir, redis_url):
    user = library(media, movies=1500, shows=25)
    trakt.fill_history(movies=1500, episodes=500, newest=ago(days=1), step=timedelta(minutes=5))
    trakt.add_movie_play("Not In The Library", 2001, ids={"imdb": "tt9999999", "tmdb": 999999},
                         watched_at=ago(days=1, minutes=1))
    job = add_trakt_job(client, trakt, add_server(client, media), user,
                        options={"overlap_days": 0})
    link(data_dir, trakt, job["id"])
    first = run(data_dir, redis_url, job["id"])
    assert first["status"] == "succeeded", first["error"]
    assert first["counts"] == {"fetched": 2001, "marked": 2000, "already_played": 0,
                               "unmatched": 1, "failed": 0}
    played = media.played(user)
    assert len(played) == 2000
    entry = next(e for e in trakt.history if e.get("movie", {}).get("title") == "Movie 7")
    item = next(i for i, it in media.items.items() if it.name == "Movie 7")
    assert played[item].strftime("%Y-%m-%dT%H:%M:%S") == entry["watched_at"][:19]
    unmatched = client.get(f"/api/v1/jobs/{job['id']}/trakt/history?status=unmatched").json
    assert unmatched["total"] == 1
    assert unmatched["rows"][0]["title"] == "Not In The Library"
    assert unmatched["rows"][0]["ids"]["imdb"] == "tt9999999"

    pages_before = len(trakt.calls_to("/sync/history"))
    nothing = run(data_dir, redis_url, job["id"])
    assert nothing["status"] == "succeeded" and nothing["counts"]["fetched"] == 0
    assert len(trakt.calls_to("/sync/history")) == pages_before

    media_item = media.add_movie("Movie New", 2026, imdb="tt7777777")
    trakt.add_movie_play("Movie New", 2026, ids={"imdb": "tt7777777"}, watched_at=ago(hours=1))
    trakt.add_movie_play("Movie 3", 1993, ids={"imdb": "tt0000003", "tmdb": 4},
                         watched_at=ago(minutes=30))  # a rewatch: already played
    again = run(data_dir, redis_url, job["id"])
    assert again["status"] == "succeeded"
    assert again["counts"]["marked"] == 1 and again["counts"]["already_played"] == 1
    new_calls = trakt.calls_to("/sync/history")[pages_before:]
    assert len(new_calls) == 1  # one page: from the newest play seen (no overlap asked)
    assert new_calls[0].query["start_at"] == "2026-11-30T20:00:00.000Z"
    assert media_item in media.played(user)
    assert not media.calls_for("unplayed")


def test_backdated_play_is_caught_by_the_reconcile(client, trakt, media, data_dir, redis_url):
    user = library(media, movies=30)
    trakt.fill_history(movies=20, newest=ago(days=1))
    job = add_trakt_job(client, trakt, add_server(client, media), user)
    link(data_dir, trakt, job["id"])
    assert run(data_dir, redis_url, job["id"])["counts"]["marked"] == 20
    trakt.backdate(ago(days=400), title="Movie 25", year=1990 + 25 % 30,
                   ids={"imdb": "tt0000025", "tmdb": 26})
    missed = run(data_dir, redis_url, job["id"])
    assert missed["counts"]["marked"] == 0  # outside the history window, reconcile not due
    store = Store(data_dir / "strmsync.db")
    try:
        store.db.execute("UPDATE trakt_state SET reconciled_at = ? WHERE job_id = ?",
                         [time.time() - 8 * 86400, job["id"]])
        store.db.conn.commit()
    finally:
        store.close()
    caught = run(data_dir, redis_url, job["id"])
    assert caught["status"] == "succeeded" and caught["counts"]["marked"] == 1
    item = next(i for i, it in media.items.items() if it.name == "Movie 25")
    assert media.played(user)[item].date() == ago(days=400).date()
    assert trakt.calls_to("/sync/watched/movies")


def test_full_resync_never_marks_unplayed(client, trakt, media, data_dir, redis_url):
    user = library(media, movies=10)
    trakt.fill_history(movies=5, newest=ago(days=2))
    for item_id, item in media.items.items():
        if item.name in ("Movie 8", "Movie 9"):
            media.set_played(user, item_id)  # played on the server, not on Trakt
    job = add_trakt_job(client, trakt, add_server(client, media), user)
    link(data_dir, trakt, job["id"])
    run(data_dir, redis_url, job["id"])
    full = run(data_dir, redis_url, job["id"], mode="full")
    assert full["status"] == "succeeded"
    assert full["counts"]["marked"] == 0 and full["counts"]["fetched"] == 5
    assert len(media.played(user)) == 7
    assert not media.calls_for("unplayed")


def test_dry_run_marks_nothing(client, trakt, media, data_dir, redis_url):
    user = library(media, movies=5)
    trakt.fill_history(movies=5, newest=ago(days=2))
    job = add_trakt_job(client, trakt, add_server(client, media), user)
    link(data_dir, trakt, job["id"])
    dry = run(data_dir, redis_url, job["id"], dry_run=True)
    assert dry["status"] == "succeeded" and dry["counts"]["marked"] == 5
    assert media.played(user) == {}
    assert run(data_dir, redis_url, job["id"])["counts"]["marked"] == 5


def test_expired_token_is_refreshed_once_and_both_tokens_kept(client, trakt, media, data_dir,
                                                              redis_url):
    user = library(media, movies=3)
    trakt.fill_history(movies=3, newest=ago(days=2))
    job = add_trakt_job(client, trakt, add_server(client, media), user)
    link(data_dir, trakt, job["id"], expires_in=1)
    time.sleep(1.2)
    first = run(data_dir, redis_url, job["id"])
    assert first["status"] == "succeeded", first["error"]
    assert trakt.refresh_count == 1 and trakt.reused_refresh_tokens == 0


def test_two_runs_refreshing_at_once_refresh_once(client, trakt, media, data_dir, redis_url):
    from strmsync.trakt.kind import _parts, trakt_client

    user = library(media, movies=1)
    job = add_trakt_job(client, trakt, add_server(client, media), user)
    link(data_dir, trakt, job["id"], expires_in=2)
    time.sleep(1.1)  # past half the lifetime: both want to refresh
    tokens, errors = [], []

    def refresh() -> None:
        store, conn = Store(data_dir / "strmsync.db"), connect(redis_url)
        try:
            row = store.job(job["id"])
            with trakt_client(store, row) as trakt_api:
                keeper = _parts(store, conn, row, trakt_api, None).keeper
                tokens.append(keeper.access_token())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            conn.close()
            store.close()

    threads = [threading.Thread(target=refresh) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert trakt.refresh_count == 1 and trakt.reused_refresh_tokens == 0
    assert len(set(tokens)) == 1 and tokens[0] in trakt.valid_access_tokens()


def test_invalid_grant_asks_to_authorise_again(client, trakt, media, data_dir, redis_url):
    user = library(media, movies=1)
    job = add_trakt_job(client, trakt, add_server(client, media), user)
    link(data_dir, trakt, job["id"], expires_in=1)
    trakt.revoke_all()
    time.sleep(1.1)
    failed = run(data_dir, redis_url, job["id"])
    assert failed["status"] == "failed" and "authori" in failed["error"].lower()
    shown = client.get(f"/api/v1/jobs/{job['id']}").json
    assert shown["authorization"] == "authorize again"
    log = client.get(f"/api/v1/runs/{failed['id']}/log").json["lines"]
    assert any("authori" in line["message"].lower() for line in log)


@pytest.mark.parametrize("status", [403, 420, 423, 426])
def test_trakt_refusals_stop_the_run_with_the_reason(client, trakt, media, data_dir,
                                                     redis_url, status):
    user = library(media, movies=1)
    job = add_trakt_job(client, trakt, add_server(client, media), user)
    link(data_dir, trakt, job["id"])
    trakt.stop_with(status)
    failed = run(data_dir, redis_url, job["id"])
    assert failed["status"] == "failed" and str(status) in failed["error"]
    assert media.played(user) == {}


def test_throttled_and_failing_trakt_is_waited_out(client, trakt, media, data_dir, redis_url):
    user = library(media, movies=3)
    trakt.fill_history(movies=3, newest=ago(days=2))
    job = add_trakt_job(client, trakt, add_server(client, media), user)
    link(data_dir, trakt, job["id"])
    trakt.throttle_next(1, retry_after=1)
    trakt.fail_next(2, 502)
    started = time.monotonic()
    done = run(data_dir, redis_url, job["id"])
    assert done["status"] == "succeeded" and done["counts"]["marked"] == 3
    assert time.monotonic() - started >= 1.0
    statuses = [call.status for call in trakt.calls]
    assert 429 in statuses and 502 in statuses
