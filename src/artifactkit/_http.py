"""The httpx side of the transport: the client a `Transport` sends through, built on its first request.

Kept apart from `_transport` so that an `Api` that has sent nothing has not imported httpx (and
httpcore, ssl and the email parser with it): `Transport.client` imports this module when the
first request is built.
"""

from __future__ import annotations

import base64
import ssl
import threading
from collections.abc import Callable, Generator

import httpx


class OriginAuth(httpx.Auth):
    """HTTP Basic `api:<key>`, sent only to the W&B server itself, never to storage URLs.

    `exposed` says whether the origin is plain http on another machine: then, the first time the
    key is about to be sent, `on_plain_http()` is called (the transport logs a warning naming where
    the key and the server address came from).
    """

    def __init__(
        self, origin: tuple[str, str, int | None], api_key: str, *, exposed: bool, on_plain_http: Callable[[], None]
    ) -> None:
        self._origin = origin
        token = base64.b64encode(f"api:{api_key}".encode()).decode("ascii")
        self._header = f"Basic {token}"
        self._exposed = exposed
        self._on_plain_http = on_plain_http
        self._warned = threading.Event()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        url = request.url
        if (url.scheme, url.host, url.port) == self._origin:
            if self._exposed and not self._warned.is_set():
                self._warned.set()
                self._on_plain_http()
            request.headers["Authorization"] = self._header
        yield request


class TLSOnDemand(httpx.BaseTransport):
    """httpx's own transport, whose verified TLS context is made when the first https:// URL is sent.

    Loading the system's CA certificates costs ~16 ms at every start of a process, and a client
    that only talks to a local http:// server (the emulator) never needs them. Plain http:// goes
    through a pool that has no usable TLS context at all: were it ever asked for TLS it would
    refuse every certificate, never accept one unchecked. Proxies from the environment are
    mounted by httpx itself, in front of this transport, as before.
    """

    def __init__(self, limits: httpx.Limits) -> None:
        self._limits = limits
        self._plain = httpx.HTTPTransport(verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), limits=limits)
        self._secure: httpx.HTTPTransport | None = None
        self._lock = threading.Lock()

    def _secure_transport(self) -> httpx.HTTPTransport:
        with self._lock:
            if self._secure is None:
                self._secure = httpx.HTTPTransport(limits=self._limits, trust_env=True)
            return self._secure

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "https":
            return self._secure_transport().handle_request(request)
        return self._plain.handle_request(request)

    def close(self) -> None:
        self._plain.close()
        with self._lock:
            if self._secure is not None:
                self._secure.close()


def origin_of(url: str) -> tuple[str, str, int | None]:
    """`(scheme, host, port)` of `url` as httpx normalises them (a scheme's default port is None)."""
    parsed = httpx.URL(url)
    return parsed.scheme, parsed.host, parsed.port


def build_client(
    base_url: str,
    api_key: str,
    *,
    exposed: bool,
    on_plain_http: Callable[[], None],
    timeout: float,
    max_connections: int,
    user_agent: str,
    transport: httpx.BaseTransport | None,
) -> httpx.Client:
    """The `httpx.Client` of one `Transport`: the key for the server only, TLS made when first needed."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return httpx.Client(
        auth=OriginAuth(origin_of(base_url), api_key, exposed=exposed, on_plain_http=on_plain_http),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        headers={"User-Agent": user_agent},
        limits=limits,
        follow_redirects=True,
        transport=transport if transport is not None else TLSOnDemand(limits),
        trust_env=True,
    )
