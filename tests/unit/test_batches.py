"""The batched lookup's document: valid, deterministic, pinned, and well inside a server's query limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import build_schema, parse, validate
from syrupy.assertion import SnapshotAssertion

from artifactkit._batches import MAX_BATCH, VersionLookup, versions_document
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
