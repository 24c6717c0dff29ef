"""Issue 17, finding 6: bodies cost what their sender is allowed, and no caller can take every thread.

A caller without a valid key may only ask for `serverInfo` / `__typename`: their body is refused
past 16 KiB before a byte more is read (from the declared length) or parsed. A key holder's large
bodies (over 256 KiB) are handled off the event loop, two of one user's at a time, and one user's
requests occupy at most four worker threads at once.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from artifactkit.server.embedded import EmbeddedEmulator
from artifactkit.server.graphql_route import GraphQLRoute
from tests.security.support import TIMEOUT, basic

KEYLESS = 16 * 1024
ANONYMOUS = "{ serverInfo { __typename } }"


def padded_body(size: int, query: str = ANONYMOUS) -> bytes:
    """A JSON body of exactly `size` bytes: `query`, then a comment filling the rest."""
    head = json.dumps({"query": query + "\n#"}).encode()
    body = json.dumps({"query": query + "\n#" + "x" * (size - len(head))}).encode()
    assert len(body) == size
    return body


def post(emu: EmbeddedEmulator, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(
        f"{emu.url}/graphql",
        content=body,
        headers={"content-type": "application/json", **(headers or {})},
        timeout=TIMEOUT,
    )


def test_a_keyless_body_at_the_limit_is_answered_and_one_byte_more_refused(emu: EmbeddedEmulator) -> None:
    at_limit = post(emu, padded_body(KEYLESS))
    assert at_limit.status_code == 200, at_limit.text[:300]
    assert at_limit.json() == {"data": {"serverInfo": {"__typename": "ServerInfo"}}}
    received = emu.stats.snapshot()["bytes_in"].get("graphql", 0)
    over = post(emu, padded_body(KEYLESS + 1))
    assert over.status_code == 401
    assert emu.stats.snapshot()["bytes_in"].get("graphql", 0) == received  # refused from Content-Length
    assert over.json()["errors"] == [
        {
            "message": "authentication required: send HTTP Basic api:<key> "
            "(without a valid key, a body may hold at most 16,384 bytes)",
            "extensions": {"code": "UNAUTHENTICATED"},
        }
    ]
    wrong_key = post(emu, padded_body(KEYLESS + 1), basic("local-" + "0" * 40))
    assert wrong_key.status_code == 401
    assert wrong_key.json()["errors"][0]["message"].startswith("invalid API key (without a valid key")
    # With a key, the same body is an ordinary request.
    assert post(emu, padded_body(KEYLESS + 1), basic(emu.api_key)).status_code == 200


def test_a_large_keyless_body_is_refused_before_it_is_read(emu: EmbeddedEmulator) -> None:
    """The refusal comes from the headers: the server answers while the 7.5 MB body is still unsent."""
    url = urlsplit(emu.url)
    received = emu.stats.snapshot()["bytes_in"].get("graphql", 0)
    with socket.create_connection((url.hostname, url.port), timeout=TIMEOUT) as sock:
        sock.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 7500000\r\n\r\n" + b'{"query": "{ serverInfo { __typename } }\\n#'
        )
        answer = sock.recv(65536)  # before the fix: no answer until the whole body has arrived
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
    assert b"at most 16,384 bytes" in answer
    assert emu.stats.snapshot()["bytes_in"].get("graphql", 0) == received  # not one byte of it was read


def test_a_keyless_body_of_unknown_length_is_read_only_up_to_the_limit(emu: EmbeddedEmulator) -> None:
    received = emu.stats.snapshot()["bytes_in"].get("graphql", 0)

    def chunks() -> Iterator[bytes]:  # chunked: no Content-Length to refuse from
        yield b'{"query": "{ serverInfo { __typename } }\\n#'
        for _ in range(1000):
            yield b"x" * 4096  # 4 MB in all

    try:
        response = httpx.post(f"{emu.url}/graphql", content=chunks(), timeout=TIMEOUT)
        assert response.status_code == 401
    except httpx.HTTPError:  # the server may close the connection while the client still sends
        pass
    read = emu.stats.snapshot()["bytes_in"].get("graphql", 0) - received
    assert 0 < read <= KEYLESS + 256 * 1024  # the limit, and at most one read of the transport more


def test_a_document_at_the_size_limit_is_parsed_and_one_character_more_refused(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with EmbeddedEmulator(tmp_path_factory.mktemp("doc"), max_document_chars=300_000) as small:
        query = "{ viewer { username } }\n#"
        at_limit = query + "x" * (300_000 - len(query))
        response = post(small, json.dumps({"query": at_limit}).encode(), basic(small.api_key))
        assert response.json() == {"data": {"viewer": {"username": small.user}}}
        over = post(small, json.dumps({"query": at_limit + "x"}).encode(), basic(small.api_key))
        assert over.status_code == 413
        assert over.json()["errors"][0]["message"] == (
            "the GraphQL document is longer than 300,000 characters; send values as variables"
        )


class Overlap:
    """Counts how many `execute` calls run at once, per user, while wrapping the route's own."""

    def __init__(self, route: GraphQLRoute, monkeypatch: pytest.MonkeyPatch) -> None:
        self.lock = threading.Lock()
        self.now: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        original = route.execute

        def execute(*args: Any, **kwargs: Any) -> Any:
            if kwargs.get("inline"):
                return original(*args, **kwargs)
            who = args[3].username if args[3] is not None else "(no key)"
            with self.lock:
                self.now[who] += 1
                self.most[who] = max(self.most[who], self.now[who])
            try:
                time.sleep(0.5)  # long enough that requests sent together overlap, even on a busy machine
                return original(*args, **kwargs)
            finally:
                with self.lock:
                    self.now[who] -= 1

        monkeypatch.setattr(route, "execute", execute)


def _together(senders: list[Callable[[], int]]) -> list[int]:
    """Run every sender at once, each in its own thread; their statuses."""
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda send=send: statuses.append(send())) for send in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_one_user_occupies_at_most_four_threads_and_others_are_not_held_up(
    emu: EmbeddedEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    overlap = Overlap(emu.emulator.graphql, monkeypatch)
    other = emu.create_key("other-user")

    # Mutations always run in a worker thread, and so do documents of callers without a key.
    def mutation(entity: str) -> bytes:  # each user writes into their own personal entity
        query = f'mutation {{ upsertModel(input: {{entityName: "{entity}", name: "lanes"}}) {{ model {{ name }} }} }}'
        return json.dumps({"query": query}).encode()

    keyless = json.dumps({"query": ANONYMOUS})
    senders = [lambda: post(emu, mutation("local"), basic(emu.api_key)).status_code] * 8
    senders += [lambda: post(emu, mutation("other-user"), basic(other)).status_code] * 2
    senders += [lambda: post(emu, keyless.encode()).status_code] * 6
    assert _together(senders) == [200] * len(senders)
    assert overlap.most[emu.user] == 4
    assert overlap.most["other-user"] == 2  # not held up behind the first user's queue
    assert overlap.most["(no key)"] == 4


def test_one_user_s_large_bodies_are_handled_two_at_a_time(
    emu: EmbeddedEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    overlap = Overlap(emu.emulator.graphql, monkeypatch)
    body = json.dumps({"query": "query Big { viewer { username } }", "variables": {"pad": "x" * 300_000}})

    def send() -> int:
        return post(emu, body.encode(), basic(emu.api_key)).status_code

    assert _together([send] * 6) == [200] * 6
    assert overlap.most[emu.user] == 2
