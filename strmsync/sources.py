"""Source records: the fields each kind takes, validation, and what the API may show."""

import os
import re

from strmsync.errors import ConfigError
from strmsync.eventmap import parse_event_map
from strmsync.folderpasswords import FIELD as FOLDER_PASSWORDS
from strmsync.folderpasswords import update_folder_passwords

KINDS = ("local", "openlist", "clouddrive2")
# Optional tuning of how hard a remote source is pressed (see drivers/gate.py SourcePolicy).
TUNING_FIELDS = {"timeout": (1, 600), "relist_pause": (0, 600), "throttle_pause": (0, 600),
                 "max_pause": (0, 3600), "attempts": (1, 20), "page_size": (1, 10000)}
CONFIG_FIELDS = {
    "local": ("root", "fallback_source", "fallback_root"),
    "openlist": ("url", "username", *TUNING_FIELDS),
    "clouddrive2": ("address", "username", "download_base", "tls", *TUNING_FIELDS),
}
# Any kind may map the paths CloudDrive2 webhooks report onto its own paths (events.py).
CONFIG_FIELDS = {kind: (*fields, "event_map") for kind, fields in CONFIG_FIELDS.items()}
SECRET_FIELDS = {"local": (), "openlist": ("token", "password", FOLDER_PASSWORDS),
                 "clouddrive2": ("token", "password")}
SHOWN_ONLY = {"id", "secrets_set", "folder_passwords_set"}  # in answers, ignored when sent
NAME_RE = re.compile(r"^[\w][\w .@+-]{0,63}$")


def validate_name(name, field: str = "name") -> str:
    """A record name: 1–64 letters, digits, spaces or `. @ + - _`."""
    if not isinstance(name, str) or not NAME_RE.match(name.strip()):
        raise ConfigError(f"{field}: 1-64 characters: letters, digits, space, . @ + - _")
    return name.strip()


def validate_source(data: dict, existing: dict | None = None) -> dict:
    """The columns of a source record from API/CLI input, merged over `existing`."""
    if not isinstance(data, dict):
        raise ConfigError("body: expected a JSON object")
    base = existing or {}
    kind = data.get("kind", base.get("kind"))
    if kind not in KINDS:
        raise ConfigError(f"kind: must be one of {', '.join(KINDS)}")
    if existing and kind != existing["kind"]:
        raise ConfigError("kind: cannot change; create a new source instead")
    known = {"name", "kind", "qps", "concurrency", *CONFIG_FIELDS[kind], *SECRET_FIELDS[kind]}
    unknown = sorted(set(data) - known - SHOWN_ONLY)
    if unknown:
        raise ConfigError(f"{unknown[0]}: not a field of a {kind} source")
    config = {**base.get("config", {}),
              **{k: data[k] for k in CONFIG_FIELDS[kind] if k in data}}
    secrets = {**base.get("secrets", {}),
               **{k: data[k] for k in SECRET_FIELDS[kind] if data.get(k)}}
    if FOLDER_PASSWORDS in SECRET_FIELDS[kind]:
        _set_folder_passwords(secrets, base.get("secrets", {}), data.get(FOLDER_PASSWORDS))
    _check_config(kind, config, secrets)
    config["event_map"] = parse_event_map(config.get("event_map"))
    return {
        "name": validate_name(data.get("name", base.get("name"))),
        "kind": kind, "config": config, "secrets": secrets,
        "qps": _number(data.get("qps", base.get("qps") or 0), "qps", 0, 1000),
        "concurrency": int(_number(data.get("concurrency", base.get("concurrency") or 8),
                                   "concurrency", 1, 64)),
    }


def _set_folder_passwords(secrets: dict, stored: dict, given) -> None:
    # Merged per folder like the other secrets: what is not sent is kept, "" removes one.
    folders = update_folder_passwords(stored.get(FOLDER_PASSWORDS), given)
    secrets.pop(FOLDER_PASSWORDS, None)
    if folders:
        secrets[FOLDER_PASSWORDS] = folders


def _check_config(kind: str, config: dict, secrets: dict) -> None:
    if kind == "local":
        root = config.get("root")
        if not root or not os.path.isabs(str(root)):
            raise ConfigError("root: an absolute directory path is required")
        _check_fallback(config)
        return
    for name, (low, high) in TUNING_FIELDS.items():
        if config.get(name) not in (None, ""):
            config[name] = _number(config[name], name, low, high)
    if kind == "openlist":
        if not str(config.get("url", "")).startswith(("http://", "https://")):
            raise ConfigError("url: must start with http:// or https://")
        _check_credentials(config, secrets)
    else:
        if not re.match(r"^[\w.-]+:\d{1,5}$", str(config.get("address", ""))):
            raise ConfigError("address: expected host:port, e.g. 192.168.1.10:19798")
        _check_credentials(config, secrets)


def _check_fallback(config: dict) -> None:
    if not config.get("fallback_source"):
        if config.get("fallback_root"):
            raise ConfigError("fallback_source: required with fallback_root")
        return
    validate_name(str(config["fallback_source"]), "fallback_source")
    if not str(config.get("fallback_root") or "/").startswith("/"):
        raise ConfigError("fallback_root: must be an absolute path in the fallback source")


def _check_credentials(config: dict, secrets: dict) -> None:
    if secrets.get("token"):
        return
    if not (config.get("username") and secrets.get("password")):
        raise ConfigError("token: give an API token, or a username and password")


def _number(value, field: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{field}: expected a number, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(f"{field}: must be between {low:g} and {high:g}")
    return number


def public_source(row: dict) -> dict:
    """A source as the API shows it: every secret replaced by the names of those set.

    Folder passwords show only the folders they are set for.
    """
    secrets = row.get("secrets") or {}
    shown = {"id": row["id"], "name": row["name"], "kind": row["kind"], **row["config"],
             "qps": row["qps"], "concurrency": row["concurrency"],
             "secrets_set": sorted(k for k, v in secrets.items() if v)}
    if FOLDER_PASSWORDS in SECRET_FIELDS[row["kind"]]:
        shown["folder_passwords_set"] = sorted(secrets.get(FOLDER_PASSWORDS) or {})
    return shown
