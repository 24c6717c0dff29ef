"""The `filters` / `order` subset on version and collection listings (documented in docs/emulator.md)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from artifactkit.server.embedded import EmbeddedEmulator
from tests.server.support import Client, upload, version_names

METADATA = [
    {"accuracy": 0.71, "split": {"name": "train"}},
    {"accuracy": 0.93, "split": {"name": "test"}},
    {"accuracy": 0.88},
    {"accuracy": 0.95, "split": {"name": "test"}},
]


@pytest.fixture(scope="module")
def seeded(emulator: EmbeddedEmulator) -> Iterator[tuple[Client, str, list[str]]]:
    """Four versions of `seq` (metadata above), aliases best -> v1, candidate -> v3, latest -> v3."""
    project = f"local/filters-{uuid.uuid4().hex[:8]}"
    with Client(emulator) as client:
        for index, metadata in enumerate(METADATA):
            aliases = {1: ["best"], 3: ["candidate"]}.get(index, [])
            upload(client, project, "seq", {"d.txt": f"{project} {index}".encode()}, metadata=metadata, aliases=aliases)
        entity, name = project.split("/")
        edges = client.data(
            "query($e: String!, $p: String!) { project(entityName: $e, name: $p) { artifactCollection(name: "
            '"seq") { artifacts(order: "versionIndex") { edges { node { createdAt } } } } } }',
            e=entity,
            p=name,
        )["project"]["artifactCollection"]["artifacts"]["edges"]
        yield client, f"{project}/seq", [e["node"]["createdAt"] for e in edges]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["v3", "v2", "v1", "v0"]),
        ({"state": "COMMITTED"}, ["v3", "v2", "v1", "v0"]),
        ({"state": "PENDING"}, []),
        ({"versionIndex": 2}, ["v2"]),
        ({"versionIndex": {"$gt": 0, "$lte": 2}}, ["v2", "v1"]),
        ({"versionIndex": {"$in": [0, 3]}}, ["v3", "v0"]),
        ({"versionIndex": {"$nin": [0, 3]}}, ["v2", "v1"]),
        ({"versionIndex": {"$ne": 1}}, ["v3", "v2", "v0"]),
        ({"alias": "best"}, ["v1"]),
        ({"alias": "latest"}, ["v3"]),
        ({"alias": {"$in": ["best", "candidate"]}}, ["v3", "v1"]),
        ({"alias": {"$ne": "best"}}, ["v3", "v2", "v0"]),
        ({"metadata.accuracy": {"$gte": 0.9}}, ["v3", "v1"]),
        ({"metadata.accuracy": {"$lt": 0.8}}, ["v0"]),
        ({"metadata.split.name": "test"}, ["v3", "v1"]),
        ({"metadata.split": {"$exists": False}}, ["v2"]),
        ({"$and": [{"state": "COMMITTED"}, {"metadata.split.name": "test"}, {"versionIndex": {"$lt": 3}}]}, ["v1"]),
        ({"$or": [{"alias": "best"}, {"versionIndex": 0}]}, ["v1", "v0"]),
        ({"$or": [{"$and": [{"versionIndex": {"$gte": 2}}, {"alias": "latest"}]}, {"versionIndex": 0}]}, ["v3", "v0"]),
        ({"$nor": [{"versionIndex": 0}, {"versionIndex": 1}]}, ["v3", "v2"]),
        ({"$not": {"alias": "best"}}, ["v3", "v2", "v0"]),
    ],
    ids=lambda value: json.dumps(value, separators=(",", ":")) if isinstance(value, dict) else None,
)
def test_version_filters(seeded: tuple[Client, str, list[str]], filters: dict[str, Any], expected: list[str]) -> None:
    client, path, _ = seeded
    assert version_names(client, path, filters=filters) == expected


def test_created_at_comparisons_accept_any_rfc3339_form(seeded: tuple[Client, str, list[str]]) -> None:
    client, path, created = seeded
    assert version_names(client, path, filters={"createdAt": {"$gt": created[1]}}) == ["v3", "v2"]
    assert version_names(client, path, filters={"createdAt": {"$lte": created[1]}}) == ["v1", "v0"]
    assert version_names(client, path, filters={"createdAt": created[2]}) == ["v2"]
    as_offset = created[1].replace("Z", "+00:00")
    assert version_names(client, path, filters={"createdAt": {"$gt": as_offset}}) == ["v3", "v2"]
    assert version_names(client, path, filters={"createdAt": {"$lt": "2000-01-01T00:00:00Z"}}) == []


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (None, ["v3", "v2", "v1", "v0"]),
        ("versionIndex", ["v0", "v1", "v2", "v3"]),
        ("+versionIndex", ["v0", "v1", "v2", "v3"]),
        ("-versionIndex", ["v3", "v2", "v1", "v0"]),
        ("createdAt", ["v0", "v1", "v2", "v3"]),
        ("-createdAt", ["v3", "v2", "v1", "v0"]),
    ],
)
def test_version_order(seeded: tuple[Client, str, list[str]], order: str | None, expected: list[str]) -> None:
    client, path, _ = seeded
    assert version_names(client, path, order=order, first=3) == expected  # across pages


@pytest.mark.parametrize(
    ("filters", "order", "message"),
    [
        ("{not json", None, "filters are not JSON"),
        ("[1, 2]", None, "filters must be a JSON object"),
        ('{"color": "red"}', None, "cannot filter on 'color'"),
        ('{"versionIndex": {"$near": 1}}', None, "unknown filter operator '$near'"),
        ('{"$xor": []}', None, "unknown filter operator '$xor'"),
        ('{"$and": {"state": "COMMITTED"}}', None, "$and takes a list of filter objects"),
        ('{"versionIndex": "two"}', None, "must be an integer"),
        ('{"state": "LOST"}', None, "unknown artifact state 'LOST'"),
        ('{"createdAt": {"$gt": "yesterday"}}', None, "not an RFC 3339 timestamp"),
        ('{"metadata.a\'b": 1}', None, "invalid metadata key"),
        ('{"alias": {"$gt": "a"}}', None, "does not apply to alias or tag filters"),
        (None, "-color", "cannot order by 'color'"),
    ],
)
def test_bad_filters_are_client_errors(
    seeded: tuple[Client, str, list[str]], filters: str | None, order: str | None, message: str
) -> None:
    client, path, _ = seeded
    entity, project, name = path.split("/")
    response = client.post(
        "query($e: String!, $p: String!, $n: String!, $f: JSONString, $o: String) { project(entityName: $e, "
        "name: $p) { artifactCollection(name: $n) { artifacts(filters: $f, order: $o) { totalCount } } } }",
        {"e": entity, "p": project, "n": name, "f": filters, "o": order},
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert message in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


def test_collection_filters_and_order(client: Client, project: str) -> None:
    entity, name = project.split("/")
    for collection in ("zeta", "alpha", "mid"):
        upload(client, project, collection, {"x": collection.encode()})
    client.data(
        "mutation($e: String!, $p: String!) { createArtifactCollectionTagAssignments(input: {entityName: $e, "
        'projectName: $p, artifactCollectionName: "mid", tags: [{tagName: "gold"}]}) { tags { name } } }',
        e=entity,
        p=name,
    )
    query = (
        "query($e: String!, $p: String!, $f: JSONString, $o: String) { project(entityName: $e, name: $p) { "
        "artifactCollections(filters: $f, order: $o) { totalCount edges { node { name } } } } }"
    )

    def names(filters: dict[str, Any] | None = None, order: str | None = None) -> list[str]:
        found = client.data(query, e=entity, p=name, f=json.dumps(filters) if filters else None, o=order)
        connection = found["project"]["artifactCollections"]
        assert connection["totalCount"] == len(connection["edges"])
        return [edge["node"]["name"] for edge in connection["edges"]]

    assert names() == ["mid", "alpha", "zeta"]  # newest first
    assert names(order="name") == ["alpha", "mid", "zeta"]
    assert names(order="-name") == ["zeta", "mid", "alpha"]
    assert names({"name": "alpha"}) == ["alpha"]
    assert names({"name": {"$regex": "^[am]"}}, order="name") == ["alpha", "mid"]
    assert names({"tag": "gold"}) == ["mid"]
    assert names({"$or": [{"tag": "gold"}, {"name": "zeta"}]}, order="createdAt") == ["zeta", "mid"]
