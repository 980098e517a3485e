"""Both remote drivers against their stand-ins: sync, no-op resync, cleanup, links that play."""

import shutil

from tests.conftest import tree
from tests.remote import AWKWARD, BIG, PAGE, assert_links_work, media_targets, run_sync, strm_files

FOLDERS = 10  # folders in the library, Media itself included
META = {f"Movies/{AWKWARD} (2020)/{AWKWARD}.nfo", f"Movies/{AWKWARD} (2020)/poster.jpg",
        "Shows/Space Show/S01/e1.srt"}


def test_first_sync_writes_every_strm_with_links_that_play(store, backend, tmp_path):
    target = tmp_path / "target"

    summary = run_sync(store, backend, target)

    assert summary.status == "succeeded", summary.error
    assert summary.counts["created"] == len(media_targets())
    assert summary.counts["meta_copied"] == len(META)
    assert assert_links_work(target) == len(media_targets())
    files = tree(target)
    for rel in META:
        assert files[rel] == rel.encode()
    assert "Movies/Plain/readme.txt" not in files


def test_metadata_keeps_the_source_mtime(store, backend, remote_storage, tmp_path):
    target = tmp_path / "target"
    rel = "Shows/Space Show/S01/e1.srt"
    source_file = remote_storage / "115open" / "Media" / rel

    run_sync(store, backend, target)

    assert (target / rel).stat().st_mtime_ns == source_file.stat().st_mtime_ns


def test_resync_with_nothing_changed_writes_nothing(store, backend, tmp_path):
    target = tmp_path / "target"
    run_sync(store, backend, target)
    before = {p: p.stat().st_mtime_ns for p in target.rglob("*") if p.is_file()}
    backend.server.traffic.reset()

    summary = run_sync(store, backend, target)

    assert summary.status == "succeeded"
    assert (summary.counts["created"], summary.counts["updated"]) == (0, 0)
    assert summary.counts["meta_copied"] == 0
    assert summary.counts["skipped"] == len(media_targets()) + len(META)
    assert {p: p.stat().st_mtime_ns for p in target.rglob("*") if p.is_file()} == before
    listed = backend.server.traffic.list_calls
    assert sum(listed.values()) == FOLDERS - 1 + (1 if backend.kind == "clouddrive2" else 3)


def test_each_folder_page_is_listed_once_without_refresh(store, backend, tmp_path):
    run_sync(store, backend, tmp_path / "target")

    traffic = backend.server.traffic
    assert traffic.refreshed == []
    assert all(count == 1 for path, count in traffic.list_calls.items()
               if path != backend.list_path("Big"))
    if backend.kind == "openlist":
        pages = sorted(call.body["page"] for call in traffic.calls_to("fs/list")
                       if call.body["path"] == "/Media/Big")
        assert pages == list(range(1, BIG // PAGE + 2))
        assert all(call.body["refresh"] is False for call in traffic.calls_to("fs/list"))
    else:
        assert traffic.list_calls[backend.list_path("Big")] == 1


def test_no_per_file_api_call_in_url_mode(store, backend, tmp_path):
    run_sync(store, backend, tmp_path / "target", meta_mode="none")

    calls = backend.server.traffic.calls
    if backend.kind == "openlist":
        assert calls["fs/get"] == 0
    else:
        # Two answers teach the URL shape; the probe of a missing file is the third call.
        assert calls["GetDownloadUrlPath"] <= 3


def test_cleanup_removes_what_left_the_source_and_keeps_user_files(
        store, backend, remote_storage, tmp_path):
    target = tmp_path / "target"
    media = remote_storage / "115open" / "Media"
    run_sync(store, backend, target)
    (target / "Shows/Space Show/S01/fanart-by-user.jpg").write_bytes(b"mine")
    (media / "Movies/Plain/plain.mp4").unlink()
    shutil.rmtree(media / "Shows/Space Show/S02")

    summary = run_sync(store, backend, target)

    assert summary.status == "succeeded", summary.error
    assert summary.counts["deleted"] == 2
    links = strm_files(target)
    assert "Movies/Plain/plain.strm" not in links
    assert "Shows/Space Show/S02/e1.strm" not in links
    assert (target / "Shows/Space Show/S01/fanart-by-user.jpg").read_bytes() == b"mine"
    expected = {rel: data for rel, data in media_targets().items()
                if rel not in ("Movies/Plain/plain.strm", "Shows/Space Show/S02/e1.strm")}
    assert_links_work(target, expected)


def test_path_and_mount_modes(store, backend, tmp_path):
    path_target, mount_target = tmp_path / "by-path", tmp_path / "by-mount"

    run_sync(store, backend, path_target, strm_mode="path", meta_mode="none")
    run_sync(store, backend, mount_target, strm_mode="mount", mount_prefix="/mnt/cloud/Media/",
             meta_mode="none")

    rel = f"Movies/{AWKWARD} (2020)/{AWKWARD}"
    assert strm_files(path_target)[f"{rel}.strm"] == f"{backend.root}/{rel}.mkv"
    assert strm_files(mount_target)[f"{rel}.strm"] == f"/mnt/cloud/Media/{rel}.mkv"


def test_a_url_base_changes_the_site_players_see(store, backend, tmp_path):
    target = tmp_path / "target"

    run_sync(store, backend, target, meta_mode="none", url_base="http://media.example:8080/")

    text = strm_files(target)["Movies/Plain/plain.strm"]
    assert text.startswith("http://media.example:8080/")
    assert text.split("?")[0].endswith("/Media/Movies/Plain/plain.mp4")
