"""Source records: the fields each kind takes, validation, and what the API may show."""

import os
import re
from typing import Annotated

from pydantic import Field

from strmsync.errors import ConfigError
from strmsync.eventmap import parse_event_map
from strmsync.folderpasswords import FIELD as FOLDER_PASSWORDS
from strmsync.folderpasswords import update_folder_passwords
from strmsync.rootpaths import fold_path
from strmsync.validation import (
    Body,
    InvalidBody,
    LongText,
    Name,
    PathText,
    SecretText,
    UrlText,
    Word,
    collect,
    raise_errors,
    require,
    typed_fields,
)

KINDS = ("local", "openlist", "clouddrive2", "smb")
Seconds = Annotated[float, Field(ge=0, le=600)]
PathPairs = LongText | Annotated[list[list[PathText]], Field(max_length=1000)] \
    | Annotated[dict[PathText, PathText], Field(max_length=1000)]


class SourceBody(Body):
    """What every kind of source takes."""

    name: Name | None = None
    kind: Word | None = None
    qps: Annotated[float, Field(ge=0, le=1000)] | None = None
    concurrency: Annotated[int, Field(ge=1, le=64)] | None = None
    # Maps the paths CloudDrive2 webhooks report onto this source's own paths (events.py).
    event_map: PathPairs | None = None
    # Shown in answers; ignored when a client sends a source back.
    id: int | None = None
    secrets_set: list[Word] | None = None
    folder_passwords_set: list[PathText] | None = None
    secrets_error: LongText | None = None


class LocalSourceBody(SourceBody):
    """A directory on this machine (often a CloudDrive2 or rclone mount)."""

    unknown_field = "not a field of a local source"

    root: PathText | None = None
    fallback_source: Name | None = None
    fallback_root: PathText | None = None


class RemoteSourceBody(SourceBody):
    """An API source: credentials and how hard it may be pressed (drivers/gate.py)."""

    username: Annotated[str, Field(max_length=256)] | None = None
    token: SecretText | None = None
    password: SecretText | None = None
    timeout: Annotated[float, Field(ge=1, le=600)] | None = None
    relist_pause: Seconds | None = None
    throttle_pause: Seconds | None = None
    max_pause: Annotated[float, Field(ge=0, le=3600)] | None = None
    attempts: Annotated[int, Field(ge=1, le=20)] | None = None
    page_size: Annotated[int, Field(ge=1, le=10000)] | None = None


class OpenListSourceBody(RemoteSourceBody):
    """An OpenList/Alist server."""

    unknown_field = "not a field of a openlist source"

    url: UrlText | None = None
    folder_passwords: LongText | Annotated[dict[PathText, SecretText], Field(max_length=1000)] \
        | Annotated[list[LongText], Field(max_length=1000)] | None = None


class CloudDrive2SourceBody(RemoteSourceBody):
    """A CloudDrive2 gRPC endpoint."""

    unknown_field = "not a field of a clouddrive2 source"

    address: Annotated[str, Field(max_length=256)] | None = None
    download_base: UrlText | None = None
    tls: bool | None = None


class SmbSourceBody(SourceBody):
    """A folder on an SMB share: where a mirror job keeps a local folder in step."""

    unknown_field = "not a field of a smb source"

    host: Annotated[str, Field(max_length=253)] | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    share: Annotated[str, Field(max_length=80)] | None = None
    path: PathText | None = None
    username: Annotated[str, Field(max_length=256)] | None = None
    password: SecretText | None = None
    domain: Annotated[str, Field(max_length=256)] | None = None
    encrypt: bool | None = None
    timeout: Annotated[float, Field(ge=1, le=600)] | None = None


BODIES = {"local": LocalSourceBody, "openlist": OpenListSourceBody,
          "clouddrive2": CloudDrive2SourceBody, "smb": SmbSourceBody}
SECRET_FIELDS = {"local": (), "openlist": ("token", "password", FOLDER_PASSWORDS),
                 "clouddrive2": ("token", "password"), "smb": ("password",)}
SHOWN_ONLY = ("id", "secrets_set", "folder_passwords_set", "secrets_error")
COMMON_FIELDS = ("name", "kind", "qps", "concurrency")
TUNING_FIELDS = ("timeout", "relist_pause", "throttle_pause", "max_pause", "attempts",
                 "page_size")
# Stored in the record's config, in the order the panel's form shows them.
CONFIG_FIELDS = {
    "local": ("root", "fallback_source", "fallback_root", "event_map"),
    "openlist": ("url", "username", *TUNING_FIELDS, "event_map"),
    "clouddrive2": ("address", "username", "download_base", "tls", *TUNING_FIELDS, "event_map"),
    "smb": ("host", "port", "share", "path", "username", "domain", "encrypt", "timeout"),
}
HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$")
SHARE_RE = re.compile(r"^[^\\/:*?\"<>|\x00-\x1f]{1,80}$")
NAME_RE = re.compile(r"^[\w][\w .@+-]{0,63}$")


def validate_name(name, field: str = "name") -> str:
    """A record name: 1–64 letters, digits, spaces or `. @ + - _`."""
    if not isinstance(name, str) or not NAME_RE.match(name.strip()):
        raise ConfigError(f"{field}: 1-64 characters: letters, digits, space, . @ + - _")
    return name.strip()


def validate_source(data, existing: dict | None = None) -> dict:
    """The columns of a source record from API/CLI input, merged over `existing`.

    Secrets that cannot be read (a lost key file) stay stored as they are unless new ones
    are given: the returned values then leave out `secrets`.
    """
    if not isinstance(data, dict):
        raise InvalidBody({"body": "expected a JSON object"})
    base = existing or {}
    kind = data.get("kind", base.get("kind"))
    if kind not in KINDS:
        raise InvalidBody({"kind": f"must be one of {', '.join(KINDS)}"})
    if existing and kind != existing["kind"]:
        raise InvalidBody({"kind": "cannot change; create a new source instead"})
    given, errors = typed_fields(BODIES[kind], data)
    if existing is None:
        require(given, ("name",), errors)
    config = {**base.get("config", {}),
              **{k: given[k] for k in CONFIG_FIELDS[kind] if k in given}}
    new_secrets = {k: given[k] for k in SECRET_FIELDS[kind] if given.get(k)}
    secrets = {**base.get("secrets", {}), **new_secrets}
    if FOLDER_PASSWORDS in SECRET_FIELDS[kind]:
        collect(errors, FOLDER_PASSWORDS, _set_folder_passwords, secrets,
                base.get("secrets", {}), given.get(FOLDER_PASSWORDS))
    unreadable = bool(base.get("secrets_error")) and not new_secrets
    collect(errors, "config", _check_config, kind, config, secrets, unreadable)
    if kind != "smb":  # a share is mirrored, never watched through webhooks
        config["event_map"] = collect(errors, "event_map", parse_event_map,
                                      config.get("event_map"))
    name = given.get("name", base.get("name"))
    values = {
        "name": collect(errors, "name", validate_name, name) if name is not None else None,
        "kind": kind, "config": config, "secrets": secrets,
        "qps": given.get("qps", base.get("qps") or 0),
        "concurrency": given.get("concurrency", base.get("concurrency") or 8),
    }
    raise_errors(errors)
    if unreadable:
        del values["secrets"]  # keep what is stored; it may be readable with the right key
    return values


def source_warnings(values: dict) -> list[str]:
    """What is accepted but worth telling: a local root that is not there now."""
    root = values["config"].get("root")
    if values["kind"] == "local" and root and not os.path.isdir(root):
        return [f"root: {root} does not exist now (a mount may be down); runs fail without"
                " touching their targets until it is back"]
    return []


def _set_folder_passwords(secrets: dict, stored: dict, given) -> None:
    # Merged per folder like the other secrets: what is not sent is kept, "" removes one.
    folders = update_folder_passwords(stored.get(FOLDER_PASSWORDS), given)
    secrets.pop(FOLDER_PASSWORDS, None)
    if folders:
        secrets[FOLDER_PASSWORDS] = folders


def _check_config(kind: str, config: dict, secrets: dict, unreadable: bool) -> None:
    errors: dict = {}
    if kind == "local":
        root = config.get("root")
        if not root or not str(root).startswith("/"):
            errors["root"] = "an absolute directory path is required"
        else:
            config["root"] = collect(errors, "root", fold_path, root, "root")
        collect(errors, "fallback_source", _check_fallback, config)
        raise_errors(errors)
        return
    if kind == "smb":
        _check_smb(config, errors)
        raise_errors(errors)
        return
    if kind == "openlist":
        if not str(config.get("url", "")).startswith(("http://", "https://")):
            errors["url"] = "must start with http:// or https://"
    elif not re.match(r"^[\w.-]+:\d{1,5}$", str(config.get("address", ""))):
        errors["address"] = "expected host:port, e.g. 192.168.1.10:19798"
    if not unreadable:
        collect(errors, "token", _check_credentials, config, secrets)
    raise_errors(errors)


def _check_smb(config: dict, errors: dict) -> None:
    if not HOST_RE.match(str(config.get("host") or "")):
        errors["host"] = "a host name or IP address is required, e.g. nas.local"
    if not SHARE_RE.match(str(config.get("share") or "")):
        errors["share"] = "the share's name is required (no slashes), e.g. media"
    path = str(config.get("path") or "").strip("/")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts or "\x00" in path or "\\" in path:
        errors["path"] = "a folder inside the share, like Media/strm (no '..' or backslash)"
    config["path"] = "/".join(parts)
    config["port"] = config.get("port") or 445
    config["encrypt"] = bool(config.get("encrypt"))


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


def public_source(row: dict) -> dict:
    """A source as the API shows it: every secret replaced by the names of those set.

    Folder passwords show only the folders they are set for.
    """
    secrets = row.get("secrets") or {}
    config = {name: value for name, value in row["config"].items() if value not in (None, "")}
    shown = {"id": row["id"], "name": row["name"], "kind": row["kind"], **config,
             "qps": row["qps"], "concurrency": row["concurrency"],
             "secrets_set": sorted(k for k, v in secrets.items() if v)}
    if FOLDER_PASSWORDS in SECRET_FIELDS[row["kind"]]:
        shown["folder_passwords_set"] = sorted(secrets.get(FOLDER_PASSWORDS) or {})
    if row.get("secrets_error"):
        shown["secrets_error"] = row["secrets_error"]
    return shown
