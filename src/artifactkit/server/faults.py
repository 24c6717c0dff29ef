"""Fault injection: make the emulator misbehave the way networks and overloaded servers do.

`FaultInjector` wraps the emulator's ASGI app. At a configured rate (with a seed, so a run can be
repeated) it answers a request with one of:

* `429`      — Too Many Requests with `Retry-After`
* `503`      — Service Unavailable
* `reset`    — response headers, then the connection is dropped before any body byte
* `truncate` — half of the real body, then the connection is dropped
* `stall`    — the request hangs for `stall_seconds` before being served normally

Configure at start (`artifactkit serve --faults "rate=0.2,seed=7,kinds=429+503+reset"`) or at run
time with `PUT /_emulator/faults` (JSON with the same keys; `{"rate": 0}` turns it off).
Only the routes listed in `routes` (default: graphql, blob, upload) are affected; health and the
`/_emulator` routes never are. Injected faults are counted in the emulator's stats.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field, replace
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

KINDS = ("429", "503", "reset", "truncate", "stall")
ROUTES = ("graphql", "blob", "upload", "fallback_blob")


class FaultSpecError(ValueError):
    """A fault specification that cannot be understood."""


@dataclass(frozen=True)
class FaultPlan:
    rate: float = 0.0
    seed: int = 0
    kinds: tuple[str, ...] = ("429", "503", "reset", "truncate")
    routes: tuple[str, ...] = ("graphql", "blob", "upload")
    retry_after: int = 1
    stall_seconds: float = 5.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise FaultSpecError(f"rate must be between 0 and 1, got {self.rate}")
        unknown = set(self.kinds) - set(KINDS)
        if unknown or not self.kinds:
            raise FaultSpecError(f"unknown fault kinds {sorted(unknown)}; known: {', '.join(KINDS)}")
        bad_routes = set(self.routes) - set(ROUTES)
        if bad_routes:
            raise FaultSpecError(f"unknown routes {sorted(bad_routes)}; known: {', '.join(ROUTES)}")

    @classmethod
    def parse(cls, spec: str) -> FaultPlan:
        """`rate=0.2,seed=7,kinds=429+503,routes=graphql+blob,retry_after=1,stall_seconds=3`."""
        values: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            key, sep, value = item.partition("=")
            if not sep:
                raise FaultSpecError(f"expected key=value in fault spec, got {item!r}")
            values[key.strip()] = value.strip()
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: dict[str, Any], base: FaultPlan | None = None) -> FaultPlan:
        plan = base or cls()
        converters: dict[str, Callable[[Any], Any]] = {
            "rate": float,
            "seed": int,
            "retry_after": int,
            "stall_seconds": float,
            "kinds": _names,
            "routes": _names,
        }
        changes = {}
        for key, value in values.items():
            if key not in converters:
                raise FaultSpecError(f"unknown fault setting {key!r}; known: {', '.join(converters)}")
            try:
                changes[key] = converters[key](value)
            except (TypeError, ValueError) as exc:
                raise FaultSpecError(f"bad value for {key}: {value!r}") from exc
        return replace(plan, **changes)


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(v for v in value.replace("+", " ").replace("|", " ").split() if v)
    return tuple(str(v) for v in value)


@dataclass
class FaultState:
    """The current plan, its random stream and what was injected; shared across threads."""

    plan: FaultPlan = field(default_factory=FaultPlan)
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(self.plan.seed)

    def configure(self, plan: FaultPlan) -> None:
        with self._lock:
            self.plan = plan
            self._random = random.Random(plan.seed)

    def draw(self, route: str) -> str | None:
        with self._lock:
            plan = self.plan
            if plan.rate <= 0 or route not in plan.routes:
                return None
            if self._random.random() >= plan.rate:
                return None
            kind = self._random.choice(plan.kinds)
            self.injected[kind] += 1
            return kind


class _Dropped(BaseException):
    """Raised after a partial response so the server drops the connection.

    A BaseException, so that no `except Exception` on the way (Starlette's error middleware)
    turns it into a logged 500: it must reach the server, which then closes the connection.
    """


class FaultInjector:
    """ASGI middleware applying `FaultState` to requests, by route kind."""

    def __init__(self, app: ASGIApp, state: FaultState, route_kind: Callable[[str], str]) -> None:
        self.app = app
        self.state = state
        self.route_kind = route_kind

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_emulator/") or scope["path"] == "/health":
            await self.app(scope, receive, send)
            return
        kind = self.state.draw(self.route_kind(scope["path"]))
        if kind is None:
            await self.app(scope, receive, send)
        elif kind in ("429", "503"):
            await _drain(receive)
            headers = [(b"content-type", b"application/json")]
            if kind == "429":
                headers.append((b"retry-after", str(self.state.plan.retry_after).encode()))
            body = b'{"errors": [{"message": "injected fault: ' + kind.encode() + b'"}]}'
            await send({"type": "http.response.start", "status": int(kind), "headers": headers})
            await send({"type": "http.response.body", "body": body})
        elif kind == "stall":
            await asyncio.sleep(self.state.plan.stall_seconds)
            await self.app(scope, receive, send)
        else:
            await self._cut(scope, receive, send, keep_half=kind == "truncate")

    async def _cut(self, scope: Scope, receive: Receive, send: Send, *, keep_half: bool) -> None:
        """Serve the request, but cut the response off: after the headers, or half-way through."""
        remaining = 0

        async def cutting_send(message: Message) -> None:
            nonlocal remaining
            if message["type"] == "http.response.start":
                length = dict(message.get("headers", [])).get(b"content-length", b"0")
                remaining = int(length) // 2 if keep_half else 0
                await send(message)
                if remaining <= 0:
                    raise _Dropped("injected fault: connection dropped after the headers")
            elif message["type"] == "http.response.body":
                body = bytes(message.get("body", b""))
                if len(body) >= remaining:
                    await send({"type": "http.response.body", "body": body[:remaining], "more_body": True})
                    raise _Dropped("injected fault: connection dropped mid-body")
                remaining -= len(body)
                await send(message)

        await self.app(scope, receive, cutting_send)


class _QuietDrops(logging.Filter):
    """Keep the server log free of the tracebacks injected drops cause."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, _Dropped)


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return
