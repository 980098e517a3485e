"""A stand-in OpenList/Alist v3 server: the HTTP API and /d/ links over a local directory."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from datetime import timedelta, timezone, tzinfo

from .faults import EMPTY, FaultPlan
from .httpserver import BackgroundHTTPServer
from .openlist_api import ADMIN, GENERAL, GUEST, Meta, User
from .openlist_http import OpenListHandler
from .openlist_sign import make_sign
from .tokens import TokenBook, TokenRejected
from .traffic import Traffic
from .tree import LocalTree, clean_path, quote_path

__all__ = ["ADMIN", "FAULT_KINDS", "GENERAL", "GUEST", "Meta", "OpenListStandIn", "User"]

CHINA_TIME = timezone(timedelta(hours=8))

FAULT_KINDS = (
    "error",  # envelope code 500 with a message
    "empty_message",  # envelope code 500 with message ""
    "code429",  # envelope code 429
    "unauthorized",  # envelope code 401 "token is expired"
    "http429",  # HTTP 429 with an HTML body
    "http502",  # HTTP 502 from a "proxy", HTML body
    "html",  # HTTP 200 with an HTML page instead of JSON
    "drop",  # connection closed without an answer
    EMPTY,  # fs/list answers content null, total 0
)


class OpenListStandIn:
    """Serves OpenList's JSON API and signed download links for the files under `root`."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        users: Iterable[User] = (User("admin", "admin", "/", ADMIN),),
        admin_token: str = "openlist-standin-admin-token",
        sign_all: bool = True,
        link_expiration_hours: int = 0,
        metas: dict[str, Meta] | None = None,
        token_ttl: float | None = None,
        token_uses: int | None = None,
        tz: tzinfo = CHINA_TIME,
        provider: str = "Local",
        version: str = "v4.1.0",
    ) -> None:
        self.tree = LocalTree(root)
        self.users = {user.username: user for user in users}
        self.admin_token = admin_token
        self.sign_all = sign_all
        self.link_expiration_hours = link_expiration_hours
        # Folder metas by absolute storage path, as the admin sets them under Manage > Metas.
        self.metas = {clean_path(path): meta for path, meta in (metas or {}).items()}
        self.tokens = TokenBook(admin_token, token_ttl, token_uses)
        self.faults = FaultPlan(
            FAULT_KINDS, list_endpoint="fs/list", error_kind="error", throttle_kind="http429"
        )
        self.traffic = Traffic()
        self.tz = tz
        self.provider = provider
        self.version = version
        self._http = BackgroundHTTPServer(OpenListHandler, self)
        self.url = ""

    def start(self) -> OpenListStandIn:
        """Start serving on an ephemeral port; `url` is then set."""
        port = self._http.start()
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        """Stop serving and close every connection."""
        self._http.stop()

    def __enter__(self) -> OpenListStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def admin(self) -> User:
        """Return the account the permanent admin token stands for."""
        admins = [user for user in self.users.values() if user.role == ADMIN]
        return admins[0] if admins else User("admin", "", "/", ADMIN)

    def login(self, username: str, password: str) -> str | None:
        """Return a new session token for valid credentials, else None."""
        user = self.users.get(username)
        if user is None or user.password != password:
            return None
        return self.tokens.issue(username)[0]

    def authenticate(self, token: str) -> User:
        """Return the user an Authorization header stands for; raise TokenRejected otherwise."""
        if token == self.admin_token:
            return self.admin()
        if not token:
            raise TokenRejected("Guest user is disabled, login please")
        user = self.users.get(self.tokens.check(token))
        if user is None:
            raise TokenRejected("user not found")
        return user

    def nearest_meta(self, abs_path: str) -> tuple[str, Meta] | None:
        """Return the meta set on `abs_path` or, failing that, on its nearest parent."""
        path = clean_path(abs_path)
        while True:
            if path in self.metas:
                return path, self.metas[path]
            if path == "/":
                return None
            path = os.path.dirname(path)

    def guarding_password(self, abs_path: str) -> str | None:
        """Return the password `abs_path` is guarded by, or None when it needs none.

        As OpenList's CanAccess, isEncrypt and needSign: only the nearest meta counts, and it
        guards its own path, and the paths below it only when it applies to sub folders.
        """
        found = self.nearest_meta(abs_path)
        if found is None or not found[1].password:
            return None
        meta_path, meta = found
        if clean_path(abs_path) != meta_path and not meta.sub_folders:
            return None
        return meta.password

    def needs_sign(self, abs_path: str) -> bool:
        """Tell whether `abs_path` (a file, or the folder whose items are listed) is signed."""
        return self.sign_all or self.guarding_password(abs_path) is not None

    def sign(self, abs_path: str) -> str:
        """Return the sign the server hands out for absolute storage path `abs_path`."""
        hours = self.link_expiration_hours
        expire = int(time.time() + hours * 3600) if hours else 0
        return make_sign(self.admin_token, clean_path(abs_path), expire)

    def link(self, abs_path: str, route: str = "d") -> str:
        """Return the download URL of storage path `abs_path`, signed when it needs to be."""
        url = f"{self.url}/{route}{quote_path(clean_path(abs_path))}"
        return f"{url}?sign={self.sign(abs_path)}" if self.needs_sign(abs_path) else url
