"""TLS is made on demand but never loosened: https is verified, plain http needs no certificates.

A local https server with a certificate from a throwaway CA (trustme): unknown to the system's
trust store, so a verifying client must refuse it, and must accept it once the CA is trusted
through `SSL_CERT_FILE`, as httpx's own transport does.
"""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from artifactkit._http import TLSOnDemand

pytestmark = pytest.mark.timeout(60)


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(context: ssl.SSLContext | None) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        scheme = "https" if context is not None else "http"
        yield f"{scheme}://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def https_url(ca: trustme.CA) -> Iterator[str]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    yield from serve(context)


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    yield from serve(None)


def client() -> tuple[httpx.Client, TLSOnDemand]:
    transport = TLSOnDemand(httpx.Limits(max_connections=4))
    return httpx.Client(transport=transport), transport


def test_plain_http_makes_no_tls_context(http_url: str) -> None:
    http, transport = client()
    with http:
        assert http.get(http_url).text == "hello"
    assert transport._secure is None


def test_an_untrusted_certificate_is_refused(https_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    http, transport = client()
    with http, pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        http.get(https_url)
    assert transport._secure is not None


def test_a_certificate_from_a_trusted_ca_is_accepted(
    https_url: str, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    http, _ = client()
    with http:
        assert http.get(https_url).text == "hello"


def test_the_plain_pool_would_refuse_tls_rather_than_skip_checks(https_url: str) -> None:
    """Were the http:// pool ever handed an https URL, it verifies against an empty trust store."""
    _, transport = client()
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        transport._plain.handle_request(httpx.Request("GET", https_url))
