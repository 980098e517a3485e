"""A read-only passthrough FUSE mount that answers each readdir and open after a delay.

It stands in for a CloudDrive2 or rclone mount of a cloud drive with a cold cache, where
every directory listing and every file opened is a round trip to the cloud. Run as a child
process (`SlowMount` does that, mounts it and unmounts it):

    python tests/standins/slowfs.py SOURCE MOUNTPOINT --readdir-delay 0.02 --log FILE

The log has a line per readdir and open as it starts: `<kind> <monotonic time> <calls of
that kind in flight, this one included> <path>`. CLOCK_MONOTONIC is the machine's, so a
reader can pick out the calls of one run by its own `time.monotonic()` before and after.
"""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

ATTRS = ("st_mode", "st_ino", "st_nlink", "st_uid", "st_gid", "st_size", "st_atime",
         "st_mtime", "st_ctime")
TIMES = ("st_atime", "st_mtime", "st_ctime")


def fuse_missing() -> str | None:
    """Why a FUSE mount cannot be made here, or None when it can."""
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse on this machine (a container without the FUSE device)"
    if not (shutil.which("fusermount3") or shutil.which("fusermount")):
        return "fusermount3 is not installed (Debian package `fuse3`)"
    return None


def _operations():
    # Imported here: the parent process (a test, a bench) needs only SlowMount.
    import mfusepy

    class SlowFS(mfusepy.Operations):
        """Passthrough of a local folder; readdir and open log, then sleep.

        Attributes are private: mfusepy takes any public name for a FUSE operation.
        """

        use_ns = True

        def __init__(self, root: str, readdir_delay: float, open_delay: float, log) -> None:
            self._root = os.path.realpath(root)
            self._delays = {"readdir": readdir_delay, "open": open_delay}
            self._active = {"readdir": 0, "open": 0}
            self._mutex = threading.Lock()
            self._log = log

        def _path(self, path: str) -> str:
            return self._root + path

        def _slow(self, kind: str, path: str) -> None:
            with self._mutex:
                self._active[kind] += 1
                self._log.write(f"{kind} {time.monotonic():.6f} {self._active[kind]} {path}\n")
                self._log.flush()
            try:
                time.sleep(self._delays[kind])
            finally:
                with self._mutex:
                    self._active[kind] -= 1

        def getattr(self, path: str, fh=None) -> dict:
            st = os.lstat(self._path(path))
            attrs = {name: getattr(st, name) for name in ATTRS if name not in TIMES}
            attrs.update({name: getattr(st, name + "_ns") for name in TIMES})
            return attrs

        def readdir(self, path: str, fh: int) -> list:
            self._slow("readdir", path)
            entries = [(".", stat.S_IFDIR, 0), ("..", stat.S_IFDIR, 0)]
            with os.scandir(self._path(path)) as found:
                for entry in found:
                    entries.append((entry.name, _kind(entry), 0))
            return entries

        def readlink(self, path: str) -> str:
            return os.readlink(self._path(path))

        def open(self, path: str, flags: int) -> int:
            if flags & (os.O_WRONLY | os.O_RDWR):
                raise mfusepy.FuseOSError(errno.EROFS)
            self._slow("open", path)
            return os.open(self._path(path), os.O_RDONLY)

        def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
            return os.pread(fh, size, offset)

        def release(self, path: str, fh: int) -> int:
            os.close(fh)
            return 0

        def statfs(self, path: str) -> dict:
            st = os.statvfs(self._path(path))
            return {name: getattr(st, name) for name in (
                "f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files",
                "f_flag", "f_frsize", "f_namemax")}

    return mfusepy, SlowFS


def _kind(entry: os.DirEntry) -> int:
    # The type the directory itself reports (no stat): as a cloud mount's readdir does.
    if entry.is_symlink():
        return stat.S_IFLNK
    if entry.is_dir(follow_symlinks=False):
        return stat.S_IFDIR
    return stat.S_IFREG


@dataclass
class Calls:
    """What the mount saw in a time window: calls of each kind and the most at once."""

    readdirs: int = 0
    opens: int = 0
    max_readdirs: int = 0
    max_opens: int = 0


class SlowMount:
    """The slow file system over `source`, mounted at `mountpoint` in a child process."""

    def __init__(self, source: str, mountpoint: str, log: str, readdir_delay: float = 0.02,
                 open_delay: float = 0.0) -> None:
        self.source, self.mountpoint, self.log = source, mountpoint, log
        self.delays = (readdir_delay, open_delay)
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> SlowMount:
        self.mount()
        return self

    def __exit__(self, *exc) -> None:
        self.unmount()

    def mount(self, timeout: float = 15.0) -> None:
        """Start the file system and wait until the mount point is a mount."""
        os.makedirs(self.mountpoint, exist_ok=True)
        open(self.log, "w").close()
        self._process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), self.source, self.mountpoint,
             "--readdir-delay", str(self.delays[0]), "--open-delay", str(self.delays[1]),
             "--log", self.log], stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not os.path.ismount(self.mountpoint):
            if self._process.poll() is not None:
                raise RuntimeError(f"slowfs exited with {self._process.returncode}")
            if time.monotonic() > deadline:
                self.unmount()
                raise RuntimeError(f"slowfs did not mount {self.mountpoint} in {timeout} s")
            time.sleep(0.02)

    def unmount(self) -> None:
        """Unmount (lazily if something still holds it) and wait for the child to end."""
        if self._process is None:
            return
        if os.path.ismount(self.mountpoint):
            tool = shutil.which("fusermount3") or "fusermount"
            done = subprocess.run([tool, "-u", self.mountpoint], capture_output=True)
            if done.returncode != 0:
                subprocess.run([tool, "-uz", self.mountpoint], capture_output=True)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def cpu_seconds(self) -> float:
        """The file system process's CPU time so far, user and system (Linux /proc)."""
        with open(f"/proc/{self._process.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()  # the name may hold spaces
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def calls(self, since: float = 0.0, until: float = float("inf")) -> Calls:
        """The calls that started between the two `time.monotonic()` readings."""
        seen = Calls()
        with open(self.log, encoding="utf-8", errors="surrogateescape") as fh:
            for line in fh:
                kind, started, active, _ = line.split(" ", 3)
                if not since <= float(started) <= until:
                    continue
                if kind == "readdir":
                    seen.readdirs += 1
                    seen.max_readdirs = max(seen.max_readdirs, int(active))
                else:
                    seen.opens += 1
                    seen.max_opens = max(seen.max_opens, int(active))
        return seen


def main() -> None:
    """Mount SOURCE at MOUNTPOINT in the foreground until unmounted."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source")
    parser.add_argument("mountpoint")
    parser.add_argument("--readdir-delay", type=float, default=0.02)
    parser.add_argument("--open-delay", type=float, default=0.0)
    parser.add_argument("--log", default=os.devnull)
    args = parser.parse_args()
    mfusepy, slow_fs = _operations()
    with open(args.log, "a", encoding="utf-8", errors="surrogateescape") as log:
        operations = slow_fs(args.source, args.readdir_delay, args.open_delay, log)
        # Threads: a real mount answers many requests at once; `ro`: a source is only read.
        mfusepy.FUSE(operations, args.mountpoint, foreground=True, nothreads=False, ro=True,
                     fsname="slowfs")


if __name__ == "__main__":
    main()
