"""Where a run's batches are done: inline while they are quick, on a pool once they are slow.

A batch writes `.strm` files and copies metadata. On a local disk that is ~20-40 us a file,
and handing it to threads costs more than it saves: on two cores the run's thread and the
pool's pass the GIL back and forth at every syscall batch (a first sync of 100,000 videos on
tmpfs: 5.3 s with a pool, 4.6 s inline). Through a mount of a cloud drive or onto a network
share a file costs milliseconds, and there the pool's concurrency is the point (issue 16:
"metadata copies from the mount stay concurrent and bounded"). So batches run inline until
SLOW_STREAK more slow batches than quick ones, then on the pool for the rest of the run,
as the local walk decides between listing inline and with workers. The run tells the pool
how long each batch took (`note`), its deferred writes included (batch.py).
"""

from concurrent.futures import Future, ThreadPoolExecutor

# A batch slower than this per item is waiting on a mount, a share or a remote source;
# one ten times slower (copies through a cloud mount: ~20 ms a file) counts twice, so the
# pool takes over after one such batch instead of two.
SLOW_PER_ITEM = 0.0005
SLOW_STREAK = 2
MUCH_SLOWER = 10


class BatchPool:
    """`submit(fn, items, *args)` -> a Future, as a ThreadPoolExecutor's, done inline first.

    Results are taken in submission order either way, so the run merges batches as before;
    an exception a batch raises is held by its Future, as the pool would hold it.
    """

    def __init__(self, workers: int, name: str):
        self.workers = max(1, workers)
        self.name = name
        self.pool: ThreadPoolExecutor | None = None
        self.slow = 0  # one more for each slow batch, one less for each quick one

    def __enter__(self) -> "BatchPool":
        return self

    def __exit__(self, *exc_info) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)

    @property
    def pooled(self) -> bool:
        """Whether batches now go to the pool."""
        return self.pool is not None

    def submit(self, fn, items: list, *args) -> Future:
        """Do `fn(items, *args)` now, or queue it on the pool once batches proved slow."""
        if self.pool is not None:
            return self.pool.submit(fn, items, *args)
        future: Future = Future()
        try:
            future.set_result(fn(items, *args))
        except Exception as exc:  # noqa: BLE001 - held for .result(), as a pool holds it
            future.set_exception(exc)
        return future

    def note(self, seconds: float, items: int) -> None:
        """Count a batch of `items` that took `seconds`; slow ones move batches to the pool."""
        if self.pool is not None:
            return
        limit = SLOW_PER_ITEM * max(1, items)
        if seconds > limit:
            self.slow += 2 if seconds > MUCH_SLOWER * limit else 1
        elif self.slow:
            self.slow -= 1
        if self.slow >= SLOW_STREAK:
            self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix=self.name)
