"""Benchmark mirror jobs against `rclone bisync` on a real Samba share (DESIGN.md §8).

A local tree of N small files in F folders and a folder on a Samba share on 127.0.0.1
(tests/standins/samba.py), kept in step by `strmsync mirror` and by `rclone bisync`, each
on its own pair of folders: first upload (local full, share empty; rclone's `--resync`),
no-op, and 1 % changed (N/200 files changed locally, N/200 others changed on the share,
on disk under the share's folder, each with new content and a new mtime). In the same
run: a bare recursive `smbclient.scandir` of the share folder (reading `entry.smb_info`)
and a local `os.walk` with a stat per file. Every step is a child process timed from the
outside; client CPU is `resource.getrusage(RUSAGE_CHILDREN)` around it, server CPU the
smbd process group's from /proc. strmsync's `--json` counts are checked, and after every
step each pair's two sides must hold the same files with the same bytes, and both tools'
trees must be the same.

Run: `python bench/bench_mirror.py --files 10000 --folders 1000 --repeat 3`
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
STEPS = ("first", "noop", "change")
TOOLS = ("strmsync", "rclone")
REMOTE = "BENCHSMB"  # the rclone remote, defined by RCLONE_CONFIG_BENCHSMB_* variables
# What each tool keeps for itself inside the trees: left out of the comparisons.
PRIVATE = (".strmsync-mirror", ".strmsync-trash", ".strmsync-part-", "RCLONE_TEST")
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- the tree ---------------------------------------------------------------------------------

def folder_names(folders: int) -> list:
    """F folders in all: group folders of up to 100 title folders each, and the titles."""
    groups = max(1, -(-folders // 101))
    titles = max(1, folders - groups)
    return [f"group-{g:03d}/title-{t:05d}" for t, g in
            ((t, t * groups // titles) for t in range(titles))], groups


def build_template(root: str, files: int, folders: int, seed: int) -> list:
    """N small files (100 B – 4 KB, seeded) spread evenly over the title folders."""
    rng = random.Random(seed)
    titles, _groups = folder_names(folders)
    rels = []
    for i in range(files):
        folder = titles[i % len(titles)]
        rels.append(f"{folder}/file-{i:06d}.{('nfo', 'jpg', 'srt', 'strm')[i % 4]}")
    base = time.time() - 86400 * 30
    for rel in rels:
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(rng.randbytes(rng.randint(100, 4096)))
        stamp = base + rng.randint(0, 86400 * 20)
        os.utime(path, (stamp, stamp))
    return rels


def tree_map(root: str) -> dict:
    """rel path -> (size, sha1) of every file under root, private files left out."""
    found = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(PRIVATE)]
        for name in names:
            if name.startswith(PRIVATE):
                continue
            path = os.path.join(folder, name)
            with open(path, "rb") as fh:
                data = fh.read()
            found[os.path.relpath(path, root)] = (len(data), hashlib.sha1(data).hexdigest())
    return found


def digest(tree: dict) -> str:
    """One hash of a whole tree map."""
    h = hashlib.sha1()
    for rel in sorted(tree):
        h.update(f"{rel}\0{tree[rel][0]}\0{tree[rel][1]}\n".encode())
    return h.hexdigest()[:12]


def plan_change(rels: list, files: int, seed: int) -> tuple:
    """Which files change locally and which on the share: 0.5 % of N each, disjoint."""
    each = max(1, files // 200)
    picked = random.Random(seed).sample(rels, 2 * each)
    return sorted(picked[:each]), sorted(picked[each:])


def apply_change(root: str, rels: list, tag: str, stamp: float) -> None:
    """New content (a different size) and a new mtime for each file."""
    for rel in rels:
        path = os.path.join(root, rel)
        with open(path, "ab") as fh:
            fh.write(f"\nchanged on the {tag} side\n".encode())
        os.utime(path, (stamp, stamp))


# --- processes and CPU ------------------------------------------------------------------------

def group_cpu_s(pgid: int) -> float:
    """utime+stime (and children reaped) of every live process in group `pgid`, seconds."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            ticks += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return ticks / CLK_TCK


def timed(argv: list, env: dict, log_path: str, server_pgid: int, timeout: float) -> dict:
    """Run a child to completion: wall, client CPU (getrusage children), server CPU.

    A child still running after `timeout` seconds is killed (exit code "timeout")."""
    os.sync()
    server0 = group_cpu_s(server_pgid)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(log_path + ".out", "wb") as out, open(log_path + ".err", "wb") as err:
        try:
            code = subprocess.run(argv, env=env, stdout=out, stderr=err,
                                  stdin=subprocess.DEVNULL, check=False,
                                  timeout=timeout).returncode
        except subprocess.TimeoutExpired:  # run() has killed and reaped it
            code = "timeout"
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    time.sleep(0.05)  # smbd reaps its per-connection child; its CPU then counts
    server = group_cpu_s(server_pgid) - server0
    with open(log_path + ".out", encoding="utf-8", errors="replace") as fh:
        out_text = fh.read()
    with open(log_path + ".err", encoding="utf-8", errors="replace") as fh:
        err_text = fh.read()
    return {"wall_s": round(wall, 3),
            "cpu_user_s": round(after.ru_utime - before.ru_utime, 3),
            "cpu_sys_s": round(after.ru_stime - before.ru_stime, 3),
            "server_cpu_s": round(server, 2), "exit_code": code,
            "stdout": out_text, "stderr_tail": "\n".join(err_text.splitlines()[-8:])}


# --- the bare listings, run as children of this file ------------------------------------------

def child_scandir(unc: str, port: int, user: str) -> None:
    """A bare recursive smbclient.scandir reading entry.smb_info; prints counts as JSON."""
    import smbclient

    cache: dict = {}
    kw = {"port": port, "username": user, "password": os.environ["STRMSYNC_SMB_PASSWORD"],
          "connection_cache": cache}
    files = folders = size = 0
    stack = [unc]
    try:
        while stack:
            folder = stack.pop()
            for entry in smbclient.scandir(folder, **kw):
                info = entry.smb_info
                if entry.is_dir():
                    folders += 1
                    stack.append(entry.path)
                else:
                    files += 1
                    size += info.end_of_file
                    _ = info.last_write_time
    finally:
        smbclient.reset_connection_cache(connection_cache=cache)
    print(json.dumps({"files": files, "folders": folders, "bytes": size}))


def child_walk(root: str) -> None:
    """os.walk of the local tree with an os.stat per file; prints counts as JSON."""
    files = folders = size = 0
    for folder, dirs, names in os.walk(root):
        folders += len(dirs)
        for name in names:
            st = os.stat(os.path.join(folder, name))
            files += 1
            size += st.st_size
    print(json.dumps({"files": files, "folders": folders, "bytes": size}))


# --- the benchmark ----------------------------------------------------------------------------

class Bench:
    """One invocation: a Samba server, a template tree, and the commands of both tools."""

    def __init__(self, args: argparse.Namespace, server):
        self.args, self.server = args, server
        self.python = args.python
        self.workdir = args.workdir
        self.logs = os.path.join(self.workdir, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.template = os.path.join(self.workdir, "template")
        self.rclone_config = os.path.join(self.workdir, "rclone.conf")
        Path(self.rclone_config).write_text("")
        obscured = subprocess.run(["rclone", "obscure", server.password], capture_output=True,
                                  text=True, check=True).stdout.strip()
        self.env = {**os.environ,
                    "PYTHONPATH": os.pathsep.join(filter(None, [REPO,
                                                                os.environ.get("PYTHONPATH")])),
                    "STRMSYNC_SMB_PASSWORD": server.password,
                    "RCLONE_CONFIG": self.rclone_config,
                    f"RCLONE_CONFIG_{REMOTE}_TYPE": "smb",
                    f"RCLONE_CONFIG_{REMOTE}_HOST": server.host,
                    f"RCLONE_CONFIG_{REMOTE}_PORT": str(server.port),
                    f"RCLONE_CONFIG_{REMOTE}_USER": server.username,
                    f"RCLONE_CONFIG_{REMOTE}_PASS": obscured}

    @property
    def pgid(self) -> int:
        return self.server._process.pid  # smbd leads its own process group

    def prepare_template(self) -> list:
        marker = os.path.join(self.template, ".done")
        if os.path.exists(marker):
            with open(marker) as fh:
                return json.load(fh)
        shutil.rmtree(self.template, ignore_errors=True)
        os.makedirs(self.template)
        rels = build_template(self.template, self.args.files, self.args.folders, self.args.seed)
        with open(marker, "w") as fh:
            json.dump(rels, fh)
        return rels

    def copy_template(self, dest: str) -> None:
        shutil.copytree(self.template, dest, ignore=shutil.ignore_patterns(".done"))

    def command(self, tool: str, step: str, local: str, share_dir: str, round_dir: str) -> list:
        if tool == "strmsync":
            s = self.server
            return [self.python, "-m", "strmsync", "mirror", local,
                    f"smb://{s.username}@{s.host}:{s.port}/{s.share}/{share_dir}", "--json",
                    "--data", os.path.join(round_dir, "strmsync-data")]
        argv = ["rclone", "bisync", local, f"{REMOTE}:{self.server.share}/{share_dir}",
                "--workdir", os.path.join(round_dir, "bisync-work"), "-v"]
        return argv + (["--resync"] if step == "first" else [])

    def run_step(self, tool: str, step: str, round_no: int, local: str, share_dir: str,
                 round_dir: str, want: dict) -> dict:
        argv = self.command(tool, step, local, share_dir, round_dir)
        log_path = os.path.join(self.logs, f"r{round_no}-{tool}-{step}")
        print(f"  round {round_no + 1} {tool:<8} {step:<6} ...", end="", file=sys.stderr,
              flush=True)
        m = timed(argv, self.env, log_path, self.pgid, self.args.timeout)
        problems = []
        counts = None
        if m["exit_code"] != 0:
            problems.append(f"exit {m['exit_code']}: {m['stderr_tail']}")
        if tool == "strmsync":
            lines = [ln for ln in m["stdout"].splitlines() if ln.startswith("{")]
            result = json.loads(lines[-1]) if lines else {}
            counts = {k: result.get(k) for k in ("uploaded", "downloaded", "deleted_local",
                                                  "deleted_remote", "conflicts", "failed",
                                                  "unchanged")}
            if result.get("status") != "succeeded":
                problems.append(f"status {result.get('status')!r}: {result.get('error')}")
            for key, value in want.items():
                if counts.get(key) != value:
                    problems.append(f"{key} {counts.get(key)} (expected {value})")
            m["reported_s"] = result.get("duration_s")
        else:
            counts = rclone_counts(log_path + ".err")
        # Both sides of the pair must now hold the same files with the same bytes.
        local_tree = tree_map(local)
        share_tree = tree_map(os.path.join(self.server.root, share_dir))
        if local_tree != share_tree:
            only_l = sorted(set(local_tree) - set(share_tree))[:3]
            only_r = sorted(set(share_tree) - set(local_tree))[:3]
            differ = sorted(k for k in set(local_tree) & set(share_tree)
                            if local_tree[k] != share_tree[k])[:3]
            problems.append(f"sides differ: local only {only_l}, share only {only_r},"
                            f" different {differ}")
        del m["stdout"]
        print(f" {m['wall_s']:.2f} s{' PROBLEM' if problems else ''}", file=sys.stderr)
        return {"round": round_no, "tool": tool, "step": step, **m, "counts": counts,
                "tree": digest(local_tree), "files": len(local_tree), "problems": problems}

    def bare_listings(self, round_no: int, share_dir: str, local: str) -> list:
        s = self.server
        unc = f"\\\\{s.host}\\{s.share}\\{share_dir}"
        out = []
        for name, argv in (
                ("smbclient.scandir", [self.python, __file__, "--child-scandir", unc,
                                       str(s.port), s.username]),
                ("local os.walk+stat", [self.python, __file__, "--child-walk", local])):
            log_path = os.path.join(self.logs, f"r{round_no}-{name.split()[0]}")
            m = timed(argv, self.env, log_path, self.pgid, self.args.timeout)
            lines = [ln for ln in m.pop("stdout").splitlines() if ln.startswith("{")]
            result = json.loads(lines[-1]) if lines else {}
            problems = [] if m["exit_code"] == 0 else [f"exit {m['exit_code']}:"
                                                       f" {m['stderr_tail']}"]
            print(f"  round {round_no + 1} {name}: {m['wall_s']:.2f} s,"
                  f" {result.get('files')} files", file=sys.stderr)
            out.append({"round": round_no, "tool": name, "step": "list", **m,
                        "counts": result, "problems": problems})
        return out

    def run_round(self, round_no: int, rels: list) -> list:
        root = os.path.join(self.workdir, f"round-{round_no}")
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)
        n = self.args.files
        local_changes, share_changes = plan_change(rels, n, self.args.seed + 1 + round_no)
        pairs = {}
        for tool in TOOLS:
            local = os.path.join(root, f"{tool}-local")
            self.copy_template(local)
            share_dir = f"bench-r{round_no}-{tool}"
            shutil.rmtree(os.path.join(self.server.root, share_dir), ignore_errors=True)
            # rclone bisync needs both folders to exist; strmsync would make it, but the
            # same empty folder is given to both.
            os.makedirs(os.path.join(self.server.root, share_dir))
            round_dir = os.path.join(root, f"{tool}-state")
            os.makedirs(round_dir)
            pairs[tool] = (local, share_dir, round_dir)
        order = TOOLS if round_no % 2 == 0 else TOOLS[::-1]
        want = {"first": {"uploaded": n, "downloaded": 0, "failed": 0},
                "noop": {"uploaded": 0, "downloaded": 0, "deleted_local": 0,
                         "deleted_remote": 0, "conflicts": 0, "failed": 0, "unchanged": n},
                "change": {"uploaded": len(local_changes), "downloaded": len(share_changes),
                           "deleted_local": 0, "deleted_remote": 0, "conflicts": 0,
                           "failed": 0}}
        records = []
        for step in STEPS:
            if step == "change":
                stamp = time.time()
                for tool in TOOLS:
                    local, share_dir, _ = pairs[tool]
                    apply_change(local, local_changes, "local", stamp)
                    apply_change(os.path.join(self.server.root, share_dir), share_changes,
                                 "share", stamp)
            for tool in order:
                records.append(self.run_step(tool, step, round_no, *pairs[tool], want[step]))
            if step == "noop":
                # Bare listings of the same (now mirrored) share folder and local tree.
                records += self.bare_listings(round_no, pairs["strmsync"][1],
                                              pairs["strmsync"][0])
            trees = {r["tool"]: r["tree"] for r in records[-4:] if r["step"] == step}
            if len(set(trees.values())) > 1:
                records[-1]["problems"].append(f"the tools' trees differ after {step}: {trees}")
        if not self.args.keep:
            shutil.rmtree(root, ignore_errors=True)
            for tool in TOOLS:
                shutil.rmtree(os.path.join(self.server.root, pairs[tool][1]), ignore_errors=True)
        return records


def rclone_counts(err_path: str) -> dict:
    """Files rclone says it copied and deleted, from its -v log (INFO lines)."""
    copied = deleted = 0
    with open(err_path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if "INFO  :" not in line:
                continue
            if ": Copied (" in line:
                copied += 1
            elif ": Deleted" in line:
                deleted += 1
    return {"copied": copied, "deleted": deleted}


# --- the report -------------------------------------------------------------------------------

def _median(values: list) -> float:
    return statistics.median(values) if values else float("nan")


def summarise(records: list) -> dict:
    rows = []
    keys = [(tool, step) for step in STEPS for tool in TOOLS]
    keys += [("smbclient.scandir", "list"), ("local os.walk+stat", "list")]
    for tool, step in keys:
        rs = [r for r in records if r["tool"] == tool and r["step"] == step]
        if not rs:
            continue
        walls = [r["wall_s"] for r in rs]
        rows.append({"tool": tool, "step": step, "n": len(rs),
                     "wall_median_s": round(_median(walls), 2),
                     "wall_min_s": min(walls), "wall_max_s": max(walls),
                     "cpu_median_s": round(_median([r["cpu_user_s"] + r["cpu_sys_s"]
                                                    for r in rs]), 2),
                     "server_cpu_median_s": round(_median([r["server_cpu_s"] for r in rs]), 2),
                     "counts": rs[len(rs) // 2]["counts"]})
    ratios, cpu_ratios = [], []
    for round_no in sorted({r["round"] for r in records}):
        noop = {r["tool"]: r for r in records if r["round"] == round_no and r["step"] == "noop"}
        if "strmsync" in noop and "rclone" in noop:
            ratios.append(round(noop["strmsync"]["wall_s"] / noop["rclone"]["wall_s"], 2))
            cpu = {tool: noop[tool]["cpu_user_s"] + noop[tool]["cpu_sys_s"] for tool in TOOLS}
            cpu_ratios.append(round(cpu["strmsync"] / cpu["rclone"], 2) if cpu["rclone"]
                              else None)
    problems = [f"round {r['round'] + 1} {r['tool']} {r['step']}: {p}"
                for r in records for p in r["problems"]]
    return {"rows": rows, "noop_ratios": ratios, "noop_cpu_ratios": cpu_ratios,
            "problems": problems,
            "noop_ratio_median": round(_median(ratios), 2) if ratios else None,
            "noop_within_2x_rounds": sum(1 for r in ratios if r <= 2.0),
            "noop_within_2x": bool(ratios) and all(r <= 2.0 for r in ratios)}


def _counts_text(counts: dict | None) -> str:
    if not counts:
        return ""
    if "uploaded" in counts:
        return f"up {counts['uploaded']} down {counts['downloaded']}"
    if "copied" in counts:
        return f"copied {counts['copied']} deleted {counts['deleted']}"
    return f"{counts.get('files')} files"


def render(results: dict) -> str:
    env, summary = results["environment"], results["summary"]
    lines = [f"# mirror benchmark: {env['files']:,} files in {env['folders']:,} folders,"
             f" {env['repeat']} round(s)",
             f"# {env['date']}  commit {env['commit'][:10]}  {env['cpus']} CPUs  load average"
             f" at start {env['loadavg_start']}  at end {env['loadavg_end']}",
             f"# {env['rclone']}; smbprotocol {env['smbprotocol']}; {env['smbd']};"
             f" work dir on {env['filesystem']}", "",
             "| tool | step | wall s (median) | range | client CPU s | server CPU s | counts |",
             "|---|---|---|---|---|---|---|"]
    for row in summary["rows"]:
        lines.append(f"| {row['tool']} | {row['step']} | {row['wall_median_s']:.2f} |"
                     f" {row['wall_min_s']:.2f}–{row['wall_max_s']:.2f} |"
                     f" {row['cpu_median_s']:.2f} | {row['server_cpu_median_s']:.2f} |"
                     f" {_counts_text(row['counts'])} |")
    lines.append("")
    pairs = zip(summary["noop_ratios"], summary["noop_cpu_ratios"], strict=True)
    for i, (ratio, cpu) in enumerate(pairs):
        lines.append(f"round {i + 1}: no-op strmsync / rclone bisync = {ratio:.2f}"
                     f" (client CPU {cpu if cpu is None else f'{cpu:.2f}'})")
    if summary["noop_ratios"]:
        verdict = "met" if summary["noop_within_2x"] else "NOT met"
        lines.append(f"goal (no-op at most 2x rclone bisync's in every round): {verdict}"
                     f" ({summary['noop_within_2x_rounds']} of {len(summary['noop_ratios'])}"
                     f" rounds; median ratio {summary['noop_ratio_median']:.2f})")
    if summary["problems"]:
        lines.append("\nPROBLEMS:")
        lines += [f"- {p}" for p in summary["problems"]]
    else:
        lines.append("checks: all passed (counts, both sides equal, both tools' trees equal)")
    return "\n".join(lines)


def environment(args: argparse.Namespace, load_start: tuple) -> dict:
    def out(argv: list) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True,
                                  check=False).stdout.strip()
        except OSError:
            return "?"

    from importlib.metadata import version

    fs = "unknown"
    best = ""
    real = os.path.realpath(args.workdir)
    with open("/proc/mounts") as fh:
        for line in fh:
            _dev, mount, kind = line.split()[:3]
            if (real == mount or real.startswith(mount.rstrip("/") + "/")) and \
                    len(mount) > len(best):
                best, fs = mount, kind
    smbd = out(["/usr/sbin/smbd", "--version"]) or "smbd ?"
    return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "commit": out(["git", "-C", REPO, "rev-parse", "HEAD"]),
            "python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "files": args.files, "folders": args.folders,
            "repeat": args.repeat, "seed": args.seed,
            "loadavg_start": " ".join(f"{v:.2f}" for v in load_start),
            "rclone": out(["rclone", "version"]).splitlines()[0],
            "smbprotocol": version("smbprotocol"), "smbd": smbd,
            "workdir": args.workdir, "filesystem": fs}


def parse_args(argv: list | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", type=int, default=10_000)
    p.add_argument("--folders", type=int, default=1_000)
    p.add_argument("--repeat", type=int, default=3, help="rounds; medians are reported")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", help="template tree, rounds, logs and the Samba server's"
                                     " folder (default: a temp dir, removed at the end)")
    p.add_argument("--keep", action="store_true", help="keep trees and the work dir")
    p.add_argument("--python", default=sys.executable, help="interpreter for strmsync")
    p.add_argument("--timeout", type=float, default=600,
                   help="seconds a step may take before its child is killed (a problem)")
    p.add_argument("--json-out", help="write every record and the summary here as JSON")
    p.add_argument("--child-scandir", nargs=3, metavar=("UNC", "PORT", "USER"),
                   help=argparse.SUPPRESS)
    p.add_argument("--child-walk", metavar="ROOT", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list | None = None) -> int:
    args = parse_args(argv)
    if args.child_scandir:
        unc, port, user = args.child_scandir
        child_scandir(unc, int(port), user)
        return 0
    if args.child_walk:
        child_walk(args.child_walk)
        return 0
    load_start = os.getloadavg()
    if shutil.which("rclone") is None:
        print("rclone is not installed (Debian package `rclone`)", file=sys.stderr)
        return 2
    owns = not args.workdir
    args.workdir = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="strmsync-mbench-"))
    os.makedirs(args.workdir, exist_ok=True)
    sys.path.insert(0, os.path.join(REPO, "tests"))
    from standins.samba import SambaServer

    server = SambaServer(Path(args.workdir) / "samba")
    server.start()
    facts = environment(args, load_start)
    try:
        bench = Bench(args, server)
        print(f"load average at start: {load_start}", file=sys.stderr)
        rels = bench.prepare_template()
        records = []
        for round_no in range(args.repeat):
            records += bench.run_round(round_no, rels)
    finally:
        server.stop()
        if owns and not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)
    results = {"environment": facts, "records": records}
    results["environment"]["loadavg_end"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    results["summary"] = summarise(records)
    print(render(results))
    if args.json_out:
        os.makedirs(os.path.dirname(os.path.abspath(args.json_out)), exist_ok=True)
        with open(args.json_out, "w") as fh:
            json.dump(results, fh, indent=1)
        print(f"\nresults written to {args.json_out}")
    return 1 if results["summary"]["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
