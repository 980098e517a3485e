"""Benchmark the remote drivers: a full sync and a no-op resync from each stand-in server.

A library of N files in F folders (root and F/100 group folders included) is served by the
OpenList and the CloudDrive2 stand-in, each in its own process with LATENCY per API call.
`strmsync sync openlist://… / clouddrive2://…` runs as a child process, as a user runs it,
with `--strm url` and `--list-concurrency K`. For each step the report gives the wall
time, the calls the server received (listings per folder, per-file calls), the peak
number of calls in flight, and the ratio of the wall time to the ideal
F × LATENCY ÷ K (every folder listed once, K at a time, nothing else costing anything).

With `--repeat R` every step runs R times (the kinds alternating, each round on a fresh
target) and the table gives the median round, with the spread of the wall times: on a
shared machine one round says little.

Run: `python bench/bench_remote.py --repeat 3 --out bench/results/remote.json`
(defaults: 100,000 files in 10,000 folders, 20 ms per call, concurrency 8)

`--calls N` measures instead the client CPU of one listing call: the driver lists one
title folder (~10 files) N times, one call after another, against each stand-in with no
latency (the stand-in runs in its own process, so its CPU is not counted).
"""

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
USER, PASSWORD = "bench", "bench-password"
PER_FILE_ENDPOINTS = ("fs/get", "GetDownloadUrlPath", "FindFileByPath")


def build_library(root: str, files: int, folders: int) -> str:
    """Write `files` small .mkv files into `folders` folders under root/lib/Library."""
    library = os.path.join(root, "lib", "Library")
    groups = max(1, (folders - 1) // 101)
    leaves = folders - 1 - groups
    for leaf in range(leaves):
        os.makedirs(os.path.join(library, f"g{leaf % groups:03d}", f"title {leaf:05d}"))
    for number in range(files):
        leaf = number % leaves
        path = os.path.join(library, f"g{leaf % groups:03d}", f"title {leaf:05d}",
                            f"e{number:06d}.mkv")
        with open(path, "wb") as fh:
            fh.write(b"v")
    return library


def serve(kind: str, storage: str, latency: float, conn) -> None:
    """Child process: run one stand-in and answer `stats`/`reset`/`stop` on `conn`."""
    sys.path.insert(0, REPO)
    from tests.standins import CloudDrive2StandIn, OpenListStandIn, User

    if kind == "openlist":
        server = OpenListStandIn(storage, users=[User(USER, PASSWORD, "/lib")])
    else:
        server = CloudDrive2StandIn(storage, username=USER, password=PASSWORD,
                                    batch_size=1000, max_workers=64)
    server.start()
    server.faults.latency = latency
    # The client talks to the gRPC port itself: the stand-in's shared port is a Python relay
    # (CloudDrive2 serves gRPC and HTTP on one port natively), whose CPU per call (~0.25 ms
    # of ~1.45) is the stand-in's cost, not the client's, on the same 2 CPUs.
    conn.send(server.url if kind == "openlist" else f"127.0.0.1:{server.grpc_port}")
    while True:
        command = conn.recv()
        if command == "stats":
            traffic = server.traffic
            conn.send({"calls": dict(traffic.calls), "peak_in_flight": traffic.peak_in_flight,
                       "cpu_s": time.process_time(),
                       "folders_listed": len(traffic.list_calls),
                       "max_lists_per_folder": max(traffic.list_calls.values(), default=0)})
        elif command == "reset":
            server.traffic.reset()
            conn.send("ok")
        else:
            server.stop()
            conn.send("stopped")
            return


def source_url(kind: str, where: str) -> str:
    """The `strmsync sync` source URL for the stand-in at `where`."""
    if kind == "openlist":
        return f"openlist://{USER}:{PASSWORD}@{where.split('//', 1)[1]}/Library"
    return f"clouddrive2://{USER}:{PASSWORD}@{where}/lib/Library"


def run_sync(url: str, target: str, data: str, concurrency: int) -> dict:
    """Run `strmsync sync` as a child; its summary plus wall time and peak RSS."""
    argv = [sys.executable, "-m", "strmsync", "sync", url, target, "--data", data, "--json",
            "--strm", "url", "--meta", "none", "--list-concurrency", str(concurrency),
            "--concurrency", str(concurrency)]
    env = {**os.environ, "PYTHONPATH": REPO}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        child = subprocess.Popen(argv, env=env, stdout=out, stderr=err)
        # wait4 rather than wait: it also gives the child's own peak RSS.
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        printed, errors = out.read().decode(), err.read().decode()
    lines = printed.strip().splitlines()
    summary = json.loads(lines[-1]) if lines else {}
    if child.returncode != 0:
        summary["stderr"] = errors[-2000:]
    summary["wall_s"] = round(wall, 2)
    summary["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    summary["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 2)
    return summary


def bench_kind(kind: str, storage: str, runs: str, args) -> dict:
    """Both steps against one stand-in, into a new target under `runs`; the figures."""
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    server = ctx.Process(target=serve, args=(kind, storage, args.latency, theirs), daemon=True)
    server.start()
    where = ours.recv()
    url = source_url(kind, where)
    # Never reused: creating files where many were just deleted is slow on some disks.
    target = tempfile.mkdtemp(prefix=f"target-{kind}-", dir=runs)
    data = tempfile.mkdtemp(prefix=f"data-{kind}-", dir=runs)
    ideal = args.folders * args.latency / args.concurrency
    steps = {}
    try:
        for step in ("first", "noop"):
            ours.send("reset")
            ours.recv()
            ours.send("stats")
            before = ours.recv()["cpu_s"]
            os.sync()  # no step pays for the writeback of what came before it
            summary = run_sync(url, target, data, args.concurrency)
            ours.send("stats")
            stats = ours.recv()
            stats["cpu_s"] -= before
            steps[step] = describe(summary, stats, ideal, args)
    finally:
        ours.send("stop")
        ours.recv()
        server.join(10)
    return {"ideal_s": round(ideal, 2), **steps}


def per_call(kind: str, storage: str, calls: int) -> dict:
    """Client CPU and wall time of one listing call of a title folder, in milliseconds."""
    sys.path.insert(0, REPO)
    from strmsync.strm.drivers import open_remote

    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    server = ctx.Process(target=serve, args=(kind, storage, 0.0, theirs), daemon=True)
    server.start()
    where = ours.recv()
    if kind == "openlist":
        source = {"kind": kind, "config": {"url": where, "username": USER},
                  "secrets": {"password": PASSWORD}}
    else:
        source = {"kind": kind, "config": {"address": where, "username": USER},
                  "secrets": {"password": PASSWORD}}
    driver = open_remote(source, "/Library" if kind == "openlist" else "/lib/Library")
    folder = "g000/title 00000"
    try:
        for _ in range(min(200, calls)):  # connections, login, caches
            driver.list_page(folder, 1, None)
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(calls):
            page = driver.list_page(folder, 1, None)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - started
    finally:
        driver.close()
        ours.send("stop")
        ours.recv()
        server.join(10)
    return {"calls": calls, "files_per_call": len(page.files),
            "cpu_ms": round(cpu / calls * 1000, 3), "wall_ms": round(wall / calls * 1000, 3)}


def describe(summary: dict, stats: dict, ideal: float, args) -> dict:
    """One step's figures."""
    calls = stats["calls"]
    listings = calls.get("fs/list", 0) + calls.get("GetSubFiles", 0)
    return {
        "status": summary.get("status"), "wall_s": summary["wall_s"],
        "run_s": summary.get("duration_s"), "ratio_to_ideal": round(summary["wall_s"] / ideal, 3),
        "created": summary.get("created"), "skipped": summary.get("skipped"),
        "calls": calls, "calls_total": sum(calls.values()), "listing_calls": listings,
        "folders_listed": stats["folders_listed"],
        "max_lists_per_folder": stats["max_lists_per_folder"],
        "per_file_calls": {k: calls[k] for k in PER_FILE_ENDPOINTS if k in calls},
        "peak_in_flight": stats["peak_in_flight"], "peak_rss_mb": summary.get("peak_rss_mb"),
        "client_cpu_s": summary.get("cpu_s"), "server_cpu_s": round(stats["cpu_s"], 2),
        **({"stderr": summary["stderr"]} if "stderr" in summary else {}),
    }


def median_round(rounds: list[dict]) -> dict:
    """One kind's figures: per step the round with the median wall time, plus the spread."""
    merged = {"ideal_s": rounds[0]["ideal_s"]}
    for step in ("first", "noop"):
        walls = sorted(r[step]["wall_s"] for r in rounds)
        middle = statistics.median_low(walls)
        chosen = next(r[step] for r in rounds if r[step]["wall_s"] == middle)
        merged[step] = {**chosen, "rounds": len(walls), "wall_min_s": walls[0],
                        "wall_max_s": walls[-1]}
    return merged


def report(results: dict, args) -> str:
    """The figures as a plain-text table."""
    lines = [f"N={args.n} files in F={args.folders} folders, latency {args.latency * 1000:.0f}"
             f" ms/call, concurrency {args.concurrency}, CPUs {os.cpu_count()},"
             f" median of {args.repeat} round(s), load average {os.getloadavg()[0]:.2f}", ""]
    head = (f"{'source':<12}{'step':<7}{'status':<10}{'wall s':>8}{'ideal s':>9}{'ratio':>7}"
            f"{'calls':>8}{'lists':>7}{'max/fold':>9}{'per-file':>9}{'peak':>6}{'RSS MB':>8}"
            f"{'cpu c/s':>12}{'wall range':>14}")
    lines.append(head)
    for kind, figures in results.items():
        for step in ("first", "noop"):
            f = figures[step]
            lines.append(
                f"{kind:<12}{step:<7}{f['status'] or '?':<10}{f['wall_s']:>8.2f}"
                f"{figures['ideal_s']:>9.2f}{f['ratio_to_ideal']:>7.2f}{f['calls_total']:>8}"
                f"{f['listing_calls']:>7}{f['max_lists_per_folder']:>9}"
                f"{sum(f['per_file_calls'].values()):>9}{f['peak_in_flight']:>6}"
                f"{f['peak_rss_mb'] or 0:>8.1f}"
                f"{f['client_cpu_s']:>7.1f}/{f['server_cpu_s']:<4.1f}"
                f"{f['wall_min_s']:>7.1f}-{f['wall_max_s']:<6.1f}")
    return "\n".join(lines)


def report_calls(results: dict, args) -> int:
    """Print (and optionally save) the per-call figures."""
    for kind, figures in results.items():
        print(f"{kind:<12} {figures['cpu_ms']:.3f} ms client CPU per listing call"
              f" ({figures['files_per_call']} files), {figures['wall_ms']:.3f} ms wall,"
              f" {figures['calls']} calls")
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as fh:
            json.dump({"args": vars(args), "calls": results}, fh, indent=2)
    return 0


def main() -> int:
    """Build the library, run both stand-ins, print (and optionally save) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="files")
    parser.add_argument("--folders", type=int, default=10_000, help="folders, root included")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per API call")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--kinds", default="openlist,clouddrive2")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; the median is reported")
    parser.add_argument("--workdir", help="where the library and targets go (default: temp)")
    parser.add_argument("--out", help="write the figures as JSON here")
    parser.add_argument("--calls", type=int, default=0,
                        help="measure N single listing calls per kind instead of syncing")
    args = parser.parse_args()
    work = args.workdir or tempfile.mkdtemp(prefix="strmsync-bench-remote-")
    # Targets and records of every round stay until the end: deleting 100,000 files costs
    # the next round dearly on a file system mounted with `discard` (as this VM's is).
    runs = os.path.join(work, "runs")
    shutil.rmtree(runs, ignore_errors=True)  # a kept work directory keeps only the library
    os.makedirs(runs)
    try:
        storage = os.path.join(work, "storage")
        if not os.path.isdir(storage):
            started = time.monotonic()
            build_library(storage, args.n, args.folders)
            print(f"library built in {time.monotonic() - started:.1f} s", file=sys.stderr)
        kinds = args.kinds.split(",")
        if args.calls:
            return report_calls({kind: per_call(kind, storage, args.calls) for kind in kinds},
                                args)
        rounds = {kind: [] for kind in kinds}
        for _ in range(max(1, args.repeat)):
            for kind in kinds:
                rounds[kind].append(bench_kind(kind, storage, runs, args))
        results = {kind: median_round(done) for kind, done in rounds.items()}
    finally:
        shutil.rmtree(runs, ignore_errors=True)
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    print(report(results, args))
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as fh:
            json.dump({"args": vars(args), "results": results, "rounds": rounds}, fh, indent=2)
    failed = [kind for kind, done in rounds.items() for figures in done
              if figures["first"]["status"] != "succeeded"
              or figures["noop"]["status"] != "succeeded"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
