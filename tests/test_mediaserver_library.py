"""A user's Emby/Jellyfin library for the Trakt kind, against stand-in servers on 127.0.0.1."""

import socket
from datetime import datetime, timedelta, timezone

import pytest
import requests

from strmsync.errors import FatalError, FileError, RetryableError
from strmsync.mediaserver import ItemIndex, MediaServer, list_users, make_session, mark_played
from tests.standins.mediaserver import Item, MediaServerStandIn

WATCHED = datetime(2024, 3, 1, 20, 15, 7, tzinfo=timezone.utc)


@pytest.fixture(params=["emby", "jellyfin"])
def standin(request):
    """A stand-in of each kind with two users."""
    with MediaServerStandIn(request.param) as server:
        server.alice = server.add_user("alice")
        server.bob = server.add_user("bob")
        yield server


@pytest.fixture
def session():
    """A client session with quick retries, so failure tests stay fast."""
    with make_session(retries=1, backoff=0.01) as s:
        yield s


def server_for(standin, **overrides) -> MediaServer:
    options = {"name": "den", "kind": standin.kind, "url": standin.url, "api_key": standin.api_key}
    return MediaServer(**(options | overrides))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def never_unplayed(standin) -> bool:
    """No call ever asked the server to mark something unplayed."""
    return not standin.calls_for("unplayed") and all(c.method != "DELETE" for c in standin.calls)


@pytest.fixture
def library(standin):
    """Movies, two shows and their episodes, with ids that overlap where real ones do."""
    ids = {
        "shawshank": standin.add_movie("The Shawshank Redemption", 1994, "tt0111161", 278),
        "heat": standin.add_movie("Heat", 1995, tmdb=949),
        "other": standin.add_movie("Other", 2001, imdb="tt0000949"),
        # A movie whose TMDb id is also a TV show's TMDb id (1399) and an episode's (63056).
        "clash": standin.add_movie("Clash", 2010, tmdb=1399),
        "movie63056": standin.add_movie("Six Three", 2011, tmdb=63056),
        "got": standin.add_series(
            "Game of Thrones", 2011, tvdb=121361, tmdb=1399, imdb="tt0944947"
        ),
        "office": standin.add_series("The Office", 2005, tvdb=73244),
    }
    ids["got_s1e1"] = standin.add_episode(ids["got"], 1, 1, tvdb=3254641, tmdb=63056)
    ids["got_s1e2"] = standin.add_episode(ids["got"], 1, 2, imdb="tt1668746")
    ids["got_s2e1"] = standin.add_episode(ids["got"], 2, 1)
    ids["office_s2e1"] = standin.add_episode(ids["office"], 2, 1)
    standin.set_played(standin.alice, ids["heat"], WATCHED)
    standin.set_played(standin.alice, ids["got_s1e2"], WATCHED)
    return ids


# --- users -------------------------------------------------------------------------------


def test_users_are_listed(standin):
    users = list_users(server_for(standin))

    assert users == [{"id": standin.alice, "name": "alice"}, {"id": standin.bob, "name": "bob"}]
    asked = [c.route for c in standin.calls_for("users")]
    assert asked == (["/Users/Query"] if standin.kind == "emby" else ["/Users"])
    assert standin.calls[0].path.startswith("/emby/" if standin.kind == "emby" else "/Users")


def test_older_emby_users_come_from_the_plain_list():
    with MediaServerStandIn("emby", emby_query_endpoint=False) as emby:
        user = emby.add_user("carol")
        users = list_users(server_for(emby))
    assert users == [{"id": user, "name": "carol"}]
    assert [(c.route, c.status) for c in emby.calls] == [("/Users/Query", 404), ("/Users", 200)]


def test_a_wrong_key_is_fatal_and_never_shown(standin):
    with pytest.raises(FatalError) as caught:
        list_users(server_for(standin, api_key="wrong-secret"))
    assert "401" in str(caught.value) and "check the API key" in str(caught.value)
    assert f"{standin.kind} 'den'" in str(caught.value)
    assert "wrong-secret" not in str(caught.value)


def test_an_unreachable_server_is_worth_retrying(session):
    server = MediaServer("attic", "jellyfin", f"http://127.0.0.1:{closed_port()}", "key")
    with pytest.raises(RetryableError, match=r"jellyfin 'attic': cannot reach http://127.0.0.1"):
        list_users(server, session=session)


# --- the index ---------------------------------------------------------------------------


def test_index_is_read_page_by_page_with_ids_and_played_flags(standin, library):
    progress = []
    index = ItemIndex.build(
        server_for(standin),
        standin.alice,
        page_size=4,
        on_page=lambda n, t: progress.append((n, t)),
    )

    assert len(index) == len(library) == 11
    assert progress == [(4, 11), (8, 11), (11, 11)]
    pages = standin.calls_for("items")
    assert len(pages) == 3 and all(c.status == 200 for c in pages)
    query = {k.lower(): v for k, v in pages[1].query.items()}
    assert (query["startindex"], query["limit"], query["recursive"]) == ("4", "4", "true")
    assert query["includeitemtypes"] == "Movie,Episode,Series"
    assert query["fields"] == "ProviderIds" and "anyprovideridequals" not in query
    if standin.kind == "emby":
        assert pages[0].route == f"/Users/{standin.alice}/Items" and "userid" not in query
        assert pages[0].path.startswith("/emby/")
    else:
        assert pages[0].route == "/Items" and query["userid"] == standin.alice

    by_id = {item.id: item for item in index.items}
    shawshank = by_id[library["shawshank"]]
    assert (shawshank.type, shawshank.name, shawshank.year) == ("Movie", shawshank.name, 1994)
    assert shawshank.provider_ids == {"imdb": "tt0111161", "tmdb": "278"}
    episode = by_id[library["got_s1e1"]]
    assert (episode.type, episode.series_id, episode.season, episode.episode) == (
        "Episode",
        library["got"],
        1,
        1,
    )
    played = {item.id for item in index.items if item.played}
    assert played == {library["heat"], library["got_s1e2"]}


def test_another_users_index_has_their_own_played_state(standin, library):
    index = ItemIndex.build(server_for(standin), standin.bob)
    assert not any(item.played for item in index.items)


def test_an_unknown_user_is_a_clear_error(standin, library):
    with pytest.raises(FatalError, match="404"):
        ItemIndex.build(server_for(standin), "f" * 32)


def test_a_big_library_is_read_in_pages_of_a_thousand(standin):
    rows = [Item("Movie", f"Film {n}", 2000, {"Imdb": f"tt{n:07d}"}) for n in range(20_000)]
    ids = standin.add_items(rows)

    index = ItemIndex.build(server_for(standin), standin.alice)

    assert len(index) == 20_000 and len(standin.calls_for("items")) == 20
    assert index.movie({"imdb": "tt0012345"}).id == ids[12345]


# --- matching ----------------------------------------------------------------------------


@pytest.fixture
def index(standin, library):
    return ItemIndex.build(server_for(standin), standin.alice, page_size=5)


def test_movies_match_by_imdb_before_tmdb(index, library):
    assert index.movie({"imdb": "tt0111161", "tmdb": 278}).id == library["shawshank"]
    # IMDb wins even when the TMDb id names another movie.
    assert index.movie({"imdb": "tt0111161", "tmdb": 949}).id == library["shawshank"]
    # No IMDb id in the library: the TMDb id (a number from Trakt) is tried next.
    assert index.movie({"trakt": 1, "imdb": "tt9999999", "tmdb": 949}).id == library["heat"]
    assert index.movie({"imdb": None, "tmdb": "949"}).id == library["heat"]


def test_a_tmdb_id_matches_only_items_of_the_right_type(index, library):
    # 1399 is both the "Clash" movie's and Game of Thrones' TMDb id; 63056 a movie's and an
    # episode's.
    assert index.movie({"tmdb": 1399}).id == library["clash"]
    assert index.movie({"tmdb": 63056}).id == library["movie63056"]
    assert index.episode({"tmdb": 63056}, {}, 9, 9).id == library["got_s1e1"]
    # A movie id never finds a show, nor a show id a movie.
    assert index.episode({}, {"tmdb": 949}, 1, 1) is None
    assert index.movie({"tvdb": 121361, "imdb": "tt0944947"}) is None


def test_episodes_match_by_their_own_ids_first(index, library):
    assert index.episode({"tvdb": 3254641}, {}, 5, 5).id == library["got_s1e1"]
    assert index.episode({"imdb": "tt1668746"}, {}, 1, 2).id == library["got_s1e2"]
    # Its own id wins over the series' numbering.
    got = {"tvdb": 121361}
    assert index.episode({"tvdb": 3254641}, got, 2, 1).id == library["got_s1e1"]


def test_episodes_match_by_series_ids_season_and_number(index, library):
    assert index.episode({"tvdb": 1}, {"tvdb": 121361}, 2, 1).id == library["got_s2e1"]
    assert index.episode({}, {"tmdb": 1399}, 2, 1).id == library["got_s2e1"]
    assert index.episode({}, {"imdb": "tt0944947"}, 1, 2).id == library["got_s1e2"]
    assert index.episode({}, {"tvdb": "73244"}, 2, 1).id == library["office_s2e1"]


def test_nothing_matches_unknown_ids(index):
    assert index.movie({"imdb": "tt0000001", "tmdb": 1}) is None
    assert index.movie({}) is None
    assert index.episode({"tvdb": 5}, {"tvdb": 6, "tmdb": 7}, 1, 1) is None
    # The right show, but an episode the library does not have.
    assert index.episode({}, {"tvdb": 121361}, 3, 1) is None


def test_jellyfin_ignores_any_provider_id_equals_but_emby_filters(standin, library):
    where = standin.url + ("/emby" if standin.kind == "emby" else "")
    answer = requests.get(
        f"{where}/Items",
        params={"Recursive": "true", "AnyProviderIdEquals": "imdb.tt0111161"},
        headers={"X-Emby-Token": standin.api_key}
        if standin.kind == "emby"
        else {"Authorization": f'MediaBrowser Token="{standin.api_key}"'},
        timeout=5,
    ).json()
    expected = 1 if standin.kind == "emby" else len(library)
    assert answer["TotalRecordCount"] == expected


# --- marking played ----------------------------------------------------------------------


def test_mark_played_uses_each_products_route_and_date(standin, library):
    item = library["shawshank"]
    local = WATCHED.astimezone(timezone(timedelta(hours=2)))

    mark_played(server_for(standin), standin.alice, item, local)

    assert standin.played(standin.alice) == {
        library["heat"]: WATCHED,
        library["got_s1e2"]: WATCHED,
        item: WATCHED,
    }
    assert standin.played(standin.bob) == {}
    (call,) = standin.calls_for("played")
    assert (call.method, call.status) == ("POST", 200)
    if standin.kind == "emby":
        assert call.path == f"/emby/Users/{standin.alice}/PlayedItems/{item}"
        assert call.query == {"DatePlayed": "20240301201507"}
    else:
        assert call.route == f"/UserPlayedItems/{item}"
        assert call.query == {"userId": standin.alice, "datePlayed": "2024-03-01T20:15:07.000Z"}
    assert never_unplayed(standin)


def test_a_naive_time_is_taken_as_utc(standin, library):
    mark_played(server_for(standin), standin.bob, library["heat"], WATCHED.replace(tzinfo=None))
    assert standin.played(standin.bob) == {library["heat"]: WATCHED}


def test_marking_an_unknown_item_fails_for_that_item_only(standin, library):
    with pytest.raises(FileError, match="no item 0+ for user"):
        mark_played(server_for(standin), standin.alice, "0" * 32, WATCHED)
    assert standin.played(standin.bob) == {}
    assert never_unplayed(standin)


def test_jellyfin_10_8_is_marked_on_the_old_route(jellyfin_10_8):
    jf, user, item = jellyfin_10_8

    mark_played(server_for(jf), user, item, WATCHED)

    assert [(c.route, c.status) for c in jf.calls] == [
        (f"/UserPlayedItems/{item}", 404),
        (f"/Users/{user}/PlayedItems/{item}", 200),
    ]
    assert jf.played(user) == {item: WATCHED}
    assert never_unplayed(jf)


@pytest.fixture
def jellyfin_10_8():
    with MediaServerStandIn("jellyfin", user_played_items=False) as jf:
        yield jf, jf.add_user("dave"), jf.add_movie("Heat", 1995, tmdb=949)


# --- the API -----------------------------------------------------------------------------


def test_users_api_route(client, standin):
    made = client.post(
        "/api/v1/mediaservers",
        json={"name": "den", "kind": standin.kind, "url": standin.url, "api_key": standin.api_key},
    )
    answer = client.get(f"/api/v1/mediaservers/{made.json['id']}/users")

    assert answer.status_code == 200
    assert answer.json == {
        "users": [{"id": standin.alice, "name": "alice"}, {"id": standin.bob, "name": "bob"}]
    }
    assert client.get("/api/v1/mediaservers/999/users").status_code == 404


def test_users_api_route_when_the_server_cannot_be_reached(client):
    made = client.post(
        "/api/v1/mediaservers",
        json={
            "name": "gone",
            "kind": "jellyfin",
            "url": f"http://127.0.0.1:{closed_port()}",
            "api_key": "k",
        },
    )
    answer = client.get(f"/api/v1/mediaservers/{made.json['id']}/users")

    assert answer.status_code == 502
    assert answer.json["error"].startswith("jellyfin 'gone': cannot reach http://127.0.0.1:")
