"""The concurrent breadth-first walk: folder pages listed by a bounded pool, streamed as done."""

import logging
import queue
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from strmsync.errors import FatalError, StrmsyncError
from strmsync.strm.drivers.base import Listing, ScanReport

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Page:
    """One page of a folder: its files and subfolder names, and how many pages it has."""

    files: list
    subdirs: list
    total: int = 0  # entries in the whole folder, as this page reported it
    pages: int = 1


# list_page(rel, page, total_from_page_1_or_None) -> Page
PageLister = Callable[[str, int, "int | None"], Page]


def walk(list_page: PageLister, max_depth: int, report: ScanReport,
         workers: int) -> Iterator[Listing]:
    """Yield a Listing per folder page as soon as it is listed, breadth-first.

    At most `4 * workers` pages are listed or waiting to be consumed at any time, so memory
    holds a few pages plus the names of folders still to visit, never the whole tree.
    """
    pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="strmsync-walk")
    pending: deque = deque([("", 0, 1, None)])
    running: dict[Future, tuple] = {}
    # Finished pages arrive on a queue: concurrent.futures.wait() would lock and hook every
    # running future on each round, a cost per folder that grows with the window.
    finished: queue.SimpleQueue = queue.SimpleQueue()
    window = 4 * max(1, workers)
    try:
        while pending or running:
            while pending and len(running) < window:
                rel, depth, page, total = pending.popleft()
                future = pool.submit(list_page, rel, page, total)
                running[future] = (rel, depth, page)
                future.add_done_callback(finished.put)
            future = finished.get()
            rel, depth, page = running.pop(future)
            listing = _take(future, rel, depth, page, max_depth, pending, report)
            if listing is not None:
                yield listing
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _take(future: Future, rel: str, depth: int, page: int, max_depth: int, pending: deque,
          report: ScanReport) -> Listing | None:
    try:
        result: Page = future.result()
    except FatalError:
        raise
    except StrmsyncError as exc:
        report.errors.append((rel, _where(page, exc)))
        return None
    except Exception as exc:  # noqa: BLE001 - an unexpected answer still only fails its folder
        log.exception("listing %s failed unexpectedly", rel or "/")
        report.errors.append((rel, _where(page, f"unexpected answer: {exc!r}")))
        return None
    if page == 1:
        # Later pages go first so a folder's pages finish together; each is listed once.
        for number in range(result.pages, 1, -1):
            pending.appendleft((rel, depth, number, result.total))
    for name in result.subdirs:
        child = f"{rel}/{name}" if rel else name
        if not _safe_name(name):
            report.errors.append((child, "unsafe folder name from the source"))
        elif depth + 1 > max_depth:
            report.truncated.append(child)
        else:
            pending.append((child, depth + 1, 1, None))
    return Listing(rel, result.files, result.subdirs)


def _safe_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and "\x00" not in name


def _where(page: int, problem) -> str:
    return f"page {page}: {problem}" if page > 1 else str(problem)
