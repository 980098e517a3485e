"""Benchmark the run queue (issue 4): enqueue rate, worker throughput, overhead per run.

N small jobs (each its own source folder holding one tiny video, and its own target) get
one full run each through `enqueue_run` on an embedded Redis; then W real
`strmsync worker` processes drain the queue. The same N runs are then executed in this
process straight through the engine, as the baseline. The queue's overhead per run is
the worker time not spent inside the engine: (wall time x workers - sum of the runs'
`duration_s`) / runs. Every run must succeed and every `.strm` must hold its source path.

A probe follows on the idle, warm workers: runs queued one at a time, each after the
previous one ended, show the pick-up latency of a queue with no backlog.

Run: `python bench/bench_queue.py --runs 1000 --workers 2`
"""

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.serializers import JSONSerializer

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO))

from strmsync.config import SyncOptions  # noqa: E402
from strmsync.jobs import validate_job  # noqa: E402
from strmsync.service.queue import EmbeddedRedis, connect, enqueue_run  # noqa: E402
from strmsync.sources import validate_source  # noqa: E402
from strmsync.store import FINAL_STATUSES, Store  # noqa: E402
from strmsync.strm.drivers import open_driver  # noqa: E402
from strmsync.strm.engine import JobSpec, Run  # noqa: E402

WORKER_STOP_GRACE = 10.0


# --- shared by the benchmarks: workers, waiting, figures, output -----------------------------

def strmsync_env(data_dir: Path, redis_url: str | None = None) -> dict:
    """The environment of a strmsync child: the repository importable, our record and Redis
    (none: the child starts its own embedded one)."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["STRMSYNC_DATA"] = str(data_dir)
    return {**env, "REDIS_URL": redis_url} if redis_url else env


def start_workers(count: int, redis_url: str, data_dir: Path, log_dir: Path) -> list:
    """Start `count` real `strmsync worker` processes, each logging to its own file."""
    procs = []
    for i in range(count):
        with open(log_dir / f"worker-{i}.log", "wb") as log:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "strmsync", "worker", "--name", f"bench-{i}"],
                env=strmsync_env(data_dir, redis_url), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True))
    return procs


def stop_processes(procs: list, grace: float = WORKER_STOP_GRACE) -> None:
    """SIGTERM (a warm shutdown), then SIGKILL for the process group of any that lingers."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_until(predicate, timeout: float, interval: float = 0.02):
    """Poll until predicate() is truthy and return its value; None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def count_final(store: Store, run_ids: list) -> int:
    """How many of the (consecutive) run ids have reached a final status."""
    marks = ",".join("?" * len(FINAL_STATUSES))
    return store.db.execute(
        f"SELECT count(*) FROM runs WHERE id BETWEEN ? AND ? AND status IN ({marks})",
        [min(run_ids), max(run_ids), *FINAL_STATUSES]).fetchone()[0]


def percentiles(values: list) -> dict:
    """p50, p95 and max of a list of seconds, in milliseconds."""
    if not values:
        return {"p50_ms": None, "p95_ms": None, "max_ms": None, "n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(p95 * 1000, 1), "max_ms": round(ordered[-1] * 1000, 1),
            "n": len(ordered)}


def table(title: str, headers: list, rows: list) -> str:
    """A plain-text table with a title, columns right-aligned except the first."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row]
                                          for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths, strict=True)))
    rule = "-" * len(line(cells[0]))
    return "\n".join([title, rule, line(cells[0]), rule, *map(line, cells[1:]), rule])


def machine() -> dict:
    """What the figures were measured on."""
    import _fastscan

    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "fastscan": _fastscan.IMPLEMENTATION}


def write_json(path: Path, result: dict) -> None:
    """Write the result as indented JSON, making the folder if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\nresults written to {path}")


# --- the library and the jobs --------------------------------------------------------------

def video_path(lib: Path, i: int) -> Path:
    """The one video of job `i`'s source folder."""
    return lib / f"j{i:04}" / f"Movie {i:04} (2000)" / f"Movie {i:04}.mkv"


def make_library(lib: Path, count: int) -> None:
    """One source folder per job, each holding one tiny video."""
    for i in range(count):
        path = video_path(lib, i)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"v")


def create_jobs(store: Store, lib: Path, targets: Path, count: int) -> list:
    """A local source on the library and one job per source folder, each with its own target."""
    source_id = store.add_source(validate_source(
        {"name": "bench-lib", "kind": "local", "root": str(lib)}))
    return [store.add_job(validate_job(
        {"name": f"job-{i:04}", "source": source_id, "source_root": str(lib / f"j{i:04}"),
         "target_root": str(targets / f"j{i:04}")}, store)) for i in range(count)]


def check_outcome(store: Store, run_ids: list, lib: Path, targets: Path) -> list:
    """Problems: runs that did not succeed with one file created, `.strm` files missing or wrong."""
    problems = []
    for i, run_id in enumerate(run_ids):
        run = store.run(run_id)
        if run["status"] != "succeeded" or run["created"] != 1 or run["failed"]:
            problems.append(f"run {run_id}: {run['status']}, created {run['created']},"
                            f" failed {run['failed']}, error {run['error']!r}")
        strm = targets / f"j{i:04}" / f"Movie {i:04} (2000)" / f"Movie {i:04}.strm"
        expected = str(video_path(lib, i)).encode()
        if not strm.is_file():
            problems.append(f"missing: {strm}")
        elif strm.read_bytes() != expected:
            problems.append(f"wrong content: {strm}")
    return problems


def run_figures(rows: list) -> dict:
    """Engine time and queue latency of a set of run rows."""
    return {"sum_duration_s": round(sum(r["duration_s"] for r in rows), 3),
            "mean_duration_ms": round(statistics.mean(r["duration_s"] for r in rows) * 1000, 2),
            "first_start": min(r["started_at"] for r in rows),
            "last_finish": max(r["finished_at"] for r in rows),
            "wait": percentiles([r["started_at"] - r["queued_at"] for r in rows])}


def overhead_ms(wall_s: float, workers: int, sum_duration_s: float, runs: int) -> float:
    """Worker time per run not spent in the engine, in milliseconds."""
    return round((wall_s * workers - sum_duration_s) / runs * 1000, 2)


# --- the queued runs -------------------------------------------------------------------------

def enqueue_all(store: Store, conn, job_ids: list) -> tuple[list, float]:
    """One full run per job through `enqueue_run`; returns the run ids and the seconds taken."""
    started = time.perf_counter()
    queued = [enqueue_run(store, conn, job_id, "full", "manual") for job_id in job_ids]
    elapsed = time.perf_counter() - started
    assert all(ok for _, ok in queued), "a run was coalesced with another"
    return [run_id for run_id, _ in queued], elapsed


def drain(store: Store, run_ids: list, args, redis_url: str, data: Path, logs: Path):
    """Start the workers and wait until every run is final; returns (workers, spawn time)."""
    spawned = time.time()
    procs = start_workers(args.workers, redis_url, data, logs)
    done = wait_until(lambda: count_final(store, run_ids) == len(run_ids), args.timeout)
    if not done:
        stop_processes(procs)
        raise SystemExit(f"timed out: {count_final(store, run_ids)} of {len(run_ids)} final")
    return procs, spawned


def probe_idle_latency(store: Store, conn, job_ids: list, timeout: float) -> dict:
    """Queue runs one at a time on idle, warm workers: pick-up latency with no backlog."""
    waits, turnarounds = [], []
    for job_id in job_ids:
        sent = time.time()
        run_id, _ = enqueue_run(store, conn, job_id, "full", "manual")
        if not wait_until(lambda r=run_id: count_final(store, [r]), timeout, 0.002):
            raise SystemExit(f"probe: run {run_id} did not end in {timeout} s")
        seen = time.time()
        run = store.run(run_id)
        waits.append(run["started_at"] - run["queued_at"])
        turnarounds.append(seen - sent)
    return {"runs": len(job_ids), "wait": percentiles(waits),
            "enqueue_to_final": percentiles(turnarounds)}


def bench_queued(work: Path, lib: Path, args) -> dict:
    """Enqueue every run, drain the queue with real workers, probe idle latency, check."""
    data, targets, logs = work / "data-queue", work / "targets-queue", work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    embedded = EmbeddedRedis(data)
    url = embedded.start()
    store, conn = Store(data / "strmsync.db"), connect(url)
    procs = []
    try:
        job_ids = create_jobs(store, lib, targets, args.runs)
        os.sync()
        run_ids, enqueue_s = enqueue_all(store, conn, job_ids)
        procs, spawned = drain(store, run_ids, args, url, data, logs)
        rows = [store.run(run_id) for run_id in run_ids]
        breakdown = overhead_breakdown(conn, rows)
        probe = probe_idle_latency(store, conn, job_ids[:args.probe], args.timeout)
        problems = check_outcome(store, run_ids, lib, targets)
    finally:
        stop_processes(procs)
        conn.close()
        store.close()
        embedded.stop()
    return {**queued_figures(rows, enqueue_s, spawned, args.workers, probe, problems),
            "breakdown": breakdown}


def queued_figures(rows: list, enqueue_s: float, spawned: float, workers: int, probe: dict,
                   problems: list) -> dict:
    """Rates, wall times and the overhead per run of the queued runs."""
    runs, figures = len(rows), run_figures(rows)
    wall_s = figures["last_finish"] - spawned
    active_s = figures["last_finish"] - figures["first_start"]
    return {
        "runs": runs, "workers": workers,
        "enqueue_s": round(enqueue_s, 3), "enqueue_per_s": round(runs / enqueue_s, 1),
        "wall_s": round(wall_s, 3), "worker_startup_s": round(wall_s - active_s, 3),
        "active_s": round(active_s, 3),
        "runs_per_s": round(runs / wall_s, 2), "active_runs_per_s": round(runs / active_s, 2),
        "sum_duration_s": figures["sum_duration_s"],
        "mean_duration_ms": figures["mean_duration_ms"],
        "overhead_ms_per_run": overhead_ms(wall_s, workers, figures["sum_duration_s"], runs),
        "active_overhead_ms_per_run": overhead_ms(active_s, workers,
                                                  figures["sum_duration_s"], runs),
        "wait": figures["wait"], "idle_probe": probe, "problems": problems}


def overhead_breakdown(conn, rows: list) -> dict:
    """Where a worker's time per run goes, from RQ's own timestamps and the run rows.

    `horse_setup`: RQ started the job -> the run started (the task opening the store,
    settings, heartbeat, target slot, driver); `engine`: the run's duration_s;
    `horse_teardown`: the run finished -> RQ ended the job (notification, slot release);
    `between_jobs`: one job ended -> the same worker's next job started (RQ's own loop:
    the work horse exiting, bookkeeping, dequeue, forking the next horse).
    """
    jobs = _rq_jobs(conn, rows)
    phases = {"horse_setup": [], "engine": [], "horse_teardown": [], "between_jobs": []}
    for row in rows:
        job = jobs.get(row["id"])
        if job is None:
            continue
        phases["horse_setup"].append(row["started_at"] - job.started_at.timestamp())
        phases["engine"].append(row["duration_s"])
        phases["horse_teardown"].append(job.ended_at.timestamp() - row["finished_at"])
    by_worker: dict = {}
    for job in jobs.values():
        by_worker.setdefault(job.worker_name, []).append(job)
    for worker_jobs in by_worker.values():
        worker_jobs.sort(key=lambda job: job.started_at)
        phases["between_jobs"] += [b.started_at.timestamp() - a.ended_at.timestamp()
                                   for a, b in zip(worker_jobs, worker_jobs[1:], strict=False)]
    return {name: {"mean_ms": round(statistics.mean(values) * 1000, 2),
                   **percentiles(values)} for name, values in phases.items() if values}


def _rq_jobs(conn, rows: list) -> dict:
    jobs = {}
    for row in rows:
        try:
            job = Job.fetch(row["rq_job_id"], connection=conn, serializer=JSONSerializer)
        except NoSuchJobError:
            continue
        if job.started_at and job.ended_at:
            jobs[row["id"]] = job
    return jobs


# --- the baseline: the same runs in this process --------------------------------------------

def execute_in_process(store: Store, job_id: int) -> int:
    """One full run of a job straight through the engine, as the worker's task does it."""
    job = store.job(job_id)
    options = SyncOptions.from_dict(job["options"])
    driver = open_driver(store.source(job["source_id"]), job["source_root"], options)
    run_id = store.create_run(job_id, "full", "manual", False)
    Run(store, run_id, JobSpec(job_id, job["target_root"], options), driver, "full").execute()
    return run_id


def bench_in_process(work: Path, lib: Path, runs: int) -> dict:
    """The same runs, one after another, in this process; no queue, no worker."""
    data, targets = work / "data-inproc", work / "targets-inproc"
    store = Store(data / "strmsync.db")
    try:
        job_ids = create_jobs(store, lib, targets, runs)
        os.sync()
        started = time.time()
        run_ids = [execute_in_process(store, job_id) for job_id in job_ids]
        wall_s = time.time() - started
        rows = [store.run(run_id) for run_id in run_ids]
        problems = check_outcome(store, run_ids, lib, targets)
    finally:
        store.close()
    figures = run_figures(rows)
    return {"runs": runs, "wall_s": round(wall_s, 3), "runs_per_s": round(runs / wall_s, 2),
            "sum_duration_s": figures["sum_duration_s"],
            "mean_duration_ms": figures["mean_duration_ms"],
            "overhead_ms_per_run": overhead_ms(wall_s, 1, figures["sum_duration_s"], runs),
            "problems": problems}


# --- report ----------------------------------------------------------------------------------

def comparison(queued: dict, inproc: dict) -> dict:
    """Per-run cost through the queue against the in-process baseline."""
    runs = queued["runs"]
    worker_ms = queued["wall_s"] * queued["workers"] / runs * 1000
    inproc_ms = inproc["wall_s"] / runs * 1000
    return {"queued_worker_ms_per_run": round(worker_ms, 2),
            "in_process_ms_per_run": round(inproc_ms, 2),
            "extra_ms_per_run": round(worker_ms - inproc_ms, 2),
            "extra_overhead_ms_per_run": round(queued["overhead_ms_per_run"]
                                               - inproc["overhead_ms_per_run"], 2),
            "engine_ms_queued_vs_in_process": (queued["mean_duration_ms"],
                                               inproc["mean_duration_ms"])}


def report(result: dict) -> str:
    """The tables printed at the end."""
    q, b, c = result["queued"], result["in_process"], result["comparison"]
    p = q["idle_probe"]
    lines = [
        table(f"Queue: {q['runs']} runs, {q['workers']} worker(s)", ["figure", "value"], [
            ["enqueue (enqueue_run)", f"{q['enqueue_s']} s = {q['enqueue_per_s']} runs/s"],
            ["wall: workers spawned -> all final", f"{q['wall_s']} s"],
            ["  of which worker start-up", f"{q['worker_startup_s']} s"],
            ["throughput", f"{q['runs_per_s']} runs/s ({q['active_runs_per_s']} after start-up)"],
            ["sum of engine duration_s", f"{q['sum_duration_s']} s"],
            ["mean engine duration_s", f"{q['mean_duration_ms']} ms"],
            ["overhead per run (wall x W - sum) / N", f"{q['overhead_ms_per_run']} ms"],
            ["  same, after start-up", f"{q['active_overhead_ms_per_run']} ms"]]),
        "",
        table("Latency started_at - queued_at", ["case", "n", "p50 ms", "p95 ms", "max ms"], [
            ["backlog (all queued first)", *_pcts(q["wait"])],
            ["idle workers, one at a time", *_pcts(p["wait"])],
            ["  enqueue -> final (observed)", *_pcts(p["enqueue_to_final"])]]),
        "",
        table("Where a worker's time per run goes (RQ timestamps)",
              ["phase", "n", "mean ms", "p50 ms", "p95 ms", "max ms"],
              [[name, f["n"], f["mean_ms"], f["p50_ms"], f["p95_ms"], f["max_ms"]]
               for name, f in q["breakdown"].items()]),
        "",
        table("Baseline: the same runs in-process", ["figure", "queued", "in-process"], [
            ["wall", f"{q['wall_s']} s", f"{b['wall_s']} s"],
            ["runs/s", q["runs_per_s"], b["runs_per_s"]],
            ["worker-ms per run", c["queued_worker_ms_per_run"], c["in_process_ms_per_run"]],
            ["mean engine duration_s, ms", q["mean_duration_ms"], b["mean_duration_ms"]],
            ["overhead per run, ms", q["overhead_ms_per_run"], b["overhead_ms_per_run"]]]),
        f"per-run difference (queued - in-process): {c['extra_ms_per_run']} worker-ms,"
        f" of which overhead outside the engine {c['extra_overhead_ms_per_run']} ms",
    ]
    problems = result["problems"]
    lines.append("\nchecks: " + (f"{len(problems)} problem(s)" if problems
                                 else "every run succeeded, every .strm present and right"))
    lines += [f"  PROBLEM {problem}" for problem in problems[:20]]
    return "\n".join(lines)


def _pcts(figures: dict) -> list:
    return [figures["n"], figures["p50_ms"], figures["p95_ms"], figures["max_ms"]]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000, help="jobs, one run each")
    parser.add_argument("--workers", type=int, default=2, help="strmsync worker processes")
    parser.add_argument("--probe", type=int, default=50,
                        help="runs queued one at a time on idle workers (0: none)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait")
    parser.add_argument("--workdir", help="where libraries, targets and records go"
                                          " (default: a temp dir, removed unless --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--out", help="JSON result (default bench/results/queue-N-wW.json)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="strmsync-bench-queue-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    lib = work / "lib"
    print(f"work directory: {work}", flush=True)
    make_library(lib, args.runs)
    try:
        queued = bench_queued(work, lib, args)
        print("queued runs done; running the in-process baseline", flush=True)
        inproc = bench_in_process(work, lib, args.runs)
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    result = {"bench": "queue", "machine": machine(), "args": vars(args), "queued": queued,
              "in_process": inproc, "comparison": comparison(queued, inproc),
              "problems": queued["problems"] + inproc["problems"]}
    print(report(result))
    write_json(Path(args.out or BENCH_DIR / "results" / f"queue-{args.runs}-w{args.workers}.json"),
               result)
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
