"""Run one command and record its wall time and peak RSS: `launch.py USAGE_FILE -- ARGV...`.

A process's `ru_maxrss` on Linux includes the RSS of the process image that called exec,
so a child spawned straight from the (large) benchmark process would report at least the
benchmark's size. This launcher is started instead: it imports almost nothing, spawns the
command, waits for it with `os.wait4` and writes `{"wall_s", "peak_rss_kb", "floor_kb",
"exit_code"}` to USAGE_FILE. `floor_kb` is its own peak: a figure at or below it is not
the command's own.
"""

import json
import os
import sys
import time


def peak_kb() -> int:
    """This process's peak resident set size in KiB (Linux)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main(usage_path: str, argv: list) -> int:
    """Run `argv` with this process's stdio and environment; returns 0 once it is recorded."""
    floor = peak_kb()
    started = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ)
    _pid, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    with open(usage_path, "w") as fh:
        json.dump({"wall_s": wall, "peak_rss_kb": usage.ru_maxrss, "floor_kb": floor,
                   "exit_code": os.waitstatus_to_exitcode(status)}, fh)
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit("usage: launch.py USAGE_FILE -- COMMAND [ARG...]")
    sys.exit(main(sys.argv[1], sys.argv[3:]))
