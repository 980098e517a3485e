"""Local syncs through a real FUSE mount that answers each readdir and open after a delay,
as a cloud drive's mount does: folders are listed at once, up to the source's concurrency."""

import os
import shutil
import time
from pathlib import Path

import pytest

from strmsync.config import SyncOptions
from strmsync.strm.drivers import open_driver
from strmsync.strm.engine import JobSpec, Run
from tests.conftest import make_files, tree
from tests.standins.slowfs import SlowMount

FOLDERS = 24  # below the root: shows/<title>/Season 01, so 2 + FOLDERS listings in all


@pytest.fixture
def slow_mount(tmp_path: Path):
    """A slow passthrough mount of a small library (a video and an .nfo per folder)."""
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse on this machine: FUSE mounts cannot be made here")
    library = tmp_path / "library"
    make_files(library, {f"shows/Show {i:02d}/Season 01/Show {i:02d} - S01E01.mkv": "v"
                         for i in range(FOLDERS // 2)})
    make_files(library, {f"shows/Show {i:02d}/Season 01/Show {i:02d} - S01E01.nfo": "<nfo/>"
                         for i in range(FOLDERS // 2)})
    with SlowMount(str(library), str(tmp_path / "mnt"), str(tmp_path / "slowfs.log"),
                   readdir_delay=0.05, open_delay=0.01) as mount:
        yield mount


def _sync(cli, mount, target, *flags):
    started = time.monotonic()
    result = cli("sync", mount.mountpoint, target, "--json", *flags)
    assert result.code == 0, result.err
    return result.summary, mount.calls(started, time.monotonic())


def test_a_sync_through_a_slow_mount_lists_folders_at_once(cli, slow_mount, tmp_path):
    summary, calls = _sync(cli, slow_mount, tmp_path / "eight", "--list-concurrency", "8")
    assert (summary["status"], summary["created"], summary["meta_copied"]) == (
        "succeeded", FOLDERS // 2, FOLDERS // 2)
    assert calls.readdirs == FOLDERS + 2  # each folder listed once
    assert 1 < calls.max_readdirs <= 8
    assert calls.opens == FOLDERS // 2  # each .nfo copied once, through the mount
    assert 1 <= calls.max_opens <= 4  # the run's file concurrency (default 4)

    summary, calls = _sync(cli, slow_mount, tmp_path / "one", "--list-concurrency", "1")
    assert summary["status"] == "succeeded"
    assert (calls.readdirs, calls.max_readdirs) == (FOLDERS + 2, 1)
    assert tree(tmp_path / "one") == tree(tmp_path / "eight")
    strm = "shows/Show 03/Season 01/Show 03 - S01E01.strm"
    assert (tmp_path / "eight" / strm).read_text() == f"{slow_mount.mountpoint}/{strm[:-5]}.mkv"


def test_a_job_lists_as_many_folders_at_once_as_its_source_allows(store, slow_mount, tmp_path):
    source_id = store.ensure_source("cloud mount", "local", {"root": slow_mount.mountpoint})
    store.update_source(source_id, {"concurrency": 3})
    options = SyncOptions(meta_mode="none")
    job_id = store.ensure_job("films", source_id, slow_mount.mountpoint, str(tmp_path / "out"),
                              options.to_dict())
    run_id = store.create_run(job_id, "full", "manual", False)
    driver = open_driver(store.source(source_id), slow_mount.mountpoint, options)
    started = time.monotonic()
    summary = Run(store, run_id, JobSpec(job_id, str(tmp_path / "out"), options), driver,
                  "full").execute()
    calls = slow_mount.calls(started, time.monotonic())
    assert (summary.status, summary.counts["created"]) == ("succeeded", FOLDERS // 2)
    assert 1 < calls.max_readdirs <= 3
    assert calls.opens == 0


def test_a_folder_gone_from_the_mount_is_cleaned_up_after_a_concurrent_walk(
        cli, slow_mount, tmp_path):
    target = tmp_path / "out"
    _sync(cli, slow_mount, target)
    shutil.rmtree(Path(slow_mount.source) / "shows/Show 05")
    summary, calls = _sync(cli, slow_mount, target)
    assert (summary["status"], summary["deleted"]) == ("succeeded", 2)
    assert not list(target.glob("shows/Show 05/*/*"))
    assert len(list(target.glob("shows/*/*/*.strm"))) == FOLDERS // 2 - 1
    assert calls.max_readdirs > 1
