"""Helpers for the remote-driver tests: a library with awkward names, runs, link checks."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import requests

from strmsync.config import SyncOptions
from strmsync.strm.drivers import open_remote
from strmsync.strm.engine import JobSpec, Run

AWKWARD = "a ? # % & + ; 中文 🎬 x"
BIG = 12  # files in Media/Big, listed in pages of PAGE
PAGE = 5
# Tuned for tests: quick retries and short pauses, but the same logic as in production.
FAST = {"attempts": 3, "backoff": 0.01, "max_backoff": 0.05, "throttle_pause": 0.2,
        "max_pause": 0.4, "relist_pause": 0.05, "timeout": 5.0, "list_timeout": 10.0,
        "page_size": PAGE}


def library_files() -> dict:
    """The files of /115open/Media, by path below it; each file's bytes are unique."""
    names = [
        f"Movies/{AWKWARD} (2020)/{AWKWARD}.mkv",
        f"Movies/{AWKWARD} (2020)/{AWKWARD}.nfo",
        f"Movies/{AWKWARD} (2020)/poster.jpg",
        "Movies/Plain/plain.mp4",
        "Movies/Plain/readme.txt",
        "Shows/Space Show/S01/e1.mkv",
        "Shows/Space Show/S01/e1.srt",
        "Shows/Space Show/S01/e2.mkv",
        "Shows/Space Show/S02/e1.mkv",
        "Empty Folder/",
    ] + [f"Big/ep{n:02d}.mkv" for n in range(BIG)]
    return {name: name.encode() for name in names}


def make_library(storage: Path) -> Path:
    """Write the library under `storage`/115open/Media; returns that folder."""
    media = storage / "115open" / "Media"
    for rel, data in library_files().items():
        path = media / rel
        if rel.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return media


def media_targets() -> dict:
    """`{target .strm path: source bytes}` for every media file of the library."""
    out = {}
    for rel, data in library_files().items():
        stem, _, ext = rel.rpartition(".")
        if ext in ("mkv", "mp4"):
            out[f"{stem}.strm"] = data
    return out


@dataclass
class Backend:
    """One stand-in server with what a test needs to drive a source against it."""

    kind: str
    server: object
    source: dict
    root: str  # the job's source root in the driver's namespace
    list_root: str  # the same folder as the server's listing counter names it
    faults: dict = field(default_factory=dict)  # generic fault name -> the stand-in's kind
    drivers: list = field(default_factory=list)

    def driver(self, mount_prefix: str = "", url_base: str = "", **policy):
        """A new driver for the library root (closed at the end of the test)."""
        driver = open_remote(self.source, self.root, mount_prefix, url_base,
                             **{**FAST, **policy})
        self.drivers.append(driver)
        return driver

    def list_path(self, rel: str) -> str:
        """How the server's counters name folder `rel` of the library."""
        return f"{self.list_root}/{rel}" if rel else self.list_root

    def list_attempts(self, rel: str) -> int:
        """How many listing calls of folder `rel` reached the server, failed ones included."""
        path = self.list_path(rel)
        calls = self.server.traffic.calls_to(self.faults["list"])
        return sum(1 for call in calls if _path_of(call.body).rstrip("/") == path)

    def close(self) -> None:
        """Close every driver made."""
        for driver in self.drivers:
            driver.close()


def openlist_backend_of(server) -> Backend:
    """An OpenList stand-in as alice's source (base_path /115open), by password."""
    source = {"kind": "openlist", "config": {"url": server.url, "username": "alice"},
              "secrets": {"password": "alice-pw-S3cret"}, "qps": 0, "concurrency": 4}
    return Backend("openlist", server, source, "/Media", "/Media",
                   {"fail": "error", "throttle": "http429", "list": "fs/list"})


def cd2_backend_of(server) -> Backend:
    """A CloudDrive2 stand-in as a source, by user name and password (GetToken)."""
    source = {"kind": "clouddrive2",
              "config": {"address": server.address, "username": server.username},
              "secrets": {"password": server.password}, "qps": 0, "concurrency": 4}
    return Backend("clouddrive2", server, source, "/115open/Media", "/115open/Media",
                   {"fail": "unavailable", "throttle": "resource_exhausted",
                    "list": "GetSubFiles"})


def _path_of(body) -> str:
    return body["path"] if isinstance(body, dict) else body.path


def run_sync(store, backend: Backend, target: Path, driver=None, mode: str = "full",
             **options):
    """One run of a job syncing the backend's library into `target`; returns the summary."""
    opts = SyncOptions(**{"max_delete": 1.0, "strm_mode": "url", **options})
    source_id = store.ensure_source(f"test-{backend.kind}", backend.kind,
                                    backend.source["config"], backend.source["secrets"])
    job_id = store.ensure_job(f"job-{backend.kind}", source_id, backend.root, str(target),
                              opts.to_dict())
    run_id = store.create_run(job_id, mode, "manual", False)
    driver = driver or backend.driver(opts.mount_prefix, opts.url_base)
    return Run(store, run_id, JobSpec(job_id, str(target), opts), driver, mode).execute()


def strm_files(target: Path) -> dict:
    """`{rel: text}` of every .strm under `target`."""
    out = {}
    for dirpath, _dirs, names in os.walk(target):
        for name in names:
            if name.endswith(".strm"):
                path = Path(dirpath) / name
                out[str(path.relative_to(target))] = path.read_text()
    return out


def assert_links_work(target: Path, expected: dict | None = None) -> int:
    """Fetch every .strm URL under `target`: each must answer 200 with its file's bytes."""
    expected = media_targets() if expected is None else expected
    links = strm_files(target)
    assert set(links) == set(expected)
    with requests.Session() as http:
        for rel, url in links.items():
            answer = http.get(url, timeout=5)
            assert answer.status_code == 200, (rel, url, answer.status_code)
            assert answer.content == expected[rel], (rel, url)
    return len(links)
