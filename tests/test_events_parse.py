"""Parsing and routing of change events, with literal inputs."""

import pytest

from strmsync.errors import ConfigError
from strmsync.eventmap import map_event_path, parse_event_map
from strmsync.events import Event, parse_clouddrive2, route


def test_event_map_forms_and_longest_prefix():
    text = parse_event_map("/=/mnt/cd2, /115open=/mnt/115")
    assert text == [["/115open", "/mnt/115"], ["/", "/mnt/cd2"]]
    assert parse_event_map({"/115open": "/mnt/115", "/": "/mnt/cd2"}) == text
    assert map_event_path(text, "/115open/Movies/a.mkv") == "/mnt/115/Movies/a.mkv"
    assert map_event_path(text, "/115opener/a.mkv") == "/mnt/cd2/115opener/a.mkv"
    assert map_event_path([["/115open", "/mnt/115"]], "/aliyun/a.mkv") is None
    assert map_event_path([], "/same/path") == "/same/path"
    with pytest.raises(ConfigError, match="event_map: write each pair"):
        parse_event_map("/115open")
    with pytest.raises(ConfigError, match="two absolute paths"):
        parse_event_map([["115open", "/mnt"]])


def test_clouddrive2_strings_for_booleans_and_a_single_object():
    events = parse_clouddrive2({"data": {"action": "Created", "is_dir": "True",
                                         "source_file": "/a/b/", "destination_file": ""}})
    assert events == [Event("create", "/a/b", None, True)]


def test_route_splits_a_rename_across_jobs():
    sources = {1: {"config": {"event_map": []}}}
    jobs = [{"id": 10, "source_id": 1, "source_root": "/lib/Movies"},
            {"id": 20, "source_id": 1, "source_root": "/lib/Shows"}]
    routed, ignored = route([Event("rename", "/lib/Movies/x.mkv", "/lib/Shows/x.mkv", False),
                             Event("rename", "/lib/Movies/a.mkv", "/lib/Movies/b.mkv", False),
                             Event("create", "/elsewhere/y.mkv")], jobs, sources)
    assert routed == {10: [("delete", "x.mkv", None, False),
                           ("rename", "a.mkv", "b.mkv", False)],
                      20: [("create", "x.mkv", None, False)]}
    assert ignored == 1
