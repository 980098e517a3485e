"""The HTTP side shared by the remote drivers: pooled connections, status classes, downloads."""

import io
from collections.abc import Mapping
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import DEFAULT_CA_BUNDLE_PATH, HTTPAdapter
from urllib3.exceptions import (
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProxyError,
    SSLError,
)
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from strmsync.errors import FileError, RetryableError, ThrottledError
from strmsync.strm.drivers.gate import SourcePolicy

CONNECT_TIMEOUT = 10.0
USER_AGENT = "strmsync"
# What a requests session sends by default, so an API call looks the same on the wire.
API_HEADERS = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate", "Accept": "*/*",
               "Connection": "keep-alive"}


def new_session(policy: SourcePolicy, site: str = "") -> requests.Session:
    """A session pooling as many connections as the source allows requests in flight."""
    session = requests.Session()
    # With trust_env, requests reads ~/.netrc and the proxy variables on every request (a
    # third of its cost per call here); the proxies that apply to the site are read once.
    session.trust_env = False
    if site:
        session.proxies.update(requests.utils.get_environ_proxies(site))
    adapter = _adapter(policy)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


def _adapter(policy: SourcePolicy) -> HTTPAdapter:
    # urllib3 retries only failed connects here; everything after a request was sent
    # is retried by the source gate, which knows about throttling and backs off.
    retry = Retry(total=3, connect=3, read=0, status=0, other=0, redirect=5,
                  backoff_factor=0.2, raise_on_status=False)
    size = max(4, policy.concurrency * 2)
    return HTTPAdapter(pool_connections=2, pool_maxsize=size, max_retries=retry)


class ApiPool:
    """API calls to one site on urllib3's pool, set up as a `new_session` would send them.

    A requests call costs about twice the CPU of the same call on urllib3 (merging
    settings, preparing, hooks, a response object), and a walk makes one per folder page.
    The proxy for the site (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY, socks), the CA bundle, the
    pool size and the connect retries are requests' own, chosen once.
    """

    def __init__(self, policy: SourcePolicy, site: str):
        self.site = site
        self.host = urlsplit(site).netloc or "the server"
        self._adapter = _adapter(policy)
        proxy = requests.utils.select_proxy(site, requests.utils.get_environ_proxies(site))
        if proxy:
            proxy = requests.utils.prepend_scheme_if_needed(proxy, "http")
            self._manager = self._adapter.proxy_manager_for(proxy)
        else:
            self._manager = self._adapter.poolmanager
        # requests verifies TLS against its CA bundle (certifi), not the system store.
        self._manager.connection_pool_kw.update(cert_reqs="CERT_REQUIRED",
                                                ca_certs=DEFAULT_CA_BUNDLE_PATH)
        self._retries = self._adapter.max_retries
        self._timeout = urllib3.Timeout(connect=min(CONNECT_TIMEOUT, policy.timeout),
                                        read=policy.timeout)

    def request(self, method: str, route: str, body: bytes | None,
                headers: Mapping[str, str]) -> urllib3.BaseHTTPResponse:
        """The whole answer to one call; RetryableError when the server was not reached."""
        try:
            return self._manager.urlopen(method, self.site + route, body=body,
                                         headers={**API_HEADERS, **headers},
                                         retries=self._retries, timeout=self._timeout)
        except HTTPError as exc:
            raise pool_error(exc, self.host) from None

    def close(self) -> None:
        """Close the pooled connections."""
        self._adapter.close()


def pool_error(exc: HTTPError, host: str) -> RetryableError:
    """A urllib3 failure worded as `transport_error` words requests' own."""
    reason = exc.reason if isinstance(exc, MaxRetryError) and exc.reason else exc
    # A refused connect is a NewConnectionError, which urllib3 still derives from its timeout.
    if isinstance(reason, Urllib3Timeout) and not isinstance(reason, NewConnectionError):
        return RetryableError(f"request to {host} timed out")
    name = ("ProxyError" if isinstance(reason, ProxyError)
            else "SSLError" if isinstance(reason, SSLError) else "ConnectionError")
    return RetryableError(f"connection to {host} failed ({name})")


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


def check_status(status: int, headers: Mapping[str, str]) -> None:
    """Raise ThrottledError for 429, RetryableError for 5xx."""
    if status == 429:
        raise ThrottledError("HTTP 429 Too Many Requests", retry_after(headers))
    if status >= 500:
        raise RetryableError(f"HTTP {status}")


def retry_after(headers: Mapping[str, str]) -> float:
    """The Retry-After header in seconds (0 when absent or a date)."""
    try:
        return max(0.0, float(headers.get("Retry-After", 0)))
    except ValueError:
        return 0.0


def is_json(headers: Mapping[str, str]) -> bool:
    """True when the answer says it is JSON."""
    return "json" in headers.get("Content-Type", "").lower()


def open_download(session: requests.Session, url: str, policy: SourcePolicy,
                  headers: dict | None = None) -> "Download":
    """GET `url` as a stream; ThrottledError/RetryableError/FileError on a bad answer."""
    try:
        response = session.get(url, stream=True, timeout=timeouts(policy), headers=headers)
    except requests.RequestException as exc:
        raise transport_error(exc) from None
    if response.status_code != 200:
        response.close()
        check_status(response.status_code, response.headers)
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
