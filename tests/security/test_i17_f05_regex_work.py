"""Issue 17, finding 5: one `$regex` filter cannot hold the event loop or outrun the time budget.

RE2 is linear in the value, but its worst case (when its DFA runs out of memory and it falls back
to the NFA) is the value's length times the pattern's program size, and SQLite cannot interrupt
one call of a user function. So each match is bounded before it starts: a value of n bytes and a
pattern of m instructions may cost n x m ≤ `MAX_MATCH_WORK`; a match bigger than the slice of the
event loop moves the request to a worker thread; past the deadline the next match stops the
statement and the request gets its 503.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from artifactkit.server import graphql_route
from artifactkit.server.auth import Principal
from artifactkit.server.context import UrlSigner
from artifactkit.server.embedded import EmbeddedEmulator
from artifactkit.server.regex import MAX_MATCH_WORK, MAX_PROGRAM_SIZE, compile_pattern
from tests.security.support import TIMEOUT, basic
from tests.server.support import VERSIONS, Client, upload

ISSUE_PATTERN = "(?:[ab]{0,999})c"  # 2,003 instructions; RE2's DFA gives up on it and the NFA runs
MEGABYTE_VALUE = "ab" * 500_000


def listing(emu: EmbeddedEmulator, key: str, name: str, filters: object) -> httpx.Response:
    variables = {"entity": "local", "project": "rw", "name": name, "filters": json.dumps(filters)}
    return httpx.post(
        f"{emu.url}/graphql", json={"query": VERSIONS, "variables": variables}, headers=basic(key), timeout=TIMEOUT
    )


def edges(response: httpx.Response) -> list[Any]:
    assert response.status_code == 200, response.text[:500]
    found: list[Any] = response.json()["data"]["project"]["artifactCollection"]["artifacts"]["edges"]
    return found


def pattern_of(size: int) -> str:
    """A pattern of `size` RE2 instructions: `a{k}` compiles to k + 4 (a repeat counts to 1,000 at most)."""
    body = size - 4
    return "a{1000}" * (body // 1000) + (f"a{{{body % 1000}}}" if body % 1000 else "")


def program_of(size: int) -> str:
    pattern = pattern_of(size)
    assert compile_pattern(pattern).programsize == size
    return pattern


@pytest.fixture(scope="module")
def seeded(emu: EmbeddedEmulator) -> Iterator[tuple[EmbeddedEmulator, str]]:
    with Client(emu) as writer:
        upload(writer, "local/rw", "mega", {"f": b"1"}, metadata={"big": MEGABYTE_VALUE})
        # n x m at the work limit exactly, and one byte over it, for a program of 1,000 instructions
        at_limit = "b" * (MAX_MATCH_WORK // 1000)
        upload(writer, "local/rw", "at-limit", {"f": b"2"}, metadata={"v": at_limit})
        upload(writer, "local/rw", "past-limit", {"f": b"3"}, metadata={"v": at_limit + "b"})
        # the value's size is its UTF-8 bytes: "é" is two
        upload(writer, "local/rw", "utf8-at-limit", {"f": b"4"}, metadata={"v": "é" * (MAX_MATCH_WORK // 2000)})
        upload(writer, "local/rw", "utf8-past-limit", {"f": b"5"}, metadata={"v": "é" * (MAX_MATCH_WORK // 2000 + 1)})
    yield emu, emu.create_key(read_only=True)


def test_the_issue_s_pattern_on_a_megabyte_value_is_refused_at_once(seeded: tuple[EmbeddedEmulator, str]) -> None:
    emu, reader = seeded
    # The second request finds its document checked and cached: the path that ran on the event loop.
    for _ in range(2):
        response = listing(emu, reader, "mega", {"metadata.big": {"$regex": ISSUE_PATTERN}})
        assert response.status_code == 400, response.text[:300]
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["message"] == (
            f"$regex {ISSUE_PATTERN!r} is too costly for the values it is matched against: a pattern of "
            f"2003 instructions may be matched against values of at most {MAX_MATCH_WORK // 2003:,} bytes "
            f"(bytes x instructions ≤ {MAX_MATCH_WORK:,}); simplify the pattern"
        )
    assert httpx.get(f"{emu.url}/health", timeout=TIMEOUT).status_code == 200


def test_simple_patterns_still_search_a_megabyte_value(seeded: tuple[EmbeddedEmulator, str]) -> None:
    emu, reader = seeded
    assert len(edges(listing(emu, reader, "mega", {"metadata.big": {"$regex": "ba$"}}))) == 0
    assert len(edges(listing(emu, reader, "mega", {"metadata.big": {"$regex": "ab$"}}))) == 1
    assert len(edges(listing(emu, reader, "mega", {"metadata.big": {"$regex": "(?:[ab]{0,20})c"}}))) == 0


def test_match_work_at_the_limit_is_accepted_and_one_byte_past_it_refused(
    seeded: tuple[EmbeddedEmulator, str],
) -> None:
    emu, reader = seeded
    pattern = program_of(1000)
    assert edges(listing(emu, reader, "at-limit", {"metadata.v": {"$regex": pattern}})) == []
    assert len(edges(listing(emu, reader, "at-limit", {"metadata.v": {"$regex": "^b+$"}}))) == 1
    refused = listing(emu, reader, "past-limit", {"metadata.v": {"$regex": pattern}})
    assert refused.status_code == 400
    assert "at most 100,000 bytes (bytes x instructions ≤ 100,000,000)" in refused.json()["errors"][0]["message"]
    assert edges(listing(emu, reader, "utf8-at-limit", {"metadata.v": {"$regex": pattern}})) == []
    assert listing(emu, reader, "utf8-past-limit", {"metadata.v": {"$regex": pattern}}).status_code == 400


def test_programs_at_the_size_limit_are_accepted_and_one_past_it_refused(
    seeded: tuple[EmbeddedEmulator, str],
) -> None:
    emu, reader = seeded
    assert edges(listing(emu, reader, "mega", {"description": {"$regex": program_of(MAX_PROGRAM_SIZE)}})) == []
    response = listing(emu, reader, "mega", {"description": {"$regex": pattern_of(MAX_PROGRAM_SIZE + 1)}})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["message"] == f"$regex compiles to more than {MAX_PROGRAM_SIZE:,} RE2 instructions"


def _execute(emu: EmbeddedEmulator, filters: object, *, inline: bool) -> tuple[int, dict[str, Any]] | None:
    user = emu.store.one("SELECT * FROM users WHERE username = ?", (emu.user,))
    variables = {"entity": "local", "project": "rw", "name": "at-limit", "filters": json.dumps(filters)}
    return emu.emulator.graphql.execute(
        VERSIONS, variables, None, Principal(user, "read"), True, UrlSigner("http://t", b"k" * 32), inline=inline
    )


def test_a_match_bigger_than_the_loop_s_slice_runs_in_a_worker_thread(
    seeded: tuple[EmbeddedEmulator, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The event loop's slice is counted in match work too, not only in SQLite steps and rows: one call
    of a user function is a single step SQLite cannot interrupt. (On a description: a filter on a
    `metadata.` key never runs on the loop at all, whatever its work; test_i17_large_values.py.)"""
    emu, _ = seeded
    [edge] = _execute(emu, {}, inline=False)[1]["data"]["project"]["artifactCollection"]["artifacts"]["edges"]
    update = (
        "mutation($id: ID!, $d: String) { updateArtifact(input: {artifactID: $id, description: $d}) { __typename } }"
    )
    body = {"query": update, "variables": {"id": edge["node"]["id"], "d": "b" * 50_000}}
    assert httpx.post(f"{emu.url}/graphql", json=body, headers=basic(emu.api_key), timeout=TIMEOUT).status_code == 200
    monkeypatch.setattr(graphql_route, "INLINE_SECONDS", 3600.0)  # only the work decides here
    heavy = {"description": {"$regex": program_of(2000)}}  # 10^8 units: far past the slice
    light = {"description": {"$regex": "^b"}}  # 2.5 x 10^5: within it
    assert _execute(emu, heavy, inline=False) is not None  # checked and cached, answered in a thread
    assert _execute(emu, heavy, inline=True) is None
    on_loop = _execute(emu, light, inline=True)
    assert on_loop is not None and on_loop[0] == 200


def test_a_request_past_its_budget_is_stopped_between_matches(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each match is allowed (under the work limit) but together they outrun the budget: 503, not a late 200."""
    data = tmp_path_factory.mktemp("budget")
    value = "ab" * (MAX_MATCH_WORK // 2003 // 2)
    # Written with the default budget: on a busy machine a mutation may wait for a worker thread
    # longer than 0.05 s and be refused for it, which is not what this test is about.
    with EmbeddedEmulator(data) as emu, Client(emu) as writer:
        for i in range(4):
            upload(writer, "local/rw", "slow", {"f": f"{i}".encode()}, metadata={"v": value})
    with EmbeddedEmulator(data, request_time_budget_seconds=0.05) as emu:
        for _ in range(2):  # in a thread, then from the cache
            response = listing(emu, emu.api_key, "slow", {"metadata.v": {"$regex": ISSUE_PATTERN}})
            assert response.status_code == 503, response.text[:300]
            assert response.json()["errors"][0]["extensions"]["code"] == "TIME_BUDGET_EXCEEDED"
        assert httpx.get(f"{emu.url}/health", timeout=TIMEOUT).status_code == 200
