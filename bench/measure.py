"""Measuring one step: a child process's wall time and peak RSS, and a target tree's digest."""

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass

LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "launch.py")


@dataclass
class Measurement:
    """What one child process took and said."""

    wall_s: float
    peak_rss_kb: int
    exit_code: int
    result: dict | None  # the JSON object it printed last, if any
    stderr_tail: str
    floor_kb: int  # the launcher's own peak: a child's peak at or below it is not its own
    log_path: str = ""  # its output is in log_path.out and log_path.err

    @property
    def peak_rss_mb(self) -> float:
        """Peak resident set size in MiB."""
        return self.peak_rss_kb / 1024


def run_measured(argv: list, env: dict, log_path: str) -> Measurement:
    """Run `argv` to completion; stdout goes to `log_path`.out, stderr to `log_path`.err.

    The child is started through `launch.py`, which takes the figures: a child spawned
    straight from this (large) process would count this process's RSS as its own.
    """
    usage_path = log_path + ".usage"
    launcher = [sys.executable, "-I", "-S", LAUNCHER, usage_path, "--", *argv]
    with open(log_path + ".out", "wb") as out, open(log_path + ".err", "wb") as err:
        subprocess.run(launcher, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                       check=True)
    with open(usage_path) as fh:
        usage = json.load(fh)
    return Measurement(round(usage["wall_s"], 3), usage["peak_rss_kb"], usage["exit_code"],
                       _last_json(log_path + ".out"), _tail(log_path + ".err"),
                       usage["floor_kb"], log_path)


def _last_json(path: str) -> dict | None:
    with open(path, encoding="utf-8", errors="replace") as fh:
        lines = [line for line in fh.read().splitlines() if line.startswith("{")]
    if not lines:
        return None
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        return None


def _tail(path: str, lines: int = 5) -> str:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return "\n".join(fh.read().splitlines()[-lines:])


def tree_digest(root: str) -> dict:
    """A digest of every file under `root` (relative path and bytes), in a stable order."""
    digest = hashlib.sha256()
    files = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(filenames):
            with open(os.path.join(dirpath, name), "rb") as fh:
                data = fh.read()
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            digest.update(f"{rel}\0{len(data)}\0".encode("utf-8", "surrogateescape") + data)
            files += 1
    return {"files": files, "sha256": digest.hexdigest()[:16]}


def warm_tree(root: str) -> int:
    """Walk and stat a tree so its metadata is in the page cache; returns the file count."""
    count = 0
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            os.stat(os.path.join(dirpath, name))
            count += 1
    return count

