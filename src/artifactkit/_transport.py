"""The one HTTP client of an `Api`: base URL, authentication, timeouts and retries.

GraphQL requests and file transfers share its connection pool. Retries live here and nowhere
else: connection failures, timeouts while reading, 429 and 502/503/504 are retried with jittered
exponential backoff (honouring `Retry-After`) inside a bounded time budget. A connection refused
by this machine (a loopback address) means nothing listens there: it is given up after a short
budget of its own, with a hint that the server may be down. A request that may
have changed state on the server (a mutation that reached it) is never repeated blindly. A caller
that holds a share of something scarce while it sends (the transfer engine's request slots) passes
a `wait` function, which sleeps between attempts in its place and can give that share back meanwhile.
"""

from __future__ import annotations

import errno
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._version import __version__
from .errors import (
    APITimeoutError,
    ClientClosedError,
    ConfigurationError,
    OfflineError,
    ResponseTooLargeError,
    TransportError,
)

if TYPE_CHECKING:
    import httpx

RETRY_STATUSES = frozenset({429, 502, 503, 504})

MAX_ANSWER_BYTES = 128 << 20
"""The longest GraphQL answer read (decoded); `ARTIFACTKIT_MAX_ANSWER_BYTES` overrides it."""
ERROR_TEXT_BYTES = 64 << 10
"""How much of an error answer's body is read for its message; the rest is not read at all."""

Wait = Callable[[float], None]
"""Waits out the delay before a retry (`time.sleep` unless a caller has a better way)."""

log = logging.getLogger("artifactkit")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts, backoff bounds and the total time budget (seconds).

    `local_refused_budget` is how long a connection refused by this machine (127.0.0.1, ::1,
    localhost) is retried: nothing listens on that port, so the server there is down or still
    starting, and waiting the whole `budget` for it only delays the error. Raise it to bridge a
    local server's restart.
    """

    max_attempts: int = 8
    base_delay: float = 0.25
    max_delay: float = 20.0
    budget: float = 120.0
    local_refused_budget: float = 2.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Full-jitter exponential backoff; a server's `Retry-After` wins when it is longer."""
        backoff = random.uniform(0, min(self.max_delay, self.base_delay * (2**attempt)))
        if retry_after is not None:
            return max(backoff, min(retry_after, self.max_delay * 3))
        return backoff


_OPERATION_KEYWORD = re.compile(r"^\s*(query|mutation|subscription)\b", re.MULTILINE)


def is_mutation(document: str) -> bool:
    """Whether the (first) operation of a GraphQL document is a mutation; fragments may come first."""
    match = _OPERATION_KEYWORD.search(document)
    return match is not None and match.group(1) == "mutation"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    import email.utils

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def byte_limit(variable: str, default: int) -> int:
    """A size limit: `default`, or the positive number of bytes the environment variable `variable` sets."""
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigurationError(f"{variable}={raw!r} must be a positive number of bytes")
    return value


def _too_large(what: str, limit: int, variable: str) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"{what} is longer than {limit:,} bytes; refused without reading the rest "
        f"(a server may not make the client hold more; {variable} raises the limit)",
        limit=limit,
    )


def read_body(response: httpx.Response, limit: int, what: str, variable: str) -> bytes:
    """The whole (decoded) body of a streamed response, or `ResponseTooLargeError` once it passes `limit`.

    `what` names the document in the error, `variable` the environment variable that raises the
    limit. A declared `Content-Length` over the limit is refused before any byte is read.
    """
    declared = response.headers.get("content-length", "")
    identity = response.headers.get("content-encoding", "identity").strip().lower() in ("", "identity")
    if identity and declared.isdigit() and int(declared) > limit:
        raise _too_large(what, limit, variable)
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > limit:
            raise _too_large(what, limit, variable)
    return bytes(body)


def read_error_text(response: httpx.Response) -> str:
    """The start of an error answer's body (at most `ERROR_TEXT_BYTES`), for a message; never raises."""
    import httpx  # loaded with the client that received `response`

    body = bytearray()
    try:
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) >= ERROR_TEXT_BYTES:
                break
    except httpx.HTTPError:
        pass
    return bytes(body[:ERROR_TEXT_BYTES]).decode("utf-8", errors="replace")


def _buffered(response: httpx.Response, limit: int) -> httpx.Response:
    """`response` (streamed) read whole under `limit`, as a plain response holding the decoded body."""
    import httpx

    what = f"the answer to {_describe(response, None)}"
    try:
        body = read_body(response, limit, what, "ARTIFACTKIT_MAX_ANSWER_BYTES")
    finally:
        response.close()
    headers = [
        (name, value)
        for name, value in response.headers.multi_items()
        if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    extensions = {k: v for k, v in response.extensions.items() if k in ("http_version", "reason_phrase")}
    return httpx.Response(
        response.status_code, headers=headers, content=body, request=response.request, extensions=extensions
    )


def is_loopback_host(host: str) -> bool:
    """Whether `host` (a name or an address) is this machine: `localhost`, 127.0.0.0/8, ::1."""
    host = host.strip("[]").lower()
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    import ipaddress

    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # any other name may resolve anywhere
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


@dataclass
class TransportStats:
    """What this client sent: requests, and how many of them were retries."""

    requests: int = 0
    retries: int = 0


class Transport:
    """A retrying wrapper around one `httpx.Client`; also the HTTP client the generated code uses."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        max_connections: int = 64,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # Where the API key came from (a setting, flag or file), named when the server rejects it.
        self.key_source = "WANDB_API_KEY"
        # Where the server address came from, named when the key would cross the network in clear text.
        self.base_url_source = "argument base_url="
        self.max_connections = max_connections
        self.offline = False
        """True: every request raises `OfflineError` before anything is sent (`Api(offline=True)`)."""
        self.retry = retry or RetryPolicy()
        self.stats = TransportStats()
        self._lock = threading.Lock()
        self._api_key = api_key
        self._timeout = timeout
        self._sender = transport
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()
        self._closed = False
        # Whether requests go through a caller's own kind of httpx transport (a mock, a proxy
        # wrapper), which another process could not rebuild from the configuration.
        self.custom_sender = transport is not None and not _is_httpx_default(transport)

    @property
    def client(self) -> httpx.Client:
        """The `httpx.Client` requests go through: built (httpx imported) on first use, closed with this transport."""
        client = self._client
        if client is None:
            with self._client_lock:
                if self._client is None:
                    from ._http import build_client

                    parts = urlsplit(self.base_url)
                    self._client = build_client(
                        self.base_url,
                        self._api_key,
                        exposed=parts.scheme.lower() == "http" and not is_loopback_host(parts.hostname or ""),
                        on_plain_http=self._warn_plain_http,
                        timeout=self._timeout,
                        max_connections=self.max_connections,
                        user_agent=f"artifactkit/{__version__}",
                        transport=self._sender,
                    )
                    if self._closed:
                        self._client.close()
                client = self._client
        return client

    @property
    def closed(self) -> bool:
        """Whether this transport (its `Api`) has been closed; a closed transport sends nothing."""
        return self._closed or (self._client is not None and self._client.is_closed)

    def _warn_plain_http(self) -> None:
        parts = urlsplit(self.base_url)
        where = f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname
        source = self.base_url_source
        if source.endswith("settings"):  # a settings file: a cloned repository may carry one
            source = f"the wandb settings file {source}"
        log.warning(
            "sending the API key (from %s) over plain http to %s, which is not this machine: anyone on the "
            "network between can read it. The server address %s came from %s; use https://, or remove that "
            "setting if you did not put it there",
            self.key_source,
            where,
            self.base_url,
            source,
        )

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/graphql"

    def _count(self, retry: bool) -> None:
        with self._lock:
            self.stats.requests += 1
            if retry:
                self.stats.retries += 1

    def send(
        self,
        request_factory: Callable[[], httpx.Request],
        *,
        idempotent: bool,
        stream: bool = False,
        wait: Wait | None = None,
        limit: int | None = None,
    ) -> httpx.Response:
        """Send a request, retrying what is safe to retry; the final response is returned as is.

        With `limit`, the body is read here (a connection that breaks while it arrives is retried
        like one that breaks before) and a body longer than `limit` bytes raises
        `ResponseTooLargeError`; without it, the body is httpx's to read (`stream`).

        Connection failures (the request never reached the server) are retried for every
        request. Read errors and 502/503/504 are retried only when `idempotent`. 429 means the
        server did not act on the request, so it is retried too.

        `wait(seconds)` is called instead of sleeping before each retry; the policy (how long,
        how often) stays this method's. It may return later than asked, e.g. after getting back
        a slot it gave up while waiting: that extra time is the caller's own queueing, not the
        server's, and is not charged to the retry budget. It may raise to abandon the request.
        """
        if self.offline:
            request = request_factory()
            raise OfflineError(
                f"{request.method} {request.url.copy_with(query=None)} needs the network and this Api is offline "
                "(offline=True or WANDB_MODE); nothing was sent"
            )
        if self.closed:
            raise ClientClosedError("this Api has been closed; create a new Api to send requests")
        import httpx  # loaded by `self.client`

        deadline = time.monotonic() + self.retry.budget
        refused = False
        attempt = 0
        while True:
            self._count(retry=attempt > 0)
            response: httpx.Response | None = None
            error: httpx.TransportError | None = None
            try:
                sent = self.client.send(request_factory(), stream=stream or limit is not None)
                response = sent if limit is None else _buffered(sent, limit)  # a body that breaks is retried
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                error = exc
                if not refused and refused_locally(exc):  # nothing listens on this machine's port
                    refused = True
                    deadline = min(deadline, time.monotonic() + self.retry.local_refused_budget)
            except (
                httpx.ReadError,
                httpx.ReadTimeout,
                httpx.RemoteProtocolError,
                httpx.WriteError,
                httpx.WriteTimeout,
            ) as exc:
                if not idempotent:
                    raise _transport_error(exc) from exc
                error = exc
            retry_after: float | None = None
            if response is not None:
                status = response.status_code
                if status not in RETRY_STATUSES or (status != 429 and not idempotent):
                    return response
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            attempt += 1
            delay = self.retry.delay(attempt, retry_after)
            cause = f"HTTP {response.status_code}" if response is not None else f"{type(error).__name__}: {error}"
            if attempt >= self.retry.max_attempts or time.monotonic() + delay > deadline:
                log.warning("giving up on %s after %d attempt(s) (%s)", _describe(response, error), attempt, cause)
                if response is not None:
                    return response
                assert error is not None
                raise _transport_error(error) from error
            log.info(
                "retrying %s in %.1f s (attempt %d of %d): %s%s",
                _describe(response, error),
                delay,
                attempt + 1,
                self.retry.max_attempts,
                cause,
                f", the server asked to wait {retry_after:.0f} s" if retry_after is not None else "",
            )
            if response is not None:
                response.close()
            started = time.monotonic()
            (wait or time.sleep)(delay)
            deadline += max(0.0, time.monotonic() - started - delay)  # a caller's own queueing is not the server's

    # -- the protocol the generated GraphQL client expects ---------------------------------

    def post(
        self,
        url: Any,
        json: Any | None = None,
        data: Any | None = None,
        files: Any | None = None,
        headers: Any | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """POST a GraphQL document; queries are idempotent, mutations are not.

        The answer is read whole, at most `MAX_ANSWER_BYTES` (`ARTIFACTKIT_MAX_ANSWER_BYTES`).
        """
        idempotent = not is_mutation((json or {}).get("query", ""))
        return self.send(
            lambda: self.client.build_request("POST", url, json=json, headers=headers),
            idempotent=idempotent,
            limit=byte_limit("ARTIFACTKIT_MAX_ANSWER_BYTES", MAX_ANSWER_BYTES),
        )

    @contextmanager
    def stream(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        content: Callable[[], Any] | bytes | None = None,
        wait: Wait | None = None,
    ) -> Iterator[httpx.Response]:
        """An idempotent streamed request (file GET, or PUT of known bytes), retried like a query.

        `content` may be a function returning a fresh body for each attempt (e.g. a file reader);
        `wait` waits before a retry, as in `send`.
        """

        def build() -> httpx.Request:
            body = content() if callable(content) else content
            return self.client.build_request(method, url, headers=headers, content=body)

        response = self.send(build, idempotent=True, stream=True, wait=wait)
        try:
            yield response
        finally:
            response.close()

    def close(self) -> None:
        with self._client_lock:
            self._closed = True
            client = self._client
        if client is not None:
            client.close()


def _is_httpx_default(transport: object) -> bool:
    """Whether `transport` is a plain `httpx.HTTPTransport` (httpx is loaded: the caller made one)."""
    import httpx

    return type(transport) is httpx.HTTPTransport


def _describe(response: httpx.Response | None, error: httpx.TransportError | None) -> str:
    """`POST http://host/graphql` without the query string (signed URLs carry secrets there)."""
    try:
        request = response.request if response is not None else error.request if error is not None else None
    except RuntimeError:
        request = None
    if request is None:
        return "a request"
    return f"{request.method} {request.url.copy_with(query=None)}"


def _refused(exc: BaseException) -> bool:
    """Whether a connection error was a refusal (the host answered: nothing listens on that port)."""
    seen: BaseException | None = exc
    for _ in range(8):  # httpx.ConnectError <- httpcore.ConnectError <- ConnectionRefusedError
        if seen is None:
            return False
        if isinstance(seen, ConnectionRefusedError) or getattr(seen, "errno", None) == errno.ECONNREFUSED:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def refused_locally(exc: httpx.TransportError) -> bool:
    """Whether `exc` is a connection refused by a loopback address: a local server that is not running."""
    import httpx

    try:
        host = exc.request.url.host
    except RuntimeError:
        return False
    return isinstance(exc, httpx.ConnectError) and _refused(exc) and is_loopback_host(host)


def _transport_error(exc: httpx.TransportError) -> TransportError:
    import httpx

    try:
        url = exc.request.url
        where = f"{exc.request.method} {url.copy_with(query=None)}"
    except RuntimeError:
        url, where = None, "request"
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"{where} timed out")
    if isinstance(exc, httpx.ConnectError) and _refused(exc) and url is not None:
        port = url.port or (443 if url.scheme == "https" else 80)
        return TransportError(
            f"{where} failed: connection refused: nothing is listening on {url.host}:{port}; "
            "the server may be down or not started yet"
        )
    return TransportError(f"{where} failed: {type(exc).__name__}: {exc}")
