"""Helpers for the hostile-client tests: raw requests on one keep-alive connection, documents."""

from __future__ import annotations

import base64
import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import httpx

from artifactkit.server.embedded import EmbeddedEmulator

# Generous: a request that is bounded answers in milliseconds; one that is not never does.
TIMEOUT = 20


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"api:{key}".encode()).decode()}


def gql(emu: Any, query: str, key: str | None = None, **variables: Any) -> httpx.Response:
    """POST a GraphQL document with `key` (None: no Authorization header)."""
    body: dict[str, Any] = {"query": query}
    if variables:
        body["variables"] = variables
    headers = {} if key is None else basic(key)
    return httpx.post(f"{emu.url}/graphql", json=body, headers=headers, timeout=TIMEOUT)


def fragment_bomb(levels: int, root: str = "Query") -> str:
    """`levels` fragments, each spreading the one before twice: 2^levels paths in 1-2 KB."""
    lines = [f"fragment F0 on {root} {{ __typename }}"]
    lines += [f"fragment F{i} on {root} {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    return f"query Bomb {{ ...F{levels} }}\n" + "\n".join(lines)


class KeepAlive:
    """One HTTP/1.1 connection used for several requests, to see whether the server drops it."""

    def __init__(self, emu: EmbeddedEmulator) -> None:
        url = urlsplit(emu.url)
        self.conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=TIMEOUT)
        self.conn.connect()
        self.sock = self.conn.sock

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
        """(status, decoded JSON body or None, whether the connection is still the same and open)."""
        self.conn.request(method, path, body=body, headers=headers or {})
        response = self.conn.getresponse()
        raw = response.read()
        try:
            decoded = json.loads(raw) if raw else None
        except ValueError:
            decoded = None
        kept = self.conn.sock is not None and self.conn.sock is self.sock and not response.will_close
        return response.status, decoded, kept

    def close(self) -> None:
        self.conn.close()
