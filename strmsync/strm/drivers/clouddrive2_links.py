"""CloudDrive2 download URLs: asked per file until two answers show one shape, then built."""

import logging
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

import _fastscan
from strmsync.errors import NotFoundError

log = logging.getLogger(__name__)
# The shape the proto documents for GetDownloadUrlPath answers.
DOCUMENTED_PREFIX = "/static/{SCHEME}/{HOST}/{PREVIEW}"


class DownloadLinks:
    """Builds `{base}/static/…` download URLs for paths, asking the server only while needed.

    GetDownloadUrlPath answers `prefix + escaped path + suffix`. Once two different files
    agree on prefix and suffix, the shape is known and later URLs cost no call; if they
    never agree (a per-file token, say), every file keeps its own answer.
    """

    def __init__(self, fetch: Callable[[str], object]):
        self._fetch = fetch
        self._shape: tuple[str, str] | None = None
        self._first: tuple[str, tuple[str, str]] | None = None
        self._lock = threading.Lock()
        self.fetched = 0
        self._warned = False

    @property
    def learned(self) -> bool:
        """True once URLs are built without asking the server."""
        return self._shape is not None

    def url(self, path: str, base: str, known_only: bool = False) -> str:
        """The download URL of remote `path` as reached at `base` (scheme://host:port)."""
        shape = self._shape
        if shape is not None:
            return fill(shape[0] + _fastscan.quote_path(path) + shape[1], base)
        if known_only:
            return fill(DOCUMENTED_PREFIX + _fastscan.quote_path(path), base)
        info = self._fetch(path)
        self.fetched += 1
        self._warn_expiry(info)
        self._learn(path, info.downloadUrlPath)
        return fill(info.downloadUrlPath, base)

    def url_or_documented(self, path: str, base: str) -> str:
        """Like `url`, but a path the server does not know gets the documented shape."""
        try:
            return self.url(path, base)
        except NotFoundError:
            return self.url(path, base, known_only=True)

    def _learn(self, path: str, answer: str) -> None:
        quoted = _fastscan.quote_path(path)
        at = answer.find(quoted)
        if at < 0:
            return
        candidate = (answer[:at], answer[at + len(quoted):])
        with self._lock:
            if self._first is None:
                self._first = (path, candidate)
            elif self._first[0] != path and self._first[1] == candidate:
                self._shape = candidate
                log.info("CloudDrive2 download URLs share one shape: building them locally")

    def _warn_expiry(self, info) -> None:
        if not self._warned and info.HasField("expiresIn") and info.expiresIn:
            self._warned = True
            log.warning("CloudDrive2 download URLs expire after %d s: .strm links will stop"
                        " working; prefer strm mode path or mount", info.expiresIn)


def fill(url_path: str, base: str) -> str:
    """Substitute {SCHEME}, {HOST} and {PREVIEW} and put `base` in front."""
    parts = urlsplit(base)
    filled = (url_path.replace("{SCHEME}", parts.scheme).replace("{HOST}", parts.netloc)
              .replace("{PREVIEW}", "false"))
    return base.rstrip("/") + filled
