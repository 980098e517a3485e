"""The HTTP side shared by the remote drivers: one pooled session, status classes, downloads."""

import io
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from strmsync.errors import FileError, RetryableError, ThrottledError
from strmsync.strm.drivers.gate import SourcePolicy

CONNECT_TIMEOUT = 10.0
USER_AGENT = "strmsync"


def new_session(policy: SourcePolicy, site: str = "") -> requests.Session:
    """A session pooling as many connections as the source allows requests in flight."""
    session = requests.Session()
    # With trust_env, requests reads ~/.netrc and the proxy variables on every request (a
    # third of its cost per call here); the proxies that apply to the site are read once.
    session.trust_env = False
    if site:
        session.proxies.update(requests.utils.get_environ_proxies(site))
    # urllib3 retries only failed connects here; everything after a request was sent
    # is retried by the source gate, which knows about throttling and backs off.
    retry = Retry(total=3, connect=3, read=0, status=0, other=0, redirect=5,
                  backoff_factor=0.2, raise_on_status=False)
    size = max(4, policy.concurrency * 2)
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=size, max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


def timeouts(policy: SourcePolicy) -> tuple[float, float]:
    """The (connect, read) timeout for one request."""
    return (min(CONNECT_TIMEOUT, policy.timeout), policy.timeout)


def transport_error(exc: requests.RequestException) -> RetryableError:
    """A timeout or broken connection as a retryable error naming the host (only: the
    rest of a URL may hold a sign)."""
    request = getattr(exc, "request", None)
    host = urlsplit(request.url).netloc if request is not None and request.url else "the server"
    if isinstance(exc, requests.Timeout):
        return RetryableError(f"request to {host} timed out")
    return RetryableError(f"connection to {host} failed ({type(exc).__name__})")


def check_status(response: requests.Response) -> None:
    """Raise ThrottledError for 429, RetryableError for 5xx."""
    status = response.status_code
    if status == 429:
        raise ThrottledError("HTTP 429 Too Many Requests", retry_after(response))
    if status >= 500:
        raise RetryableError(f"HTTP {status}")


def retry_after(response: requests.Response) -> float:
    """The Retry-After header in seconds (0 when absent or a date)."""
    try:
        return max(0.0, float(response.headers.get("Retry-After", 0)))
    except ValueError:
        return 0.0


def is_json(response: requests.Response) -> bool:
    """True when the response says it is JSON."""
    return "json" in response.headers.get("Content-Type", "").lower()


def open_download(session: requests.Session, url: str, policy: SourcePolicy,
                  headers: dict | None = None) -> "Download":
    """GET `url` as a stream; ThrottledError/RetryableError/FileError on a bad answer."""
    try:
        response = session.get(url, stream=True, timeout=timeouts(policy), headers=headers)
    except requests.RequestException as exc:
        raise transport_error(exc) from None
    if response.status_code != 200:
        response.close()
        check_status(response)
        raise FileError(f"download refused: HTTP {response.status_code}")
    return Download(response)


class Download(io.RawIOBase):
    """A downloaded body as a readable binary stream that releases its connection on close."""

    def __init__(self, response: requests.Response):
        super().__init__()
        self._response = response
        response.raw.decode_content = True

    def readable(self) -> bool:
        """A download can be read."""
        return True

    def readinto(self, buffer) -> int:
        """Read the next bytes of the body into `buffer`."""
        data = self._response.raw.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        """Release the connection."""
        if not self.closed:
            self._response.close()
        super().close()
