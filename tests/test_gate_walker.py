"""The shared pieces of the remote drivers: the source gate, the walk, pages, URLs, times."""

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from strmsync.cli.source_url import parse_source_url
from strmsync.errors import ConfigError, ListingError, RetryableError, ThrottledError
from strmsync.sources import validate_source
from strmsync.strm.drivers import ScanReport, open_remote
from strmsync.strm.drivers.gate import SourceGate, SourcePolicy
from strmsync.strm.drivers.openlist_api import parse_time
from strmsync.strm.drivers.remote import check_page
from strmsync.strm.drivers.walker import Page, walk
from tests.remote import FAST

QUICK = SourcePolicy(attempts=3, backoff=0.01, throttle_pause=0.2, max_pause=0.2)


def test_a_throttled_call_pauses_every_other_call_of_the_source():
    gate = SourceGate(SourcePolicy(concurrency=4, throttle_pause=0.3, max_pause=0.3))
    started: dict = {}
    throttled = threading.Event()

    def request(number: int) -> int:
        started.setdefault(number, time.monotonic())
        if number == 0 and not throttled.is_set():
            throttled.set()
            raise ThrottledError("HTTP 429")
        return number

    def caller(number: int) -> int:
        if number:
            throttled.wait()  # the others ask while the source is paused
        return gate.call(lambda: request(number), "x")

    begin = time.monotonic()
    with ThreadPoolExecutor(5) as pool:
        results = list(pool.map(caller, range(5)))

    assert results == [0, 1, 2, 3, 4]
    assert all(started[n] - begin >= 0.28 for n in range(1, 5))
    assert gate.stats["throttled"] == 1 and gate.stats["pauses"] == 1


def test_retry_after_counts_but_is_capped_by_the_longest_pause():
    gate = SourceGate(SourcePolicy(throttle_pause=0.05, max_pause=0.25))
    tries: list[float] = []

    def request():
        tries.append(time.monotonic())
        if len(tries) == 1:
            raise ThrottledError("HTTP 429", retry_after=120)
        return "ok"

    assert gate.call(request, "x") == "ok"
    assert 0.23 <= tries[1] - tries[0] < 1.0


def test_retryable_errors_back_off_then_give_up_saying_so():
    gate = SourceGate(QUICK)
    tries = []

    def request():
        tries.append(time.monotonic())
        raise RetryableError("HTTP 502")

    with pytest.raises(RetryableError, match="HTTP 502 \\(gave up after 3 tries\\)"):
        gate.call(request, "x")
    assert len(tries) == 3 and tries[2] - tries[1] > tries[1] - tries[0] > 0


def test_other_errors_are_not_retried():
    gate = SourceGate(QUICK)
    tries = []

    def request():
        tries.append(1)
        raise ListingError("refused")

    with pytest.raises(ListingError):
        gate.call(request, "x")
    assert tries == [1]


def test_qps_spaces_the_starts_and_concurrency_caps_calls_in_flight():
    gate = SourceGate(SourcePolicy(qps=50, concurrency=2))
    starts, in_flight, peak = [], [0], [0]
    lock = threading.Lock()

    def request():
        with lock:
            starts.append(time.monotonic())
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.03)
        with lock:
            in_flight[0] -= 1

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda _: gate.call(request, "x"), range(10)))

    starts.sort()
    assert peak[0] == 2
    assert starts[-1] - starts[0] >= 9 * 0.02 * 0.9


def pages_of(tree: dict, listed: list, per_page: int = 2):
    """A page lister over a literal tree `{folder: [names]}`; folders end with '/'."""
    lock = threading.Lock()

    def list_page(rel: str, page: int, total):
        with lock:
            listed.append((rel, page))
        if rel not in tree:
            raise ListingError("object not found")
        names = tree[rel]
        chunk = names[(page - 1) * per_page: page * per_page]
        files = [(n, 1, 0) for n in chunk if not n.endswith("/")]
        dirs = [n[:-1] for n in chunk if n.endswith("/")]
        return Page(files, dirs, len(names), -(-len(names) // per_page))

    return list_page


def test_many_threads_at_a_high_qps_all_get_through():
    # Threads switched often, so one is often held up between reading the clock and
    # sleeping: a wait worked out from two readings could come out negative and fail.
    switch = sys.getswitchinterval()
    sys.setswitchinterval(0.0001)
    gate = SourceGate(SourcePolicy(qps=20000, concurrency=32, attempts=1))
    try:
        with ThreadPoolExecutor(32) as pool:
            done = list(pool.map(lambda i: gate.call(lambda: sum(range(3000)) and i, "x"),
                                 range(8000)))
    finally:
        sys.setswitchinterval(switch)
    assert done == list(range(8000))
    assert gate.stats["calls"] == 8000


def test_the_walk_lists_each_page_once_and_streams_every_folder():
    tree = {"": ["a/", "b/", "x.mkv"], "a": ["1.mkv", "2.mkv", "3.mkv", "c/", "4.mkv"],
            "b": [], "a/c": ["deep.mkv"]}
    listed: list = []

    listings = list(walk(pages_of(tree, listed), 25, ScanReport(), 3))

    assert sorted(listed) == [("", 1), ("", 2), ("a", 1), ("a", 2), ("a", 3), ("a/c", 1),
                              ("b", 1)]
    files = sorted(f"{one.dir}/{name}" for one in listings for name, *_ in one.files)
    assert files == ["/x.mkv", "a/1.mkv", "a/2.mkv", "a/3.mkv", "a/4.mkv", "a/c/deep.mkv"]


def test_the_walk_reports_failed_folders_truncated_depth_and_unsafe_names():
    tree = {"": ["a/", "gone/", "../"], "a": ["b/"], "a/b": ["c/"], "a/b/c": []}
    del tree["a/b/c"]
    report = ScanReport()

    list(walk(pages_of(tree, []), 2, report, 2))

    assert sorted(report.errors) == [("..", "unsafe folder name from the source"),
                                     ("gone", "object not found")]
    assert report.truncated == ["a/b/c"]


def test_the_walk_keeps_a_bounded_number_of_pages_waiting():
    tree = {"": [f"d{n}/" for n in range(40)], **{f"d{n}": ["x.mkv"] for n in range(40)}}
    listed: list = []
    walker = walk(pages_of(tree, listed, per_page=100), 25, ScanReport(), 2)

    next(walker)
    time.sleep(0.1)
    waiting = len(listed)
    rest = list(walker)

    assert waiting <= 1 + 2 * 2
    assert len(rest) == 40


def test_a_page_that_does_not_fit_the_folder_total_is_a_listing_error():
    check_page("x", 2, 5, 5, 12, 12)
    with pytest.raises(ListingError, match="changed while it was listed"):
        check_page("x", 2, 5, 5, 13, 12)
    with pytest.raises(ListingError, match="held 3 entries, expected 5"):
        check_page("x", 1, 5, 3, 12, None)


def test_a_folder_that_grows_between_pages_is_not_trusted(openlist_server, remote_storage):
    source = {"kind": "openlist", "config": {"url": openlist_server.url},
              "secrets": {"token": openlist_server.admin_token}}
    driver = open_remote(source, "/115open/Media", **FAST)
    try:
        first = driver.list_page("Big", 1, None)
        (remote_storage / "115open/Media/Big/new.mkv").write_bytes(b"n")
        with pytest.raises(ListingError, match="changed while it was listed"):
            driver.list_page("Big", 2, first.total)
    finally:
        driver.close()


@pytest.mark.parametrize(("text", "ns"), [
    ("2023-11-15T06:13:20.123456789+08:00", 1_700_000_000_123_456_789),
    ("2023-11-14T22:13:20Z", 1_700_000_000_000_000_000),
    ("2023-11-14T22:13:20.5Z", 1_700_000_000_500_000_000),
    ("0001-01-01T00:00:00Z", 0),
    ("garbage", 0),
])
def test_openlist_times_parse_to_nanoseconds(text, ns):
    assert parse_time(text) == ns


def test_source_urls_keep_credentials_out_of_names_and_display():
    remote = parse_source_url("openlists://bob:p%40ss%3Aw0rd@nas.lan:5244/115%20open/Movies",
                              env={})
    cd2 = parse_source_url("clouddrive2://nas.lan:19798/115open", env={"STRMSYNC_CD2_TOKEN": "t"})

    assert remote.config == {"username": "bob", "url": "https://nas.lan:5244"}
    assert remote.secrets == {"password": "p@ss:w0rd"}
    assert remote.root == "/115 open/Movies"
    assert "p@ss" not in remote.display + remote.record_name + repr(remote)
    assert cd2.config["address"] == "nas.lan:19798" and cd2.secrets == {"token": "t"}
    with pytest.raises(ConfigError, match="host:port"):
        parse_source_url("openlist://nas.lan/x", token="t", env={})


def test_source_records_take_tuning_and_a_local_fallback():
    remote = validate_source({"name": "ol", "kind": "openlist", "url": "http://nas:5244",
                              "token": "t", "relist_pause": 2.5, "page_size": 200})
    local = validate_source({"name": "mount", "kind": "local", "root": "/mnt/cd2",
                             "fallback_source": "ol", "fallback_root": "/"})

    assert remote["config"]["relist_pause"] == 2.5
    with pytest.raises(ConfigError, match="relist_pause: expected a number"):
        validate_source({"name": "ol", "kind": "openlist", "url": "http://nas:5244",
                         "token": "t", "relist_pause": "2.5"})  # the form layer types it
    assert SourcePolicy.from_source(remote).page_size == 200
    assert local["config"]["fallback_source"] == "ol"
    with pytest.raises(ConfigError, match="fallback_root"):
        validate_source({"name": "m", "kind": "local", "root": "/mnt", "fallback_source": "ol",
                         "fallback_root": "relative"})
