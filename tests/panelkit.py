"""Driving the real panel: a `strmsync serve` child, an HA-like ingress proxy, Chromium."""

import http.client
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from tests.conftest import strmsync_env, wait_for

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROME_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync")
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
               "proxy-authorization", "proxy-authenticate", "host", "content-length"}


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    return None


def start_chrome(width: int = 1280, height: int = 900):
    """A headless Chromium with a fresh profile; the profile goes when the driver quits."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="strmsync-chrome-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROME_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    original_quit = driver.quit

    def quit_and_clean():
        original_quit()
        shutil.rmtree(profile, ignore_errors=True)

    driver.quit = quit_and_clean
    return driver


class Server:
    """`strmsync serve` on embedded Redis with one worker, on a free port of 127.0.0.1."""

    def __init__(self, data_dir: Path, log: Path, **env: str):
        full_env = strmsync_env(data_dir, STRMSYNC_WORKERS="1", STRMSYNC_PORT="0", **env)
        full_env.pop("REDIS_URL", None)
        self.log = log
        with open(log, "w") as sink:
            self.proc = subprocess.Popen([sys.executable, "-m", "strmsync", "serve", "--host",
                                          "127.0.0.1"], env=full_env, stdout=sink,
                                         stderr=subprocess.STDOUT)
        self.url = wait_for(self._served_url, timeout=60)

    def _served_url(self) -> str | None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"strmsync serve exited:\n{self.log.read_text()}")
        text = self.log.read_text()
        return text.split("serving on ")[1].split()[0] if "serving on " in text else None

    def setup_code(self) -> str:
        """The one-time setup code the service printed in its log."""
        return self.log.read_text().split("setup code ")[1].split()[0]

    def stop(self) -> None:
        """Stop the service (SIGTERM, then kill)."""
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class IngressProxy:
    """Like HA ingress: `/api/hassio_ingress/<token>/...` forwarded with the prefix stripped
    and sent in `X-Ingress-Path`."""

    def __init__(self, backend: str, token: str = "t0k3n"):
        self.prefix = f"/api/hassio_ingress/{token}"
        target = urlsplit(backend)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.prefix, target))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}{self.prefix}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


def _handler(prefix: str, target):
    class Forward(BaseHTTPRequestHandler):
        def _forward(self):
            if not (self.path == prefix or self.path.startswith(prefix + "/")):
                self.send_error(404, "not an ingress path")
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            headers["X-Ingress-Path"] = prefix
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            conn.request(self.command, self.path[len(prefix):] or "/", body, headers)
            reply = conn.getresponse()
            data = reply.read()
            self.send_response(reply.status)
            for key, value in reply.getheaders():
                if key.lower() not in HOP_HEADERS:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        def log_message(self, *args):
            pass

    return Forward


FINAL = ("succeeded", "partial", "failed", "cancelled")


class PanelUser:
    """What a person does in the panel, step by step, through a real browser."""

    def __init__(self, driver, base: str, timeout: float = 30):
        self.driver, self.base, self.timeout = driver, base.rstrip("/"), timeout

    def find(self, css: str):
        """The first element matching `css` (waiting for it to appear)."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, self.timeout).until(
            lambda d: d.find_element(By.CSS_SELECTOR, css))

    def all(self, css: str) -> list:
        """Every element matching `css` now."""
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def open(self, path: str = "/") -> None:
        """Load a page of the panel."""
        self.driver.get(self.base + path)

    def fill(self, values: dict) -> None:
        """Type into inputs (or choose in selects) by field name."""
        from selenium.webdriver.support.ui import Select

        for name, value in values.items():
            element = self.find(f'[name="{name}"]')
            if element.tag_name == "select":
                Select(element).select_by_visible_text(value)
            else:
                element.clear()
                element.send_keys(value)

    def click(self, css: str) -> None:
        """Click an element and wait for the next page to load."""
        from selenium.webdriver.support.ui import WebDriverWait

        old = self.find("html")
        self.find(css).click()
        WebDriverWait(self.driver, self.timeout).until(lambda d: _stale(old))
        self.find("body")

    def nav(self, label: str) -> None:
        """Follow a link of the top navigation."""
        self.click(f'.nav a[href$="{_nav_path(label)}"]')

    def set_password(self, password: str, code: str) -> None:
        """Fill the first-start form with the setup code from the serve log."""
        self.fill({"code": code, "password": password, "repeat": password})
        self.click("form[data-setup] button")

    def log_in(self, password: str) -> None:
        """Fill the login form."""
        self.fill({"password": password})
        self.click("form[data-login] button")

    def add_source(self, name: str, root: str) -> None:
        """Add a local source through the sources page."""
        self.nav("Sources")
        self.click('a[href$="/sources/new"]')
        self.fill({"name": name, "kind": "Local or rclone mount", "local-root": root})
        self.click("[data-save]")

    def add_job(self, name: str, source: str, source_root: str, target_root: str,
                **options: str) -> None:
        """Add a job through the jobs page."""
        self.nav("Jobs")
        self.click('a.button[href$="/jobs/new"]')
        self.fill({"name": name, "source": f"{source} (local)", "source_root": source_root,
                   "target_root": target_root, **options})
        self.click("[data-save]")

    def status(self) -> str:
        """The run status shown on a run page."""
        return self.find("h1 [data-status]").get_attribute("data-status")

    def wait_until_ended(self, seen: list | None = None) -> str:
        """Wait on a run page (which follows the run live) until the run has ended."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        def ended(_driver):
            try:
                box = self.find("[data-progress]")
                if seen is not None:
                    seen.append((box.get_attribute("data-run-status"),
                                 int(self.find("[data-done]").text or 0)))
                return self.status() in FINAL
            except WebDriverException as exc:
                if _replaced(exc):  # the page swapped the element while we read it
                    return False
                raise

        WebDriverWait(self.driver, self.timeout, poll_frequency=0.1).until(ended)
        return self.status()

    def hrefs(self) -> list[str]:
        """Every link, form action, script and stylesheet address of the page, as written."""
        found = []
        for css, attr in (("a[href]", "href"), ("form[action]", "action"),
                          ("script[src]", "src"), ("link[href]", "href")):
            found += [el.get_dom_attribute(attr) for el in self.all(css)]
        return found


def _stale(element) -> bool:
    from selenium.common.exceptions import WebDriverException

    try:
        element.tag_name  # noqa: B018 - touching it raises once the page changed
        return False
    except WebDriverException as exc:
        if _replaced(exc):
            return True
        raise


def _replaced(exc) -> bool:
    """True when Chromium says an element is gone from the page (stale, or mid-navigation
    "does not belong to the document", which it reports as an inspector error)."""
    from selenium.common.exceptions import StaleElementReferenceException

    return isinstance(exc, StaleElementReferenceException) or \
        "does not belong to the document" in str(exc)


def _nav_path(label: str) -> str:
    return {"Dashboard": "/", "Jobs": "/jobs", "Sources": "/sources", "Runs": "/runs",
            "Media servers": "/servers", "Log": "/log", "Settings": "/settings"}[label]
