"""The `clouddrive2` driver: a CloudDrive2 server over its gRPC API."""

from typing import BinaryIO

import _fastscan
from strmsync.errors import FatalError, StrmsyncError
from strmsync.strm.drivers.clouddrive2_api import CloudDrive2Client
from strmsync.strm.drivers.clouddrive2_links import DownloadLinks
from strmsync.strm.drivers.gate import SourcePolicy
from strmsync.strm.drivers.remote import RemoteDriver
from strmsync.strm.drivers.session import new_session, open_download
from strmsync.strm.drivers.walker import Page


class CloudDrive2Driver(RemoteDriver):
    """Lists folders with GetSubFiles streams and links files by their download URLs."""

    kind = "clouddrive2"

    def __init__(self, address: str, root: str, policy: SourcePolicy, *, token: str = "",
                 username: str = "", password: str = "", tls: bool = False,
                 download_base: str = "", mount_prefix: str = "", url_base: str = ""):
        super().__init__(root, policy, mount_prefix, url_base)
        self.client = CloudDrive2Client(address, self.gate, token, username, password, tls)
        self.base = f"{'https' if tls else 'http'}://{address}"
        # Players may reach CloudDrive2 under another address than strmsync does.
        self.download_base = (download_base or self.base).rstrip("/")
        self.links = DownloadLinks(self.client.download_url_path)
        self._session = None

    def close(self) -> None:
        """Close the channel and the download session."""
        self.client.close()
        if self._session is not None:
            self._session.close()
            self._session = None

    def list_page(self, rel: str, page: int, total: int | None) -> Page:
        """The whole folder, read from its GetSubFiles stream to the end."""
        files, subdirs = self.client.sub_files(self.remote_path(rel), _read_sub_files)
        return Page(files, subdirs, len(files) + len(subdirs), 1)

    def url_text(self, rel: str, extra) -> str:
        """A user template (`url_base` + escaped path), else CloudDrive2's download URL."""
        if self.url_base:
            return _fastscan.build_strm("url", self.url_base, self.remote_path(rel))
        try:
            return self.links.url_or_documented(self.remote_path(rel), self.download_base)
        except FatalError:
            raise
        except StrmsyncError as exc:
            # Until the URL shape is known a link costs a call; one that fails stops the run.
            raise FatalError(f"source: cannot get a CloudDrive2 download URL: {exc}") from exc

    def open(self, rel: str, extra=None) -> BinaryIO:
        """Download a file over HTTP from its download URL."""
        if self._session is None:
            self._session = new_session(self.policy, self.base)
        url = self.links.url(self.remote_path(rel), self.base)
        return self.gate.call(lambda: open_download(self._session, url, self.policy),
                              "download")

    def test(self) -> dict:
        """Check the server (GetSystemInfo) and the credentials (list the root)."""
        info = self.client.system_info()
        page = self.list_page("", 1, None)
        return {"address": self.client.address, "ready": info.SystemReady,
                "logged_in": info.IsLogin, "root": self.root, "entries": page.total}


def _read_sub_files(stream) -> tuple[list, list]:
    files, subdirs = [], []
    for reply in stream:
        for item in reply.subFiles:
            if item.isDirectory:
                subdirs.append(item.name)
            else:
                stamp = item.writeTime
                files.append((item.name, item.size, stamp.seconds * 10**9 + stamp.nanos))
    return files, subdirs
