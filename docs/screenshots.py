"""Take the README's panel screenshots in headless Chromium against a real `strmsync serve`.

Run from the repository root: `.venv/bin/python docs/screenshots.py` (needs the test extra
and Debian's chromium + chromium-driver). Writes `docs/panel-*.png`.
"""

import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))

from tests.conftest import make_files  # noqa: E402
from tests.panelkit import PanelUser, Server, start_chrome  # noqa: E402

WIDTH = 1280
PASSWORD = "screenshots-only"
FILMS = ("Arrival (2016)", "Blade Runner (1982)", "Heat (1995)", "Alien (1979)",
         "Spirited Away (2001)", "Amélie (2001)")


def demo_library(root: Path) -> None:
    """Films with their metadata, and a series, like a real cloud library."""
    files = {}
    for film in FILMS:
        files.update({f"Films/{film}/{film}.mkv": "v", f"Films/{film}/{film}.nfo": "<movie/>",
                      f"Films/{film}/poster.jpg": "jpg"})
    for season in (1, 2, 3):
        for episode in range(1, 11):
            name = f"The Expanse S{season:02d}E{episode:02d}"
            files[f"Series/The Expanse/Season {season:02d}/{name}.mkv"] = "v"
            files[f"Series/The Expanse/Season {season:02d}/{name}.srt"] = "1"
    make_files(root, files)


def shoot(user: PanelUser, name: str) -> None:
    """Save the whole page (the window grown to its height) as docs/panel-<name>.png."""
    height = user.driver.execute_script("return document.documentElement.scrollHeight")
    user.driver.set_window_size(WIDTH, max(int(height) + 140, 700))
    user.driver.save_screenshot(str(DOCS / f"panel-{name}.png"))
    user.driver.set_window_size(WIDTH, 900)
    print("wrote", DOCS / f"panel-{name}.png")


def dark(user: PanelUser, on: bool) -> None:
    """Ask the page for `prefers-color-scheme: dark` (or back to light)."""
    value = "dark" if on else "light"
    user.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
        "features": [{"name": "prefers-color-scheme", "value": value}]})


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="strmsync-shots-"))
    demo_library(work / "cloud")
    server = Server(work / "data", work / "serve.log", STRMSYNC_INGRESS_ADDRESS="")
    driver = start_chrome(WIDTH, 900)
    try:
        user = PanelUser(driver, server.url)
        user.open("/")
        user.set_password(PASSWORD, server.setup_code())
        user.add_source("cloud-mount", str(work / "cloud"))
        user.add_job("Library", "cloud-mount", str(work / "cloud"), str(work / "strm"),
                     schedule="0 3 * * *")
        user.click("[data-dry-run]")
        user.wait_until_ended()
        shoot(user, "dry-run")
        user.click("[data-apply]")
        user.wait_until_ended()
        shoot(user, "run")
        for _ in range(4):  # a few more runs, for the history charts
            user.open("/jobs/1")
            user.click("[data-run-full]")
            user.wait_until_ended()
        user.nav("Dashboard")
        shoot(user, "dashboard")
        dark(user, True)
        shoot(user, "dashboard-dark")
        dark(user, False)
        user.nav("Jobs")
        user.click('a[href$="/jobs/1"]')
        shoot(user, "job")
        user.nav("Settings")
        shoot(user, "settings")
        user.nav("Log")
        shoot(user, "log")
        user.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
        user.nav("Dashboard")
        user.driver.save_screenshot(str(DOCS / "panel-phone.png"))
        print("wrote", DOCS / "panel-phone.png")
    finally:
        driver.quit()
        server.stop()


if __name__ == "__main__":
    main()
