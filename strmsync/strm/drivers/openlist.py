"""The `openlist` driver: an OpenList/Alist v3 site over its HTTP API."""

import logging
import math
import threading
from collections import OrderedDict
from typing import BinaryIO

import _fastscan
from strmsync.errors import AccessRefused, FatalError, FileError, ListingError, StrmsyncError
from strmsync.folderpasswords import FolderPasswords
from strmsync.strm.drivers.gate import SourcePolicy
from strmsync.strm.drivers.openlist_api import OpenListClient, parse_time
from strmsync.strm.drivers.remote import RemoteDriver, check_page
from strmsync.strm.drivers.walker import Page

log = logging.getLogger(__name__)
SIGN_FOLDERS = 8  # folders whose signs are kept for downloads that came without one


class OpenListDriver(RemoteDriver):
    """Lists folders through `/api/fs/list` and links files as signed `/d/` URLs."""

    kind = "openlist"
    capabilities = frozenset({"download", "signed_urls"})

    def __init__(self, site: str, root: str, policy: SourcePolicy, *, token: str = "",
                 username: str = "", password: str = "", mount_prefix: str = "",
                 url_base: str = "", folder_passwords: dict | None = None):
        super().__init__(root, policy, mount_prefix, url_base)
        self.client = OpenListClient(site, self.gate, token, username, password)
        self.folder_passwords = FolderPasswords(folder_passwords)
        # Players may reach the site under another address than strmsync does.
        self.link_site = (url_base or site).rstrip("/")
        self._warned_expiry = False
        self._signs: OrderedDict = OrderedDict()
        self._signs_lock = threading.Lock()

    def close(self) -> None:
        """Close the pooled connections."""
        self.client.close()

    def list_page(self, rel: str, page: int, total: int | None) -> Page:
        """One page of one folder; files carry their sign ("" for none) as the extra."""
        per_page = max(1, self.policy.page_size)
        path = self.remote_path(rel)
        try:
            data = self.client.list_page(path, page, per_page, self.folder_passwords.password(path))
        except AccessRefused as exc:
            raise self._refused(path, exc) from None
        content = data.get("content") or []
        found = int(data.get("total") or 0)
        check_page(rel, page, per_page, len(content), found, total)
        files, subdirs = [], []
        for item in content:
            if item.get("is_dir"):
                subdirs.append(item["name"])
            else:
                files.append((item["name"], int(item.get("size") or 0),
                              parse_time(item.get("modified", "")), item.get("sign") or ""))
        self._check_expiry(files)
        return Page(files, subdirs, found, max(1, math.ceil(found / per_page)))

    def _refused(self, path: str, exc: AccessRefused) -> ListingError:
        found = self.folder_passwords.lookup(path)
        if found is None:
            advice = "set its folder password (for it or a parent folder) in the source"
        else:
            advice = f"fix the folder password the source holds for {found[0]}"
        return ListingError(f"{path}: OpenList refused the folder ({exc}): {advice}")

    def url_text(self, rel: str, extra) -> str:
        """`{site}/d{base_path}{path}?sign=…`, every segment escaped on its own."""
        return self._link(self.link_site, rel, extra)

    def _link(self, site: str, rel: str, sign) -> str:
        abs_path = _fastscan.build_strm("path", self._base_path(), self.remote_path(rel))
        url = _fastscan.build_strm("url", site + "/d", abs_path)
        return f"{url}?sign={sign}" if sign else url

    def _base_path(self) -> str:
        try:
            return self.client.base_path()
        except FatalError:
            raise
        except StrmsyncError as exc:
            # Without base_path no link can be right: stop rather than write wrong ones.
            raise FatalError(f"source: cannot read the OpenList user's base path: {exc}") from exc

    def open(self, rel: str, extra=None) -> BinaryIO:
        """Download a file through its `/d/` link (the listed sign, else its folder's)."""
        sign = extra if extra is not None else self._sign_of(rel)
        try:
            return self.client.download(self._link(self.client.site, rel, sign))
        except FileError:
            if extra is None:
                raise
        # A listed sign can have expired since the listing (link expiration): list anew.
        with self._signs_lock:
            self._signs.pop(rel.rpartition("/")[0], None)
        return self.client.download(self._link(self.client.site, rel, self._sign_of(rel)))

    def _sign_of(self, rel: str) -> str:
        # The folder's listing carries every sign and, unlike fs/get, asks the cloud nothing;
        # metadata files come a few per folder, so the last folders listed are kept.
        folder, _, name = rel.rpartition("/")
        with self._signs_lock:
            signs = self._signs.get(folder)
        if signs is None:
            listing = self.list_dir(folder)
            signs = {entry[0]: entry[3] for entry in (listing.files if listing else [])}
            with self._signs_lock:
                self._signs[folder] = signs
                while len(self._signs) > SIGN_FOLDERS:
                    self._signs.popitem(last=False)
        if name not in signs:
            raise FileError(f"{rel}: not in its folder's listing")
        return signs[name]

    def test(self) -> dict:
        """Check the address and credentials with `/api/me`, and that the root lists."""
        me = self.client.me()
        page = self.list_page("", 1, None)
        return {"url": self.client.site, "base_path": me.get("base_path") or "/",
                "root": self.root, "entries": page.total}

    def _check_expiry(self, files: list) -> None:
        if self._warned_expiry or not files or not files[0][3]:
            return
        if not files[0][3].endswith(":0"):
            self._warned_expiry = True
            log.warning("OpenList signs expire (link expiration is set): .strm links will stop"
                        " working and change on every run; set link expiration to 0")
