"""Issue 17, own issue of finding 6: no connection is held open without a bound, in time or number.

Before: uvicorn closed no connection that had not sent a request, a head could arrive a byte a
minute, a key holder could declare an 8 MiB body and send it never, heads of any size were
parsed, and connections were not counted. Now (`connections.GuardedProtocol`): a head must arrive
within `header_timeout_seconds` and hold at most `max_header_bytes`; a body within
`body_timeout_seconds` plus a second per `min_body_bytes_per_second` bytes sent; a request arriving
while more than `max_connections` connections are open is answered 503 at once, and past twice
that a new connection is closed unanswered. And a request's time budget counts the time it
waited for a worker thread.

The deadlines here are a second or two, so that a test does not wait 20 s; the client side waits
`TIMEOUT` (20 s) for anything, so a busy machine slows these tests down without failing them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from artifactkit.server.embedded import EmbeddedEmulator
from tests.conftest import _in_flight, make_api
from tests.security.support import TIMEOUT, basic, gql

QUERY = json.dumps({"query": '{ project(entityName: "local", name: "none") { name } }'}).encode()


def connect(emu: EmbeddedEmulator) -> socket.socket:
    url = urlsplit(emu.url)
    return socket.create_connection((url.hostname, url.port), timeout=TIMEOUT)


def read_answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def json_body(answer: bytes) -> Any:
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])


def head(emu: EmbeddedEmulator, length: int, extra: str = "") -> bytes:
    auth = basic(emu.api_key)["Authorization"]
    return (
        f"POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n{extra}\r\n"
    ).encode()


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEmulator]:
    settings = {
        "header_timeout_seconds": 1.0,
        "body_timeout_seconds": 1.0,
        "min_body_bytes_per_second": 1024,
    }
    with EmbeddedEmulator(tmp_path_factory.mktemp("connections"), **settings) as emulator:
        yield emulator


def test_a_connection_that_sends_nothing_is_closed_at_the_head_deadline(quick: EmbeddedEmulator) -> None:
    with connect(quick) as sock:
        started = time.monotonic()
        assert read_answer(sock) == b""  # before: no answer and no close, until the client gave up
        assert time.monotonic() - started >= 0.9


def test_a_head_sent_a_byte_at_a_time_is_answered_408_at_its_deadline(quick: EmbeddedEmulator) -> None:
    """The deadline is for the whole head: every byte arriving does not start it again."""
    with connect(quick) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        deadline = time.monotonic() + TIMEOUT
        answer = b""
        while time.monotonic() < deadline and not answer:
            try:
                sock.sendall(b"X")
            except OSError:
                break
            sock.settimeout(0.2)
            try:
                answer = sock.recv(65536)
            except TimeoutError:
                continue
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer[:200]
        assert json_body(answer) == {
            "errors": [
                {"message": "the request head did not arrive within 1 s", "extensions": {"code": "REQUEST_TIMEOUT"}}
            ]
        }


def test_a_body_that_stops_arriving_is_answered_408_and_its_connection_closed(quick: EmbeddedEmulator) -> None:
    """A key holder declares 8 MiB and sends 10 bytes: before, the request waited for the rest forever."""
    with connect(quick) as sock:
        sock.sendall(head(quick, 8 * 1024 * 1024) + b'{"query": ')
        answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer[:200]
    [error] = json_body(answer)["errors"]
    assert error["extensions"] == {"code": "REQUEST_TIMEOUT"}
    assert re.fullmatch(
        r"the request body did not arrive in time: 10 bytes in \d+ s "
        r"\(a body gets 1 s, plus a second per 1,024 bytes it sends\)",
        error["message"],
    ), error["message"]


def test_a_slow_body_that_keeps_moving_is_answered(tmp_path_factory: pytest.TempPathFactory) -> None:
    """10 KiB at about 2.5 KiB/s: past the 2 s the deadline starts with, but every 512 bytes earn
    it another second."""
    settings = {"body_timeout_seconds": 2.0, "min_body_bytes_per_second": 512}
    document = json.dumps({"query": "{ __typename }\n#" + "x" * 10_000}).encode()
    with EmbeddedEmulator(tmp_path_factory.mktemp("moving"), **settings) as emu, connect(emu) as sock:
        sock.sendall(head(emu, len(document)))
        started = time.monotonic()
        for start in range(0, len(document), 256):
            sock.sendall(document[start : start + 256])
            time.sleep(0.1)
        answer = sock.recv(65536)
        assert time.monotonic() - started > 2.0
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer[:300]


@pytest.mark.parametrize(("size", "status"), [(64 * 1024, 200), (64 * 1024 + 1, 431)])
def test_a_head_at_the_size_limit_is_read_and_one_byte_more_refused(
    tmp_path_factory: pytest.TempPathFactory, size: int, status: int
) -> None:
    with EmbeddedEmulator(tmp_path_factory.mktemp("heads")) as emu, connect(emu) as sock:
        base = head(emu, len(QUERY), "X-Padding: \r\n")
        padded = base.replace(b"X-Padding: ", b"X-Padding: " + b"p" * (size - len(base)))
        assert len(padded) == size
        sock.sendall(padded + QUERY)
        answer = sock.recv(65536)
        assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:200]
        if status == 431:
            assert json_body(answer + read_answer(sock)) == {
                "errors": [
                    {"message": "the request head is over 65,536 bytes", "extensions": {"code": "HEADERS_TOO_LARGE"}}
                ]
            }


def test_past_the_connection_limit_requests_are_answered_503_until_connections_close(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """6 connections may be open; a request on a 7th is answered 503 with Retry-After, a 13th
    connection is closed unanswered; once the idle ones close, requests are answered again."""
    with EmbeddedEmulator(tmp_path_factory.mktemp("crowd"), max_connections=6) as emu:
        idle = [connect(emu) for _ in range(5)]  # accepted in order: each before the next one's request
        try:
            with connect(emu) as sixth:  # 6 open: at the limit
                sixth.sendall(head(emu, len(QUERY)) + QUERY)
                assert sixth.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
            idle.append(connect(emu))
            with connect(emu) as seventh:
                seventh.sendall(head(emu, len(QUERY)) + QUERY)
                answer = read_answer(seventh)
            assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"), answer[:200]
            assert b"\r\nretry-after: 1\r\n" in answer.lower()
            assert json_body(answer) == {
                "errors": [
                    {
                        "message": "the server has 7 connections open (its limit is 6); try again shortly",
                        "extensions": {"code": "SERVER_BUSY"},
                    }
                ]
            }
            idle += [connect(emu) for _ in range(6)]  # 12 open: twice the limit
            with connect(emu) as thirteenth, contextlib.suppress(ConnectionResetError):
                thirteenth.sendall(head(emu, len(QUERY)) + QUERY)
                assert read_answer(thirteenth) == b""  # (or reset: closed before the request arrived)
        finally:
            for sock in idle:
                sock.close()
        deadline = time.monotonic() + TIMEOUT
        while True:  # the server notices the closed connections as its loop gets to them
            response = httpx.post(f"{emu.url}/graphql", content=QUERY, headers=basic(emu.api_key), timeout=TIMEOUT)
            if response.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert response.status_code == 200, response.text[:300]


def _hold_lane(emu: EmbeddedEmulator, user_id: int, seconds: float) -> threading.Thread:
    """Occupy `user_id`'s worker threads (one here) for `seconds`, from the emulator's own loop."""
    assert emu._server is not None
    loop = emu._server.server.servers[0].get_loop()
    held = threading.Event()

    async def hold() -> None:
        async with emu.emulator.graphql.lanes.lane(user_id):
            held.set()
            await asyncio.sleep(seconds)

    thread = threading.Thread(target=lambda: asyncio.run_coroutine_threadsafe(hold(), loop).result())
    thread.start()
    assert held.wait(TIMEOUT)
    return thread


def test_waiting_for_a_worker_thread_counts_toward_the_time_budget(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Before: the 30 s budget started only once a worker thread was free, so a request could be
    answered long after its budget, having waited for one."""
    settings = {"request_time_budget_seconds": 2.0, "max_threads_per_caller": 1}
    with EmbeddedEmulator(tmp_path_factory.mktemp("lanes"), **settings) as emu:
        user_id = int(emu.store.one("SELECT id FROM users WHERE username = ?", (emu.user,))["id"])

        def ask(tag: str) -> httpx.Response:  # a document never seen before: never run on the loop
            body = {"query": f'{{ project(entityName: "local", name: "x") {{ name }} }} # {tag}'}
            return httpx.post(f"{emu.url}/graphql", json=body, headers=basic(emu.api_key), timeout=TIMEOUT)

        holder = _hold_lane(emu, user_id, 6.0)  # the request arrives well within it, even on a busy machine
        late = ask("late")
        holder.join()
        assert late.status_code == 503, late.text[:300]
        assert late.json()["errors"] == [
            {
                "message": "the request waited its whole time budget for a worker thread (this user's other "
                "requests, or a busy server) and was not run; try again",
                "extensions": {"code": "TIME_BUDGET_EXCEEDED"},
            }
        ]
        holder = _hold_lane(emu, user_id, 0.2)  # 1.8 s to spare on a busy machine
        in_time = ask("in time")
        holder.join()
        assert in_time.status_code == 200, in_time.text[:300]


BLOB_URL = "query($id: ID!) { artifact(id: $id) { files { edges { node { name directUrl } } } } }"


@pytest.fixture(scope="module")
def unread(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedEmulator, str, int]]:
    """An emulator that drops a client reading nothing for 3 s, and a 24 MiB file's signed path on it:
    more than the kernel's buffers on both ends hold, so a client that stops reading stalls the answer."""
    size = 24 << 20
    with EmbeddedEmulator(tmp_path_factory.mktemp("unread"), send_timeout_seconds=3.0) as emu:
        source = tmp_path_factory.mktemp("unread-source")
        (source / "big.bin").write_bytes(bytes(range(256)) * (size // 256))
        with make_api(emu, tmp_path_factory.mktemp("unread-cache")) as api:
            artifact = api.upload(source, "local/unread/big", "dataset")
        data = gql(emu, BLOB_URL, emu.api_key, id=artifact.id).json()["data"]
        [edge] = data["artifact"]["files"]["edges"]
        url = urlsplit(edge["node"]["directUrl"])
        yield emu, f"{url.path}?{url.query}", size


def get_request(emu: EmbeddedEmulator, path: str) -> socket.socket:
    sock = connect(emu)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return sock


def test_a_client_that_stops_reading_an_answer_is_dropped(unread: tuple[EmbeddedEmulator, str, int]) -> None:
    """Before: a client that asked for files and read none of them held a connection, an open file
    and a task each until the server stopped, so 256 such requests shut everyone else out."""
    emu, path, size = unread
    with get_request(emu, path) as sock:
        assert sock.recv(16).startswith(b"HTTP/1.1 200")
        deadline = time.monotonic() + 3.0 + TIMEOUT
        while _in_flight(emu) and time.monotonic() < deadline:  # the answer stalls, then is dropped
            time.sleep(0.1)
        assert _in_flight(emu) == []
        received = 16
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
    assert received < size  # it was cut off, not finished


def test_a_slow_reader_that_keeps_reading_gets_the_whole_answer(unread: tuple[EmbeddedEmulator, str, int]) -> None:
    """The deadline is for reading nothing: 24 MiB at about 5 MiB/s takes longer than it, in many pauses."""
    emu, path, size = unread
    received = 0
    with get_request(emu, path) as sock:
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(4096)
        received = len(answer.split(b"\r\n\r\n", 1)[1])
        while received < size:
            chunk = sock.recv(512 * 1024)
            assert chunk, f"closed after {received:,} of {size:,} bytes"
            received += len(chunk)
            time.sleep(0.1)
    assert received == size
