"""Every limit on `filters`, `$regex`, integers and `Run.files`, at exactly the limit and one past it.

docs/security.md lists these limits; a limit enforced a factor off (or one off) must fail here,
so each is tried at its value (answered) and one more (refused, with the message a user sees).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from artifactkit.server import filters, nodes, regex
from artifactkit.server.embedded import EmbeddedEmulator
from tests.server.support import VERSIONS, Client, upload
from tests.server.test_run_files import RUN_FILES, put_files
from tests.server.test_runs import upsert_run

PROJECT = "local/filter-limits"


@pytest.fixture(scope="module")
def seeded(emulator: EmbeddedEmulator) -> Iterator[Client]:
    with Client(emulator) as client:
        upload(client, PROJECT, "seq", {"f": b"1"}, aliases=["a"], metadata={"n": 7})
        upsert_run(client, PROJECT, name="files-run")
        put_files(client, PROJECT, "files-run", {"a.txt": b"a", "b.txt": b"b"})
        yield client


def listing(client: Client, filters_text: str | None = None, **variables: Any) -> tuple[int, Any]:
    """(status, the version numbers listed, or the first error message)."""
    entity, project = PROJECT.split("/")
    if filters_text is not None:
        variables["filters"] = filters_text
    response = client.post(VERSIONS, {"entity": entity, "project": project, "name": "seq", **variables})
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
        return response.status_code, body["errors"][0]["message"]
    edges = body["data"]["project"]["artifactCollection"]["artifacts"]["edges"]
    return 200, [edge["node"]["versionIndex"] for edge in edges]


def test_the_limits_are_the_documented_ones() -> None:
    """The values docs/security.md states; the tests below derive their inputs from the constants."""
    assert (filters.MAX_FILTER_DEPTH, filters.MAX_FILTER_TERMS) == (16, 256)
    assert (filters.MAX_IN_VALUES, filters.MAX_FILTER_BYTES) == (1000, 64 * 1024)
    assert (regex.MAX_PATTERN_CHARS, regex.MAX_PROGRAM_SIZE, regex.MAX_MATCH_WORK) == (256, 5000, 10**8)
    assert (nodes.MAX_FILE_NAMES, nodes.MAX_FILE_PATTERN) == (1000, 256)


@pytest.mark.parametrize("combinator", ["$not", "$nor", "$and", "$or"])
def test_nesting(seeded: Client, combinator: str) -> None:
    def nested(levels: int) -> str:
        doc: dict[str, Any] = {"versionIndex": 0}
        for _ in range(levels):
            doc = {combinator: doc} if combinator == "$not" else {combinator: [doc]}
        return json.dumps(doc)

    limit = filters.MAX_FILTER_DEPTH
    negations = combinator in ("$not", "$nor")  # each level negates: an even number keeps the match
    expected = [] if negations and limit % 2 else [0]
    assert listing(seeded, nested(limit)) == (200, expected)
    assert listing(seeded, nested(limit + 1)) == (400, f"filters nest deeper than {limit} levels")


def test_number_of_tests(seeded: Client) -> None:
    limit = filters.MAX_FILTER_TERMS

    def tests(count: int) -> str:  # the $and itself is one test; each listed document holds one more
        return json.dumps({"$and": [{"versionIndex": {"$gte": 0}} for _ in range(count - 1)]})

    assert listing(seeded, tests(limit)) == (200, [0])
    assert listing(seeded, tests(limit + 1)) == (400, f"filters hold more than {limit} tests")


@pytest.mark.parametrize(("field", "value"), [("versionIndex", 0), ("alias", "a")])
@pytest.mark.parametrize("operator", ["$in", "$nin"])
def test_values_of_in(seeded: Client, field: str, value: Any, operator: str) -> None:
    limit = filters.MAX_IN_VALUES
    filler: list[Any] = [1000 + i if isinstance(value, int) else f"x{i}" for i in range(limit - 1)]
    expected = [0] if operator == "$in" else []
    assert listing(seeded, json.dumps({field: {operator: [*filler, value]}})) == (200, expected)
    over = json.dumps({field: {operator: [*filler, value, value]}})
    assert listing(seeded, over) == (400, f"{operator} takes at most {limit} values")


def test_text_of_filters(seeded: Client) -> None:
    limit = filters.MAX_FILTER_BYTES

    def text(size: int) -> str:
        head = json.dumps({"digest": {"$ne": ""}})
        padded = json.dumps({"digest": {"$ne": "x" * (size - len(head))}})
        assert len(padded) == size
        return padded

    assert listing(seeded, text(limit)) == (200, [0])
    assert listing(seeded, text(limit + 1)) == (400, f"filters are longer than {limit} characters")


def test_length_of_a_regex(seeded: Client) -> None:
    limit = regex.MAX_PATTERN_CHARS
    at_limit = "^a" + "|z" * ((limit - 2) // 2)
    assert len(at_limit) == limit
    assert listing(seeded, json.dumps({"alias": {"$regex": at_limit}})) == (200, [0])
    message = f"$regex pattern is longer than {limit} characters"
    assert listing(seeded, json.dumps({"alias": {"$regex": at_limit + "z"}})) == (400, message)


@pytest.mark.parametrize("field", ["versionIndex", "size", "metadata.n"])
def test_integers(seeded: Client, field: str) -> None:
    for edge in (2**63 - 1, -(2**63)):
        assert listing(seeded, json.dumps({field: {"$ne": edge}})) == (200, [0])
    for over in (2**63, -(2**63) - 1):
        assert listing(seeded, json.dumps({field: {"$ne": over}})) == (400, f"integer {over} does not fit in 64 bits")


def test_integers_in_cursors(seeded: Client) -> None:
    def cursor(value: int) -> str:  # the default order: versionIndex descending, then the id
        return base64.urlsafe_b64encode(json.dumps([value, "x"]).encode()).decode()

    assert listing(seeded, after=cursor(2**63 - 1)) == (200, [0])
    assert listing(seeded, after=cursor(-(2**63))) == (200, [])
    for over in (2**63, -(2**63) - 1):
        status, message = listing(seeded, after=cursor(over))
        assert (status, message) == (400, f"cursor {cursor(over)!r} does not belong to this listing")


def run_files(client: Client, **variables: Any) -> tuple[int, Any]:
    entity, project = PROJECT.split("/")
    response = client.post(RUN_FILES, {"entity": entity, "project": project, "name": "files-run", **variables})
    body = response.json()
    if body.get("errors"):
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
        return response.status_code, body["errors"][0]["message"]
    return response.status_code, sorted(e["node"]["name"] for e in body["data"]["project"]["run"]["files"]["edges"])


def test_names_of_run_files(seeded: Client) -> None:
    limit = nodes.MAX_FILE_NAMES
    names = [f"missing-{i}" for i in range(limit - 1)] + ["a.txt"]
    assert run_files(seeded, fileNames=names) == (200, ["a.txt"])
    assert run_files(seeded, fileNames=[*names, "b.txt"]) == (400, f"at most {limit} file names per request")


def test_pattern_of_run_files(seeded: Client) -> None:
    limit = nodes.MAX_FILE_PATTERN
    at_limit = "%" * (limit - len("a.txt")) + "a.txt"
    assert run_files(seeded, pattern=at_limit) == (200, ["a.txt"])
    assert run_files(seeded, pattern="%" + at_limit) == (
        400,
        f"a file name pattern has at most {limit} characters",
    )
