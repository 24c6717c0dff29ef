"""The three capability functions of the seed API, against both server personalities."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from artifactkit import (
    Api,
    artifact_collection_edge_name,
    artifact_collection_plural_edge_name,
    server_supports_artifact_collections_gql_edges,
)
from artifactkit.server.embedded import EmbeddedEmulator
from tests.conftest import make_api


def test_modern_server_has_the_collection_edges(emulator: EmbeddedEmulator, api: Api) -> None:
    emulator.stats.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a modern server never warns
        assert server_supports_artifact_collections_gql_edges(api.client, warn=True) is True
    assert server_supports_artifact_collections_gql_edges(api) is True  # the Api itself is accepted too
    assert dict(emulator.stats.operations) == {"ServerCliVersion": 1}


def test_legacy_server_lacks_them_and_can_say_so(legacy_emulator: EmbeddedEmulator, tmp_path: Path) -> None:
    with make_api(legacy_emulator, tmp_path) as api:
        legacy_emulator.stats.reset()
        assert server_supports_artifact_collections_gql_edges(api.client) is False
        with pytest.warns(UserWarning, match="predates artifact collections: only sequences are visible"):
            assert server_supports_artifact_collections_gql_edges(api.client, warn=True) is False
        assert dict(legacy_emulator.stats.operations) == {"ServerCliVersion": 1}


@pytest.mark.parametrize(
    ("supported", "singular", "plural"),
    [(True, "artifactCollection", "artifactCollections"), (False, "artifactSequence", "artifactSequences")],
)
def test_edge_names(supported: bool, singular: str, plural: str) -> None:
    assert artifact_collection_edge_name(supported) == singular
    assert artifact_collection_plural_edge_name(supported) == plural


def test_edge_names_match_what_each_server_is_sent(any_emulator: EmbeddedEmulator, any_api: Api, project: str) -> None:
    from tests.conftest import create_types

    create_types(any_emulator, project, ["dataset"])
    supported = server_supports_artifact_collections_gql_edges(any_api.client)
    any_emulator.stats.reset()
    list(any_api.artifact_collections(project, "dataset"))
    [entry] = list(any_emulator.stats.graphql_log)
    assert f"{artifact_collection_plural_edge_name(supported)}(" in entry["query"]
    assert f"{artifact_collection_plural_edge_name(not supported)}(" not in entry["query"]
