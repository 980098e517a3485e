"""Remote sources named on the command line: `openlist://user:pass@host:port/path` and kin."""

import hashlib
import os
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from strmsync.errors import ConfigError
from strmsync.folderpasswords import FIELD as FOLDER_PASSWORDS
from strmsync.folderpasswords import update_folder_passwords

SCHEMES = {
    "openlist": ("openlist", "http"),
    "openlists": ("openlist", "https"),
    "clouddrive2": ("clouddrive2", "http"),
    "clouddrive2s": ("clouddrive2", "https"),
}
TOKEN_ENV = {"openlist": "STRMSYNC_OPENLIST_TOKEN", "clouddrive2": "STRMSYNC_CD2_TOKEN"}
FOLDER_PASSWORDS_ENV = "STRMSYNC_OPENLIST_FOLDER_PASSWORDS"  # one /path=password a line


@dataclass(frozen=True)
class RemoteSource:
    """A source URL taken apart: record fields, secrets, the root path, and a safe display."""

    kind: str
    config: dict
    secrets: dict = field(repr=False)
    root: str
    display: str

    @property
    def record_name(self) -> str:
        """The ad-hoc source record's name: kind and a hash of the address, no credentials."""
        where = self.config.get("url") or self.config.get("address")
        return f"cli-{self.kind}-{hashlib.sha1(where.encode()).hexdigest()[:10]}"


def is_source_url(text: str) -> bool:
    """True when SOURCE names a remote source rather than a local directory."""
    return text.split("://", 1)[0].lower() in SCHEMES and "://" in text


def parse_source_url(text: str, token: str | None = None, env=None,
                     folder_passwords: list | None = None) -> RemoteSource:
    """Take a source URL apart; the token comes from `token` or the kind's variable.

    OpenList folder passwords (`/path=password`) come from `folder_passwords`, else from
    $STRMSYNC_OPENLIST_FOLDER_PASSWORDS.
    """
    env = os.environ if env is None else env
    scheme = text.split("://", 1)[0].lower()
    kind, transport = SCHEMES[scheme]
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ConfigError(f"source: not a valid {scheme}:// URL") from None
    if not parts.hostname or not port:
        raise ConfigError(f"source: {scheme}:// needs host:port, e.g. {scheme}://nas:"
                          f"{5244 if kind == 'openlist' else 19798}/path")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    root = unquote(parts.path) or "/"
    secrets = {"token": token or env.get(TOKEN_ENV[kind], ""),
               "password": unquote(parts.password or "")}
    config = {"username": unquote(parts.username or "")}
    if folder_passwords and kind != "openlist":
        raise ConfigError(f"{FOLDER_PASSWORDS}: only openlist:// sources have folder passwords")
    if kind == "openlist":
        config["url"] = f"{transport}://{host}:{port}"
        secrets[FOLDER_PASSWORDS] = update_folder_passwords(
            None, folder_passwords or env.get(FOLDER_PASSWORDS_ENV))
    else:
        config.update(address=f"{host}:{port}", tls=transport == "https")
    if not secrets["token"] and not (config["username"] and secrets["password"]):
        raise ConfigError(f"token: give --token, ${TOKEN_ENV[kind]}, or user:password@"
                          " in the URL")
    display = f"{scheme}://{host}:{port}{root}"
    return RemoteSource(kind, config, {k: v for k, v in secrets.items() if v}, root, display)
