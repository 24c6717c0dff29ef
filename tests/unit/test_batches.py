"""The batched lookup's document: valid, deterministic, pinned, and well inside a server's query limits."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from graphql import build_schema, parse, validate
from syrupy.assertion import SnapshotAssertion

from artifactkit._batches import MAX_BATCH, VersionLookup, versions_by_name, versions_document
from artifactkit._generated.client import GeneratedClient
from artifactkit._generated.exceptions import GraphQLClientGraphQLMultiError
from artifactkit.errors import GraphQLError
from artifactkit.server.limits import document_cost
from artifactkit.server.settings import Settings

pytestmark = pytest.mark.timeout(60)

SCHEMA = build_schema((Path(__file__).resolve().parents[2] / "schema" / "wandb.graphql").read_text())

LOOKUPS = [
    VersionLookup("team", "data", "digits:latest", with_files=True),
    VersionLookup("team", "data", "labels:v3"),
    VersionLookup("org-entity", "wandb-registry-model", "classifier:production", with_files=True),
]


def test_one_project_field_per_project_one_alias_per_name(snapshot: SnapshotAssertion) -> None:
    document, variables, where = versions_document(LOOKUPS)
    assert not validate(SCHEMA, parse(document))
    assert where == [("p0", "v0"), ("p0", "v1"), ("p1", "v2")]
    assert variables == {
        "e0": "team",
        "p0": "data",
        "n0": "digits:latest",
        "n1": "labels:v3",
        "e1": "org-entity",
        "p1": "wandb-registry-model",
        "n2": "classifier:production",
    }
    assert versions_document(LOOKUPS)[0] == document  # the same names give the same text
    assert document == snapshot


def test_a_full_batch_stays_within_half_of_the_emulators_limits() -> None:
    """MAX_BATCH names in as many projects, all with their files' URLs: the costliest document sent."""
    lookups = [VersionLookup(f"e{i}", f"p{i}", f"c{i}:latest", with_files=True) for i in range(MAX_BATCH)]
    document, _, _ = versions_document(lookups)
    assert not validate(SCHEMA, parse(document))
    cost = document_cost(parse(document))
    limits = Settings(Path("unused"))
    assert cost.selections <= limits.max_query_selections // 2
    assert cost.aliases <= limits.max_query_aliases // 2
    assert cost.breadth <= limits.max_query_breadth // 2
    assert cost.depth <= limits.max_query_depth // 2
    with pytest.raises(ValueError, match="at most"):
        versions_document([*lookups, lookups[0]])


def _client_answering(body: dict[str, object]) -> GeneratedClient:
    """A generated client whose server answers `body` (a per-alias error the emulator has no way to cause)."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    return GeneratedClient(url="http://server.test/graphql", http_client=httpx.Client(transport=transport))


def test_an_error_under_one_alias_fails_that_name_only() -> None:
    body = {
        "data": {"p0": {"v0": None, "v1": None}, "p1": None},
        "errors": [
            {"message": "permission denied", "path": ["p0", "v1"]},
            {"message": "no such entity", "path": ["p1"]},
        ],
    }
    client = _client_answering(body)
    try:
        found = versions_by_name(client, LOOKUPS)
    finally:
        client.http_client.close()
    assert found[0].membership is None and found[0].error is None  # not found: the caller says which part
    assert isinstance(found[1].error, GraphQLError) and "permission denied" in str(found[1].error)
    assert isinstance(found[2].error, GraphQLError) and "no such entity" in str(found[2].error)


def test_an_error_of_the_whole_document_is_raised() -> None:
    client = _client_answering({"data": None, "errors": [{"message": "query too large"}]})
    try:
        with pytest.raises(GraphQLClientGraphQLMultiError, match="query too large"):
            versions_by_name(client, LOOKUPS)
    finally:
        client.http_client.close()
