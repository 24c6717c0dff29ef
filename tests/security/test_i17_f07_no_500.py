"""Issue 17, finding 7: filter keys and orders SQLite cannot take are refused as bad input, never a 500.

A key of `metadata.` / `config.` / `summary_metrics.` becomes a SQLite JSON path, where an empty
name is an error, but only once a row's value is walked that deep: the versions and runs here
hold nested objects, so a malformed key reaches SQLite. An `order` names each field once (so
never 2,000 columns), and lists of values go to SQLite as one parameter where their length is
the client's to choose.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from artifactkit.server.embedded import EmbeddedEmulator
from tests.security.support import TIMEOUT, basic
from tests.server.support import VERSIONS, Client, upload

NESTED = {"a": {"b": {"c": 1}}, "x": [1, {"y": 2}], "s": "text"}
RUNS = """
query($filters: JSONString, $order: String, $after: String) {
  project(entityName: "local", name: "f7") { runs(filters: $filters, order: $order, after: $after) {
    edges { node { name } } } }
}
"""
COLLECTIONS = """
query($order: String, $types: [ArtifactCollectionType!]) {
  project(entityName: "local", name: "f7") { artifactType(name: "dataset") {
    artifactCollections(order: $order, collectionTypes: $types) { edges { node { name } } } } }
}
"""
FILES = """
query($names: [String!]) {
  project(entityName: "local", name: "f7") { artifactCollectionMembership(name: "seq:v0") {
    files(names: $names) { edges { node { name } } } } }
}
"""
KEY_RULE = "names of letters, digits, '_' and '-' separated by single dots, at most 128 characters in all"


@pytest.fixture(scope="module")
def reader(emu: EmbeddedEmulator) -> Iterator[str]:
    with Client(emu) as writer:
        upload(writer, "local/f7", "seq", {"f": b"1"}, metadata=NESTED, run="r1")
        config = json.dumps({"a": {"value": {"b": {"c": 1}}}, "value": {"value": {"d": 1}}})
        writer.data(
            "mutation($config: JSONString, $summary: JSONString) { upsertBucket(input: "
            '{entityName: "local", modelName: "f7", name: "r1", config: $config, summaryMetrics: $summary}) '
            "{ bucket { name } } }",
            config=config,
            summary=json.dumps(NESTED),
        )
    yield emu.create_key(read_only=True)


def ask(emu: EmbeddedEmulator, key: str, query: str, **variables: Any) -> httpx.Response:
    return httpx.post(
        f"{emu.url}/graphql", json={"query": query, "variables": variables}, headers=basic(key), timeout=TIMEOUT
    )


def versions(emu: EmbeddedEmulator, key: str, **variables: Any) -> httpx.Response:
    return ask(emu, key, VERSIONS, entity="local", project="f7", name="seq", **variables)


def refused(response: httpx.Response) -> str:
    """The message of a 400 BAD_USER_INPUT answer."""
    assert response.status_code == 400, response.text[:300]
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    message: str = error["message"]
    return message


BAD_KEYS = ["..", "a..b", "a.", ".a", "a.b..c", "a.b.", "a b", 'a"b', "a[0]", "x" * 129]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_malformed_metadata_keys_are_refused(emu: EmbeddedEmulator, reader: str, key: str) -> None:
    message = refused(versions(emu, reader, filters=json.dumps({f"metadata.{key}": 1})))
    assert message == f"invalid metadata key {key!r}: {KEY_RULE}"


@pytest.mark.parametrize("prefix", ["config", "summary_metrics", "summaryMetrics"])
@pytest.mark.parametrize("key", ["..", "a..b", "a.", ".a", "a.value..b", "a.value."])
def test_malformed_run_keys_are_refused(emu: EmbeddedEmulator, reader: str, prefix: str, key: str) -> None:
    message = refused(ask(emu, reader, RUNS, filters=json.dumps({f"{prefix}.{key}": 1})))
    assert message == f"invalid {prefix} key {key!r}: {KEY_RULE}"


def test_well_formed_keys_still_reach_nested_values(emu: EmbeddedEmulator, reader: str) -> None:
    def count(response: httpx.Response, *path: str) -> int:
        assert response.status_code == 200, response.text[:300]
        found: Any = response.json()["data"]
        for step in path:
            found = found[step]
        return len(found["edges"])

    listing = ("project", "artifactCollection", "artifacts")
    assert count(versions(emu, reader, filters=json.dumps({"metadata.a.b.c": 1})), *listing) == 1
    assert count(versions(emu, reader, filters=json.dumps({"metadata.a.b.c": 2})), *listing) == 0
    longest = "k" * 128  # at the limit: accepted (and absent)
    assert count(versions(emu, reader, filters=json.dumps({f"metadata.{longest}": {"$exists": False}})), *listing) == 1
    runs = ("project", "runs")
    assert count(ask(emu, reader, RUNS, filters=json.dumps({"config.a.b.c": 1})), *runs) == 1
    assert count(ask(emu, reader, RUNS, filters=json.dumps({"config.a.value.b.c": 1})), *runs) == 1
    assert count(ask(emu, reader, RUNS, filters=json.dumps({"config.value.d": 1})), *runs) == 1
    assert count(ask(emu, reader, RUNS, filters=json.dumps({"summary_metrics.a.b.c": 1})), *runs) == 1


@pytest.mark.parametrize("terms", [2, 5, 2000])
def test_long_orders_are_refused_on_every_listing(emu: EmbeddedEmulator, reader: str, terms: int) -> None:
    order = ",".join(["createdAt"] * terms)
    assert refused(versions(emu, reader, order=order)) in (
        "`order` names 'createdAt' twice",
        "`order` has more than 4 terms (each field at most once)",
    )
    assert refused(ask(emu, reader, RUNS, order=order)) in (
        "`order` names 'createdAt' twice",
        "`order` has more than 3 terms (each field at most once)",
    )
    assert refused(ask(emu, reader, COLLECTIONS, order=order)) in (
        "`order` names 'createdAt' twice",
        "`order` has more than 3 terms (each field at most once)",
    )


def test_order_terms_are_one_known_field_with_at_most_one_sign(emu: EmbeddedEmulator, reader: str) -> None:
    known = "known: createdAt, size, updatedAt, versionIndex"
    assert refused(versions(emu, reader, order="--createdAt")) == f"cannot order by '-createdAt'; {known}"
    assert refused(versions(emu, reader, order="+-size")) == f"cannot order by '-size'; {known}"
    assert refused(ask(emu, reader, RUNS, order="createdAt,-created_at")) == "`order` names 'created_at' twice"
    every = "-size,+createdAt,versionIndex,-updatedAt"  # each field once: the most there may be
    assert versions(emu, reader, order=every).status_code == 200
    runs = ask(emu, reader, RUNS, order="-heartbeat_at,name,+createdAt")
    assert runs.status_code == 200 and runs.json()["data"]["project"]["runs"]["edges"] == [{"node": {"name": "r1"}}]


def test_a_cursor_wider_than_any_order_is_refused(emu: EmbeddedEmulator, reader: str) -> None:
    wide = base64.urlsafe_b64encode(json.dumps(["2020-01-01T00:00:00Z"] * 2001).encode()).decode()
    assert "does not belong to this listing" in refused(versions(emu, reader, after=wide))


def test_lists_longer_than_sqlite_takes_parameters_are_answered(emu: EmbeddedEmulator, reader: str) -> None:
    """SQLite takes 250,000 parameters; a list of names or of enum values may be longer."""
    names = [f"n{i}" for i in range(260_000)] + ["f"]
    files = ask(emu, reader, FILES, names=names)
    assert files.status_code == 200, files.text[:300]
    assert files.json()["data"]["project"]["artifactCollectionMembership"]["files"]["edges"] == [
        {"node": {"name": "f"}}
    ]
    kinds = ask(emu, reader, COLLECTIONS, types=["SEQUENCE"] * 260_000)
    assert kinds.status_code == 200, kinds.text[:300]
    assert kinds.json()["data"]["project"]["artifactType"]["artifactCollections"]["edges"] == [
        {"node": {"name": "seq"}}
    ]
