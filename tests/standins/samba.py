"""A real Samba server on a free 127.0.0.1 port, for the mirror tests (DESIGN.md §8)."""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

PASSWORD = "smb-pw-S3cret"
SHARE = "media"


def find_smbd() -> str | None:
    """The smbd binary, which Debian keeps in /usr/sbin (often not on a user's PATH)."""
    found = shutil.which("smbd")
    if found:
        return found
    return "/usr/sbin/smbd" if os.access("/usr/sbin/smbd", os.X_OK) else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _config(base: Path, port: int) -> str:
    return f"""[global]
    smb ports = {port}
    interfaces = lo
    bind interfaces only = yes
    private dir = {base}/private
    lock directory = {base}/lock
    state directory = {base}/state
    cache directory = {base}/cache
    pid directory = {base}/pid
    ncalrpc dir = {base}/ncalrpc
    passdb backend = tdbsam:{base}/private/passdb.tdb
    server role = standalone server
    map to guest = never
    load printers = no
    printing = bsd
    printcap name = /dev/null
    disable spoolss = yes
    log level = 1
    map archive = no
    create mask = 0644

[{SHARE}]
    path = {base}/share
    read only = no
    browseable = yes
"""


def _live_members(pgid: int) -> bool:
    """Whether any process of group `pgid` is still running (not a zombie)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    for stat in proc.glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # "pid (comm) state ppid pgrp ...": comm may hold spaces, so split after ')'.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


class SambaServer:
    """One smbd process in its own process group, serving the writable share `media`."""

    host = "127.0.0.1"
    share = SHARE

    def __init__(self, base: Path | None = None) -> None:
        self._smbd = find_smbd()
        if self._smbd is None:
            pytest.skip("Samba's smbd is not installed (Debian package `samba`)")
        self._owned_base = base is None
        self.base = Path(tempfile.mkdtemp(prefix="strmsync-samba-")) if base is None else base
        self.root = self.base / "share"
        self.username = getpass.getuser()
        self.password = PASSWORD
        self.port = 0
        self._process: subprocess.Popen | None = None
        self._prepared = False

    def __enter__(self) -> SambaServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def conf(self) -> Path:
        return self.base / "smb.conf"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _prepare(self) -> None:
        for name in "log private lock state cache pid ncalrpc share".split():
            (self.base / name).mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.conf.write_text(_config(self.base, self.port))
        self._add_user()
        self._prepared = True

    def _add_user(self) -> None:
        if os.geteuid() == 0:
            command = ["smbpasswd", "-c", str(self.conf), "-s", "-a", self.username]
            stdin = f"{self.password}\n{self.password}\n"
        else:
            command = ["pdbedit", "-s", str(self.conf), "-a", "-u", self.username, "-t"]
            stdin = f"{self.password}\n{self.password}\n"
        done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            pytest.skip(f"cannot add the Samba user {self.username}: {done.stderr.strip()}")

    def start(self) -> None:
        """Start smbd (on the same port and folder as before after a stop) and wait for it."""
        if not self._prepared:
            self._prepare()
        # No start_new_session: smbd calls setsid() itself (its own session and process
        # group, so killpg reaches its children) and exits with "Failed to create session"
        # when it already leads one. Never --no-process-group: it would then share ours.
        log = (self.base / "log" / "smbd.stdout").open("ab")
        with log:
            self._process = subprocess.Popen(
                [self._smbd, "--foreground", "--debug-stdout", "-l", str(self.base / "log"),
                 "-s", str(self.conf)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                code = self._process.returncode
                raise RuntimeError(f"smbd exited with {code}: {self.log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection(
                (self.host, self.port), timeout=0.5
            ):
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"smbd did not listen on {self.port} within {timeout}s")

    def log_tail(self, lines: int = 20) -> str:
        """The end of smbd's output, for failure messages."""
        path = self.base / "log" / "smbd.stdout"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _signal_group(self, sig: int) -> None:
        pid = self._process.pid
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:  # not yet past its setsid(): never signal our own group
                os.kill(pid, sig)

    def stop(self) -> None:
        """SIGTERM smbd's process group, SIGKILL it after a few seconds, and reap it."""
        if self._process is None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self._process.wait(timeout=5)
        self._reap_group()
        self._process = None

    def kill(self) -> None:
        """SIGKILL the whole group at once, as a crashing server would vanish."""
        if self._process is None:
            return
        self._signal_group(signal.SIGKILL)
        self._process.wait(timeout=5)
        self._reap_group()
        self._process = None

    def _reap_group(self) -> None:
        # smbd forks a child per client; they are in its group and die with it. Wait until
        # none is alive (zombies reparented to init don't count: they hold no port).
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _live_members(self._process.pid):
            time.sleep(0.02)
        if _live_members(self._process.pid):
            self._signal_group(signal.SIGKILL)

    def restart(self) -> None:
        """Stop if running, then start again on the same port with the same share."""
        self.stop()
        self.start()

    def cleanup(self) -> None:
        """Stop, and remove the folder if this server made it."""
        self.stop()
        if self._owned_base:
            shutil.rmtree(self.base, ignore_errors=True)
