"""A hostile W&B server for SDK tests: a real HTTP server in front of the emulator.

`HostileFront` forwards every request to an emulator and answers with what it answers, keeping
the `Host` header, so the signed URLs the emulator hands out point back at the front as well.
Rules turn chosen requests into what no honest server sends: a body that never ends, or one padded
to an exact length. Hooks (`before`) run when a chosen request arrives, to change the world at
exactly that step of a client's protocol. It is a real part (a socket, HTTP/1.1, the SDK's own client), standing in for
a failure the emulator cannot produce.
"""

from __future__ import annotations

import http.server
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from artifactkit.server.embedded import EmbeddedEmulator

Match = Callable[[str, str, bytes], bool]
"""(method, path, request body) -> whether the rule applies."""

CHUNK = 64 << 10
_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection", "content-encoding"})


@dataclass
class Rule:
    match: Match
    body: Callable[[bytes | None], Iterator[bytes]]
    """Given the emulator's own answer (None when it is not asked), the chunks to send instead."""
    ask_emulator: bool = False
    content_type: str = "application/json"
    status: int = 200


@dataclass
class FrontStats:
    """Bytes each rule managed to send before the client hung up, in the order requests came."""

    sent: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, n: int) -> None:
        with self.lock:
            self.sent.append(n)

    def settled(self, answers: int, timeout: float = 60) -> list[int]:
        """`sent` once `answers` rule answers have ended (the client hung up on them, or they were whole)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.sent) >= answers:
                    return list(self.sent)
            time.sleep(0.01)
        raise AssertionError(f"only {len(self.sent)} of {answers} answers ended within {timeout} s")


ENDLESS = 256 << 20  # "forever" for a test: far past any limit a test sets, short of hurting the machine


def endless(_answer: bytes | None) -> Iterator[bytes]:
    """`{"contents": {"a": ` and then spaces: valid JSON so far, never complete (cut at `ENDLESS`)."""
    yield b'{"contents": {"a": '
    filler = b" " * CHUNK
    for _ in range(ENDLESS // CHUNK):
        yield filler


def padded_to(size: int) -> Callable[[bytes | None], Iterator[bytes]]:
    """The emulator's own answer with trailing spaces (still the same JSON) up to exactly `size` bytes."""

    def body(answer: bytes | None) -> Iterator[bytes]:
        assert answer is not None and len(answer) <= size
        yield answer
        remaining = size - len(answer)
        while remaining:
            n = min(CHUNK, remaining)
            yield b" " * n
            remaining -= n

    return body


class HostileFront:
    def __init__(self, emulator: EmbeddedEmulator) -> None:
        self.emulator = emulator
        self.rules: list[Rule] = []
        self.before: list[Callable[[str, str, bytes], None]] = []
        """Called with (method, path, body) before a request is answered or forwarded."""
        self.requests: list[tuple[str, str, bytes]] = []
        """Every request received: (method, path without the query, body)."""
        self.stats = FrontStats()
        self._upstream = httpx.Client(base_url=emulator.url, timeout=60)
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with front.stats.lock:
                    front.requests.append((self.command, self.path.split("?", 1)[0], body))
                for hook in front.before:
                    hook(self.command, self.path, body)
                rule = next((r for r in front.rules if r.match(self.command, self.path, body)), None)
                if rule is None or rule.ask_emulator:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("content-length",)}
                    upstream = front._upstream.request(self.command, self.path, content=body, headers=headers)
                if rule is None:
                    self.send_response(upstream.status_code)
                    for name, value in upstream.headers.items():
                        if name.lower() not in _HOP_BY_HOP:
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(upstream.content)))
                    self.end_headers()
                    self.wfile.write(upstream.content)
                    return
                self.send_response(rule.status)
                self.send_header("Content-Type", rule.content_type)
                self.send_header("Connection", "close")  # no length: the body ends when the server closes
                self.end_headers()
                self.close_connection = True
                sent = 0
                try:
                    for chunk in rule.body(upstream.content if rule.ask_emulator else None):
                        self.wfile.write(chunk)
                        sent += len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client hung up: what a capped reader does
                finally:
                    front.stats.record(sent)

            do_GET = do_POST = do_PUT = _handle

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> HostileFront:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._upstream.close()


def is_manifest(method: str, path: str, _body: bytes) -> bool:
    return method == "GET" and path.split("?", 1)[0].endswith("/wandb_manifest.json")


def is_operation(name: str) -> Match:
    """GraphQL requests running the operation `name`."""
    pattern = re.compile(rf"\b(query|mutation)\s+{re.escape(name)}\b".encode())
    return lambda method, path, body: method == "POST" and path.startswith("/graphql") and bool(pattern.search(body))
