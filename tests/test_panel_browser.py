"""The real panel in headless Chromium against a real `strmsync serve`, direct and via ingress."""

import re

import pytest

from tests.conftest import make_files, tree
from tests.panelkit import IngressProxy, PanelUser, Server, browser_missing

pytestmark = pytest.mark.skipif(browser_missing() is not None,
                                reason=f"browser tests need Chromium: {browser_missing()}")

PASSWORD = "correct horse battery"
LIBRARY = {"Heat (1995)/Heat.mkv": "v", "Heat (1995)/Heat.nfo": "<movie/>",
           "Alien (1979)/Alien.mkv": "v", "Series/S00/E0000.mkv": "v"}
# Big enough (in many folders: progress is counted per batch) to watch a run move.
BIG_LIBRARY = {**LIBRARY, **{f"Series/S{i // 100:02d}/E{i:04d}.mkv": "v" for i in range(40000)}}


@pytest.fixture
def server(tmp_path):
    """Start `strmsync serve` children: `server(**env)`; all stopped afterwards."""
    started = []

    def start(**env: str) -> Server:
        started.append(Server(tmp_path / "data", tmp_path / f"serve-{len(started)}.log", **env))
        return started[-1]

    yield start
    for one in started:
        one.stop()


def sync_flow(user: PanelUser, tmp_path, library: dict) -> list:
    """Add a source and a job, preview it, run it, check what lands on disk; returns the
    (status, files done) pairs seen on the run page while it ran."""
    make_files(tmp_path / "lib", library)
    user.add_source("library", str(tmp_path / "lib"))
    assert "Source library saved." in user.find(".flash-ok").text
    user.add_job("movies", "library", str(tmp_path / "lib"), str(tmp_path / "strm"),
                 concurrency="1")
    assert "Job movies saved." in user.find(".flash-ok").text

    user.click("[data-dry-run]")
    assert user.all(".badge-dry"), "the run page should say it is a dry run"
    assert user.wait_until_ended() == "succeeded"
    planned = user.find('[data-change-list="create"]').text
    assert "Heat (1995)/Heat.strm" in planned and "Alien (1979)/Alien.strm" in planned
    # Folders are listed several at once: the first changes shown come from any season.
    assert re.search(r"Series/S\d\d/E\d{4}\.strm", planned)
    assert tree(tmp_path / "strm") == {}, "a dry run must not write anything"

    user.click("[data-apply]")
    seen = []
    assert user.wait_until_ended(seen) == "succeeded"
    assert user.find("[data-bar]").get_attribute("style") == "width: 100%;"
    done = int(user.find("[data-done]").text)
    assert done == int(user.find("[data-total]").text) == len(library)
    assert int(user.find('[data-count="created"]').text) == len(library) - 1
    files = tree(tmp_path / "strm")
    assert files["Heat (1995)/Heat.strm"] == str(tmp_path / "lib/Heat (1995)/Heat.mkv").encode()
    assert files["Heat (1995)/Heat.nfo"] == b"<movie/>"
    assert len(files) == len(library)

    user.nav("Dashboard")
    recent = user.find("[data-runs]").text
    assert "movies" in recent and "succeeded" in recent
    return seen


def test_panel_direct_with_a_password_set_on_first_start(chrome, server, tmp_path):
    served = server(STRMSYNC_INGRESS_ADDRESS="")
    user = PanelUser(chrome, served.url)
    user.open("/")
    assert user.driver.current_url.endswith("/setup")
    user.set_password(PASSWORD, served.setup_code())
    assert "Password set" in user.find(".flash-ok").text
    seen = sync_flow(user, tmp_path, BIG_LIBRARY)
    assert [done for status, done in seen if status == "running" and 0 < done < len(BIG_LIBRARY)], \
        f"the run page should show progress while the run goes: {seen}"
    user.click("form.logout button")
    assert "/login" in user.driver.current_url
    user.open("/runs")
    user.log_in("wrong password")
    assert "Wrong password." in user.find(".field-error").text
    user.log_in(PASSWORD)
    assert user.driver.current_url.endswith("/runs")
    assert "succeeded" in user.find("[data-runs]").text


def test_panel_under_the_ingress_prefix(chrome, server, tmp_path):
    served = server(STRMSYNC_INGRESS_ADDRESS="127.0.0.1", STRMSYNC_PANEL_PASSWORD=PASSWORD)
    proxy = IngressProxy(served.url)
    try:
        user = PanelUser(chrome, proxy.url)
        user.open("/")
        assert user.driver.current_url == proxy.url + "/", "ingress needs no login"
        assert user.find("h1").text == "Dashboard"
        sync_flow(user, tmp_path, LIBRARY)
        user.nav("Sources")
        user.find("[data-test-connection]").click()
        assert "Connected" in user.find(".test-result.ok").text
        for page in ("Jobs", "Runs", "Media servers", "Settings"):
            user.nav(page)
            outside = [h for h in user.hrefs() if not h.startswith(proxy.prefix + "/")]
            assert outside == [], f"{page}: addresses outside the ingress prefix"
        assert "came through ingress" in user.find("[data-facts]").text
        user.find("[data-api-settings] summary").click()
        assert "webhook" in user.find("[data-api-settings] pre").text.lower()
        user.find("[data-api-settings] dd button").click()  # show the token
        assert "•" not in user.find("[data-token]").text
        direct = PanelUser(chrome, served.url)
        direct.open("/")
        assert "/login" in chrome.current_url, "direct access still needs the password"
    finally:
        proxy.stop()
