"""The engine driven directly: fault injection on the source, planning with literals."""

import os
import threading

import pytest

import _fastscan
from strmsync.config import SyncOptions
from strmsync.strm.drivers import Listing, LocalDriver
from strmsync.strm.engine import JobSpec, Progress, Run
from strmsync.strm.engine.plan import (
    DIFFERENT,
    EQUAL,
    MISSING,
    PRESENT,
    Item,
    digest,
    plan_cleanup,
    plan_item,
)
from tests.conftest import make_files, tree


class FlakyDriver(LocalDriver):
    """A real local source whose listings can fail or come back empty, as clouds do."""

    def __init__(self, root, fail=(), empty=(), empty_on_relist=False):
        super().__init__(root)
        self.fail, self.empty, self.empty_on_relist = set(fail), set(empty), empty_on_relist
        self.relisted = []

    def listings(self, max_depth, report):
        for listing in super().listings(max_depth, report):
            if listing.dir in self.fail:
                report.errors.append((listing.dir, "HTTP 500 from the cloud"))
                continue
            if listing.dir in self.empty:
                listing = Listing(listing.dir, [], [])
            yield listing

    def list_dir(self, rel):
        self.relisted.append(rel)
        if self.empty_on_relist:
            return Listing(rel, [], [])
        return super().list_dir(rel)


def run_job(store, source, target, driver=None, mode="full", dry_run=False, **options):
    opts = SyncOptions(**{"max_delete": 1.0, **options})
    source_id = store.ensure_source("local", "local", {"root": str(source)})
    job_id = store.ensure_job("job", source_id, str(source), str(target), opts.to_dict())
    run_id = store.create_run(job_id, mode, "manual", dry_run)
    driver = driver or LocalDriver(str(source))
    return Run(store, run_id, JobSpec(job_id, str(target), opts), driver, mode, dry_run).execute()


@pytest.fixture
def library(source):
    make_files(source, {f"show/s{s}/e{e}.mkv": "v" for s in range(3) for e in range(4)})
    return source


def test_a_listing_error_disables_cleanup(store, library, target):
    run_job(store, library, target)
    (library / "show/s0/e0.mkv").unlink()
    summary = run_job(store, library, target, FlakyDriver(library, fail={"show/s1"}))
    assert summary.status == "partial"
    assert "could not be listed: show/s1" in summary.error
    assert summary.counts["deleted"] == 0
    assert (target / "show/s0/e0.strm").exists()
    assert len(tree(target)) == 12


def test_a_folder_listing_empty_is_listed_again_before_deleting(store, library, target):
    run_job(store, library, target)
    driver = FlakyDriver(library, empty={"show/s2"})
    summary = run_job(store, library, target, driver)
    assert driver.relisted == ["show/s2"]
    assert summary.status == "partial" and "listed empty, then not" in summary.error
    assert summary.counts["deleted"] == 0 and len(tree(target)) == 12


def test_a_folder_confirmed_empty_is_cleaned_up(store, library, target):
    run_job(store, library, target)
    for e in range(4):
        (library / f"show/s2/e{e}.mkv").unlink()
    driver = FlakyDriver(library)
    summary = run_job(store, library, target, driver)
    assert driver.relisted == ["show/s2"]
    assert summary.status == "succeeded" and summary.counts["deleted"] == 4
    assert not (target / "show/s2").exists()
    assert store.load_manifest(1).keys() == {f"show/s{s}/e{e}.strm" for s in (0, 1)
                                             for e in range(4)}


def test_incremental_and_dry_runs_never_delete(store, library, target):
    run_job(store, library, target)
    (library / "show/s0/e0.mkv").unlink()
    assert run_job(store, library, target, mode="incremental").counts["deleted"] == 0
    dry = run_job(store, library, target, dry_run=True)
    assert dry.counts["deleted"] == 1 and ("delete", "strm", "show/s0/e0.strm") in dry.changes
    assert (target / "show/s0/e0.strm").exists()


def test_names_that_would_escape_are_rejected(store, source, target):
    make_files(source, {"ok.mkv": "v"})

    class HostileDriver(LocalDriver):
        def listings(self, max_depth, report):
            yield Listing("", [("ok.mkv", 1, 0), ("../../evil.mkv", 1, 0), ("a\x00.mkv", 1, 0)])

    summary = run_job(store, source, target, HostileDriver(str(source)))
    assert summary.counts["created"] == 1 and summary.counts["failed"] == 2
    assert summary.status == "partial"
    assert [p for p in tree(target.parent) if p.endswith(".strm")] == ["target/ok.strm"]
    assert not (target.parent.parent / "evil.strm").exists()
    assert tree(target) == {"ok.strm": str(source / "ok.mkv").encode()}


def test_local_listings_skip_the_stat_and_copies_still_get_the_source_stats(
        store, source, target):
    make_files(source, {"f/a.mkv": "v", "f/a.nfo": "12345", "f/poster.jpg": "jpg"})
    os.utime(source / "f/a.nfo", ns=(1, 1_600_000_000_123_456_789))
    assert LocalDriver(str(source)).list_dir("f").files == [
        (name, _fastscan.UNKNOWN, _fastscan.UNKNOWN) for name in ("a.mkv", "a.nfo", "poster.jpg")]
    summary = run_job(store, source, target)
    assert summary.counts["meta_copied"] == 2 and summary.counts["created"] == 1
    assert (target / "f/a.nfo").stat().st_mtime_ns == 1_600_000_000_123_456_789
    assert store.load_manifest(1)["f/a.nfo"] == ("meta", None, 5, 1_600_000_000_123_456_789)
    assert run_job(store, source, target).counts["skipped"] == 3
    (source / "f/a.nfo").unlink()  # cleanup recognises the copy by the recorded stats
    summary = run_job(store, source, target)
    assert summary.counts["deleted"] == 1 and not (target / "f/a.nfo").exists()


def test_meta_update_compares_with_the_source_stats(store, source, target):
    make_files(source, {"a.mkv": "v", "a.nfo": "old"})
    run_job(store, source, target, meta_update="update")
    assert run_job(store, source, target, meta_update="update").counts["meta_copied"] == 0
    (source / "a.nfo").write_bytes(b"newer")
    summary = run_job(store, source, target, meta_update="update")
    assert summary.counts["meta_copied"] == 1 and (target / "a.nfo").read_bytes() == b"newer"
    assert (target / "a.nfo").stat().st_mtime_ns == (source / "a.nfo").stat().st_mtime_ns
    assert run_job(store, source, target, meta_update="update").counts["meta_copied"] == 0


def test_a_metadata_source_that_cannot_be_stated_fails_alone(store, source, target):
    make_files(source, {"a.mkv": "v", "a.nfo": "n", "b.nfo": "n", "c.nfo": "n"})

    class VanishingDriver(LocalDriver):
        def stat_files(self, rels):
            found = dict(zip(rels, super().stat_files(rels), strict=True))
            return [{"a.nfo": None, "b.nfo": _fastscan.STAT_BROKEN}.get(rel, found[rel])
                    for rel in rels]

    summary = run_job(store, source, target, VanishingDriver(str(source)))
    assert summary.status == "partial" and summary.counts["failed"] == 2
    assert summary.counts["meta_copied"] == 1 and summary.counts["created"] == 1
    assert sorted(tree(target)) == ["a.strm", "c.nfo"]
    assert set(store.load_manifest(1)) == {"a.strm", "c.nfo"}


def test_a_direct_metadata_copy_that_fails_fails_alone(store, source, target):
    make_files(source, {"a.mkv": "v", "a.nfo": "n", "b.nfo": "n"})

    class MovingDriver(LocalDriver):
        def local_paths(self, rels):
            return [path + ".moved" if path.endswith("a.nfo") else path
                    for path in super().local_paths(rels)]

    summary = run_job(store, source, target, MovingDriver(str(source)))
    assert summary.status == "partial" and summary.counts["failed"] == 1
    assert summary.counts["meta_copied"] == 1
    assert {"level": "ERROR", "message": "a.nfo: metadata copy failed: No such file or directory"
            } in [{k: line[k] for k in ("level", "message")} for line in store.run_log(1)]
    assert sorted(tree(target)) == ["a.strm", "b.nfo"]
    assert set(store.load_manifest(1)) == {"a.strm", "b.nfo"}


def test_concurrency_and_progress(store, source, target):
    make_files(source, {f"d{i % 37}/f{i}.mkv": "v" for i in range(2000)})
    snapshots = []
    opts = SyncOptions(concurrency=8)
    source_id = store.ensure_source("local", "local", {"root": str(source)})
    job_id = store.ensure_job("job", source_id, str(source), str(target), opts.to_dict())
    run_id = store.create_run(job_id, "full", "manual", False)
    progress = Progress(callback=snapshots.append, interval=0)
    summary = Run(store, run_id, JobSpec(job_id, str(target), opts), LocalDriver(str(source)),
                  "full", progress=progress).execute()
    assert summary.counts["created"] == 2000 and len(tree(target)) == 2000
    scanning = [s for s in snapshots if s["phase"] == "scanning"]
    assert scanning and scanning[-1]["scanned"] == 2000
    assert all(s["rate"] >= 0 for s in scanning) and snapshots[-1]["phase"] == "done"


def test_cancel_stops_at_a_safe_point(store, source, target):
    make_files(source, {f"d{i % 10}/f{i}.mkv": "v" for i in range(3000)})
    cancel = threading.Event()
    opts = SyncOptions()
    source_id = store.ensure_source("local", "local", {"root": str(source)})
    job_id = store.ensure_job("job", source_id, str(source), str(target), opts.to_dict())
    run_id = store.create_run(job_id, "full", "manual", False)
    progress = Progress(callback=lambda snap: snap["scanned"] and cancel.set(), interval=0)
    summary = Run(store, run_id, JobSpec(job_id, str(target), opts), LocalDriver(str(source)),
                  "full", progress=progress, cancel=cancel).execute()
    assert summary.status == "cancelled"
    assert store.run(run_id)["status"] == "cancelled"
    assert 0 < len(tree(target)) < 3000


def test_an_unwritable_target_fails_the_run(store, source, tmp_path):
    make_files(source, {"a.mkv": "v"})
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    summary = run_job(store, source, blocker / "strm")
    assert summary.status == "failed" and "target: cannot create" in summary.error


# pure planning -------------------------------------------------------------------------


def strm_item(text=b"/m/a.mkv"):
    return Item("a.mkv", "a.strm", "strm", 1, 0, text)


@pytest.mark.parametrize("observed, managed, expected", [
    (MISSING, None, ("create", True)),
    (DIFFERENT, None, ("update", True)),
    (EQUAL, None, ("skip", True)),
    (EQUAL, ("strm", digest(b"/m/a.mkv"), None, None), ("skip", False)),
    (EQUAL, ("strm", "stale", None, None), ("skip", True)),
    (PRESENT, None, ("skip", False)),
])
def test_plan_strm(observed, managed, expected):
    assert plan_item(strm_item(), observed, managed, SyncOptions()) == expected


def test_plan_metadata_update_only_for_managed_files():
    item = Item("a.nfo", "a.nfo", "meta", 10, 5 * 10**9)
    update = SyncOptions(meta_update="update")
    managed = ("meta", None, 9, 4 * 10**9)
    assert plan_item(item, None, None, SyncOptions()) == ("copy", True)
    assert plan_item(item, (9, 4 * 10**9), managed, SyncOptions()) == ("skip", False)
    assert plan_item(item, (9, 4 * 10**9), managed, update) == ("copy", True)
    assert plan_item(item, (9, 4 * 10**9), None, update) == ("skip", False)
    assert plan_item(item, (10, 5 * 10**9 + 300), managed, update) == ("skip", False)
    assert plan_item(item, None, None, SyncOptions(meta_mode="none")) == ("ignore", False)


def test_plan_cleanup_rules():
    opts = SyncOptions(max_delete=0.1)
    orphans = [f"x/{i}.strm" for i in range(5)]
    assert plan_cleanup(orphans, 100, opts, "full", None).delete == tuple(sorted(orphans))
    assert plan_cleanup(orphans, 40, opts, "full", None).blocked
    assert plan_cleanup(orphans, 100, opts, "incremental", None).delete == ()
    assert plan_cleanup(orphans, 100, opts, "full", "listing failed").skipped
    assert plan_cleanup(orphans, 100, SyncOptions(cleanup="off"), "full", None).delete == ()
    assert plan_cleanup(orphans, 100, opts, "full", None, ("x",)).delete == ()
