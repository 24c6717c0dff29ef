"""The three capability functions of the seed API, against both server personalities."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from artifactkit import (
    Api,
    artifact_collection_edge_name,
    artifact_collection_plural_edge_name,
    errors,
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


@pytest.mark.parametrize(("server", "modern"), [("0.12.10", False), ("0.12.11", True)])
def test_one_probe_picks_every_document_at_the_0_12_11_boundary(tmp_path: Path, server: str, modern: bool) -> None:
    """The newest legacy server and the oldest modern one: one `serverInfo` request per Api, then
    every read and write goes through the family it chose (the legacy one only uses what such a
    server has: no tags, no membership lookups, no membership files)."""
    with EmbeddedEmulator(tmp_path / "server", cli_version=server) as emu:
        source = tmp_path / "src"
        source.mkdir()
        (source / "a.txt").write_text("a")
        (source / "b.txt").write_text("b")
        with make_api(emu, tmp_path / "seed-cache") as seeder:
            seeder.upload(source, "local/edge/data", "dataset", aliases=["best"], run="r1")
        emu.stats.reset()
        with make_api(emu, tmp_path / "cache") as api:
            artifact = api.artifact("local/edge/data:best")
            assert (artifact.version, artifact.aliases, artifact.tags) == ("v0", ["latest", "best"], [])
            assert sorted(f.name for f in artifact.files()) == ["a.txt", "b.txt"]
            assert len(artifact.files(names=["a.txt"])) == 1
            assert [c.name for c in api.artifact_type("dataset", "local/edge").collections()] == ["data"]
            assert [a.version for a in api.artifacts("dataset", "local/edge/data")] == ["v0"]
            assert [a.name for a in api.run("local/edge/r1").logged_artifacts()] == ["data:v0"]
            root = Path(artifact.download(tmp_path / "out", progress=False))
            assert sorted(p.name for p in root.iterdir()) == ["a.txt", "b.txt"]
            artifact.description = "checked"
            artifact.save()
            linked = artifact.link("local/edge/registry", aliases=["prod"])
            assert (linked.name, linked.aliases, linked.source_name) == ("registry:v0", ["latest", "prod"], "data:v0")
            collection = api.artifact_collection("dataset", "local/edge/data")
            collection.tags = ["raw"]
            if modern:
                collection.save()
            else:
                with pytest.raises(errors.UnsupportedError, match="predates collection tags"):
                    collection.save()
        operations = dict(emu.stats.operations)
    assert operations.pop("ServerCliVersion") == 1  # the one probe
    legacy = sorted(name for name in operations if name.startswith("Legacy"))
    if modern:
        assert legacy == []
    else:
        assert legacy == [
            "LegacyArtifactByName",
            "LegacyArtifactFileUrls",
            "LegacyArtifactFiles",
            "LegacyCollectionVersions",
            "LegacyLinkArtifact",
            "LegacyRunOutputArtifacts",
            "LegacyTypeArtifactCollection",
            "LegacyTypeArtifactCollections",
            "LegacyUpdateArtifact",
        ]
