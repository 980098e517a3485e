"""Helpers of the mirror end-to-end tests: run a mirror (in-process or the CLI) between a
local folder and a folder of the real Samba share, and read both trees back from disk."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from strmsync.mirror.engine import Controls, MirrorRun, MirrorSummary
from strmsync.mirror.localside import MARKER, TRASH
from strmsync.mirror.options import MirrorOptions
from strmsync.mirror.progress import MirrorProgress
from strmsync.mirror.smbremote import TEMP_PREFIX
from strmsync.store import Store

REPO = Path(__file__).resolve().parent.parent
T0 = 1_700_000_000_000_000_000  # a fixed mtime (ns), a multiple of SMB's 100 ns tick
CONFLICT_RE = r"\.conflict-{side}-\d{{8}}T\d{{6}}Z"


def write(path: Path, data: bytes | str, mtime_ns: int | None = None) -> Path:
    """Create a file (and its folders), optionally with a given mtime."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def files(root: Path) -> dict[str, bytes]:
    """What a user sees mirrored: every file but the marker, the trash and temp files."""
    out = {}
    for rel, data in disk(root).items():
        name = rel.rsplit("/", 1)[-1]
        if rel == MARKER or rel.startswith(TRASH + "/") or name.startswith(TEMP_PREFIX):
            continue
        out[rel] = data
    return out


def final_names(root: Path) -> set[str]:
    """The user files' names only (cheap enough to poll while a run writes the folder)."""
    return {(Path(d) / n).relative_to(root).as_posix() for d, _dirs, names in os.walk(root)
            for n in names if n != MARKER and not n.startswith(TEMP_PREFIX)}


def disk(root: Path) -> dict[str, bytes]:
    """Every file under root, marker, trash and temp files included."""
    out = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


def state(root: Path) -> dict:
    """Every file and folder under root with its bytes and mtime: "changed nothing" is
    this, equal before and after."""
    out = {}
    for dirpath, dirs, names in os.walk(root):
        for name in dirs:
            out[(Path(dirpath) / name).relative_to(root).as_posix() + "/"] = None
        for name in names:
            path = Path(dirpath) / name
            out[path.relative_to(root).as_posix()] = (path.read_bytes(), path.stat().st_mtime_ns)
    return out


def trashed(root: Path) -> dict[str, bytes]:
    """`{day/path: bytes}` of what lies in a side's trash."""
    return {rel.split("/", 1)[1]: data for rel, data in disk(root).items()
            if rel.startswith(TRASH + "/")}


def today_trash(root: Path) -> dict[str, bytes]:
    """`{path: bytes}` in today's (UTC) trash folder of a side."""
    day = time.strftime("%Y-%m-%d", time.gmtime())
    return {rel.split("/", 1)[1]: data for rel, data in trashed(root).items()
            if rel.startswith(day + "/")}


def conflict_copies(tree: dict, stem: str, side: str, ext: str) -> dict[str, bytes]:
    """The kept copies `stem.conflict-<side>-<UTC>ext` in a tree."""
    pattern = re.compile(re.escape(stem) + CONFLICT_RE.format(side=side) + re.escape(ext) + "$")
    return {rel: data for rel, data in tree.items() if pattern.match(rel)}


@dataclass
class Outcome:
    """One in-process run: its summary, its log and its recorded changes."""

    summary: MirrorSummary
    log: str
    changes: list

    @property
    def status(self) -> str:
        return self.summary.status

    @property
    def counts(self) -> dict:
        return self.summary.counts


class Mirror:
    """One mirror job between `local` and the test's share folder, run in-process as the
    CLI's `_execute` runs a one-shot job (the same Store, job record and MirrorRun)."""

    def __init__(self, store: Store, local: Path, share):
        self.store, self.local, self.share = store, local, share
        self.remote = share.dir

    def run(self, dry_run: bool = False, controls: Controls | None = None,
            progress: MirrorProgress | None = None, target=None, **options) -> Outcome:
        opts = MirrorOptions(**options)
        t = self.share.target()
        config = {"host": t.host, "port": t.port, "share": t.share, "path": t.path,
                  "username": t.username, "domain": ""}
        source_id = self.store.ensure_source("smb-test", "smb", config, one_shot=True)
        job_id = self.store.ensure_job("mirror-test", source_id, "", str(self.local),
                                       opts.to_dict(), one_shot=True, kind="mirror")
        run_id = self.store.create_run(job_id, "full", "manual", dry_run, "running")
        job = {"id": job_id, "name": "mirror-test", "target_root": str(self.local)}
        summary = MirrorRun(self.store, run_id, job, target or t, opts, dry_run,
                            controls or Controls(), progress or MirrorProgress()).execute()
        log = "\n".join(f"{row['level']} {row['message']}"
                        for row in self.store.run_log(run_id))
        return Outcome(summary, log, self.store.run_changes(run_id))

    def both(self) -> tuple[dict, dict]:
        """The user files of (local, share)."""
        return files(self.local), files(self.remote)

    def states(self) -> tuple[dict, dict]:
        """Everything on disk of (local, share), with mtimes."""
        return state(self.local), state(self.remote)


@dataclass
class CliRun:
    """The CLI's exit code, output and (with --json) summary."""

    code: int
    out: str
    err: str

    @property
    def summary(self) -> dict:
        return json.loads(self.out)


def cli_command(local: Path, share, data: Path, *flags: str) -> list[str]:
    """`python -m strmsync mirror LOCAL smb://user@127.0.0.1:PORT/media/PATH --data DATA …`."""
    server = share.server
    url = f"smb://{server.username}@{server.host}:{server.port}/{server.share}/{share.path}"
    return [sys.executable, "-m", "strmsync", "mirror", str(local), url, "--data", str(data),
            *flags]


def cli_env(password: str) -> dict:
    """The environment of a CLI child: the repo importable, the password in its variable."""
    return {**os.environ, "PYTHONPATH": str(REPO), "STRMSYNC_SMB_PASSWORD": password}


def run_cli(local: Path, share, data: Path, *flags: str, password: str | None = None,
            timeout: float = 60) -> CliRun:
    """Run `strmsync mirror` as a child process and wait for it."""
    done = subprocess.run(cli_command(local, share, data, *flags), capture_output=True,
                          text=True, timeout=timeout,
                          env=cli_env(share.server.password if password is None else password))
    return CliRun(done.returncode, done.stdout, done.stderr)


def run_log(data: Path, run_id: int) -> str:
    """The log lines a CLI run left in the data directory's record."""
    store = Store(data / "strmsync.db")
    try:
        return "\n".join(f"{r['level']} {r['message']}" for r in store.run_log(run_id))
    finally:
        store.close()
