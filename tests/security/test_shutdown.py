"""Finding 1 (second half): SIGTERM stops the server within 5 s, whatever its clients are doing."""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from artifactkit.server.embedded import EmulatorProcess
from tests.security.support import fragment_bomb


def test_sigterm_stops_the_server_within_5_seconds_under_load(tmp_path: Path) -> None:
    server = EmulatorProcess(tmp_path / "data").start()
    url = urlsplit(server.url)
    stalled = socket.create_connection((url.hostname, url.port))
    # An upload that announces 1 MB and sends 10 bytes, then nothing.
    stalled.sendall(
        b"PUT /storage/upload/" + b"0" * 32 + b"?exp=9999999999&sig=x HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: 1000000\r\n\r\n0123456789"
    )
    for _ in range(4):  # and documents that would take forever to walk
        with contextlib.suppress(httpx.TimeoutException):
            httpx.post(
                f"{server.url}/graphql", json={"query": fragment_bomb(40)}, auth=("api", server.api_key), timeout=0.5
            )
    assert server.process is not None
    started = time.monotonic()
    server.stop(timeout=30)
    assert time.monotonic() - started < 5.0
    stalled.close()
