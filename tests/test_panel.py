"""The panel through the Flask test client: access, CSRF, ingress, forms, pages."""

import base64
import re
import stat

import pytest

from strmsync.config import Settings, load_settings
from strmsync.web import create_app
from strmsync.web.auth import LOCKOUT_KEY, PASSWORD_FILE, SECRET_FILE, setup_code
from strmsync.web.context import close_redis
from strmsync.web.lockout import LOCKOUT, MAX_FAILURES, LoginLockout
from strmsync.web.panel.filters import at
from tests.conftest import make_files

PASSWORD = "tr0ub4dor&3"
INGRESS = {"X-Ingress-Path": "/api/hassio_ingress/abc123"}
HA = {"REMOTE_ADDR": "172.30.32.2"}


@pytest.fixture
def client(browser_client):
    """These tests start where a new user does: no password set yet."""
    return browser_client


@pytest.fixture(autouse=True)
def no_login_pause(monkeypatch):
    """Wrong passwords pause the answer; not in these tests."""
    monkeypatch.setattr("strmsync.web.panel.login.FAILED_LOGIN_PAUSE", 0)


def token(response) -> str:
    """The CSRF token a page carries."""
    return re.search(r'name="csrf-token" content="([^"]+)"', response.get_data(as_text=True))[1]


def set_up(client, password=PASSWORD) -> str:
    """Set the first password through the setup page; returns the session's CSRF token."""
    csrf = token(client.get("/setup"))
    response = client.post("/setup", data={"csrf_token": csrf, "password": password,
                                           "repeat": password,
                                           "code": setup_code(client.application)})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    return csrf


def field_errors(response) -> dict:
    """`{field: message}` shown beside the fields of a form page."""
    found = re.findall(r'data-error-for="([\w-]+)">([^<]+)<', response.get_data(as_text=True))
    return {name: message.replace("&#39;", "'") for name, message in found}


def test_first_start_asks_for_a_password_and_keeps_only_its_hash(client, settings):
    assert client.get("/").headers["Location"] == "/setup"
    closed = client.get("/api/v1/jobs")  # no password yet: closed, and it says how to open
    assert closed.status_code == 401 and "setup code" in closed.json["error"]
    csrf = token(client.get("/setup"))
    code = setup_code(client.application)
    guessed = client.post("/setup", data={"csrf_token": csrf, "password": PASSWORD,
                                          "repeat": PASSWORD, "code": "aaaa-bbbb-cccc"})
    assert guessed.status_code == 400 and "setup code" in field_errors(guessed)["code"]
    assert not (settings.data_dir / PASSWORD_FILE).exists()
    short = client.post("/setup", data={"csrf_token": csrf, "password": "abc", "repeat": "abc",
                                        "code": code})
    assert short.status_code == 400 and "at least 8" in field_errors(short)["password"]
    differ = client.post("/setup", data={"csrf_token": csrf, "password": PASSWORD,
                                         "repeat": PASSWORD + "x", "code": code})
    assert field_errors(differ) == {"repeat": "the two passwords differ"}
    set_up(client)
    assert client.get("/").status_code == 200
    stored = (settings.data_dir / PASSWORD_FILE).read_text()
    assert PASSWORD not in stored and stored.startswith(("scrypt:", "pbkdf2:"))
    for name in (PASSWORD_FILE, SECRET_FILE):
        assert stat.S_IMODE((settings.data_dir / name).stat().st_mode) == 0o600
    assert client.get("/setup").headers["Location"] == "/login"


def test_before_a_password_exists_only_setup_health_and_webhooks_answer(app, client,
                                                                          settings):
    from strmsync.store import Store
    from strmsync.web.webhooks import TOKEN_KEY

    for route in ("/api/v1/settings", "/api/v1/jobs", "/api/v1/sources"):
        assert client.get(route).status_code == 401, route
    assert client.post("/api/v1/settings/webhook-token").status_code == 401
    assert client.post("/api/v1/sources", json={"name": "x", "kind": "local",
                                                "root": "/x"}).status_code == 401
    health = client.get("/api/v1/health")
    assert set(health.json) == {"status"} and str(settings.data_dir) not in health.text
    assert client.get("/login").headers["Location"] == "/setup"
    assert client.get("/setup").status_code == 200
    # A default install still takes CloudDrive2's webhook, with the token.
    store = Store(settings.database_path)
    token = store.setting_once(TOKEN_KEY, lambda: "hook-token-0123456789")
    store.close()
    refused = client.post("/api/v1/webhook/clouddrive2", json={"data": []})
    assert refused.status_code == 401
    hook = client.post("/api/v1/webhook/clouddrive2", headers={
        "Authorization": f"Bearer {token}"}, json={"event_category": "file", "data": [
            {"action": "create", "is_dir": "false", "source_file": "/115open/a.mkv"}]})
    assert hook.status_code == 202 and hook.json["ignored"] == 1


def test_once_a_password_exists_everything_but_health_needs_it(app, client):
    set_up(client)
    stranger = app.test_client()
    assert stranger.get("/jobs").headers["Location"] == "/login?next=/jobs"
    assert stranger.get("/api/v1/jobs").status_code == 401
    assert stranger.post("/api/v1/sources", json={}).status_code == 401
    assert stranger.get("/api/v1/health").status_code in (200, 503)
    with stranger.get("/panel/static/panel.css") as css:
        assert css.status_code == 200
    # Webhooks carry their own token: the panel's login check leaves them to it.
    hook = stranger.post("/api/v1/webhook/clouddrive2", json={})
    assert "log in to the panel" not in (hook.json or {}).get("error", "")
    assert stranger.get("/api/v1/jobs", auth=("any", PASSWORD)).status_code == 200
    assert stranger.get("/api/v1/jobs", auth=("any", "nope")).status_code == 401


def test_login_and_logout(app, client):
    set_up(client)
    browser = app.test_client()
    page = browser.get("/login?next=/runs?status=failed")
    csrf = token(page)
    wrong = browser.post("/login", data={"csrf_token": csrf, "password": "guess",
                                         "next": "/runs?status=failed"})
    assert wrong.status_code == 401 and "Wrong password." in wrong.get_data(as_text=True)
    right = browser.post("/login", data={"csrf_token": csrf, "password": PASSWORD,
                                         "next": "/runs?status=failed"})
    assert right.headers["Location"] == "/runs?status=failed"
    assert browser.get("/api/v1/jobs").status_code == 200
    csrf = token(browser.get("/"))
    assert browser.post("/logout", data={"csrf_token": csrf}).headers["Location"] == "/login"
    assert browser.get("/api/v1/jobs").status_code == 401


def test_too_many_wrong_passwords_lock_that_address_out(app, client):
    set_up(client)
    clock = [1000.0]  # the lockout's clock, moved on by hand below
    app.extensions[LOCKOUT_KEY] = LoginLockout(clock=lambda: clock[0])
    guesser = app.test_client()

    def log_in(browser, password, address="10.0.0.7"):
        csrf = token(browser.get("/login", environ_base={"REMOTE_ADDR": address}))
        return browser.post("/login", data={"csrf_token": csrf, "password": password},
                            environ_base={"REMOTE_ADDR": address})

    for _ in range(MAX_FAILURES - 1):
        assert log_in(guesser, "guess").status_code == 401
    # The same address over the API counts too, and the last wrong one locks it out.
    basic = {"Authorization": "Basic " + base64.b64encode(b"x:guess").decode()}
    assert app.test_client().get("/api/v1/jobs", headers=basic,
                                 environ_base={"REMOTE_ADDR": "10.0.0.7"}).status_code == 401
    locked = log_in(guesser, PASSWORD)
    assert locked.status_code == 429
    assert "Too many wrong passwords from this address" in locked.get_data(as_text=True)
    assert guesser.get("/api/v1/jobs").status_code == 401, "the right password was not checked"
    right = {"Authorization": "Basic " + base64.b64encode(f"x:{PASSWORD}".encode()).decode()}
    api = app.test_client().get("/api/v1/jobs", headers=right,
                                environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert api.status_code == 429 and int(api.headers["Retry-After"]) == int(LOCKOUT) + 1
    assert "too many wrong passwords" in api.json["error"]
    # Another address is not held up, and the lockout ends.
    assert log_in(app.test_client(), PASSWORD, "10.0.0.8").status_code == 302
    clock[0] += LOCKOUT + 1
    assert log_in(guesser, PASSWORD).status_code == 302
    assert guesser.get("/api/v1/jobs").status_code == 200


def test_a_right_password_forgets_the_wrong_ones_before_it(app, client):
    set_up(client)
    browser = app.test_client()
    csrf = token(browser.get("/login"))
    for _ in range(3):
        for _ in range(MAX_FAILURES - 1):
            wrong = browser.post("/login", data={"csrf_token": csrf, "password": "guess"})
            assert wrong.status_code == 401
        right = browser.post("/login", data={"csrf_token": csrf, "password": PASSWORD})
        assert right.status_code == 302


def test_login_never_sends_you_to_another_site(app, client):
    set_up(client)
    browser = app.test_client()
    csrf = token(browser.get("/login"))
    for target in ("//evil.example/", "https://evil.example/", "\\\\evil"):
        answer = browser.post("/login", data={"csrf_token": csrf, "password": PASSWORD,
                                              "next": target})
        assert answer.headers["Location"] == "/"


def test_forms_and_panel_api_calls_need_the_csrf_token(client, tmp_path):
    csrf = set_up(client)
    body = {"name": "lib", "kind": "local", "local-root": str(tmp_path)}
    assert client.post("/sources/new", data=body).status_code == 400
    assert client.post("/sources/new", data={**body, "csrf_token": "forged"}).status_code == 400
    assert client.post("/sources/new", data={**body, "csrf_token": csrf}).status_code == 302
    api = {"name": "other", "kind": "local", "root": str(tmp_path)}
    refused = client.post("/api/v1/sources", json=api)
    assert refused.status_code == 400 and "CSRF" in refused.json["error"]
    assert client.post("/api/v1/sources", json=api,
                       headers={"X-CSRF-Token": csrf}).status_code == 201
    assert client.get("/api/v1/sources").status_code == 200  # reading needs no token


def test_changing_the_password_logs_out_other_browsers(app, client):
    csrf = set_up(client)
    other = app.test_client()
    login_csrf = token(other.get("/login"))
    other.post("/login", data={"csrf_token": login_csrf, "password": PASSWORD})
    assert other.get("/api/v1/jobs").status_code == 200
    bad = client.post("/settings/password", data={"csrf_token": csrf, "current": "wrong",
                                                  "password": "n3w-password",
                                                  "repeat": "n3w-password"})
    assert field_errors(bad) == {"current": "not the current password"}
    good = client.post("/settings/password", data={"csrf_token": csrf, "current": PASSWORD,
                                                   "password": "n3w-password",
                                                   "repeat": "n3w-password"})
    assert good.status_code == 302
    assert client.get("/api/v1/jobs").status_code == 200
    assert other.get("/api/v1/jobs").status_code == 401


def test_a_configured_password(settings, tmp_path):
    configured = Settings(data_dir=settings.data_dir, redis_url=settings.redis_url,
                          panel_password="from-config")
    assert "from-config" not in repr(configured)
    app = create_app(configured, settings.redis_url)
    client = app.test_client()
    try:
        assert client.get("/").headers["Location"] == "/login?next=/"
        assert client.get("/setup").headers["Location"] == "/login"
        assert client.get("/api/v1/jobs").status_code == 401
        csrf = token(client.get("/login"))
        client.post("/login", data={"csrf_token": csrf, "password": "from-config"})
        assert "change it there" in client.get("/settings").get_data(as_text=True)
    finally:
        close_redis(app)


def test_password_settings_are_loaded_from_options_and_environment(tmp_path):
    options = tmp_path / "options.json"
    options.write_text('{"panel_password": "addon-secret"}')
    assert load_settings(env={}, addon_options=options).panel_password == "addon-secret"
    env = {"STRMSYNC_PANEL_PASSWORD": "env-secret", "STRMSYNC_INGRESS_ADDRESS": "127.0.0.1"}
    loaded = load_settings(env=env, addon_options=options)
    assert (loaded.panel_password, loaded.ingress_address) == ("env-secret", "127.0.0.1")
    assert load_settings(env={}, addon_options=None).ingress_address == "172.30.32.2"


def test_ingress_is_trusted_and_prefixes_every_address(app, client):
    set_up(client)
    ha = app.test_client()
    page = ha.get("/", headers=INGRESS, environ_base=HA)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    addresses = re.findall(r'(?:href|action|src)="([^"#]+)"', html)
    assert addresses and all(a.startswith("/api/hassio_ingress/abc123/") for a in addresses)
    assert 'data-base="/api/hassio_ingress/abc123"' in html
    assert ha.get("/api/v1/jobs", headers=INGRESS, environ_base=HA).status_code == 200
    assert ha.post("/api/v1/sources", json={}, headers=INGRESS,
                   environ_base=HA).status_code == 400  # ingress browsers need CSRF too
    moved = ha.post("/jobs/1/run", data={"csrf_token": token(page)}, headers=INGRESS,
                    environ_base=HA)
    assert moved.status_code == 404 and "There is no job 1." in moved.get_data(as_text=True)


def test_ingress_headers_from_elsewhere_are_ignored(app, client):
    set_up(client)
    stranger = app.test_client()
    forged = stranger.get("/jobs", headers=INGRESS, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert forged.headers["Location"] == "/login?next=/jobs"
    odd = stranger.get("/jobs", headers={"X-Ingress-Path": "/a/../b"}, environ_base=HA)
    assert odd.headers["Location"] == "/login?next=/jobs"


def add_source(client, csrf, root) -> None:
    response = client.post("/sources/new", data={"csrf_token": csrf, "name": "lib",
                                                 "kind": "local", "local-root": str(root),
                                                 "qps": "0", "concurrency": "8"})
    assert response.status_code == 302, field_errors(response)


def job_form(client, csrf, tmp_path, **changes) -> dict:
    """A complete job form as the browser posts it, with some fields changed."""
    page = client.get("/jobs/new").get_data(as_text=True)
    form = dict(re.findall(r'<input id="f-[\w-]+" name="([\w-]+)" type="(?:text|number)" '
                           r'value="([^"]*)"', page))
    form.update({name: value for name, value in re.findall(
        r'<textarea id="f-\w+" name="(\w+)"[^>]*>([^<]*)<', page)})
    form.update(csrf_token=csrf, name="movies", source="1", source_root=str(tmp_path / "lib"),
                target_root=str(tmp_path / "strm"), strategy="full", strm_mode="path",
                meta_mode="copy", meta_update="skip", cleanup="managed", enabled="1")
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


def test_job_form_covers_every_option_and_places_errors(client, tmp_path):
    from dataclasses import fields

    from strmsync.config import SyncOptions

    csrf = set_up(client)
    make_files(tmp_path / "lib", {"a.mkv": "v"})
    add_source(client, csrf, tmp_path / "lib")
    page = client.get("/jobs/new").get_data(as_text=True)
    for option in [f.name for f in fields(SyncOptions)] + ["schedule", "watch", "run_on_start",
                                                           "enabled", "settle_delay"]:
        assert f'name="{option}"' in page, option
    cases = [({"strm_mode": "mount", "mount_prefix": ""},
              {"mount_prefix": "required when strm_mode is 'mount'"}),
             ({"schedule": "every night"}, {"schedule": "not a valid cron expression: "
                                                        "'every night'"}),
             ({"max_delete": "150%"}, {"max_delete": "must be between 0% and 100%, got "
                                                     "'150%'"}),
             ({"concurrency": "lots"}, {"concurrency": "expected a whole number"}),
             ({"target_root": str(tmp_path / "lib/x")},
              {"target_root": f"must not overlap the source root {tmp_path / 'lib'}"})]
    for changes, expected in cases:
        response = client.post("/jobs/new", data=job_form(client, csrf, tmp_path, **changes))
        assert response.status_code == 400 and field_errors(response) == expected
    saved = client.post("/jobs/new", data=job_form(client, csrf, tmp_path, schedule="0 3 * * *",
                                                   max_delete="25%", watch="1"))
    assert saved.headers["Location"] == "/jobs/1"
    job = client.get("/api/v1/jobs/1").json
    assert job["options"]["max_delete"] == 0.25 and job["watch"] and job["enabled"]
    assert not job["run_on_start"] and len(job["next_runs"]) == 3
    edit = client.get("/jobs/1").get_data(as_text=True)
    assert 'value="25%"' in edit and at(job["next_runs"][0]) in edit
    twin = client.post("/jobs/new", data=job_form(client, csrf, tmp_path,
                                                  target_root=str(tmp_path / "other")))
    assert field_errors(twin) == {"name": "a job called 'movies' exists"}


def test_source_form_errors_and_delete_rules(client, tmp_path):
    csrf = set_up(client)
    bad = client.post("/sources/new", data={"csrf_token": csrf, "name": "lib", "kind": "local",
                                            "local-root": "relative/path"})
    assert field_errors(bad) == {"local-root": "an absolute directory path is required"}
    cloud = client.post("/sources/new", data={"csrf_token": csrf, "name": "cloud",
                                              "kind": "openlist",
                                              "openlist-url": "http://nas:5244"})
    assert field_errors(cloud) == {"openlist-token": "give an API token, or a username and "
                                                     "password"}
    client.post("/sources/new", data={"csrf_token": csrf, "name": "cloud", "kind": "openlist",
                                      "openlist-url": "http://nas:5244",
                                      "openlist-token": "s3cret"})
    page = client.get("/sources/1").get_data(as_text=True)
    assert "s3cret" not in page and "API token (set)" in page
    kept = client.post("/sources/1", data={"csrf_token": csrf, "name": "cloud2",
                                           "openlist-url": "http://nas:5244"})
    assert kept.status_code == 302  # an empty secret field keeps the stored one
    make_files(tmp_path / "lib", {"a.mkv": "v"})
    add_source(client, csrf, tmp_path / "lib")
    client.post("/jobs/new", data=job_form(client, csrf, tmp_path, source="2"))
    client.post("/sources/2/delete", data={"csrf_token": csrf})
    assert "used by movies" in client.get("/sources").get_data(as_text=True)


def test_dry_run_from_the_panel_lists_planned_changes(client, workers, tmp_path):
    from tests.conftest import wait_for

    csrf = set_up(client)
    make_files(tmp_path / "lib", {"Heat/Heat.mkv": "v", "Heat/Heat.nfo": "n"})
    add_source(client, csrf, tmp_path / "lib")
    client.post("/jobs/new", data=job_form(client, csrf, tmp_path))
    queued = client.post("/jobs/1/run", data={"csrf_token": csrf, "mode": "full",
                                              "dry_run": "1"})
    assert queued.headers["Location"] == "/runs/1"
    again = client.post("/jobs/1/run", data={"csrf_token": csrf, "mode": "full",
                                             "dry_run": "1"})
    assert again.headers["Location"] == "/runs/1"  # one queued dry run is enough
    workers(1)
    wait_for(lambda: client.get("/api/v1/runs/1").json["status"] == "succeeded")
    page = client.get("/runs/1").get_data(as_text=True)
    assert "Planned changes" in page and "Heat/Heat.strm" in page and "1 to create" in page
    assert "Run it for real" in page and not (tmp_path / "strm").exists()
    assert "run succeeded" in page
    assert "run succeeded" not in client.get("/runs/1?level=warning").get_data(as_text=True)
    history = client.get("/runs?job=1").get_data(as_text=True)
    assert "#1" in history and "dry run" in history


def test_pages_render_and_missing_things_are_html_404s(client):
    set_up(client)
    for path in ("/", "/jobs", "/sources", "/sources/new", "/runs", "/runs?page=3",
                 "/servers", "/servers/new", "/settings"):
        assert client.get(path).status_code == 200, path
    for path in ("/jobs/9", "/runs/9", "/sources/9", "/servers/9"):
        response = client.get(path)
        assert response.status_code == 404 and "<h1>" in response.get_data(as_text=True)
    assert client.get("/jobs/new").headers["Location"] == "/sources/new"  # no source yet
    assert client.get("/jobs/schedule?cron=*/10 * * * *").json["next_runs"]
    assert "error" in client.get("/jobs/schedule?cron=nope").json


def test_job_form_links_media_servers(client, tmp_path):
    csrf = set_up(client)
    make_files(tmp_path / "lib", {"a.mkv": "v"})
    add_source(client, csrf, tmp_path / "lib")
    headers = {"X-CSRF-Token": csrf}
    for name in ("emby", "jelly"):
        kind = "emby" if name == "emby" else "jellyfin"
        added = client.post("/api/v1/mediaservers", headers=headers, json={
            "name": name, "kind": kind, "url": f"http://{name}:8096", "api_key": "k"})
        assert added.status_code == 201, added.json
    page = client.get("/jobs/new").get_data(as_text=True)
    assert 'name="media_servers" value="1"' in page and 'name="media_servers" value="2"' in page
    form = job_form(client, csrf, tmp_path)
    saved = client.post("/jobs/new", data={**form, "media_servers": ["2"]})
    assert saved.status_code == 302
    assert client.get("/api/v1/jobs/1").json["media_servers"] == ["jelly"]
    client.post("/jobs/1", data={**form, "media_servers": ["1", "2", "99"]})
    assert client.get("/api/v1/jobs/1").json["media_servers"] == ["emby", "jelly"]
    edit = client.get("/jobs/1").get_data(as_text=True)
    assert edit.count("checked> ") >= 2
    assert "data-api-mediaservers" in client.get("/settings").get_data(as_text=True)


def test_media_server_pages(client):
    csrf = set_up(client)
    form = {"csrf_token": csrf, "name": "living room", "kind": "jellyfin",
            "url": "jellyfin:8096", "api_key": "k3y", "path_map": "/media/strm=/mnt/strm",
            "refresh_threshold": "50"}
    bad = client.post("/servers/new", data=form)
    assert bad.status_code == 400 and set(field_errors(bad)) == {"url"}
    assert client.post("/servers/new", data={**form, "url": "http://jf:8096"}).status_code == 302
    server = client.get("/api/v1/mediaservers/1").json
    assert server["path_map"] == [["/media/strm", "/mnt/strm"]] and server["api_key_set"]
    page = client.get("/servers/1").get_data(as_text=True)
    assert "k3y" not in page and "/media/strm=/mnt/strm" in page and "API key (set)" in page
    kept = client.post("/servers/1", data={**form, "url": "http://jf:8096", "api_key": "",
                                           "path_map": "nonsense"})
    assert field_errors(kept) == {"path_map": "write each pair as /our/path=/their/path"}
    client.post("/servers/1", data={**form, "url": "http://jf:8096", "api_key": ""})
    assert client.get("/api/v1/mediaservers/1").json["api_key_set"]
    assert "living room" in client.get("/servers").get_data(as_text=True)
    assert client.post("/servers/1/delete", data={"csrf_token": csrf}).status_code == 302
    assert client.get("/api/v1/mediaservers").json["mediaservers"] == []
