"""Telling Emby and Jellyfin what changed, against stand-in servers on 127.0.0.1."""

import re
import socket
import time

import pytest
import requests

from strmsync import mediaserver
from strmsync.errors import ConfigError, FatalError
from strmsync.mediaserver import MediaServer, changed_folders, map_path, notify
from tests.standins.mediaserver import Library, MediaServerStandIn

TARGET = "/media/strm"
LIBRARIES = [
    Library("Movies", ["/mnt/strm/Movies"], "movies"),
    Library("Shows", ["/mnt/strm/TV"], "tvshows"),
    Library("Music", ["/mnt/music"], "music"),
]


@pytest.fixture(params=["emby", "jellyfin"])
def standin(request):
    """A stand-in of each kind, serving three libraries."""
    with MediaServerStandIn(request.param, libraries=list(LIBRARIES)) as server:
        yield server


@pytest.fixture
def session():
    """A client session with quick retries, so failure tests stay fast."""
    with mediaserver.make_session(retries=2, backoff=0.01) as s:
        yield s


def server_for(standin, **overrides) -> MediaServer:
    """Our MediaServer config pointing at a stand-in, mapping /media/strm to /mnt/strm."""
    options = {
        "name": "living room",
        "kind": standin.kind,
        "url": standin.url,
        "api_key": standin.api_key,
        "path_map": (("/media/strm", "/mnt/strm"),),
    } | overrides
    return MediaServer(**options)


def creates(n: int, under: str = "Movies") -> list[tuple[str, str, str]]:
    """One new .strm in each of n folders."""
    return [("create", "strm", f"{under}/Film {i:03d} (2020)/Film {i:03d}.strm") for i in range(n)]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- configuration -----------------------------------------------------------------------


def test_server_config_is_validated_with_field_messages():
    good = {"name": "den", "kind": "emby", "url": "http://emby:8096", "api_key": "k"}
    for bad, field in [
        ({"url": "ftp://emby"}, "url:"),
        ({"url": "emby:8096"}, "url:"),
        ({"kind": "plex"}, "kind:"),
        ({"api_key": "  "}, "api_key:"),
        ({"refresh_threshold": -1}, "refresh_threshold:"),
        ({"path_map": (("relative", "/mnt"),)}, "path_map[0]:"),
    ]:
        with pytest.raises(ConfigError, match=f"^{re.escape(field)}"):
            MediaServer(**(good | bad))


def test_server_config_is_normalised_and_hides_the_key():
    server = MediaServer("den", "Jellyfin", "http://jf:8096/", "secret", [["/media/strm/", "/x"]])
    assert (server.kind, server.url) == ("jellyfin", "http://jf:8096")
    assert server.path_map == (("/media/strm", "/x"),)
    assert "secret" not in repr(server)


# --- pure parts --------------------------------------------------------------------------


def test_map_path_longest_prefix_wins_on_whole_components():
    server = MediaServer(
        "den",
        "emby",
        "http://e",
        "k",
        (
            ("/media/strm", "/mnt/strm"),
            ("/media/strm/Anime", "/anime"),
            ("/data", "D:\\Media"),
        ),
    )
    assert map_path(server, "/media/strm/Movies/A (2020)") == "/mnt/strm/Movies/A (2020)"
    assert map_path(server, "/media/strm/Anime/Show/S01") == "/anime/Show/S01"
    assert map_path(server, "/media/strm") == "/mnt/strm"
    assert map_path(server, "/media/strm2/Movies") == "/media/strm2/Movies"
    assert map_path(server, "/elsewhere/x") == "/elsewhere/x"
    assert map_path(server, "/data/TV/Show") == "D:\\Media\\TV\\Show"


def test_changed_folders_deduplicates_and_picks_the_update_type():
    changes = [
        ("create", "strm", "Movies/A/A.strm"),
        ("create", "meta", "Movies/A/poster.jpg"),
        ("delete", "strm", "Movies/B/B.strm"),
        ("create", "strm", "Movies/C/new.strm"),
        ("delete", "strm", "Movies/C/old.strm"),
        ("update", "strm", "Movies/D/D.strm"),
        ("copy", "meta", "Movies/E/E.nfo"),
        ("skip", "strm", "Movies/F/F.strm"),
        ("create", "strm", "top.strm"),
    ]
    assert changed_folders("/media/strm/", changes) == {
        "/media/strm": "Created",
        "/media/strm/Movies/A": "Created",
        "/media/strm/Movies/B": "Deleted",
        "/media/strm/Movies/C": "Modified",
        "/media/strm/Movies/D": "Modified",
        "/media/strm/Movies/E": "Modified",
    }


# --- targeted notification ---------------------------------------------------------------


def test_targeted_update_sends_mapped_paths_with_each_kinds_auth(standin):
    changes = creates(2) + [("delete", "strm", "TV/Show/S01/E01.strm")]

    result = notify(server_for(standin), TARGET, changes)

    assert (result.ok, result.mode, result.calls, result.folders) == (True, "targeted", 1, 3)
    [call] = standin.calls
    assert (call.method, call.route, call.status) == ("POST", "/Library/Media/Updated", 204)
    assert call.body == {
        "Updates": [
            {"Path": "/mnt/strm/Movies/Film 000 (2020)", "UpdateType": "Created"},
            {"Path": "/mnt/strm/Movies/Film 001 (2020)", "UpdateType": "Created"},
            {"Path": "/mnt/strm/TV/Show/S01", "UpdateType": "Deleted"},
        ]
    }
    if standin.kind == "emby":
        assert call.path == "/emby/Library/Media/Updated"
        assert call.headers["X-Emby-Token"] == standin.api_key
        assert "Authorization" not in call.headers
    else:
        assert call.path == "/Library/Media/Updated"
        assert call.headers["Authorization"] == f'MediaBrowser Token="{standin.api_key}"'
        assert "X-Emby-Token" not in call.headers
    assert "3 changed folders" in result.message


def test_jellyfin_standin_refuses_the_legacy_emby_header_by_default():
    with MediaServerStandIn("jellyfin") as jf:
        legacy = requests.get(
            f"{jf.url}/System/Info", headers={"X-Emby-Token": jf.api_key}, timeout=5
        )
        modern = requests.get(
            f"{jf.url}/System/Info",
            headers={"Authorization": f'MediaBrowser Token="{jf.api_key}"'},
            timeout=5,
        )
    assert (legacy.status_code, modern.status_code) == (401, 200)


def test_updates_go_in_batches_below_the_threshold(standin):
    server = server_for(standin, refresh_threshold=1000)

    result = notify(server, TARGET, creates(250), batch_size=100)

    assert (result.ok, result.mode, result.calls, result.folders) == (True, "targeted", 3, 250)
    sizes = [len(c.body["Updates"]) for c in standin.calls_to("/Library/Media/Updated")]
    assert sizes == [100, 100, 50]


def test_nothing_is_sent_when_nothing_changed(standin):
    server = server_for(standin)

    for changes in ([], [("skip", "strm", "Movies/A/A.strm")]):
        result = notify(server, TARGET, changes)
        assert (result.ok, result.mode, result.calls) == (True, "none", 0)
    assert standin.calls == []


# --- above the threshold: whole libraries ------------------------------------------------


def test_over_the_threshold_refreshes_only_the_libraries_holding_changes(standin):
    server = server_for(standin, refresh_threshold=5)
    changes = creates(4) + creates(3, under="TV")

    result = notify(server, TARGET, changes)

    assert (result.ok, result.mode, result.folders) == (True, "library", 7)
    assert sorted(result.libraries) == ["Movies", "Shows"]
    assert standin.calls_to("/Library/Media/Updated") == []
    listing = (
        "/Library/VirtualFolders/Query" if standin.kind == "emby" else "/Library/VirtualFolders"
    )
    assert len(standin.calls_to(listing, "GET")) == 1
    refreshed = {c.route: c for c in standin.calls if c.route.endswith("/Refresh")}
    ids = {lib.name: lib.item_id for lib in standin.libraries}
    assert set(refreshed) == {f"/Items/{ids['Movies']}/Refresh", f"/Items/{ids['Shows']}/Refresh"}
    for call in refreshed.values():
        assert call.status == 204
        assert call.query["Recursive"] == "true"
        assert call.query["MetadataRefreshMode"] == "Default"
        assert call.query["ReplaceAllMetadata"] == "false"
    assert result.calls == 3


def test_older_emby_without_the_query_listing_still_refreshes_libraries():
    with MediaServerStandIn("emby", libraries=list(LIBRARIES), emby_query_endpoint=False) as emby:
        result = notify(server_for(emby, refresh_threshold=1), TARGET, creates(2))
        assert (result.ok, result.mode, result.libraries) == (True, "library", ["Movies"])
        assert [c.route for c in emby.calls][:2] == [
            "/Library/VirtualFolders/Query",
            "/Library/VirtualFolders",
        ]


def test_over_the_threshold_with_no_matching_library_scans_everything(standin):
    server = server_for(standin, refresh_threshold=1, path_map=(("/media/strm", "/srv/other"),))

    result = notify(server, TARGET, creates(3))

    assert (result.ok, result.mode, result.libraries) == (True, "all", [])
    assert [c.status for c in standin.calls_to("/Library/Refresh", "POST")] == [204]
    assert not any(c.route.startswith("/Items/") for c in standin.calls)


def test_a_long_jellyfin_scan_does_not_block_the_run(monkeypatch):
    monkeypatch.setattr(mediaserver, "SCAN_TIMEOUT", (2.0, 0.3))
    with MediaServerStandIn("jellyfin", scan_seconds=1.0) as jf:
        started = time.monotonic()
        result = notify(server_for(jf, refresh_threshold=0), TARGET, creates(1))
        elapsed = time.monotonic() - started
    assert (result.ok, result.mode) == (True, "all")
    assert elapsed < 1.0
    assert len(jf.calls_to("/Library/Refresh")) == 1
    assert "still running" in result.message


# --- failures are reported, never raised -------------------------------------------------


def test_unreachable_server_is_reported_not_raised(session):
    server = MediaServer("attic", "jellyfin", f"http://127.0.0.1:{closed_port()}", "k")

    result = notify(server, TARGET, creates(1), session=session)

    assert (result.ok, result.mode, result.calls) == (False, "targeted", 1)
    assert result.message.startswith("jellyfin 'attic': cannot reach http://127.0.0.1:")
    assert "refused" in result.message.lower()


def test_wrong_key_is_reported_with_a_hint(standin, session):
    result = notify(server_for(standin, api_key="wrong"), TARGET, creates(1), session=session)

    assert not result.ok
    assert result.message == f"{standin.kind} 'living room': 401 Unauthorized: check the API key"
    assert len(standin.calls) == 1


def test_library_refresh_failure_is_reported(standin, session):
    standin.fail_with = 401
    result = notify(server_for(standin, refresh_threshold=0), TARGET, creates(1), session=session)
    assert (result.ok, result.mode, result.calls) == (False, "library", 1)
    assert "401 Unauthorized" in result.message


def test_server_errors_are_retried_then_reported(standin, session):
    standin.fail_with = 500

    result = notify(
        server_for(standin, refresh_threshold=1000), TARGET, creates(150), session=session
    )

    assert not result.ok
    assert result.message.endswith("500 Internal Server Error")
    assert result.calls == 1  # the first batch failed, so the second was never sent
    assert len(standin.calls) == 3  # one try and two retries


# --- connection test ---------------------------------------------------------------------


def test_test_server_checks_the_key_and_lists_libraries(standin):
    info = mediaserver.test_server(server_for(standin))

    assert (info["name"], info["version"], info["id"]) == (
        standin.server_name,
        standin.version,
        standin.server_id,
    )
    assert [(lib["name"], lib["type"], lib["locations"]) for lib in info["libraries"]] == [
        (lib.name, lib.collection_type, lib.locations) for lib in LIBRARIES
    ]
    assert all(lib["id"] for lib in info["libraries"])


def test_test_server_raises_fatal_on_a_bad_key(standin):
    with pytest.raises(FatalError, match="401 Unauthorized: check the API key"):
        mediaserver.test_server(server_for(standin, api_key="wrong"))


def test_test_server_raises_fatal_when_unreachable(session):
    server = MediaServer("attic", "emby", f"http://127.0.0.1:{closed_port()}", "k")
    with pytest.raises(FatalError, match="cannot reach"):
        mediaserver.test_server(server, session=session)
