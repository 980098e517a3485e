"""A source's throttle pause and request rate, shared by every run working on it."""

import logging
import multiprocessing
import time

from rq import Worker

from strmsync.errors import ThrottledError
from strmsync.service.queue import EmbeddedRedis, connect
from strmsync.strm.drivers.gate import SourceGate, SourcePolicy
from strmsync.strm.drivers.sharedlimits import SharedLimits
from tests.conftest import wait_for
from tests.remote import assert_links_work

FINAL = ("succeeded", "partial", "failed", "cancelled")
SPAWN = multiprocessing.get_context("spawn")


# --- two processes on one shared record (real Redis, no HTTP) --------------------------

def reserve_starts(url: str, ready, results, count: int, interval: float) -> None:
    """In a child process: take `count` starts of source 7, each when the last came."""
    limits = SharedLimits(connect(url), 7)
    ready.wait()
    starts = []
    for _ in range(count):
        start = limits.reserve(interval)
        starts.append(start)
        time.sleep(max(0.0, start - time.monotonic()))
    results.put(starts)


def most_in_any_window(times: list[float], window: float) -> int:
    """The largest number of `times` that fall in one window of `window` seconds."""
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + window)
               for i, start in enumerate(times))


def test_two_processes_take_their_starts_from_one_budget(redis_url):
    interval, count = 0.05, 20
    ready, results = SPAWN.Barrier(2), SPAWN.Queue()
    children = [SPAWN.Process(target=reserve_starts,
                              args=(redis_url, ready, results, count, interval))
                for _ in range(2)]
    for child in children:
        child.start()
    starts = [results.get(timeout=60) for _ in children]
    for child in children:
        child.join()
    results.close()

    both = starts[0] + starts[1]
    assert all(start is not None for start in both)
    # Apart, the two would start 2 requests per interval; together they keep to one.
    assert most_in_any_window(both, 0.5) <= 0.5 / interval + 1
    assert min(starts[1]) < max(starts[0]) and min(starts[0]) < max(starts[1])


FIRST_PAUSE, LONGEST_PAUSE = 2.0, 8.0


def throttle_elsewhere(url: str, ago: float) -> tuple:
    """In a child process: report a throttled request of source 7 sent `ago` seconds ago."""
    notes: list[str] = []
    limits = SharedLimits(connect(url), 7, "run 2", notes.append)
    seen = limits.resume_at() - time.monotonic()
    shared = limits.pause(ago, FIRST_PAUSE, LONGEST_PAUSE, 0.0, "HTTP 429")
    return seen, shared.level, shared.new, shared.resume_at - time.monotonic(), notes


def test_a_pause_reaches_other_processes_and_escalates_there(redis_url):
    conn = connect(redis_url)
    notes: list[str] = []
    limits = SharedLimits(conn, 7, "run 1", notes.append)
    with SPAWN.Pool(1) as pool:
        # The child is up, with this module imported, before the pause starts.
        pool.apply(most_in_any_window, ([0.0], 1.0))
        first = limits.pause(0.0, FIRST_PAUSE, LONGEST_PAUSE, 0.0, "HTTP 429")
        assert (first.level, first.new) == (1, True)
        # A request the other process sent before the pause began: covered, not escalated.
        seen, level, new, left, their_notes = pool.apply(throttle_elsewhere, (redis_url, 5.0))
        assert 0 < seen <= FIRST_PAUSE and (level, new) == (1, False)
        assert 0 < left <= FIRST_PAUSE
        assert len(their_notes) == 1
        assert their_notes[0].startswith("source paused by run 1 (HTTP 429): waiting")
        # Throttled again once the pause is over: the level goes on from where it was.
        time.sleep(max(0.0, first.resume_at - time.monotonic()) + 0.05)
        _, level, new, left, _ = pool.apply(throttle_elsewhere, (redis_url, 0.0))
        assert (level, new) == (2, True)
        assert 2 * FIRST_PAUSE - 0.5 <= left <= 2 * FIRST_PAUSE

    assert limits.resume_at() > time.monotonic()  # seen here too
    assert notes[0].startswith("source throttled (HTTP 429)")
    assert notes[1].startswith("source paused by run 2 (HTTP 429)")
    # Nothing is left behind: every key expires.
    keys = conn.keys("strmsync:source:7:*")
    assert keys and all(conn.pttl(key) > 0 for key in keys)
    conn.close()


def test_a_request_that_gets_through_resets_the_shared_level(redis_url):
    conn = connect(redis_url)
    limits = SharedLimits(conn, 7)
    gate = SourceGate(SourcePolicy(throttle_pause=0.1, max_pause=0.1, attempts=5),
                      shared=limits)
    answers = iter([ThrottledError("HTTP 429"), ThrottledError("HTTP 429"), "ok", "ok"])

    def request():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert gate.call(request, "x") == "ok"
    assert int(conn.hget("strmsync:source:7:pause", "level")) == 0
    conn.close()


def test_a_dead_redis_leaves_each_gate_pacing_its_source_alone(tmp_path, caplog):
    embedded = EmbeddedRedis(tmp_path / "gone")
    conn = connect(embedded.start())
    notes: list[str] = []
    limits = SharedLimits(conn, 7, "run 1", notes.append)
    embedded.stop()
    gate = SourceGate(SourcePolicy(qps=50, throttle_pause=0.3, max_pause=0.3), shared=limits)
    tries: list[float] = []

    def request():
        tries.append(time.monotonic())
        if len(tries) == 1:
            raise ThrottledError("HTTP 429")
        return len(tries)

    with caplog.at_level(logging.WARNING, "strmsync.strm.drivers.sharedlimits"):
        results = [gate.call(request, "x") for _ in range(10)]

    assert results == list(range(2, 12))
    assert tries[1] - tries[0] >= 0.28  # the local pause still held
    assert tries[-1] - tries[1] >= 9 * 0.02 * 0.9  # and the local qps
    warned = [r.getMessage() for r in caplog.records if r.name.endswith("sharedlimits")]
    assert len(warned) == 1 and "unavailable" in warned[0]
    assert len(notes) == 1 and "paces the source on its own" in notes[0]
    conn.close()


# --- two runs through real workers against the OpenList stand-in ----------------------

def add_openlist_source(client, server, **tuning) -> int:
    body = {"name": "ol", "kind": "openlist", "url": server.url, "username": "alice",
            "password": "alice-pw-S3cret", "attempts": 5, **tuning}
    response = client.post("/api/v1/sources", json=body)
    assert response.status_code == 201, response.json
    return response.json["id"]


def add_job(client, source_id, target, name) -> int:
    body = {"name": name, "source": source_id, "source_root": "/Media",
            "target_root": str(target), "options": {"strm_mode": "url", "max_delete": 1.0}}
    response = client.post("/api/v1/jobs", json=body)
    assert response.status_code == 201, response.json
    return response.json["id"]


def start_two_runs(client, workers, redis_url, source_id, tmp_path) -> list[int]:
    """Two jobs of one source, on separate targets, run at once by two workers."""
    jobs = [add_job(client, source_id, tmp_path / f"strm-{n}", f"job-{n}") for n in "ab"]
    workers(2)
    conn = connect(redis_url)
    wait_for(lambda: Worker.count(connection=conn) == 2)
    conn.close()
    return [client.post(f"/api/v1/jobs/{job}/run", json={}).json["run_id"] for job in jobs]


def finished(client, run_id):
    run = client.get(f"/api/v1/runs/{run_id}").json
    return run if run["status"] in FINAL else None


def log_of(client, run_id) -> str:
    return "\n".join(line["message"]
                     for line in client.get(f"/api/v1/runs/{run_id}/log").json["lines"])


def calls_by_run(server) -> dict:
    """When each run's API calls reached the server, by the token the run logged in with."""
    runs: dict = {}
    for call in server.traffic.log:
        token = call.headers.get("Authorization")
        if token:
            runs.setdefault(token, []).append(call.at)
    return runs


def test_a_throttled_source_is_left_alone_by_every_run_until_the_pause_ends(
        client, workers, redis_url, openlist_server, tmp_path):
    pause = 3.0
    source = add_openlist_source(client, openlist_server, concurrency=1, page_size=1,
                                 throttle_pause=pause, max_pause=pause)
    openlist_server.faults.latency = 0.1  # each run then needs a few seconds
    runs = start_two_runs(client, workers, redis_url, source, tmp_path)
    wait_for(lambda: len(calls_by_run(openlist_server)) == 2)  # both runs are listing

    throttled_at = time.monotonic()
    openlist_server.faults.throttle("http429", times=1, endpoint="fs/list")
    outcomes = [wait_for(lambda r=run: finished(client, r), timeout=60) for run in runs]

    assert [run["status"] for run in outcomes] == ["succeeded", "succeeded"]
    received = sorted(call.at for call in openlist_server.traffic.log)
    # The throttled answer left by throttled_at + latency; a run may have sent a request
    # or two before it learnt of the pause (its last read is up to 0.2 s old). From then
    # on, nothing reaches the source from either run until the pause is over.
    quiet = [at - throttled_at for at in received
             if throttled_at + 1.0 <= at < throttled_at + pause - 0.05]
    assert quiet == [], quiet
    # Both runs still had work to do after the pause: it held both of them back.
    after = [max(times) for times in calls_by_run(openlist_server).values()]
    assert all(last >= throttled_at + pause for last in after), after
    logs = [log_of(client, run) for run in runs]
    assert sum("source throttled (HTTP 429" in text for text in logs) == 1
    waited = [text for text in logs if "source paused by run" in text]
    assert len(waited) == 1 and waited[0].count("source paused by run") == 1
    for n in "ab":
        assert_links_work(tmp_path / f"strm-{n}")


def test_two_runs_on_one_source_keep_to_its_qps_together(
        client, workers, redis_url, openlist_server, tmp_path):
    qps = 10
    source = add_openlist_source(client, openlist_server, qps=qps, concurrency=4,
                                 page_size=2)
    runs = start_two_runs(client, workers, redis_url, source, tmp_path)
    outcomes = [wait_for(lambda r=run: finished(client, r), timeout=60) for run in runs]

    assert [run["status"] for run in outcomes] == ["succeeded", "succeeded"]
    # A login rides on the call that needed it; every other request took a start.
    received = [call.at for call in openlist_server.traffic.log
                if call.endpoint != "auth/login"]
    first, second = calls_by_run(openlist_server).values()
    assert min(first) < max(second) and min(second) < max(first)  # the runs overlapped
    # Apart they would reach 2 x qps; together they keep to qps (one burst allowed).
    assert most_in_any_window(received, 1.0) <= qps + 2
    for n in "ab":
        assert_links_work(tmp_path / f"strm-{n}")
