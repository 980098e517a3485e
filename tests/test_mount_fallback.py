"""A local mount that fails with EIO: its metadata comes through the API source instead."""

import errno
import io

import pytest

from strmsync.config import SyncOptions
from strmsync.errors import ConfigError
from strmsync.strm.drivers import LocalDriver, OpenListDriver, open_driver
from strmsync.strm.engine import JobSpec, Run

NFO = "Movies/a ? # % & + ; 中文 🎬 x (2020)/a ? # % & + ; 中文 🎬 x.nfo"
POSTER = "Movies/a ? # % & + ; 中文 🎬 x (2020)/poster.jpg"
SRT = "Shows/Space Show/S01/e1.srt"


class BrokenRead(io.RawIOBase):
    """A file on a mount that dies after its first `good` bytes."""

    def __init__(self, data: bytes, good: int):
        super().__init__()
        self.data, self.good, self.at = data, good, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.at >= self.good:
            raise OSError(errno.EIO, "Input/output error")
        chunk = self.data[self.at: min(self.good, self.at + len(buffer))]
        buffer[: len(chunk)] = chunk
        self.at += len(chunk)
        return len(chunk)


class FlakyMount(LocalDriver):
    """A real local directory whose reads fail the way a dropped FUSE mount's do."""

    dead: dict = {}  # rel -> errno at open, or ("read", good bytes)

    def _open_local(self, rel):
        fault = self.dead.get(rel)
        if fault is None:
            return super()._open_local(rel)
        if isinstance(fault, tuple):
            with super()._open_local(rel) as fh:
                return BrokenRead(fh.read(), fault[1])
        raise OSError(fault, "mount failure")


@pytest.fixture
def mount_source(remote_storage, openlist_backend):
    """A local source over the mount, falling back to the OpenList source for metadata."""
    media = remote_storage / "115open" / "Media"
    record = {"kind": "local", "config": {"root": str(media), "fallback_source": "ol",
                                          "fallback_root": "/Media"}}
    lookup = {"ol": {**openlist_backend.source, "name": "ol"}}.get
    return record, lookup, media


def run_local(store, driver, root, target, **options):
    opts = SyncOptions(**options)
    source_id = store.ensure_source("mount", "local", {"root": str(root)})
    job_id = store.ensure_job("mount-job", source_id, str(root), str(target), opts.to_dict())
    run_id = store.create_run(job_id, "full", "manual", False)
    return Run(store, run_id, JobSpec(job_id, str(target), opts), driver, "full").execute()


def flaky(record, lookup, root, dead, **options) -> FlakyMount:
    made = open_driver(record, str(root), SyncOptions(**options), sources=lookup)
    driver = FlakyMount(str(root), fallback=made.fallback, download=made.download)
    driver.dead = dead
    return driver


def test_metadata_falls_back_to_the_api_when_the_mount_fails(
        store, mount_source, openlist_server, tmp_path):
    record, lookup, media = mount_source
    driver = flaky(record, lookup, media, {NFO: errno.EIO, POSTER: errno.ENOTCONN,
                                           SRT: ("read", 4)})
    target = tmp_path / "target"
    try:
        summary = run_local(store, driver, media, target)
    finally:
        driver.close()

    assert summary.status == "succeeded", summary.error
    assert summary.counts["meta_copied"] == 3
    for rel in (NFO, POSTER, SRT):
        assert (target / rel).read_bytes() == rel.encode()
        assert (target / rel).stat().st_mtime_ns == (media / rel).stat().st_mtime_ns
    downloads = {call.target.split("?")[0] for call in openlist_server.traffic.calls_to("d")}
    assert len(downloads) == 3 and all(d.startswith("/d/115open/Media/") for d in downloads)


def test_a_missing_file_is_not_a_mount_failure(store, mount_source, openlist_server, tmp_path):
    record, lookup, media = mount_source
    driver = flaky(record, lookup, media, {NFO: errno.ENOENT})
    try:
        summary = run_local(store, driver, media, tmp_path / "target")
    finally:
        driver.close()

    assert summary.status == "partial" and summary.counts["failed"] == 1
    assert openlist_server.traffic.calls_to("d") == []


def test_meta_mode_download_reads_all_metadata_through_the_api(
        store, mount_source, openlist_server, tmp_path):
    record, lookup, media = mount_source
    driver = flaky(record, lookup, media, {}, meta_mode="download")
    try:
        summary = run_local(store, driver, media, tmp_path / "target", meta_mode="download")
    finally:
        driver.close()

    assert summary.status == "succeeded", summary.error
    assert len(openlist_server.traffic.calls_to("d")) == 3
    assert openlist_server.traffic.calls["fs/get"] == 0


def test_a_job_below_the_mount_root_maps_to_the_same_folder_of_the_fallback(mount_source):
    record, lookup, media = mount_source

    driver = open_driver(record, str(media / "Shows"), SyncOptions(), sources=lookup)
    try:
        assert isinstance(driver.fallback, OpenListDriver)
        assert driver.fallback.root == "/Media/Shows"
        assert driver.fallback.open("Space Show/S01/e1.srt").read() == SRT.encode()
    finally:
        driver.close()
    with pytest.raises(ConfigError, match="fallback_source"):
        open_driver({**record, "config": {**record["config"], "fallback_source": "nope"}},
                    str(media), SyncOptions(), sources=lookup)
