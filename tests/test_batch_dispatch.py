"""Where a run's batches are done: inline while quick, on a pool once slow."""

import threading
import time

import pytest

from strmsync.strm.engine import batchpool
from strmsync.strm.engine.batchpool import BatchPool


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
        futures = []
        for i in range(20):
            futures.append(pool.submit(work, [1, 2, 3], f"b{i}"))
            pool.note(0.0001, 3)  # 33 us an item: a local disk
        assert not pool.pooled
    assert [f.result() for f in futures] == [(f"b{i}", 3) for i in range(20)]
    assert set(work.threads) == {threading.current_thread().name}


def test_slow_batches_go_to_the_pool_concurrently_and_bounded():
    # 2 ms an item is a mount's round trip per file, far above SLOW_PER_ITEM.
    work = Work(seconds_per_item=0.002)
    with BatchPool(3, "test-batch") as pool:
        futures = []
        for i in range(12):
            began = time.perf_counter()
            futures.append(pool.submit(work, [1, 2, 3, 4], f"b{i}"))
            pool.note(time.perf_counter() - began, 4)  # as the run notes a batch inline
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


def test_one_much_slower_batch_moves_the_rest_to_the_pool_at_once():
    with BatchPool(4, "test-batch") as pool:
        pool.note(0.0003 * 256, 256)  # a local disk
        assert not pool.pooled
        pool.note(0.020 * 100, 100)  # copies through a cloud mount: 20 ms a file
        assert pool.pooled
        assert pool.submit(Work(), [1], "late").result() == ("late", 1)
