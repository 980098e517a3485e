"""Mirror jobs and SMB sources in the panel: forms through the Flask test client, a real
mirror run against the Samba fixture shown on its run page, and one trip through Chromium."""

import os
import re
from pathlib import Path

import pytest

from strmsync.service.tasks import perform_run
from tests.conftest import make_files, wait_for
from tests.panelkit import PanelUser, Server, browser_missing
from tests.test_panel import field_errors, set_up

SMB_PASSWORD = "nas-pw-S3cret"


@pytest.fixture
def client(browser_client):
    """A browser's test client, logged in through the first-start setup."""
    browser_client.csrf = set_up(browser_client)
    return browser_client


def post(client, path: str, data: dict, **kwargs):
    return client.post(path, data={"csrf_token": client.csrf, **data}, **kwargs)


def smb_form(name: str = "nas", **fields) -> dict:
    """The new-source form of an SMB share, as a browser posts it."""
    form = {"name": name, "kind": "smb", "smb-host": "nas.local", "smb-port": "",
            "smb-share": "media", "smb-path": "Media/strm", "smb-username": "emby",
            "smb-password": SMB_PASSWORD, "smb-domain": "", "smb-timeout": "",
            "qps": "0", "concurrency": "8"}
    form.update({f"smb-{key}": value for key, value in fields.items()})
    return form


def share_form(share, name: str = "nas") -> dict:
    """The new-source form of the test's real Samba share folder."""
    server = share.server
    return smb_form(name, host=server.host, port=str(server.port), share=server.share,
                    path=share.path, username=server.username, password=server.password,
                    timeout="10")


def mirror_form(name: str, source_id: int, local_root, **fields) -> dict:
    """The new-mirror-job form, as a browser posts it."""
    return {"kind": "mirror", "name": name, "source": str(source_id), "remote_path": "",
            "local_root": str(local_root), "mode": "mirror", "conflict": "keep-both",
            "max_delete": "50%", "concurrency": "4", "trash_days": "30", "attempts": "3",
            "schedule": "", "enabled": "1", **fields}


def test_an_smb_source_is_added_by_form_and_its_password_never_shown(client, store):
    page = client.get("/sources/new").get_data(as_text=True)
    assert '<option value="smb"' in page and 'name="smb-encrypt"' in page
    answer = post(client, "/sources/new", smb_form(port="1445", encrypt="1"))
    assert answer.status_code == 302, field_errors(answer)
    source = store.source("nas")
    assert source["config"] == {"host": "nas.local", "port": 1445, "share": "media",
                                "path": "Media/strm", "username": "emby", "domain": "",
                                "encrypt": True, "timeout": None}
    assert source["secrets"] == {"password": SMB_PASSWORD}
    listed = client.get("/sources").get_data(as_text=True)
    assert "//nas.local:1445/media/Media/strm" in listed
    edit = client.get(f"/sources/{source['id']}").get_data(as_text=True)
    assert SMB_PASSWORD not in edit and "Password (set)" in edit
    assert re.search(r'name="smb-encrypt" value="1"\s+checked', edit)
    # Saved untouched, the password stays; the encrypt box unticked turns it off.
    kept = smb_form(port="1445", password="")
    assert post(client, f"/sources/{source['id']}", kept).status_code == 302
    source = store.source("nas")
    assert source["secrets"] == {"password": SMB_PASSWORD}
    assert source["config"]["encrypt"] is False


def test_the_smb_form_marks_every_bad_field_and_never_echoes_the_password(client, store):
    answer = post(client, "/sources/new", smb_form(host="", port="99999", share="a/b",
                                                   path="../up"))
    assert answer.status_code == 400
    errors = field_errors(answer)
    assert set(errors) == {"smb-host", "smb-port", "smb-share", "smb-path"}, errors
    assert "host name" in errors["smb-host"] and "65535" in errors["smb-port"]
    page = answer.get_data(as_text=True)
    assert SMB_PASSWORD not in page
    assert 'value="../up"' in page, "what was typed comes back to be fixed"
    assert store.sources() == []


def test_a_mirror_job_is_made_by_form_with_its_then_list(client, store, tmp_path):
    make_files(tmp_path / "lib", {"Film/Film.mkv": "v"})
    post(client, "/sources/new", {"name": "library", "kind": "local",
                                  "local-root": str(tmp_path / "lib")})
    post(client, "/sources/new", smb_form())
    nas, library = store.source("nas"), store.source("library")
    assert post(client, "/jobs/new", {"name": "films", "source": str(library["id"]),
                                      "source_root": str(tmp_path / "lib"),
                                      "target_root": str(tmp_path / "strm"),
                                      "enabled": "1"}).status_code == 302
    films = store.job("films")

    form = client.get("/jobs/new?kind=mirror").get_data(as_text=True)
    assert "Mirror with an SMB share" in form and 'name="local_root"' in form
    options = re.search(r'<select id="f-source" name="source">(.*?)</select>', form, re.S)[1]
    assert "nas (//nas.local/media/Media/strm)" in options and "library" not in options
    assert 'name="strm_mode"' not in form and 'name="watch"' not in form

    bad = post(client, "/jobs/new", mirror_form("", nas["id"], "relative", max_delete="lots",
                                                concurrency="0", mode="sideways"))
    assert bad.status_code == 400
    assert set(field_errors(bad)) == {"name", "local_root", "max_delete", "concurrency",
                                      "mode"}, field_errors(bad)

    saved = post(client, "/jobs/new", mirror_form(
        "push", nas["id"], tmp_path / "strm", remote_path="Movies", mode="upload",
        conflict="newer", max_delete="20", concurrency="2", trash_days="7",
        schedule="30 4 * * *", then_shown="1", then=str(films["id"])))
    assert saved.status_code == 302, field_errors(saved)
    job = store.job("push")
    assert job["kind"] == "mirror" and job["source_id"] == nas["id"]
    assert (job["source_root"], job["target_root"]) == ("Movies", str(tmp_path / "strm"))
    assert job["options"] == {"mode": "upload", "conflict": "newer", "max_delete": 0.2,
                              "concurrency": 2, "trash_days": 7, "attempts": 3}
    assert job["then_jobs"] == [films["id"]] and job["schedule"] == "30 4 * * *"

    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert 'value="20%"' in page and 'value="Movies"' in page and "data-run-mirror" in page
    assert 'value="incremental"' not in page, "a mirror run has no incremental mode"
    assert re.search(rf'name="then" value="{films["id"]}"\s+checked', page)
    listed = client.get("/jobs").get_data(as_text=True)
    assert 'data-kind="mirror"' in listed and "nas:/Movies" in listed
    # The STRM job takes a then-list too; one that leads back is refused on the field.
    loop = post(client, f"/jobs/{films['id']}", {
        "name": "films", "source": str(library["id"]), "source_root": str(tmp_path / "lib"),
        "target_root": str(tmp_path / "strm"), "enabled": "1", "then_shown": "1",
        "then": str(job["id"])})
    assert loop.status_code == 400 and "loop" in field_errors(loop)["then"]
    assert post(client, f"/jobs/{job['id']}/run", {"mode": "incremental"}).status_code == 400


def test_a_mirror_run_page_shows_its_plan_counts_and_conflicts(client, store, tmp_path,
                                                               smb_share, redis_conn):
    local = tmp_path / "local"
    make_files(local, {"up.txt": "local only", "both.txt": "local version",
                       "bad:name.txt": "the share cannot hold this name"})
    make_files(smb_share.dir, {"down.txt": "remote only", "both.txt": "the share's version!"})
    assert post(client, "/sources/new", share_form(smb_share)).status_code == 302
    nas = store.source("nas")
    assert post(client, "/jobs/new", mirror_form("sync", nas["id"], local)).status_code == 302
    job = store.job("sync")
    conn = redis_conn

    dry = post(client, f"/jobs/{job['id']}/run", {"mode": "full", "dry_run": "1"})
    dry_id = int(dry.headers["Location"].rsplit("/", 1)[1])
    assert perform_run(store, conn, dry_id) == "partial"  # a refused name is reported
    page = client.get(f"/runs/{dry_id}").get_data(as_text=True)
    assert re.search(r"<h2>Plan</h2>", page)
    assert re.search(r'data-change-list="upload">.*up\.txt', page, re.S)
    assert re.search(r'data-change-list="download">.*down\.txt', page, re.S)
    conflicts = re.search(r"<section[^>]*data-conflicts>(.*?)</section>", page, re.S)[1]
    assert "both.txt" in conflicts and "bad:name.txt" in conflicts
    assert 'data-count="created"' not in page and "data-pause" not in page
    assert not (smb_share.dir / "up.txt").exists(), "a dry run changes nothing"

    real = post(client, f"/jobs/{job['id']}/run", {"mode": "full"})
    run_id = int(real.headers["Location"].rsplit("/", 1)[1])
    assert perform_run(store, conn, run_id) == "partial"
    assert (smb_share.dir / "up.txt").read_text() == "local only"
    assert (local / "down.txt").read_text() == "remote only"
    page = client.get(f"/runs/{run_id}").get_data(as_text=True)
    figures = dict(re.findall(r'data-count="(\w+)">(\d+)<', page))
    # Keep both: the local both.txt goes up, the share's is renamed and comes down.
    assert figures == {"uploaded": "2", "downloaded": "1", "deleted_local": "0",
                       "deleted_remote": "0", "conflicts": "1", "refused": "1", "failed": "0",
                       "unchanged": "0"}, figures
    assert "<h2>Changes</h2>" in page and "both kept" in page
    assert "data-files-done>3<" in page and "data-phase>done<" in page
    for listing in ("/runs", "/", f"/jobs/{job['id']}"):
        shown = client.get(listing)
        assert shown.status_code == 200, listing
        assert re.search(r"↑2</span>\s*<span[^>]*>↓1</span>", shown.get_data(as_text=True))


def test_pause_resume_and_stop_go_through_the_panel(client, store, tmp_path, redis_url):
    post(client, "/sources/new", smb_form())
    nas = store.source("nas")
    post(client, "/jobs/new", mirror_form("sync", nas["id"], tmp_path / "local"))
    job = store.job("sync")
    answer = post(client, f"/jobs/{job['id']}/run", {"mode": "full"})
    run_id = int(answer.headers["Location"].rsplit("/", 1)[1])
    assert "data-cancel" in client.get(f"/runs/{run_id}").get_data(as_text=True)
    store.start_run(run_id, 1, "worker")  # as a worker would, without doing the work

    page = client.get(f"/runs/{run_id}").get_data(as_text=True)
    assert "data-pause" in page and ">Stop<" in page and "data-resume" not in page
    post(client, f"/runs/{run_id}/pause", {})
    assert store.run(run_id)["status"] == "paused"
    page = client.get(f"/runs/{run_id}").get_data(as_text=True)
    assert "data-resume" in page and "data-paused" in page and "data-pause " not in page
    assert client.get("/").status_code == 200
    post(client, f"/runs/{run_id}/resume", {})
    assert store.run(run_id)["status"] == "running"
    stopped = post(client, f"/runs/{run_id}/cancel", {}, follow_redirects=True)
    assert "cancelling" in stopped.get_data(as_text=True)
    # Without CSRF token a pause is refused.
    assert client.post(f"/runs/{run_id}/pause").status_code == 400


# --- one trip through a real browser ------------------------------------------------------


@pytest.mark.skipif(browser_missing() is not None,
                    reason=f"browser tests need Chromium: {browser_missing()}")
def test_in_the_browser_an_smb_source_tests_ok_and_a_mirror_dry_run_shows_its_plan(
        chrome, tmp_path, smb_share):
    local = tmp_path / "local"
    make_files(local, {"Film/Film.strm": "/mnt/film.mkv", "both.txt": "local"})
    make_files(smb_share.dir, {"Film/Film.nfo": "<movie/>", "both.txt": "remote!"})
    shots = Path(os.environ.get("PANEL_SCREENSHOTS") or tmp_path)  # to look at them
    served = Server(tmp_path / "data", tmp_path / "serve.log", STRMSYNC_INGRESS_ADDRESS="")
    try:
        chrome.set_window_size(1280, 1000)
        user = PanelUser(chrome, served.url)
        user.open("/")
        user.set_password("mirror user's password", served.setup_code())
        server = smb_share.server
        user.open("/sources/new")
        user.fill({"name": "nas", "kind": "SMB share (for mirror jobs)",
                   "smb-host": server.host, "smb-port": str(server.port),
                   "smb-share": server.share, "smb-path": smb_share.path,
                   "smb-username": server.username, "smb-password": server.password})
        assert user.find('fieldset[data-kind="smb"]').is_displayed()
        user.click("[data-save]")
        user.click('[data-source="nas"] a')
        assert user.find('[name="smb-password"]').get_attribute("value") == ""
        user.find(".head-actions [data-test-connection]").click()
        result = user.find(".head-actions .test-result")
        wait_for(lambda: "Connected" in result.text or "✕" in result.text, timeout=30)
        assert "✓ Connected" in result.text, result.text

        user.nav("Jobs")
        user.click('a[href$="/jobs/new?kind=mirror"]')
        user.fill({"name": "push", "local_root": str(local)})
        user.click("[data-save]")
        assert "Job push saved." in user.find(".flash-ok").text
        chrome.save_screenshot(str(shots / "mirror-job-form.png"))

        user.click("[data-dry-run]")
        assert user.wait_until_ended() == "succeeded"
        assert user.find("[data-changes] h2").text == "Plan"
        assert "Film/Film.strm" in user.find('[data-change-list="upload"]').text
        assert "Film/Film.nfo" in user.find('[data-change-list="download"]').text
        assert "both.txt" in user.find("[data-conflicts]").text
        assert "2 files to transfer" in user.find("[data-progress]").text  # and the conflict
        chrome.save_screenshot(str(shots / "mirror-dry-run-page.png"))
        assert not (smb_share.dir / "Film/Film.strm").exists()

        user.click("[data-apply]")
        assert user.wait_until_ended() == "succeeded"
        assert (smb_share.dir / "Film/Film.strm").read_text() == "/mnt/film.mkv"
        assert (local / "Film/Film.nfo").read_text() == "<movie/>"
        assert user.find('[data-count="uploaded"]').text == "2"
        assert "both kept" in user.find("[data-conflicts]").text
        chrome.save_screenshot(str(shots / "mirror-run-page.png"))
        user.nav("Dashboard")
        assert "↑2 ↓1 −0 conflicts 1" in " ".join(user.find("[data-runs]").text.split())
    finally:
        served.stop()

