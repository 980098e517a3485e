"""Where a run's batches are done (inline while quick, on a pool once slow) and how their
record reaches SQLite (a thread of its own, in order, nothing lost)."""

import threading
import time

import pytest

from strmsync.strm.engine import batchpool
from strmsync.strm.engine.batchpool import BatchPool
from strmsync.strm.engine.recorder import Recorder


class Work:
    """A batch function that notes the thread it ran on and how many ran at once."""

    def __init__(self, seconds_per_item: float = 0.0):
        self.seconds_per_item = seconds_per_item
        self.threads: list[str] = []
        self.running = self.most = 0
        self.lock = threading.Lock()

    def __call__(self, items: list, tag: str) -> tuple:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        self.threads.append(threading.current_thread().name)
        time.sleep(self.seconds_per_item * len(items))
        with self.lock:
            self.running -= 1
        return tag, len(items)


def test_quick_batches_run_inline_in_the_callers_thread():
    work = Work()
    with BatchPool(8, "test-batch") as pool:
        futures = [pool.submit(work, [1, 2, 3], f"b{i}") for i in range(20)]
        assert not pool.pooled
    assert [f.result() for f in futures] == [(f"b{i}", 3) for i in range(20)]
    assert set(work.threads) == {threading.current_thread().name}


def test_slow_batches_go_to_the_pool_concurrently_and_bounded():
    # 2 ms an item is a mount's round trip per file, far above SLOW_PER_ITEM.
    work = Work(seconds_per_item=0.002)
    with BatchPool(3, "test-batch") as pool:
        futures = [pool.submit(work, [1, 2, 3, 4], f"b{i}") for i in range(12)]
        results = [f.result() for f in futures]
    assert results == [(f"b{i}", 4) for i in range(12)]  # in submission order
    inline = batchpool.SLOW_STREAK
    assert set(work.threads[:inline]) == {threading.current_thread().name}
    assert all(name.startswith("test-batch") for name in work.threads[inline:])
    assert 1 < work.most <= 3


def test_a_batch_that_raises_holds_its_error_like_a_pool():
    def explode(items, why):
        raise RuntimeError(why)

    with BatchPool(2, "test-batch") as pool:
        future = pool.submit(explode, [1], "disk gone")
    with pytest.raises(RuntimeError, match="disk gone"):
        future.result()


def _job(store, tmp_path):
    source_id = store.ensure_source("films", "local", {"root": str(tmp_path / "src")})
    job_id = store.ensure_job("films", source_id, str(tmp_path / "src"), str(tmp_path / "out"),
                              {})
    return job_id, store.create_run(job_id, "full", "manual", False)


def test_the_recorder_writes_every_batch_in_order(store, tmp_path):
    job_id, run_id = _job(store, tmp_path)
    with Recorder(store, job_id, run_id) as recorder:
        for i in range(40):
            recorder.record([(f"F{i}.strm", "strm", f"{i:016x}", None, None)],
                            [("create", "strm", f"F{i}.strm")])
        recorder.record([("F3.strm", "strm", "ffffffffffffffff", None, None)],
                        [("update", "strm", "F3.strm")])
    manifest = store.load_manifest(job_id)
    assert len(manifest) == 40
    assert manifest["F3.strm"][1] == "ffffffffffffffff"  # the later row wins
    changes = store.run_changes(run_id)
    assert [c["path"] for c in changes[:40]] == [f"F{i}.strm" for i in range(40)]
    assert changes[-1] == {"action": "update", "kind": "strm", "path": "F3.strm"}


def test_the_recorder_finishes_the_record_when_the_scan_fails(store, tmp_path):
    job_id, run_id = _job(store, tmp_path)
    with pytest.raises(KeyError), Recorder(store, job_id, run_id) as recorder:
        for i in range(20):
            recorder.record([(f"F{i}.strm", "strm", "0" * 16, None, None)], [])
        raise KeyError("the walk broke")
    assert len(store.load_manifest(job_id)) == 20  # what was written is managed


def test_a_failed_insert_is_raised_in_the_runs_thread(store, tmp_path):
    job_id, run_id = _job(store, tmp_path)
    with pytest.raises(ValueError), Recorder(store, job_id, run_id) as recorder:  # noqa: PT012
        recorder.record([("F.strm", "strm")], [])  # a row of the wrong width: refused
        for _ in range(100):  # raised at a later hand-over or, at the latest, on leaving
            time.sleep(0.01)
            recorder.record([], [("create", "strm", "G.strm")])
