"""Failing, throttling and lying sources: never a deletion, a paused source, a run that says so."""

import pytest

from tests.remote import FAST, media_targets, run_sync, strm_files

S01 = "Shows/Space Show/S01"


@pytest.fixture
def synced(store, backend, remote_storage, tmp_path):
    """A target synced once; then a file leaves the source, so a clean run would delete it."""
    target = tmp_path / "target"
    assert run_sync(store, backend, target).status == "succeeded"
    (remote_storage / "115open" / "Media" / "Movies/Plain/plain.mp4").unlink()
    backend.server.traffic.reset()
    return target


def test_a_folder_that_keeps_failing_blocks_cleanup_and_is_named(store, backend, synced):
    backend.server.faults.fail_path(backend.list_path(S01), backend.faults["fail"])

    summary = run_sync(store, backend, synced)

    assert summary.status == "partial"
    assert summary.counts["deleted"] == 0
    assert "Movies/Plain/plain.strm" in strm_files(synced)
    assert S01 in summary.error and "could not be listed" in summary.error
    assert backend.list_attempts(S01) == FAST["attempts"]


def test_a_source_failing_midway_deletes_nothing(store, backend, synced):
    backend.server.faults.fail_after(4, backend.faults["fail"])

    summary = run_sync(store, backend, synced)

    assert summary.status in ("partial", "failed")
    assert summary.counts["deleted"] == 0
    assert set(strm_files(synced)) == set(media_targets())
    assert summary.error


def test_a_folder_listed_empty_once_is_listed_again_and_nothing_is_deleted(
        store, backend, synced):
    backend.server.faults.list_empty(backend.list_path(S01), times=1)

    summary = run_sync(store, backend, synced)

    assert summary.counts["deleted"] == 0
    assert set(strm_files(synced)) == set(media_targets())
    assert summary.status == "partial"
    assert f"{S01} listed empty, then not" in summary.error
    assert backend.server.traffic.list_calls[backend.list_path(S01)] == 2


def test_a_root_listed_empty_deletes_nothing(store, backend, synced):
    backend.server.faults.list_empty(backend.list_path(""), times=1)

    summary = run_sync(store, backend, synced)

    assert summary.counts["deleted"] == 0
    assert set(strm_files(synced)) == set(media_targets())
    assert summary.status == "partial"


def api_call_times(backend) -> list[float]:
    """When the server received each API call (downloads left out), in order."""
    return sorted(call.at for call in backend.server.traffic.log
                  if call.endpoint not in ("static", "d", "p"))


def test_a_throttled_source_waits_longer_each_time_then_completes(store, backend, synced):
    backend.server.faults.throttle(backend.faults["throttle"], times=3)

    summary = run_sync(store, backend, synced, driver=backend.driver(attempts=5))

    assert summary.status == "succeeded", summary.error
    assert summary.counts["deleted"] == 1
    # A run starts with one call in flight, so the three throttled tries are consecutive
    # calls, each followed by a pause that doubles (0.2, 0.4) up to its cap (0.4).
    times = api_call_times(backend)
    gaps = [later - earlier for earlier, later in zip(times[:3], times[1:4], strict=True)]
    assert gaps[0] >= 0.18 and gaps[1] >= 0.36 and gaps[2] >= 0.36, gaps


def test_a_throttle_midway_pauses_the_source_and_costs_one_extra_call(store, backend, synced):
    run_sync(store, backend, synced, meta_mode="none")
    calm = len(api_call_times(backend))
    backend.server.traffic.reset()
    backend.server.faults.fail(backend.faults["throttle"], endpoint=backend.faults["list"],
                               times=1, after=3)

    summary = run_sync(store, backend, synced, meta_mode="none",
                       driver=backend.driver(throttle_pause=0.3, max_pause=0.3))

    assert summary.status == "succeeded", summary.error
    times = api_call_times(backend)
    assert len(times) == calm + 1  # the throttled listing tried once more, nothing else
    gaps = [later - earlier for earlier, later in zip(times[:-1], times[1:], strict=True)]
    assert max(gaps) >= 0.28, gaps  # the whole source waited out the pause


def test_a_source_that_never_stops_throttling_is_not_hammered(store, backend, synced):
    backend.server.faults.fail(backend.faults["throttle"], endpoint=backend.faults["list"])

    summary = run_sync(store, backend, synced)

    assert summary.status == "failed"
    assert "gave up after 3 tries" in summary.error
    assert summary.counts["deleted"] == 0
    assert set(strm_files(synced)) == set(media_targets())
    assert backend.list_attempts("") == FAST["attempts"]
    assert len(backend.server.traffic.calls_to(backend.faults["list"])) == FAST["attempts"]


@pytest.mark.parametrize("kind", ["html", "code429", "empty_message", "http502", "drop"])
def test_openlist_throttle_and_proxy_answers_are_retried(store, openlist_server, kind, tmp_path):
    from tests.remote import Backend

    source = {"kind": "openlist", "config": {"url": openlist_server.url},
              "secrets": {"token": openlist_server.admin_token}, "qps": 0, "concurrency": 2}
    backend = Backend("openlist", openlist_server, source, "/115open/Media", "/115open/Media")
    openlist_server.faults.throttle(kind, times=2, endpoint="fs/list")
    try:
        summary = run_sync(store, backend, tmp_path / "target", meta_mode="none")
    finally:
        backend.close()

    assert summary.status == "succeeded", summary.error
    assert set(strm_files(tmp_path / "target")) == set(media_targets())


def test_wrong_credentials_fail_the_run_without_touching_the_target(store, backend, synced):
    backend.source["secrets"]["password"] = "wrong-password"

    summary = run_sync(store, backend, synced)

    assert summary.status == "failed"
    assert "refused" in summary.error and "wrong-password" not in summary.error
    assert set(strm_files(synced)) == set(media_targets())


def test_a_metadata_download_that_fails_counts_as_failed_not_fatal(
        store, backend, tmp_path):
    endpoint = "d" if backend.kind == "openlist" else "static"
    backend.server.faults.fail("http502" if backend.kind == "openlist" else "internal",
                               endpoint=endpoint)

    summary = run_sync(store, backend, tmp_path / "target")

    assert summary.status == "partial"
    assert summary.counts["failed"] == 3 and summary.counts["created"] == len(media_targets())
