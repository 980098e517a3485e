"""Shared fixtures: a real SQLite store, a source library on disk, and a CLI runner."""

import io
import json
import os
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from strmsync.cli import main
from strmsync.store import Store


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """Where the run record lives for one test."""
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path):
    """A real SQLite store in the test's data directory."""
    st = Store(data_dir / "strmsync.db")
    yield st
    st.close()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """An empty source library directory; tests fill it with `make_files`."""
    path = tmp_path / "source"
    path.mkdir()
    return path


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """Where the .strm tree goes."""
    return tmp_path / "target"


def make_files(root: Path, files: dict) -> None:
    """Create files under root from `{relpath: content}` (bytes or str)."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        path.write_bytes(data)


def tree(root: Path) -> dict:
    """Every file under root as `{relpath: bytes}`."""
    if not root.exists():
        return {}
    out = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            out[str(path.relative_to(root))] = path.read_bytes()
    return out


class CliResult:
    """Exit code, stdout, stderr and (for --json) the parsed summary of one CLI call."""

    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    @property
    def summary(self) -> dict:
        """The JSON object printed by `--json`."""
        return json.loads(self.out)


@pytest.fixture
def cli(data_dir: Path):
    """Run `strmsync ...` in-process with the test's data directory."""

    def run(*args: str) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        argv = [str(a) for a in args]
        if argv and argv[0] == "sync" and "--data" not in argv:
            argv += ["--data", str(data_dir)]
        code = 0
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        return CliResult(code, out.getvalue(), err.getvalue())

    return run
