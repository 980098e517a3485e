"""The panel tried as a new user would, in headless Chromium against a real `strmsync serve`:
editing what exists, every error at once, honest progress and a live log, long change
lists, run numbers, needs-attention, the history chart, the service log, a phone screen."""

import re
import shutil

import pytest
import requests

from tests.conftest import make_files, wait_for
from tests.panelkit import PanelUser, Server, browser_missing
from tests.standins import OpenListStandIn, User

pytestmark = pytest.mark.skipif(browser_missing() is not None,
                                reason=f"browser tests need Chromium: {browser_missing()}")

PASSWORD = "new user's password"


@pytest.fixture
def panel(chrome, tmp_path):
    """A fresh `strmsync serve` and a browser logged in through the first-start setup."""
    served = Server(tmp_path / "data", tmp_path / "serve.log", STRMSYNC_INGRESS_ADDRESS="")
    chrome.set_window_size(1280, 900)
    user = PanelUser(chrome, served.url)
    user.open("/")
    user.set_password(PASSWORD, served.setup_code())
    user.served = served
    yield user
    served.stop()


def field_errors(user: PanelUser) -> dict:
    return {el.get_attribute("data-error-for"): el.text for el in user.all("[data-error-for]")}


def run_now(user: PanelUser, job_id: int) -> str:
    """Start a full run from the job's page and wait for it; returns its run number."""
    user.open(f"/jobs/{job_id}")
    user.click("[data-run-full]")
    user.wait_until_ended()
    return user.driver.current_url.rsplit("/", 1)[1]


def saved_job_id(user: PanelUser) -> int:
    return int(user.driver.current_url.rstrip("/").rsplit("/", 1)[1])


def test_forms_edit_what_exists_and_mark_every_error(panel, tmp_path):
    user = panel
    make_files(tmp_path / "lib", {"Film/Film.mkv": "v"})
    user.add_source("library", str(tmp_path / "lib"))
    user.open("/sources/new")
    user.fill({"name": "cloud", "kind": "OpenList / Alist",
               "openlist-url": "http://127.0.0.1:9", "openlist-token": "t0k3n"})
    hints = user.find('[data-field="openlist-token"]').text
    assert "keep the stored one" not in hints, "a new source has nothing stored"
    timeout = user.find('[name="openlist-timeout"]')
    assert timeout.get_attribute("placeholder") == "30"
    assert "seconds" in user.find('[data-field="openlist-timeout"]').text
    user.click("[data-save]")
    # Saving each existing source untouched works (the event map comes back as text).
    for name in ("library", "cloud"):
        user.nav("Sources")
        user.click(f'[data-source="{name}"] a')
        assert user.find('[name$="-event_map"]').get_attribute("value") in ("", None)
        user.click("[data-save]")
        assert f"Source {name} saved." in user.find(".flash-ok").text
    user.open("/sources/new")
    user.fill({"kind": "Local or rclone mount"})
    choices = [o.text for o in user.all('[name="local-fallback_source"] option')]
    assert choices == ["(none)", "cloud (openlist)"]

    user.open("/jobs/new")
    user.fill({"name": "", "source_root": str(tmp_path / "lib"), "target_root": "relative",
               "max_delete": "lots", "concurrency": "0"})
    user.click("[data-save]")
    assert set(field_errors(user)) == {"name", "target_root", "max_delete", "concurrency"}
    assert "4 fields" in user.find('.flash-error[role="alert"]').text

    user.add_job("films", "library", str(tmp_path / "lib"), str(tmp_path / "strm"))
    assert "Job films saved." in user.find(".flash-ok").text
    assert not user.all("[data-next-runs] li")
    before = user.driver.execute_script(
        "return getComputedStyle(document.querySelector('[data-next-runs]'), '::before')"
        ".content")
    assert before in ("none", "normal", ""), "no bare 'Next:' for a manual job"
    user.add_job("inner", "library", str(tmp_path / "lib"), str(tmp_path / "strm/inner"),
                 schedule="0 3 * * *")
    assert "Overlaps the target of job films" in user.find(".flash-info").text
    times = [li.text for li in user.all("[data-next-runs] li")]
    assert len(times) == 3 and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", t)
                                   for t in times), times
    user.nav("Jobs")
    assert times[0] in user.find("table").text, "the same time, written the same way"


def test_history_run_numbers_attention_log_and_phone(panel, tmp_path):
    user = panel
    make_files(tmp_path / "lib", {"Film/Film.mkv": "v"})
    user.add_source("library", str(tmp_path / "lib"))
    user.add_job("films", "library", str(tmp_path / "lib"), str(tmp_path / "strm"))
    first = [run_now(user, 1) for _ in range(3)]
    user.open("/jobs/1")
    assert len(user.all("[data-history] rect")) == 3
    user.nav("Dashboard")
    assert len(user.all(".spark [data-history] rect")) == 3

    # A failure needs attention until a later run succeeds, or until dismissed.
    shutil.move(tmp_path / "lib", tmp_path / "away")
    run_now(user, 1)
    user.nav("Dashboard")
    assert "films" in user.find("[data-failures]").text
    shutil.move(tmp_path / "away", tmp_path / "lib")
    run_now(user, 1)
    user.nav("Dashboard")
    assert not user.all("[data-failures]")
    shutil.move(tmp_path / "lib", tmp_path / "away")
    run_now(user, 1)
    user.nav("Dashboard")
    user.click("[data-failures] [data-dismiss]")
    assert not user.all("[data-failures]")
    shutil.move(tmp_path / "away", tmp_path / "lib")

    # Run numbers go on after the job and its runs are deleted.
    user.open("/jobs/1")
    user.driver.execute_script("window.confirm = () => true")
    user.click(".danger-zone button")
    user.add_job("again", "library", str(tmp_path / "lib"), str(tmp_path / "strm"))
    number = run_now(user, saved_job_id(user))
    assert int(number) > max(int(n) for n in first) + 3, (first, number)

    user.nav("Log")
    lines = user.find("[data-service-log]").text
    assert "serving on" in lines and "setup code" not in lines
    assert "full run of job films" in lines and "unchanged 1" in lines
    user.click('.segmented a[href$="level=ERROR"]')
    assert "serving on" not in user.find("[data-service-log]").text

    # A phone: 390 CSS pixels wide (headless windows do not get that narrow by resizing).
    user.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    for path in ("/", "/jobs", "/runs", "/sources"):
        user.open(path)
        wide = user.driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]")
        assert wide[0] <= wide[1], (path, wide)
        hidden = user.driver.execute_script(
            "return [...document.querySelectorAll('.nav a')].filter(a => {"
            " const r = a.getBoundingClientRect(); return r.right > window.innerWidth"
            " || r.width === 0 }).map(a => a.textContent)")
        assert hidden == [], (path, hidden)
    user.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_a_first_run_shows_honest_progress_and_a_live_log(panel, tmp_path):
    user = panel
    make_files(tmp_path / "storage/Library", {f"t{f:02d}/e{n}.mkv": "v"
                                              for f in range(40) for n in range(3)})
    with OpenListStandIn(tmp_path / "storage", users=[User("alice", "alice-pw")]) as server:
        server.faults.latency = 0.2
        user.open("/sources/new")
        user.fill({"name": "slow", "kind": "OpenList / Alist", "openlist-url": server.url,
                   "openlist-username": "alice", "openlist-password": "alice-pw",
                   "concurrency": "1"})
        user.click("[data-save]")
        user.nav("Jobs")
        user.click('a.button[href$="/jobs/new"]')
        user.fill({"name": "shows", "source": "slow (openlist)", "source_root": "/Library",
                   "target_root": str(tmp_path / "strm"), "concurrency": "1"})
        user.click("[data-save]")
        user.click("[data-run-full]")
        seen = []

        def running_with_lines():
            text = user.find("[data-progress]").text
            seen.append(text)
            started = user.find("[data-started]").text
            lines = user.all("[data-log-lines] li")
            return user.status() == "running" and "scanned so far" in text and \
                "folders listed" in text and started not in ("not yet", "—") and lines

        wait_for(running_with_lines, timeout=30, interval=0.2)
        assert "ETA" not in user.find("[data-progress]").text, "no ETA without a total"
        assert user.wait_until_ended() == "succeeded"
        assert "run succeeded" in user.find("[data-log-lines]").text


def test_a_long_change_list_says_how_much_is_shown_and_downloads_whole(panel, tmp_path):
    user = panel
    make_files(tmp_path / "lib", {f"d{i // 100}/f{i}.mkv": "v" for i in range(5100)})
    user.add_source("library", str(tmp_path / "lib"))
    user.add_job("big", "library", str(tmp_path / "lib"), str(tmp_path / "strm"),
                 concurrency="4")
    run_id = run_now(user, 1)
    assert "first 5,000 of 5,100" in user.find("[data-changes-truncated]").text
    assert user.find(".chip-create").text.startswith("5100")
    link = user.find("[data-download-changes]").get_attribute("href")
    whole = requests.get(link, auth=("me", PASSWORD), timeout=30)
    assert whole.status_code == 200 and len(whole.text.splitlines()) == 5100
    api = requests.get(f"{user.served.url}/api/v1/runs/{run_id}/changes?limit=10",
                       auth=("me", PASSWORD), timeout=30).json()
    assert api["total"] == 5100 and api["truncated"] and len(api["changes"]) == 10
