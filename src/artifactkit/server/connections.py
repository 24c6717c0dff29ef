"""Bounds on connections and on how slowly a request may arrive, below the ASGI application.

uvicorn bounds neither the time a request's head may take nor (with httptools) its size, and it
never closes a connection that has not sent a request yet: a client that opens connections and
sends nothing, or a header a byte at a time, holds them for as long as it likes. So:

* `GuardedProtocol`, uvicorn's httptools protocol with these additions: a request's head must be
  complete within `Settings.header_timeout_seconds` of the connection opening or of the previous
  answer (a partial head is answered 408, an idle connection closed), and at most
  `max_header_bytes` long (431); a request arriving while more than `max_connections`
  connections are open is answered 503 at once, and a connection opened while more than twice
  that are open is closed unanswered.
* a deadline for reading an answer: a client that reads none of it for `send_timeout_seconds`
  (the server's buffers full, waiting on the client) is dropped, as nginx's send_timeout does;
* and a deadline for the body: it must arrive within `body_timeout_seconds`, extended by a second
  for every `min_body_bytes_per_second` bytes received (a floor on the rate, as Apache's
  mod_reqtimeout has it): an 8 MiB GraphQL body gets 158 s, and a blob upload may take as long as
  it keeps moving. Past it the request is answered 408 and its connection closed. While the
  server is the one not reading (a request waiting for its turn, with uvicorn's buffer full or
  the client waiting for `100 Continue`), the clock starts again.

All of it lives in the protocol, where it costs a timer per request, not an await per message.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _error_body(message: str, code: str) -> bytes:
    """A GraphQL error document, as every error answer of the emulator has it."""
    return json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()


def _raw_answer(status: int, reason: str, message: str, code: str) -> bytes:
    """A complete HTTP/1.1 answer with a GraphQL error body, after which the connection closes."""
    body = _error_body(message, code)
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol (httptools) with a deadline and a size for every request head
    and a bound on open connections. Made per emulator by `guarded_protocol`."""

    settings: Settings

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._in_head = True
        self._head_bytes = 0
        self._head_tail = b""
        self._body_timer: asyncio.TimerHandle | None = None
        self._body_started = 0.0
        self._body_counted = 0  # bytes of the body before `_body_started`
        self._body_bytes = 0
        self._send_timer: asyncio.TimerHandle | None = None
        if len(self.connections) > 2 * self.settings.max_connections:
            transport.close()  # far past the bound: not even an answer
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        self._cancel_body_timer()
        self._cancel_send_timer()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        """The answer's bytes wait for the client to read: it must read some within
        `send_timeout_seconds` (as nginx's send_timeout), or the connection is dropped. A client
        that opens downloads and never reads them would otherwise hold a connection, a file and a
        task each for as long as it likes."""
        super().pause_writing()
        self._cancel_send_timer()
        self._send_timer = self.loop.call_later(self.settings.send_timeout_seconds, self._send_timeout)

    def resume_writing(self) -> None:
        super().resume_writing()
        self._cancel_send_timer()

    def data_received(self, data: bytes) -> None:
        if self._in_head:  # the head so far, up to its blank line: at most `max_header_bytes`
            tail, stop = self._head_tail, None
            if tail:  # the blank line may straddle two reads
                edge = (tail + data[:3]).find(b"\r\n\r\n")
                stop = None if edge < 0 else edge + 4 - len(tail)
            if stop is None:
                found = data.find(b"\r\n\r\n")
                stop = None if found < 0 else found + 4
            self._head_bytes += len(data) if stop is None else stop
            self._head_tail = (tail + data)[-3:]
            limit = self.settings.max_header_bytes
            if self._head_bytes > limit:
                self._refuse(431, "Request Header Fields Too Large", f"the request head is over {limit:,} bytes")
                return
        super().data_received(data)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._cancel_body_timer()
        self._in_head = True  # what comes next is the next request's head
        self._head_bytes = 0
        self._head_tail = b""

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_head_timer()
        self._start_body_clock()
        limit = self.settings.max_connections
        if len(self.connections) <= limit:
            super().on_headers_complete()
            return
        app = self.app
        self.app = _busy(len(self.connections), limit)
        try:
            super().on_headers_complete()
        finally:
            self.app = app

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._body_bytes += len(body)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_timer()  # the next request's head has its own deadline

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.settings.header_timeout_seconds, self._head_timeout)

    def _cancel_head_timer(self) -> None:
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
            self._head_timer = None

    def _start_body_clock(self) -> None:
        self._cancel_body_timer()
        self._body_started = time.monotonic()
        self._body_counted = self._body_bytes = 0
        self._body_timer = self.loop.call_later(self.settings.body_timeout_seconds, self._body_timeout)

    def _cancel_body_timer(self) -> None:
        timer = getattr(self, "_body_timer", None)
        if timer is not None:
            timer.cancel()
            self._body_timer = None

    def _body_timeout(self) -> None:
        self._body_timer = None
        cycle = self.cycle
        if self.transport.is_closing() or cycle is None or cycle.response_complete:
            return  # answered already: what is left of the body is the next head's deadline's
        settings = self.settings
        now = time.monotonic()
        if self.flow.read_paused or cycle.waiting_for_100_continue:  # the server is the one not reading
            self._body_started, self._body_counted = now, self._body_bytes
            self._body_timer = self.loop.call_later(settings.body_timeout_seconds, self._body_timeout)
            return
        sent = self._body_bytes - self._body_counted
        due = self._body_started + settings.body_timeout_seconds + sent / settings.min_body_bytes_per_second
        if now < due:  # it kept moving: the deadline moved with it
            self._body_timer = self.loop.call_later(due - now, self._body_timeout)
            return
        if cycle.response_started:
            self.transport.close()
            return
        self._refuse(
            408,
            "Request Timeout",
            f"the request body did not arrive in time: {self._body_bytes:,} bytes in {now - self._body_started:.0f} s "
            f"(a body gets {settings.body_timeout_seconds:g} s, plus a second per "
            f"{settings.min_body_bytes_per_second:,} bytes it sends)",
        )

    def _cancel_send_timer(self) -> None:
        timer = getattr(self, "_send_timer", None)
        if timer is not None:
            timer.cancel()
            self._send_timer = None

    def _send_timeout(self) -> None:
        self._send_timer = None
        self.transport.abort()  # what it did not read is dropped, and the answer's task ends at once

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._in_head and self._head_bytes > 0:
            seconds = self.settings.header_timeout_seconds
            self._refuse(408, "Request Timeout", f"the request head did not arrive within {seconds:g} s")
        else:
            self.transport.close()  # idle: nothing to answer

    def _refuse(self, status: int, reason: str, message: str) -> None:
        self._cancel_head_timer()
        self._cancel_body_timer()
        codes = {408: "REQUEST_TIMEOUT", 431: "HEADERS_TOO_LARGE"}
        self.transport.write(_raw_answer(status, reason, message, codes[status]))
        self.transport.close()


def guarded_protocol(settings: Settings) -> type[GuardedProtocol]:
    """`GuardedProtocol` bound to one emulator's settings (uvicorn makes one per connection)."""
    return type("EmulatorHttpProtocol", (GuardedProtocol,), {"settings": settings})


def _busy(open_connections: int, limit: int) -> ASGIApp:
    """The answer to a request that arrived while too many connections were open."""
    body = _error_body(
        f"the server has {open_connections:,} connections open (its limit is {limit:,}); try again shortly",
        "SERVER_BUSY",
    )

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", b"1"),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app
