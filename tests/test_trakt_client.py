"""The Trakt client and token keeper against the Trakt stand-in over real HTTP (DESIGN.md §9)."""

import multiprocessing
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import redis
import requests

from strmsync.errors import FatalError, RetryableError, ThrottledError
from strmsync.trakt.client import (
    AuthorizeAgain,
    TokenRejected,
    Tokens,
    TraktClient,
    TraktRefused,
)
from strmsync.trakt.tokens import TokenKeeper
from tests.standins.trakt import TraktStandIn, parse_iso


@pytest.fixture
def trakt():
    """A running Trakt stand-in with one app; tokens and devices quick to expire on demand."""
    standin = TraktStandIn(device_interval=0.3).start()
    yield standin
    standin.stop()


@pytest.fixture
def trakt_client(trakt):
    """A client of the stand-in's app, with short backoff so retries stay fast."""
    api = TraktClient(trakt.url, trakt.client_id, trakt.client_secret, backoff=0.05)
    yield api
    api.close()


@pytest.fixture
def tokens(trakt) -> Tokens:
    """A valid pair of tokens for the stand-in's account."""
    return Tokens.from_dict(trakt.issue_tokens())


class MemoryTokens:
    """The job's stored tokens, in memory, with a lock as a context manager."""

    def __init__(self, tokens: Tokens):
        self.tokens = tokens
        self.lock = threading.Lock()

    def load(self) -> Tokens:
        return self.tokens

    def save(self, tokens: Tokens) -> None:
        self.tokens = tokens

    def keeper(self, client: TraktClient) -> TokenKeeper:
        return TokenKeeper(client, self.load, self.save, lambda: self.lock)


# --- device flow -------------------------------------------------------------------------


def test_device_flow_pending_slow_down_authorized_then_used(trakt, trakt_client):
    code = trakt_client.device_code()
    assert code.interval == 1 and code.verification_url  # 0.3 s rounded up: never faster
    assert trakt_client.poll_device_token(code.device_code) == ("pending", None)
    assert trakt_client.poll_device_token(code.device_code) == ("slow_down", None)
    time.sleep(0.35)
    assert trakt_client.poll_device_token(code.device_code) == ("pending", None)
    trakt.approve(code.user_code)
    time.sleep(0.35)
    state, tokens = trakt_client.poll_device_token(code.device_code)
    assert state == "authorized" and tokens is not None
    assert tokens.access_token in trakt.valid_access_tokens()
    assert "all" in trakt_client.last_activities(tokens.access_token)
    time.sleep(0.35)
    assert trakt_client.poll_device_token(code.device_code) == ("used", None)
    polls = trakt.calls_to("/oauth/device/token")
    assert [c.status for c in polls] == [400, 429, 400, 200, 409]
    assert polls[0].body == {"code": code.device_code, "client_id": trakt.client_id,
                             "client_secret": trakt.client_secret}


def test_device_flow_denied_invalid_and_expired(trakt, trakt_client):
    code = trakt_client.device_code()
    trakt.deny(code.user_code)
    assert trakt_client.poll_device_token(code.device_code) == ("denied", None)
    assert trakt_client.poll_device_token("no-such-code") == ("invalid", None)
    trakt.device_expires_in = 0.2
    short = trakt_client.device_code()
    time.sleep(0.3)
    assert trakt_client.poll_device_token(short.device_code) == ("expired", None)


# --- tokens ------------------------------------------------------------------------------


def test_expired_token_is_rejected_then_refreshed_once(trakt, trakt_client):
    store = MemoryTokens(Tokens.from_dict(trakt.issue_tokens(expires_in=1)))
    keeper = store.keeper(trakt_client)
    time.sleep(1.1)
    with pytest.raises(TokenRejected):
        trakt_client.last_activities(store.tokens.access_token)
    token = keeper.access_token(force=True)
    assert trakt_client.last_activities(token)["movies"]["watched_at"]
    assert trakt.refresh_count == 1 and store.tokens.access_token == token
    refresh = trakt.calls_to("/oauth/token")[0]
    assert refresh.body["grant_type"] == "refresh_token"
    assert refresh.body["redirect_uri"] == "urn:ietf:wg:oauth:2.0:oob"


def test_tokens_refreshed_at_half_their_lifetime(trakt, trakt_client):
    store = MemoryTokens(Tokens.from_dict(trakt.issue_tokens(expires_in=2)))
    keeper = store.keeper(trakt_client)
    first = keeper.access_token()
    assert first == store.tokens.access_token and trakt.refresh_count == 0
    time.sleep(1.1)
    assert store.tokens.due()
    second = keeper.access_token()
    assert second != first and trakt.refresh_count == 1 and not store.tokens.due()
    assert keeper.access_token() == second and trakt.refresh_count == 1


@pytest.mark.parametrize("status", [400, 401])
def test_refresh_tokens_are_single_use(trakt, trakt_client, tokens, status):
    trakt.invalid_grant_status = status
    new = trakt_client.refresh(tokens.refresh_token)
    assert new.refresh_token != tokens.refresh_token
    with pytest.raises(AuthorizeAgain) as refused:
        trakt_client.refresh(tokens.refresh_token)
    assert "authorise" in str(refused.value)
    assert trakt.calls_to("/oauth/token")[-1].status == status
    # The stand-in revokes the old access token with its refresh token (Doorkeeper does).
    assert tokens.access_token not in trakt.valid_access_tokens()
    assert trakt_client.refresh(new.refresh_token).access_token in trakt.valid_access_tokens()


def test_revoked_app_means_authorise_again(trakt, trakt_client, tokens):
    store = MemoryTokens(tokens)
    trakt.revoke_all()
    with pytest.raises(TokenRejected):
        trakt_client.last_activities(tokens.access_token)
    with pytest.raises(AuthorizeAgain):
        store.keeper(trakt_client).access_token(force=True)
    assert store.tokens == tokens


def test_two_threads_refresh_once(trakt, trakt_client):
    store = MemoryTokens(Tokens.from_dict(trakt.issue_tokens(expires_in=1)))
    time.sleep(0.6)  # past half the lifetime: due
    start = threading.Barrier(2)
    results: list[str] = []

    def take() -> None:
        keeper = store.keeper(trakt_client)
        start.wait()
        results.append(keeper.access_token())

    threads = [threading.Thread(target=take) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert trakt.refresh_count == 1 and trakt.reused_refresh_tokens == 0
    assert results[0] == results[1] == store.tokens.access_token
    assert results[0] in trakt.valid_access_tokens()


def test_two_threads_rejected_with_the_same_token_refresh_once(trakt, trakt_client, tokens):
    store = MemoryTokens(tokens)
    keepers = [store.keeper(trakt_client), store.keeper(trakt_client)]
    assert [k.access_token() for k in keepers] == [tokens.access_token] * 2
    start = threading.Barrier(2)
    results: list[str] = []

    def after_401(keeper: TokenKeeper) -> None:
        start.wait()
        results.append(keeper.access_token(force=True))

    threads = [threading.Thread(target=after_401, args=(k,)) for k in keepers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert trakt.refresh_count == 1 and trakt.reused_refresh_tokens == 0
    assert results == [store.tokens.access_token] * 2 != [tokens.access_token] * 2


def _refresh_in_process(url, client_id, secret, redis_url, start, out) -> None:
    conn = redis.Redis.from_url(redis_url)
    api = TraktClient(url, client_id, secret)

    def load() -> Tokens:
        return Tokens.from_dict(__import__("json").loads(conn.get("tokens")))

    def save(tokens: Tokens) -> None:
        conn.set("tokens", __import__("json").dumps(tokens.to_dict()))

    keeper = TokenKeeper(api, load, save, lambda: conn.lock("tokens-lock", timeout=30,
                                                            blocking_timeout=30))
    start.wait()
    try:
        out.put(keeper.access_token())
    finally:
        api.close()
        conn.close()


def test_two_processes_refresh_once_under_a_redis_lock(trakt, redis_url):
    import json

    conn = redis.Redis.from_url(redis_url)
    due = Tokens.from_dict(trakt.issue_tokens(expires_in=4))
    conn.set("tokens", json.dumps(due.to_dict()))
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Barrier(2), ctx.Queue()
    time.sleep(max(0.0, due.created_at + 2.05 - time.time()))  # half the lifetime: due
    args = (trakt.url, trakt.client_id, trakt.client_secret, redis_url, start, out)
    procs = [ctx.Process(target=_refresh_in_process, args=args) for _ in range(2)]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    stored = Tokens.from_dict(json.loads(conn.get("tokens")))
    conn.close()
    assert [p.exitcode for p in procs] == [0, 0]
    assert trakt.refresh_count == 1 and trakt.reused_refresh_tokens == 0
    assert results[0] == results[1] == stored.access_token
    assert trakt.valid_access_tokens() == [stored.access_token]


# --- reading the history -----------------------------------------------------------------


def test_history_pages_by_header_when_the_limit_is_clamped(trakt, trakt_client, tokens):
    trakt.fill_history(movies=130, episodes=120)
    entries, page, pages = [], 1, 1
    while page <= pages:
        batch, pages = trakt_client.history(tokens.access_token, None, page, limit=1000)
        entries += batch
        page += 1
    calls = trakt.calls_to("/sync/history")
    assert [c.query["limit"] for c in calls] == ["1000"] * 3
    assert {c.status for c in calls} == {200} and pages == 3
    assert len(entries) == 250 and len({e["id"] for e in entries}) == 250
    assert all(e["id"] > 2**32 for e in entries)
    times = [e["watched_at"] for e in entries]
    assert times == sorted(times, reverse=True)
    assert {e["type"] for e in entries} == {"movie", "episode"}
    episode = next(e for e in entries if e["type"] == "episode")
    assert episode["show"]["ids"]["tvdb"] and episode["episode"]["ids"]["tvdb"]


def test_history_window_misses_a_backdated_play_that_watched_and_activities_show(
        trakt, trakt_client, tokens):
    now = datetime.now(timezone.utc)
    trakt.add_movie_play("Recent", 2020, ids={"imdb": "tt0000001"},
                         watched_at=now - timedelta(hours=1))
    before = trakt_client.last_activities(tokens.access_token)["movies"]["watched_at"]
    old = trakt.backdate(now - timedelta(days=400), "movie", title="Old", year=1999,
                         ids={"imdb": "tt0000002", "tmdb": 2})
    activity = trakt_client.last_activities(tokens.access_token)["movies"]["watched_at"]
    assert parse_iso(activity) > parse_iso(before)
    since = now - timedelta(days=2)
    window, pages = trakt_client.history(tokens.access_token, since, 1, kind="movies")
    assert [e["movie"]["title"] for e in window] == ["Recent"] and pages == 1
    start_at = trakt.calls_to("/sync/history/movies")[-1].query["start_at"]
    assert start_at.endswith("Z") and "T" in start_at
    watched = trakt_client.watched(tokens.access_token, "movies")
    assert {m["movie"]["ids"]["imdb"] for m in watched} == {"tt0000001", "tt0000002"}
    assert old["id"] in {e["id"] for e in trakt.history}


def test_watched_shows_group_seasons_and_episodes(trakt, trakt_client, tokens):
    for number in (1, 2, 2):
        trakt.add_episode_play("Breaking Bad", 1, number, show_ids={"tvdb": 81189})
    [show] = trakt_client.watched(tokens.access_token, "shows")
    assert show["show"]["ids"]["tvdb"] == 81189 and show["plays"] == 3
    [season] = show["seasons"]
    assert [(e["number"], e["plays"]) for e in season["episodes"]] == [(1, 1), (2, 2)]


# --- faults ------------------------------------------------------------------------------


def test_429_retry_after_is_obeyed(trakt, trakt_client, tokens):
    trakt.throttle_next(1, retry_after=1)
    trakt_client.last_activities(tokens.access_token)
    first, second = trakt.calls_to("/sync/last_activities")
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.0


def test_429_that_persists_becomes_throttled_error(trakt, tokens):
    api = TraktClient(trakt.url, trakt.client_id, trakt.client_secret, throttle_retries=1)
    trakt.throttle_next(5, retry_after=0.2)
    with pytest.raises(ThrottledError) as throttled:
        api.last_activities(tokens.access_token)
    api.close()
    assert throttled.value.retry_after == pytest.approx(0.2)
    assert len(trakt.calls_to("/sync/last_activities")) == 2


def test_rate_limit_per_token_and_write_limit(trakt, trakt_client, tokens):
    trakt.get_limit, trakt.get_window = 3, 300
    for _ in range(3):
        trakt_client.last_activities(tokens.access_token)
    with pytest.raises(ThrottledError) as throttled:
        trakt_client.last_activities(tokens.access_token)
    assert throttled.value.retry_after >= 299
    headers = {"trakt-api-key": trakt.client_id, "trakt-api-version": "2",
               "Authorization": f"Bearer {tokens.access_token}"}
    with requests.Session() as http:
        statuses = [http.post(f"{trakt.url}/sync/history", json={}, headers=headers,
                              timeout=5).status_code for _ in range(2)]
    assert statuses[1] == 429


@pytest.mark.parametrize("status", [500, 502, 503, 504, 520, 521, 522])
def test_server_errors_are_retried(trakt, trakt_client, tokens, status):
    budget = []
    trakt_client.before_get = lambda: budget.append(1)
    trakt.fail_next(2, status)
    assert trakt_client.last_activities(tokens.access_token)
    assert [c.status for c in trakt.calls_to("/sync/last_activities")] == [status, status, 200]
    assert len(budget) == 3


def test_server_errors_that_persist_are_retryable(trakt, trakt_client, tokens):
    trakt.fail_next(10, 503)
    with pytest.raises(RetryableError) as failed:
        trakt_client.watched(tokens.access_token, "movies")
    assert not isinstance(failed.value, TokenRejected)
    assert len(trakt.calls_to("/sync/watched/movies")) == trakt_client.attempts


@pytest.mark.parametrize("status, words", [
    (403, "unapproved app"), (420, "account limit"), (423, "locked"), (426, "VIP"),
])
def test_refusals_stop_with_the_reason(trakt, trakt_client, tokens, status, words):
    trakt.stop_with(status)
    with pytest.raises(TraktRefused) as refused:
        trakt_client.history(tokens.access_token, None, 1)
    assert refused.value.status == status and words in str(refused.value)
    assert isinstance(refused.value, FatalError)
    assert len(trakt.calls_to("/sync/history")) == 1


def test_wrong_api_key_is_refused(trakt, tokens):
    api = TraktClient(trakt.url, "someone-elses-app", trakt.client_secret)
    with pytest.raises(TraktRefused) as refused:
        api.last_activities(tokens.access_token)
    api.close()
    assert refused.value.status == 403


def test_every_call_sends_trakts_headers(trakt, trakt_client, tokens):
    trakt_client.last_activities(tokens.access_token)
    trakt_client.refresh(tokens.refresh_token)
    for call in trakt.calls:
        assert call.headers["trakt-api-key"] == trakt.client_id
        assert call.headers["trakt-api-version"] == "2"
        assert call.headers["Content-Type"] == "application/json"
    assert trakt.calls[0].headers["Authorization"] == f"Bearer {tokens.access_token}"


def test_connection_refused_is_retryable(trakt, tokens):
    trakt.stop()
    api = TraktClient(trakt.url, trakt.client_id, trakt.client_secret, backoff=0.01)
    with pytest.raises(RetryableError) as failed:
        api.last_activities(tokens.access_token)
    with pytest.raises(RetryableError):
        api.refresh(tokens.refresh_token)
    api.close()
    assert "127.0.0.1" in str(failed.value)


def test_no_secret_in_messages_or_reprs(trakt, trakt_client, tokens):
    secrets = [trakt.client_secret, tokens.access_token, tokens.refresh_token]
    texts = [repr(tokens), repr(trakt_client), repr(trakt_client.device_code())]
    trakt_client.refresh(tokens.refresh_token)
    for action in (
        lambda: trakt_client.refresh(tokens.refresh_token),
        lambda: trakt_client.last_activities(tokens.access_token),
        lambda: (trakt.stop_with(423), trakt_client.watched(tokens.access_token, "shows")),
    ):
        with pytest.raises(Exception) as raised:
            action()
        texts += [str(raised.value), repr(raised.value)]
    assert len(texts) == 9
    assert not [t for t in texts for s in secrets if s in t]
