"""Encoding a GraphQL answer to JSON without holding the interpreter for long at a time.

orjson encodes fast but in one call that holds the GIL throughout: 200 MB of answer is 0.2-0.6 s
in which no other thread runs, the event loop's included, wherever the call is made. A small
answer (`PIECE_CHARS` and under, measured as the executor measures it) is encoded in one call. A
larger one is cut into pieces: containers that fit in a piece are encoded whole, larger ones are
written key by key, and a text value longer than a piece in slices (escaping is per character,
so the slices' encodings joined are the value's). Between orjson calls the encoding thread runs
Python, where the interpreter hands the GIL to whichever thread waits for it, and the pieces go
out one by one (`PiecesResponse`), so no single copy of the whole answer is ever made.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio.lowlevel
import orjson
from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .limits import VALUE_OVERHEAD

# The most one orjson call encodes (characters of text plus VALUE_OVERHEAD per value): about
# 0.3 ms, and at most six times as many bytes out (a control character becomes \u00XX).
PIECE_CHARS = 256 * 1024


def encode(document: Any, size: int) -> bytes | list[bytes]:
    """`document` as JSON: one `bytes` when `size` (its measure) fits in a piece, else pieces."""
    if size <= PIECE_CHARS:
        return orjson.dumps(document)
    return list(pieces(document))


def pieces(document: Any) -> Iterator[bytes]:
    """`document` as JSON, in pieces of about `PIECE_CHARS` (each at most one orjson call long)."""
    sizes = _sizes(document)
    buffer = bytearray()
    for chunk in _encode(document, sizes):
        buffer += chunk
        if len(buffer) >= PIECE_CHARS:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


def _size(value: Any, sizes: dict[int, int]) -> int:
    if value.__class__ is str:
        return len(value) + VALUE_OVERHEAD
    if isinstance(value, (dict, list)):
        return sizes[id(value)]
    return VALUE_OVERHEAD


def _sizes(document: Any) -> dict[int, int]:
    """The measure of every container of `document`, by `id` (computed once for a shared one)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(document, False)]
    while stack:
        value, children_done = stack.pop()
        if not isinstance(value, (dict, list)) or (id(value) in sizes and not children_done):
            continue
        children = value.values() if isinstance(value, dict) else value
        if not children_done:
            stack.append((value, True))
            stack.extend((child, False) for child in children if isinstance(child, (dict, list)))
            continue
        total = VALUE_OVERHEAD
        for child in children:
            total += _size(child, sizes)
        if isinstance(value, dict):
            total += sum(len(key) for key in value)
        sizes[id(value)] = total
    return sizes


def _encode(value: Any, sizes: dict[int, int]) -> Iterator[bytes]:
    if value.__class__ is str and len(value) > PIECE_CHARS:
        yield b'"'
        for start in range(0, len(value), PIECE_CHARS):
            yield orjson.dumps(value[start : start + PIECE_CHARS])[1:-1]
        yield b'"'
        return
    if not isinstance(value, (dict, list)) or sizes[id(value)] <= PIECE_CHARS:
        yield orjson.dumps(value)
        return
    if isinstance(value, dict):
        yield b"{"
        for index, (key, child) in enumerate(value.items()):
            yield (b"," if index else b"") + orjson.dumps(key) + b":"
            yield from _encode(child, sizes)
        yield b"}"
        return
    yield b"["
    for index, child in enumerate(value):
        if index:
            yield b","
        yield from _encode(child, sizes)
    yield b"]"


class PiecesResponse(Response):
    """A response whose body is sent as the pieces it was encoded in, with its full length declared."""

    def __init__(self, body: list[bytes], status_code: int = 200, media_type: str = "application/json") -> None:
        self.parts = body
        self.status_code = status_code
        self.media_type = media_type
        self.background: BackgroundTask | None = None
        self.body = b""
        self.init_headers({"content-length": str(sum(len(part) for part in body))})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        last = len(self.parts) - 1
        for index, part in enumerate(self.parts):
            await send({"type": "http.response.body", "body": part, "more_body": index < last})
            await anyio.lowlevel.checkpoint()  # other requests run between pieces
        if last < 0:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
