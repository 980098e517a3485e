"""Benchmark the local sync: compiled build, pure twin and a naive script, in one run.

For each library size (N, and N/10 to see how memory grows) and each variant: a fresh
target, then a first sync, a no-op resync and a resync after a 1% change (0.5% of videos
renamed with their sidecars, 0.5% added), each step a child process timed from the
outside with its peak RSS taken from `os.wait4` (in `launch.py`). Every variant sees the
same inputs; strmsync's counts are checked against the plan and all variants must leave
identical target trees. Caches are warm: the page cache cannot be dropped here, so the source is
walked once before timing; dirty data is flushed (`os.sync`) before every timed step.

Run: `python bench/bench_sync.py --n 100000 --out bench/results/n100k.json`
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass

import library as lib
import report
from measure import run_measured, tree_digest, warm_tree

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
VARIANTS = ("compiled", "pure", "naive", "floor", "floor-atomic")
# The C floor of the issue (walk, read, compare, write the videos' .strm; one thread; no
# metadata, no temp files, no database): built with `cc -O2`, never changed.
FLOOR_SOURCE = os.path.join(os.path.dirname(REPO), "shared", "bench", "floor.c")
# The same floor doing what DESIGN.md §4 asks (metadata copied with its mtime, every file
# through a temp sibling and a rename): what a first sync cannot go below.
FLOOR_ATOMIC_SOURCE = os.path.join(BENCH_DIR, "floor_atomic.c")
FLOORS = ("floor", "floor-atomic")
STEPS = ("first", "noop", "change")
URL_BASE = "http://openlist.local:5244/d/"
# Given explicitly to all three variants so they classify files the same way.
MEDIA_EXTS = "mkv,mp4,avi,ts,m2ts,mov,webm"
META_EXTS = "nfo,jpg,jpeg,png,srt,ass,vtt"
COUNT_KEYS = ("scanned", "created", "updated", "skipped", "deleted", "failed", "meta_copied")


@dataclass(frozen=True)
class Scenario:
    """The inputs every variant sees: the library on disk, its plan and its 1% change."""

    root: str
    library: lib.Library
    change: lib.Change


class Bench:
    """One benchmark invocation: where it works, which Python runs the children, how."""

    def __init__(self, args: argparse.Namespace):
        self.python = args.python
        self.owns_workdir = not args.workdir  # a temp dir of ours is removed at the end
        self.workdir = args.workdir or tempfile.mkdtemp(prefix="strmsync-bench-")
        self.seed = args.seed
        self.concurrency = args.concurrency
        self.keep = args.keep
        self.floor_source = args.floor
        self.bare = args.bare
        os.makedirs(os.path.join(self.workdir, "logs"), exist_ok=True)

    # environments and commands -------------------------------------------------------------

    def env(self, variant: str) -> dict:
        """The child environment: strmsync importable, and the build switch of the variant."""
        env = {k: v for k, v in os.environ.items()
               if k not in ("STRMSYNC_NO_EXTENSIONS", "STRMSYNC_REQUIRE_EXTENSIONS")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO, env.get("PYTHONPATH")]))
        if variant == "compiled":
            env["STRMSYNC_REQUIRE_EXTENSIONS"] = "1"
        elif variant == "pure":
            env["STRMSYNC_NO_EXTENSIONS"] = "1"
        return env

    def command(self, variant: str, source: str, target: str, data: str) -> list:
        """The command line of one sync by `variant`."""
        if variant in FLOORS:
            # It chdirs while walking (fts without FTS_NOCHDIR): absolute paths only.
            os.makedirs(target, exist_ok=True)
            return [os.path.join(self.workdir, variant), os.path.abspath(source),
                    os.path.abspath(target)]
        if variant == "naive":
            return [self.python, os.path.join(BENCH_DIR, "naive.py"), source, target,
                    "--url-base", URL_BASE, "--media-ext", MEDIA_EXTS, "--meta-ext", META_EXTS]
        argv = [self.python, "-m", "strmsync", "sync", source, target, "--json", "--data", data,
                "--mode", "full", "--strm", "url", "--url-base", URL_BASE, "--meta", "copy",
                "--media-ext", MEDIA_EXTS, "--meta-ext", META_EXTS]
        if self.concurrency:
            argv += ["--concurrency", str(self.concurrency)]
        return argv

    def build_of(self, variant: str) -> tuple[str | None, str]:
        """The `_fastscan` build a variant runs, or None and why it cannot run."""
        if variant == "naive":
            return "plain python", ""
        if variant in FLOORS:
            return self._build_floor(variant)
        done = subprocess.run([self.python, "-m", "strmsync", "--version"], env=self.env(variant),
                              capture_output=True, text=True, check=False)
        found = re.search(r"_fastscan: (\w+)", done.stdout)
        if done.returncode or not found:
            lines = (done.stderr or done.stdout).strip().splitlines()
            return None, lines[-1] if lines else f"exit code {done.returncode}"
        if found.group(1) != variant:
            return None, f"asked for the {variant} build, got {found.group(1)}"
        return found.group(1), done.stdout.strip()

    def _build_floor(self, variant: str) -> tuple[str | None, str]:
        source = self.floor_source if variant == "floor" else FLOOR_ATOMIC_SOURCE
        if not os.path.exists(source):
            return None, f"{source} not found"
        done = subprocess.run(["cc", "-O2", "-o", os.path.join(self.workdir, variant), source],
                              capture_output=True, text=True, check=False)
        if done.returncode:
            return None, (done.stderr.strip().splitlines() or ["cc failed"])[-1]
        return "C (cc -O2)", source

    # the library ---------------------------------------------------------------------------

    def library(self, n: int) -> tuple[str, lib.Library]:
        """The library of `n` videos on disk, reused when a finished copy is already there."""
        root = os.path.join(self.workdir,
                            f"library-{n}-s{self.seed}" + ("-bare" if self.bare else ""))
        marker = root + ".json"
        if os.path.exists(marker):
            library, files = lib.plan_library(n, self.seed, self.bare)
            for _ in files:
                pass
            with open(marker) as fh:
                if json.load(fh) == library.stats():
                    return root, library
        shutil.rmtree(root, ignore_errors=True)
        print(f"writing a library of {n:,} videos under {root} ...", file=sys.stderr)
        library = lib.write_library(root, n, self.seed, bare=self.bare)
        self._mark_clean(root, library)
        return root, library

    @staticmethod
    def _mark_clean(root: str, library: lib.Library) -> None:
        # The marker exists only while the tree on disk is exactly the plan.
        with open(root + ".json", "w") as fh:
            json.dump(library.stats(), fh)

    # one variant ---------------------------------------------------------------------------

    def run_variant(self, variant: str, build: str, scenario: Scenario, round_no: int) -> list:
        """Time the three steps of one variant on a fresh target; one record per step."""
        scratch = os.path.join(self.workdir, f"{variant}-{scenario.library.n}")
        shutil.rmtree(scratch, ignore_errors=True)
        records = []
        for step in STEPS:
            log = os.path.join(self.workdir, "logs",
                               f"{variant}-{scenario.library.n}-r{round_no}-{step}")
            measured = self._step(variant, step, scenario, scratch, log)
            tree = tree_digest(f"{scratch}/target") \
                if variant not in FLOORS and os.path.isdir(f"{scratch}/target") else None
            records.append(step_record(variant, build, step, scenario, measured, round_no, tree))
        if variant not in ("naive", *FLOORS):
            records[-1]["manifest"] = self._probe_manifest(f"{scratch}/data", variant,
                                                           scenario.library.n)
        if not self.keep:
            shutil.rmtree(scratch, ignore_errors=True)
        return records

    def _step(self, variant: str, step: str, scenario: Scenario, scratch: str, log: str):
        argv = self.command(variant, scenario.root, f"{scratch}/target", f"{scratch}/data")
        env = self.env(variant)
        os.sync()  # so no step pays for the writeback or discards of the one before
        if step != "change":
            measured = run_measured(argv, env, log)
        else:
            os.unlink(scenario.root + ".json")
            lib.apply_change(scenario.root, scenario.change)
            os.sync()
            try:
                measured = run_measured(argv, env, log)
            finally:
                lib.revert_change(scenario.root, scenario.change)
            self._mark_clean(scenario.root, scenario.library)
        print(f"  {variant:<12} {step:<6} {measured.wall_s:8.2f} s"
              f" {measured.peak_rss_mb:7.1f} MiB", file=sys.stderr)
        return measured

    def _probe_manifest(self, data: str, variant: str, n: int) -> dict | None:
        log = os.path.join(self.workdir, "logs", f"{variant}-{n}-manifest")
        argv = [self.python, os.path.join(BENCH_DIR, "manifest_probe.py"), data]
        return run_measured(argv, self.env(variant), log).result


def expected_counts(library: lib.Library, change: lib.Change, step: str) -> dict:
    """What a correct sync reports for `step`, from the plan alone."""
    videos, meta = len(library.videos), library.meta_files
    zero = dict.fromkeys(COUNT_KEYS, 0)
    if step == "first":
        return {**zero, "scanned": videos + meta, "created": videos, "meta_copied": meta}
    if step == "noop":
        return {**zero, "scanned": videos + meta, "skipped": videos + meta}
    return {**zero,
            "scanned": videos + change.videos_added + meta + change.meta_added,
            "created": change.videos_renamed + change.videos_added,
            "skipped": videos - change.videos_renamed + meta - change.sidecars_renamed,
            "meta_copied": change.sidecars_renamed + change.meta_added,
            "deleted": change.videos_renamed + change.sidecars_renamed}


def step_record(variant: str, build: str, step: str, scenario: Scenario, measured,
                round_no: int, tree: dict | None) -> dict:
    """The JSON record of one timed step, with its check against the expected counts."""
    if variant in FLOORS:
        return floor_record(variant, build, step, scenario, measured, round_no)
    result = measured.result or {}
    counts = {key: result.get(key) for key in COUNT_KEYS}
    want = expected_counts(scenario.library, scenario.change, step)
    problems = [f"{key} {counts[key]} (expected {want[key]})" for key in COUNT_KEYS
                if counts[key] != want[key]]
    if result.get("status") != "succeeded":
        problems.insert(0, f"status {result.get('status')!r} (exit {measured.exit_code})"
                           + (f": {result.get('error')}" if result.get("error") else ""))
    if not result:
        problems.append(f"no JSON result; stderr: {measured.stderr_tail}")
    if measured.peak_rss_kb <= measured.floor_kb:
        problems.append(f"peak RSS {measured.peak_rss_kb} KiB not above the launcher's own"
                        f" {measured.floor_kb} KiB: not measurable")
    return {"n": scenario.library.n, "round": round_no, "variant": variant, "build": build,
            "step": step,
            "wall_s": measured.wall_s, "reported_s": result.get("duration_s"),
            "peak_rss_kb": measured.peak_rss_kb, "launcher_rss_kb": measured.floor_kb,
            "exit_code": measured.exit_code,
            "status": result.get("status"), "counts": counts, "problems": problems,
            "tree": tree}


def floor_record(variant: str, build: str, step: str, scenario: Scenario, measured,
                 round_no: int) -> dict:
    """The record of one floor step: it writes `.strm` files of its own text, so only its
    exit code and its no-op (nothing written) are checked."""
    found = re.search(r"written=(\d+) skipped=(\d+)", _read(measured.log_path + ".out"))
    written, skipped = (int(found.group(1)), int(found.group(2))) if found else (None, None)
    problems = [] if found and not measured.exit_code else [
        f"exit {measured.exit_code}, no counts; stderr: {measured.stderr_tail}"]
    if step == "noop" and written:
        problems.append(f"no-op wrote {written} file(s)")
    return {"n": scenario.library.n, "round": round_no, "variant": variant, "build": build,
            "step": step, "wall_s": measured.wall_s, "reported_s": None,
            # Below the launcher's own peak: a few MiB, not measurable this way.
            "peak_rss_kb": measured.peak_rss_kb, "launcher_rss_kb": measured.floor_kb,
            "exit_code": measured.exit_code, "status": "succeeded" if not problems else "failed",
            "counts": {"written": written, "skipped": skipped}, "problems": problems,
            "tree": None}


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.read()


def bench_size(bench: Bench, n: int, builds: dict, repeat: int) -> dict:
    """Every available variant on the library of `n` videos, `repeat` rounds."""
    root, library = bench.library(n)
    print(f"warming the page cache: {warm_tree(root):,} source files", file=sys.stderr)
    change = lib.plan_change(library, seed=bench.seed + 1)
    scenario = Scenario(root, library, change)
    order = [variant for variant in VARIANTS if builds[variant][0]]
    records = []
    for round_no in range(repeat):
        # Rotate the order each round so no variant always runs first or last.
        shift = round_no % max(len(order), 1)
        for variant in order[shift:] + order[:shift]:
            records += bench.run_variant(variant, builds[variant][0], scenario, round_no)
    return {"n": n, "library": library.stats(),
            "change": {"videos_renamed": change.videos_renamed,
                       "sidecars_renamed": change.sidecars_renamed,
                       "videos_added": change.videos_added, "meta_added": change.meta_added},
            "records": records}


def filesystem_of(path: str) -> str:
    """The type of the file system holding `path` (from /proc/mounts), e.g. ext4 or tmpfs."""
    path, best, kind = os.path.realpath(path), "", "unknown"
    with open("/proc/mounts") as fh:
        for line in fh:
            _dev, mount, fstype = line.split()[:3]
            inside = path == mount or path.startswith(mount.rstrip("/") + "/")
            if inside and len(mount) > len(best):
                best, kind = mount, fstype
    return kind


def environment_facts(bench: Bench, builds: dict, args: argparse.Namespace) -> dict:
    """Where and how this benchmark ran, for the results file."""
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, check=False).stdout.strip()
    return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "commit": commit, "tracked_changes": bool(dirty), "python": bench.python,
            "python_version": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "workdir": bench.workdir,
            "filesystem": filesystem_of(bench.workdir), "seed": args.seed, "bare": args.bare,
            "repeat": args.repeat, "concurrency": args.concurrency or "strmsync default",
            "cache": "warm (page cache not dropped; source walked before timing;"
                     " os.sync before each step)",
            "builds": {variant: {"build": build, "detail": detail}
                       for variant, (build, detail) in builds.items()}}


def parse_args(argv: list | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="videos in the library")
    parser.add_argument("--scale", type=int, default=10,
                        help="also run N/SCALE to see how memory grows (0: only N)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; medians are reported")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--concurrency", type=int, default=0,
                        help="strmsync --concurrency (default: strmsync's own)")
    parser.add_argument("--workdir", help="where libraries, targets and logs go (default: a temp"
                                          " dir, removed at the end; a library already in the"
                                          " work dir is reused)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the targets (and a temp work dir) after timing")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the children")
    parser.add_argument("--out", help="write the JSON results here")
    parser.add_argument("--bare", action="store_true",
                        help="videos only, no metadata: the work the C floor does, and no more")
    parser.add_argument("--floor", default=FLOOR_SOURCE, help="the C floor's source file")
    parser.add_argument("--variants", help="comma-separated subset of "
                                           f"{','.join(VARIANTS)} (default: all)")
    return parser.parse_args(argv)


def main(argv: list | None = None) -> int:
    """Run the benchmark, print the tables, write the JSON; exit 1 if a check failed."""
    args = parse_args(argv)
    bench = Bench(args)
    chosen = args.variants.split(",") if args.variants else VARIANTS
    unknown = set(chosen) - set(VARIANTS)
    if unknown:
        raise SystemExit(f"--variants: unknown {', '.join(sorted(unknown))}")
    builds = {variant: bench.build_of(variant) if variant in chosen else (None, "not chosen")
              for variant in VARIANTS}
    sizes = sorted({args.n, args.n // args.scale} - {0}) if args.scale else [args.n]
    try:
        results = {"environment": environment_facts(bench, builds, args),
                   "sizes": [bench_size(bench, n, builds, args.repeat) for n in sizes]}
    finally:
        if bench.owns_workdir and not args.keep:
            shutil.rmtree(bench.workdir, ignore_errors=True)
    results["summary"] = report.summarise(results["sizes"])
    print(report.render(results))
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as fh:
            json.dump(results, fh, indent=1, ensure_ascii=False)
        print(f"\nresults written to {args.out}")
    return 1 if results["summary"]["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
