"""Benchmark a local source on a slow FUSE mount: concurrent listings against one at a time.

The library (`library.plan_in_folders`: N videos with their sidecars in F folders) sits on
a local disk behind `tests/standins/slowfs.py`, a passthrough FUSE mount that answers each
readdir after DELAY (and each open after OPEN_DELAY), as a cloud drive's mount with a cold
cache does. `strmsync sync MOUNT TARGET` runs as a child process, as a user runs it, with
`--list-concurrency K` for K = 8 and then K = 1 (the walk before issue 16), a first sync
and a no-op resync each. For each step the report gives the wall time, the ideal
F × DELAY ÷ K (every folder listed once, K at a time, nothing else costing anything) and
the ratio to it, the readdirs and opens the mount saw and the most of each at once, and
the CPU seconds of the client and of the file system (they share the machine's CPUs).

Run: `python bench/bench_fuse.py --out bench/results/fuse.json`
(defaults: 100,000 videos in 10,000 folders, 20 ms per readdir, K = 8 against K = 1)
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
sys.path[:0] = [BENCH_DIR, REPO]

from library import write_library  # noqa: E402

from tests.standins.slowfs import SlowMount, fuse_missing  # noqa: E402

URL_BASE = "http://nas.invalid:5244/d"
STEPS = ("first", "noop")


def run_sync(mount: str, target: str, data: str, args, workers: int) -> dict:
    """Run `strmsync sync` as a child; its summary plus wall time and CPU time."""
    argv = [sys.executable, "-m", "strmsync", "sync", mount, target, "--data", data, "--json",
            "--strm", "url", "--url-base", URL_BASE, "--meta", args.meta,
            "--list-concurrency", str(workers), "--concurrency", str(args.file_concurrency)]
    env = {**os.environ, "PYTHONPATH": REPO}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        child = subprocess.Popen(argv, env=env, stdout=out, stderr=err)
        # wait4 rather than wait: it also gives the child's own CPU time.
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        printed, errors = out.read().decode(), err.read().decode()
    lines = printed.strip().splitlines()
    summary = json.loads(lines[-1]) if lines else {}
    if os.waitstatus_to_exitcode(status) != 0:
        summary["stderr"] = errors[-2000:]
    summary.update(wall_s=round(wall, 2), cpu_s=round(usage.ru_utime + usage.ru_stime, 2))
    return summary


def bench_workers(mount: SlowMount, folders: int, runs: str, args, workers: int) -> dict:
    """Both steps at one list concurrency, into a new target; the figures per step."""
    target = tempfile.mkdtemp(prefix=f"target-k{workers}-", dir=runs)
    data = tempfile.mkdtemp(prefix=f"data-k{workers}-", dir=runs)
    ideal = folders * args.delay / workers
    steps = {}
    for step in STEPS:
        os.sync()  # no step pays for the writeback of what came before it
        cpu_before, started = mount.cpu_seconds(), time.monotonic()
        summary = run_sync(mount.mountpoint, target, data, args, workers)
        calls = mount.calls(started, time.monotonic())
        steps[step] = {
            "status": summary.get("status"), "wall_s": summary["wall_s"],
            "run_s": summary.get("duration_s"), "ideal_s": round(ideal, 2),
            "ratio_to_ideal": round(summary["wall_s"] / ideal, 3),
            "created": summary.get("created"), "skipped": summary.get("skipped"),
            "meta_copied": summary.get("meta_copied"), "failed": summary.get("failed"),
            "readdirs": calls.readdirs, "max_readdirs": calls.max_readdirs,
            "opens": calls.opens, "max_opens": calls.max_opens,
            "client_cpu_s": summary["cpu_s"],
            "fs_cpu_s": round(mount.cpu_seconds() - cpu_before, 2),
            **({"stderr": summary["stderr"]} if "stderr" in summary else {}),
        }
    return steps


def report(results: dict, library: dict, args) -> str:
    """The figures as a plain-text table."""
    lines = [f"N={library['videos']} videos ({library['files']} files) in"
             f" F={library['folders']} folders, {args.delay * 1000:.0f} ms per readdir,"
             f" {args.open_delay * 1000:.0f} ms per open, --meta {args.meta}, file concurrency"
             f" {args.file_concurrency}, CPUs {os.cpu_count()}, load average"
             f" {os.getloadavg()[0]:.2f}", ""]
    lines.append(f"{'K':>3} {'step':<6}{'status':<11}{'wall s':>8}{'ideal s':>9}{'ratio':>7}"
                 f"{'readdirs':>10}{'max':>5}{'opens':>8}{'max':>5}{'cpu client/fs s':>17}")
    for workers, steps in results.items():
        for step, f in steps.items():
            lines.append(
                f"{workers:>3} {step:<6}{f['status'] or '?':<11}{f['wall_s']:>8.2f}"
                f"{f['ideal_s']:>9.2f}{f['ratio_to_ideal']:>7.2f}{f['readdirs']:>10}"
                f"{f['max_readdirs']:>5}{f['opens']:>8}{f['max_opens']:>5}"
                f"{f['client_cpu_s']:>10.1f}/{f['fs_cpu_s']:<6.1f}")
    return "\n".join(lines)


def build(storage: str, args) -> dict:
    """The library under `storage`, written once and reused from a kept work directory."""
    marker = os.path.join(storage, "library.json")
    wanted = {"n": args.n, "folders": args.folders, "seed": 0}
    if os.path.exists(marker):
        with open(marker) as fh:
            kept = json.load(fh)
        if kept["wanted"] == wanted:
            return kept["stats"]
        shutil.rmtree(storage)
    started = time.monotonic()
    library = write_library(os.path.join(storage, "lib"), args.n, folders=args.folders)
    print(f"library built in {time.monotonic() - started:.1f} s", file=sys.stderr)
    with open(marker, "w") as fh:
        json.dump({"wanted": wanted, "stats": library.stats()}, fh)
    return library.stats()


def main() -> int:
    """Build the library, mount it slowly, sync through it at each K, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="videos")
    parser.add_argument("--folders", type=int, default=10_000, help="folders, root included")
    parser.add_argument("--delay", type=float, default=0.02, help="seconds per readdir")
    parser.add_argument("--open-delay", type=float, default=0.02, help="seconds per open")
    parser.add_argument("--meta", default="none", choices=("none", "copy"),
                        help="metadata: none (listings only, the ideal's model) or copy"
                             " (every sidecar opened through the mount)")
    parser.add_argument("--concurrency", default="8,1",
                        help="list concurrencies to compare, in this order")
    parser.add_argument("--file-concurrency", type=int, default=8,
                        help="the run's --concurrency (files in flight), the same for all")
    parser.add_argument("--workdir", help="where the library and targets go (default: temp)")
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args()
    missing = fuse_missing()
    if missing:
        print(f"bench_fuse: {missing}", file=sys.stderr)
        return 2
    work = args.workdir or tempfile.mkdtemp(prefix="strmsync-bench-fuse-")
    runs = os.path.join(work, "runs")
    shutil.rmtree(runs, ignore_errors=True)  # a kept work directory keeps only the library
    os.makedirs(runs)
    results = {}
    try:
        storage = os.path.join(work, "storage")
        library = build(storage, args)
        for _ in os.walk(os.path.join(storage, "lib")):  # the backing disk's cache is warm
            pass
        with SlowMount(os.path.join(storage, "lib"), os.path.join(work, "mnt"),
                       os.path.join(runs, "slowfs.log"), args.delay, args.open_delay) as mount:
            for workers in (int(k) for k in args.concurrency.split(",")):
                results[workers] = bench_workers(mount, library["folders"], runs, args,
                                                 workers)
    finally:
        shutil.rmtree(runs, ignore_errors=True)
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    print(report(results, library, args))
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as fh:
            json.dump({"args": vars(args), "library": library, "results": results}, fh,
                      indent=2)
    failed = [k for k, steps in results.items() for f in steps.values()
              if f["status"] != "succeeded"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
