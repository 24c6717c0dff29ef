"""Finding 3: `$regex` filters run in linear time; patterns that need backtracking are refused."""

from __future__ import annotations

import json

import httpx

from artifactkit.server.embedded import EmbeddedEmulator
from tests.security.support import TIMEOUT, basic
from tests.server.support import VERSIONS, Client, upload

A30 = "a" * 30


def listing(emu: EmbeddedEmulator, key: str, filters: object) -> httpx.Response:
    variables = {"entity": "local", "project": "rx", "name": "seq", "filters": json.dumps(filters)}
    return httpx.post(
        f"{emu.url}/graphql", json={"query": VERSIONS, "variables": variables}, headers=basic(key), timeout=TIMEOUT
    )


def test_a_backtracking_pattern_answers_at_once(emu: EmbeddedEmulator) -> None:
    with Client(emu) as writer:
        upload(writer, "local/rx", "seq", {"f": b"1"}, aliases=[A30])
    reader = emu.create_key(read_only=True)
    # (a+)+b against 30 a's: 2^30 paths for a backtracking engine, one pass for RE2.
    response = listing(emu, reader, {"alias": {"$regex": "^(a+)+b$"}})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["project"]["artifactCollection"]["artifacts"]["edges"] == []
    found = listing(emu, reader, {"alias": {"$regex": "^(a+)+$"}})
    assert len(found.json()["data"]["project"]["artifactCollection"]["artifacts"]["edges"]) == 1
    health = httpx.get(f"{emu.url}/health", timeout=TIMEOUT)
    assert health.status_code == 200


def test_patterns_only_a_backtracking_engine_runs_are_refused(emu: EmbeddedEmulator) -> None:
    for pattern in (r"(a)\1", "(?=a)a", "a" * 300):
        response = listing(emu, emu.api_key, {"description": {"$regex": pattern}})
        assert response.status_code == 400, pattern
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
