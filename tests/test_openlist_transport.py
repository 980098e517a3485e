"""OpenList API calls on urllib3's pool: proxies, retries, timeouts and TLS as requests had."""

import base64
import datetime
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from strmsync.errors import RetryableError
from strmsync.strm.drivers import open_remote
from tests.remote import FAST, media_targets, run_sync, strm_files
from tests.standins.forwardproxy import ForwardProxy

PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                   "ALL_PROXY", "no_proxy", "NO_PROXY")


@pytest.fixture
def proxy(monkeypatch):
    """A forward proxy, with no proxy variables set yet."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    server = ForwardProxy().start()
    yield server
    server.stop()


def test_listings_and_downloads_go_through_the_environments_proxy(
        store, openlist_backend, proxy, monkeypatch, tmp_path):
    where = proxy.url.split("//", 1)[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://proxy%20user:s3cret@{where}")

    summary = run_sync(store, openlist_backend, tmp_path / "target")

    assert summary.status == "succeeded", summary.error
    assert set(strm_files(tmp_path / "target")) == set(media_targets())
    listed = openlist_backend.server.traffic.calls["fs/list"]
    assert listed > 5 and proxy.paths().count("/api/fs/list") == listed
    assert any(path.startswith("/d/") for path in proxy.paths()), "metadata downloads too"
    expected = "Basic " + base64.b64encode(b"proxy user:s3cret").decode()
    assert {auth for _, _, auth in proxy.relayed} == {expected}


def test_no_proxy_sends_the_calls_straight_to_the_site(
        store, openlist_backend, proxy, monkeypatch, tmp_path):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")

    summary = run_sync(store, openlist_backend, tmp_path / "target")

    assert summary.status == "succeeded", summary.error
    assert openlist_backend.server.traffic.calls["fs/list"] > 5
    assert proxy.relayed == []


def test_a_listing_answered_502_is_retried_until_it_lists(store, openlist_backend, tmp_path):
    openlist_backend.server.faults.throttle("http502", times=2, endpoint="fs/list")
    driver = openlist_backend.driver(attempts=3)

    summary = run_sync(store, openlist_backend, tmp_path / "target", driver=driver)

    assert summary.status == "succeeded", summary.error
    assert set(strm_files(tmp_path / "target")) == set(media_targets())
    assert openlist_backend.list_attempts("") == 3
    assert driver.gate.stats["retries"] == 2


def test_a_slow_site_times_out_and_is_retried_then_named(openlist_backend):
    openlist_backend.server.faults.latency = 0.6
    driver = openlist_backend.driver(attempts=2, timeout=0.2)
    host = openlist_backend.server.url.split("//", 1)[1]

    with pytest.raises(RetryableError, match=f"request to {host} timed out .gave up after 2"):
        driver.list_dir("")


def test_a_site_that_is_not_there_is_a_retryable_connection_failure():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    source = {"kind": "openlist", "config": {"url": f"http://127.0.0.1:{port}"},
              "secrets": {"token": "t"}}
    driver = open_remote(source, "/", **{**FAST, "attempts": 2})
    try:
        with pytest.raises(RetryableError, match=f"connection to 127.0.0.1:{port} failed"
                                                 r" \(ConnectionError\) \(gave up after 2"):
            driver.list_dir("")
    finally:
        driver.close()


def test_a_certificate_nobody_vouches_for_is_refused(tmp_path):
    server = _tls_server(tmp_path)
    port = server.server_address[1]
    source = {"kind": "openlist", "config": {"url": f"https://127.0.0.1:{port}"},
              "secrets": {"token": "t"}}
    driver = open_remote(source, "/", **{**FAST, "attempts": 1})
    try:
        with pytest.raises(RetryableError, match=r"failed \(SSLError\)"):
            driver.list_dir("")
    finally:
        driver.close()
        server.shutdown()
        server.server_close()


class _Envelope(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format, *args) -> None:  # noqa: A002 - http.server's signature
        pass


def _tls_server(tmp_path) -> ThreadingHTTPServer:
    """An HTTPS server on 127.0.0.1 with a self-signed certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Envelope)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    return server
