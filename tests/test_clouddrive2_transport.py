"""CloudDrive2 listings read on the calling thread: batches, deadlines, retries, cancelling."""

import threading

import pytest

from strmsync.errors import RetryableError
from tests.remote import BIG, media_targets, run_sync, strm_files


def test_a_listing_in_batches_is_read_to_its_end(cd2_backend):
    listing = cd2_backend.driver().list_dir("Big")  # 12 files, served in batches of 4

    assert sorted(entry[0] for entry in listing.files) == [f"ep{n:02d}.mkv" for n in range(BIG)]


def test_listings_failing_unavailable_or_midway_are_retried_until_they_list(
        store, cd2_backend, tmp_path):
    cd2_backend.server.faults.fail("unavailable", endpoint="GetSubFiles", times=1)
    cd2_backend.server.faults.fail("break", path=cd2_backend.list_path("Big"), times=1)
    driver = cd2_backend.driver(attempts=3)

    summary = run_sync(store, cd2_backend, tmp_path / "target", driver=driver)

    assert summary.status == "succeeded", summary.error
    assert set(strm_files(tmp_path / "target")) == set(media_targets())
    assert driver.gate.stats["retries"] == 2
    assert cd2_backend.list_attempts("Big") >= 2


def test_a_listing_past_its_deadline_is_retried_then_named(cd2_backend):
    cd2_backend.server.faults.latency = 0.6
    driver = cd2_backend.driver(attempts=2, list_timeout=0.2)

    with pytest.raises(RetryableError, match="GetSubFiles: DEADLINE_EXCEEDED.*gave up after 2"):
        driver.list_dir("")


def test_a_stream_cancelled_from_another_thread_ends_its_reader(cd2_backend):
    client = cd2_backend.driver().client
    stream = client.push_messages(30.0)
    ended = threading.Event()

    def read() -> None:
        try:
            for _ in stream:
                pass
        except Exception:  # noqa: BLE001 - a cancelled stream raises its RpcError
            pass
        ended.set()

    reader = threading.Thread(target=read)
    reader.start()
    stream.cancel()
    assert ended.wait(5), "the reader still waits on a cancelled stream"
    reader.join()
