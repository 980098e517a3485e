"""A local sync through one `scan_folder` call per folder, against the general path."""

import os

import pytest

from strmsync.config import SyncOptions
from strmsync.store import Store
from strmsync.strm.drivers import LocalDriver
from strmsync.strm.engine import JobSpec, Run
from strmsync.strm.engine.plan import digest
from tests.conftest import make_files, tree

LIBRARY = {
    "电影/A #1 (2001)/A #1 (2001).mkv": "v",
    "电影/A #1 (2001)/A #1 (2001).nfo": "<movie/>",
    "电影/A #1 (2001)/poster.jpg": b"\x89PNG",
    "电影/A #1 (2001)/notes.txt": "ignored",
    "shows/S/Season 1/e1.mp4": "v",
    "shows/S/Season 1/e1.srt": "subs",
    "shows/S/Season 1/e2.MKV": "v",
    "top.mkv": "v",
}


class GeneralPathDriver(LocalDriver):
    """The local driver seen as any other driver: its folders go through `map_names`."""


def sync(data, source, target, driver_class=LocalDriver, **options):
    store = Store(data / "strmsync.db")
    try:
        opts = SyncOptions(**{"max_delete": 1.0, "strm_mode": "url", "meta_mode": "copy",
                              **options})
        source_id = store.ensure_source("local", "local", {"root": str(source)})
        job_id = store.ensure_job("job", source_id, str(source), str(target), opts.to_dict())
        run_id = store.create_run(job_id, "full", "manual", False)
        driver = driver_class(str(source), url_base="http://nas:5244/d/")
        summary = Run(store, run_id, JobSpec(job_id, str(target), opts), driver,
                      "full").execute()
        manifest = {path: entry[:2] for path, entry in store.load_manifest(job_id).items()}
        return summary.status, summary.counts, manifest
    finally:
        store.close()


def both(tmp_path, source, **options):
    """Sync with the folder path and with the general path; both outcomes and trees."""
    out = []
    for name, driver_class in (("folder", LocalDriver), ("general", GeneralPathDriver)):
        target = tmp_path / f"target-{name}"
        out.append((*sync(tmp_path / f"data-{name}", source, target, driver_class, **options),
                    tree(target)))
    return out


@pytest.mark.parametrize("options", [{}, {"meta_update": "update"}, {"meta_mode": "none"},
                                     {"strm_mode": "path"}])
def test_folder_path_agrees_with_the_general_path(tmp_path, source, options):
    make_files(source, LIBRARY)
    first = both(tmp_path, source, **options)
    assert first[0] == first[1]
    assert first[0][1]["created"] == 4
    # Change the targets and the source under both: a hand-edited .strm, a lost sidecar,
    # a video gone (its .strm is an orphan in a folder that still lists), a new one.
    for name in ("folder", "general"):
        target = tmp_path / f"target-{name}"
        (target / "top.strm").write_bytes(b"edited")
        if options.get("meta_mode") != "none":
            (target / "shows/S/Season 1/e1.srt").unlink()
    (source / "shows/S/Season 1/e2.MKV").unlink()
    make_files(source, {"shows/S/Season 1/e3.mkv": "v"})
    second = both(tmp_path, source, **options)
    assert second[0] == second[1]
    counts = second[0][1]
    assert (counts["updated"], counts["created"], counts["deleted"]) == (1, 1, 1)
    assert "shows/S/Season 1/e2.strm" not in second[0][3]


def test_a_noop_resync_touches_nothing(tmp_path, source, target):
    make_files(source, LIBRARY)
    data = tmp_path / "data"
    sync(data, source, target)
    before = {rel: os.stat(target / rel).st_mtime_ns for rel in tree(target)}
    store = Store(data / "strmsync.db")
    written = store.db.execute("SELECT path, written_at FROM manifest").fetchall()
    store.close()
    status, counts, _ = sync(data, source, target)
    assert status == "succeeded"
    assert (counts["scanned"], counts["skipped"]) == (7, 7)
    assert sum(counts[k] for k in ("created", "updated", "deleted", "meta_copied")) == 0
    assert {rel: os.stat(target / rel).st_mtime_ns for rel in tree(target)} == before
    store = Store(data / "strmsync.db")
    assert store.db.execute("SELECT path, written_at FROM manifest").fetchall() == written
    store.close()


def test_an_equal_strm_with_a_stale_digest_is_claimed_again_unwritten(tmp_path, source,
                                                                      target):
    make_files(source, {"a.mkv": "v"})
    data = tmp_path / "data"
    sync(data, source, target)
    mtime = os.stat(target / "a.strm").st_mtime_ns
    store = Store(data / "strmsync.db")
    store.put_manifest(1, [("a.strm", "strm", digest(b"an older text"), None, None)])
    store.close()
    _, counts, manifest = sync(data, source, target)
    assert counts["skipped"] == 1 and os.stat(target / "a.strm").st_mtime_ns == mtime
    assert manifest["a.strm"] == ("strm", digest((target / "a.strm").read_bytes()))
