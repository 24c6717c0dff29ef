"""Finding 7: malformed input gets a 4xx with a GraphQL error body, on a connection that stays open."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from artifactkit.server.embedded import EmbeddedEmulator
from tests.security.support import KeepAlive, basic
from tests.server.support import VERSIONS, Client, md5_hex, upload


@pytest.fixture(scope="module")
def seeded(emu: EmbeddedEmulator) -> EmbeddedEmulator:
    with Client(emu) as writer:
        upload(writer, "local/mal", "seq", {"a": b"1"})
        upload(writer, "local/mal", "seq", {"a": b"2"})
    return emu


@pytest.fixture
def conn(seeded: EmbeddedEmulator) -> Iterator[KeepAlive]:
    keep = KeepAlive(seeded)
    yield keep
    keep.close()


def listing(emu: EmbeddedEmulator, **variables: Any) -> bytes:
    base = {"entity": "local", "project": "mal", "name": "seq"}
    return json.dumps({"query": VERSIONS, "variables": {**base, **variables}}).encode()


def cursor(values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def not_chain(depth: int) -> dict[str, Any]:
    doc: dict[str, Any] = {"state": "COMMITTED"}
    for _ in range(depth):
        doc = {"$not": doc}
    return doc


CASES = {
    "JSON nested 1,000 deep": lambda emu: (
        '{"query": "{ viewer { id } }", "variables": {"x": ' + "[" * 1000 + "1" + "]" * 1000 + "}}"
    ).encode(),
    "cursor of dicts": lambda emu: listing(emu, after=cursor([{"a": 1}, {"b": 2}])),
    "cursor of lists": lambda emu: listing(emu, after=cursor([[1], [2]])),
    "cursor of one dict": lambda emu: listing(emu, after=cursor([{"a": 1}])),
    "cursor with a huge int": lambda emu: listing(emu, after=cursor([2**70, 2**70])),
    "filter with a huge int": lambda emu: listing(emu, filters=json.dumps({"versionIndex": 2**70})),
    "filter $in of 300k": lambda emu: listing(emu, filters=json.dumps({"versionIndex": {"$in": list(range(300_000))}})),
    "filter $not 600 deep": lambda emu: listing(emu, filters=json.dumps(not_chain(600))),
    "filter with a lone surrogate": lambda emu: listing(emu, filters='{"description": "\\ud800"}'),
    "filter time out of range": lambda emu: listing(
        emu, filters=json.dumps({"createdAt": {"$gt": "0001-01-01T00:00:00+05:00"}})
    ),
    "artifact id of a huge int": lambda emu: json.dumps(
        {
            "query": "query($id: ID!) { artifact(id: $id) { id } }",
            "variables": {"id": base64.b64encode(b"Artifact:" + b"9" * 30).decode()},
        }
    ).encode(),
}


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_graphql_input_is_a_4xx_on_a_kept_connection(
    seeded: EmbeddedEmulator, conn: KeepAlive, case: str
) -> None:
    headers = {**basic(seeded.api_key), "Content-Type": "application/json"}
    status, body, kept = conn.request("POST", "/graphql", CASES[case](seeded), headers)
    assert 400 <= status < 500, (status, body)
    assert body is not None and body["errors"][0]["message"]
    assert kept
    status, body, kept = conn.request("POST", "/graphql", b'{"query": "{ viewer { username } }"}', headers)
    assert status == 200 and kept


@pytest.mark.parametrize("exp", ["\u00b2", "\u0661\u0662", "9" * 40, "-1"])
def test_a_signed_url_with_a_strange_expiry_is_refused(seeded: EmbeddedEmulator, conn: KeepAlive, exp: str) -> None:
    from urllib.parse import quote

    status, body, kept = conn.request("GET", f"/storage/blobs/{md5_hex(b'1')}?exp={quote(exp)}&sig=%C3%A9")
    assert status == 403, body
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert kept
