"""`ArtifactCollections` and `ArtifactCollection` against the emulator, modern and legacy.

A legacy server (before 0.12.11) only has the `artifactSequence(s)` edges, so portfolios are not
reachable through a type there; everything else behaves the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from artifactkit import Api, ArtifactCollection, ArtifactCollections, errors
from artifactkit.server.embedded import EmbeddedEmulator
from tests.integration.support import names, upload


def is_legacy(emu: EmbeddedEmulator) -> bool:
    return bool(emu.settings.legacy)


@dataclass
class Seeded:
    project: str
    entity: str
    name: str

    def path(self, collection: str) -> str:
        return f"{self.project}/{collection}"


def seed(api: Api, root: Path, project: str) -> Seeded:
    """dataset: sequences `alpha` (v0 best, v1 latest) and `beta`, portfolio `registry` -> alpha:v0;
    model: sequence `net`."""
    v0 = upload(api, root, f"{project}/alpha", aliases=["best"])
    upload(api, root, f"{project}/alpha")
    upload(api, root, f"{project}/beta")
    upload(api, root, f"{project}/net", "model")
    v0.link(f"{project}/registry", aliases=["production"])
    entity, name = project.split("/")
    return Seeded(project, entity, name)


@pytest.fixture
def seeded(any_api: Api, tmp_path: Path, project: str) -> Seeded:
    return seed(any_api, tmp_path, project)


# -- listing -------------------------------------------------------------------------------------


def test_lists_the_collections_of_a_type(any_emulator: EmbeddedEmulator, any_api: Api, seeded: Seeded) -> None:
    collections = any_api.artifact_collections(seeded.project, "dataset", per_page=1)
    assert isinstance(collections, ArtifactCollections)
    listed = list(collections)
    expected = ["beta", "alpha"] if is_legacy(any_emulator) else ["registry", "beta", "alpha"]  # newest first
    assert names(listed) == expected
    assert len(collections) == collections.length == len(expected)
    assert (collections.more, [c.name for c in collections.convert_objects()]) == (False, expected[-1:])
    assert all(isinstance(c, ArtifactCollection) and c.type == "dataset" for c in listed)
    assert [c.is_sequence() for c in listed] == [n != "registry" for n in expected]


def test_listing_costs_one_request_per_page(any_emulator: EmbeddedEmulator, any_api: Api, seeded: Seeded) -> None:
    any_api.client.supports_collection_edges  # noqa: B018 - the capability probe, asked once
    any_emulator.stats.reset()
    collections = list(any_api.artifact_collections(seeded.project, "dataset", per_page=1))
    operation = "LegacyTypeArtifactCollections" if is_legacy(any_emulator) else "TypeArtifactCollections"
    assert dict(any_emulator.stats.operations) == {operation: len(collections)}


def test_collections_are_filtered_and_ordered_on_the_server(any_api: Api, seeded: Seeded) -> None:
    by_name = any_api.artifact_collections(seeded.project, "dataset", order="name")
    assert names(by_name) == sorted(names(by_name))
    only_beta = any_api.artifact_collections(seeded.project, "dataset", filters={"name": "beta"})
    assert (len(only_beta), names(only_beta)) == (1, ["beta"])
    none = any_api.artifact_collections(seeded.project, "dataset", filters={"name": "nothing"})
    assert (len(none), list(none), bool(none)) == (0, [], False)


def test_a_type_without_collections_lists_nothing(emulator: EmbeddedEmulator, api: Api, project: str) -> None:
    from tests.conftest import create_types

    create_types(emulator, project, ["empty"])
    collections = api.artifact_collections(project, "empty")
    assert (len(collections), list(collections)) == (0, [])


def test_the_collections_of_a_missing_type_or_project_are_not_found(any_api: Api, seeded: Seeded) -> None:
    with pytest.raises(errors.NotFoundError, match="artifact type 'nope' not found in") as caught:
        list(any_api.artifact_collections(seeded.project, "nope"))
    assert caught.value.kind == "artifact type"
    with pytest.raises(errors.NotFoundError, match="project local/missing-project not found") as caught:
        len(any_api.artifact_collections("local/missing-project", "dataset"))
    assert caught.value.kind == "project"


def test_artifact_type_members(any_api: Api, seeded: Seeded) -> None:
    dataset = any_api.artifact_type("dataset", seeded.project)
    assert (dataset.name, dataset.entity, dataset.project) == ("dataset", seeded.entity, seeded.name)
    assert dataset.id and dataset.id != any_api.artifact_type("model", seeded.project).id
    assert names(dataset.collections(per_page=1))[-1] == "alpha"
    beta = dataset.collection("beta")
    assert (beta.name, beta.type, beta.is_sequence()) == ("beta", "dataset", True)
    with pytest.raises(errors.NotFoundError, match="collection 'net' of type 'dataset' not found"):
        dataset.collection("net")
    assert dataset.load() is dataset
    assert dataset.name == "dataset"


# -- one collection --------------------------------------------------------------------------------


def test_a_sequence_and_its_properties(any_emulator: EmbeddedEmulator, any_api: Api, seeded: Seeded) -> None:
    alpha = any_api.artifact_collection("dataset", seeded.path("alpha"))
    assert (alpha.name, alpha.type, alpha.entity, alpha.project) == ("alpha", "dataset", seeded.entity, seeded.name)
    assert alpha.is_sequence()
    assert alpha.id
    assert alpha.description is None
    assert alpha.tags == []
    assert isinstance(alpha.created_at, str) and alpha.created_at_datetime.tzinfo is not None
    any_emulator.stats.reset()
    assert sorted(alpha.aliases) == ["best", "latest"]
    assert sorted(alpha.aliases) == ["best", "latest"]  # cached: one listing in all
    operation = "LegacyCollectionAliases" if is_legacy(any_emulator) else "CollectionAliases"
    assert dict(any_emulator.stats.operations) == {operation: 1}
    assert [v.version for v in alpha.artifacts()] == ["v1", "v0"]


def test_a_portfolio_and_its_properties(api: Api, tmp_path: Path, project: str) -> None:
    seeded = seed(api, tmp_path, project)
    registry = api.artifact_collection("dataset", seeded.path("registry"))
    assert not registry.is_sequence()
    assert sorted(registry.aliases) == ["latest", "production"]
    links = list(registry.artifacts())
    assert [(v.name, v.is_link, v.source_name) for v in links] == [("registry:v0", True, "alpha:v0")]


def test_a_portfolio_is_not_reachable_through_the_legacy_edges(
    legacy_emulator: EmbeddedEmulator, tmp_path: Path, project: str
) -> None:
    with Api(api_key=legacy_emulator.api_key, base_url=legacy_emulator.url, cache_dir=tmp_path / "c") as legacy:
        seeded = seed(legacy, tmp_path, project)
        with pytest.raises(errors.NotFoundError, match="collection 'registry' of type 'dataset' not found"):
            legacy.artifact_collection("dataset", seeded.path("registry"))


def test_collection_lookups_fail_precisely(any_api: Api, seeded: Seeded) -> None:
    cases = {
        "local/missing-project/alpha": ("project", "project local/missing-project not found"),
        seeded.path("gamma"): ("collection", "collection 'gamma' of type 'dataset' not found"),
    }
    for path, (kind, message) in cases.items():
        with pytest.raises(errors.NotFoundError, match=message) as caught:
            any_api.artifact_collection("dataset", path)
        assert caught.value.kind == kind
    with pytest.raises(errors.NotFoundError, match="artifact type 'nope' not found") as caught:
        any_api.artifact_collection("nope", seeded.path("alpha"))
    assert caught.value.kind == "artifact type"
    with pytest.raises(errors.NotFoundError, match="collection 'alpha' of type 'model' not found"):
        any_api.artifact_collection("model", seeded.path("alpha"))


def test_artifact_collection_exists(any_api: Api, seeded: Seeded) -> None:
    assert any_api.artifact_collection_exists(seeded.path("alpha"), "dataset")
    assert not any_api.artifact_collection_exists(seeded.path("alpha"), "model")
    assert not any_api.artifact_collection_exists(seeded.path("gamma"), "dataset")
    assert not any_api.artifact_collection_exists("local/missing-project/alpha", "dataset")
    with pytest.raises(errors.InvalidNameError):  # a malformed name is a mistake, not "no"
        any_api.artifact_collection_exists("alpha:v0", "dataset")


# -- editing ----------------------------------------------------------------------------------------


def test_save_renames_and_describes(any_emulator: EmbeddedEmulator, any_api: Api, seeded: Seeded) -> None:
    alpha = any_api.artifact_collection("dataset", seeded.path("alpha"))
    alpha.name = "alpha-renamed"
    alpha.description = "the first collection"
    any_emulator.stats.reset()
    alpha.save()
    assert dict(any_emulator.stats.operations) == {"UpdateArtifactSequence": 1}
    assert not any_api.artifact_collection_exists(seeded.path("alpha"), "dataset")
    renamed = any_api.artifact_collection("dataset", seeded.path("alpha-renamed"))
    assert (renamed.id, renamed.description) == (alpha.id, "the first collection")
    assert [v.name for v in alpha.artifacts()] == ["alpha-renamed:v1", "alpha-renamed:v0"]
    assert repr(alpha) == f"<ArtifactCollection {seeded.project}/alpha-renamed (dataset sequence)>"


def test_save_renames_a_portfolio(api: Api, tmp_path: Path, project: str) -> None:
    seeded = seed(api, tmp_path, project)
    registry = api.artifact_collection("dataset", seeded.path("registry"))
    registry.name = "registry-2"
    registry.description = "links"
    registry.save()
    assert api.artifact_collection("dataset", seeded.path("registry-2")).description == "links"
    assert api.artifact(seeded.path("registry-2:production")).source_name == "alpha:v0"


def test_save_adds_and_removes_tags(any_emulator: EmbeddedEmulator, any_api: Api, seeded: Seeded) -> None:
    beta = any_api.artifact_collection("dataset", seeded.path("beta"))
    if not any_api.client.operations.tags:  # a server older than 0.12.11 has no collection tags
        beta.tags = ["raw"]
        any_emulator.stats.reset()
        with pytest.raises(errors.UnsupportedError, match="predates collection tags"):
            beta.save()
        assert any_emulator.stats.operations == {}  # refused before any request
        return
    beta.tags = ["raw", "images", "raw"]
    beta.save()
    assert beta.tags == ["raw", "images"]  # duplicates dropped
    assert sorted(any_api.artifact_collection("dataset", seeded.path("beta")).tags) == ["images", "raw"]
    beta.tags.remove("raw")
    beta.tags.append("clean")
    any_emulator.stats.reset()
    beta.save()
    assert dict(any_emulator.stats.operations) == {"AddCollectionTags": 1, "DeleteCollectionTags": 1}
    assert sorted(beta.load().tags) == ["clean", "images"]


def test_save_moves_a_sequence_to_another_type(any_emulator: EmbeddedEmulator, any_api: Api, seeded: Seeded) -> None:
    beta = any_api.artifact_collection("dataset", seeded.path("beta"))
    beta.type = "model"
    any_emulator.stats.reset()
    beta.save()
    assert dict(any_emulator.stats.operations) == {"MoveArtifactSequence": 1}
    moved = any_api.artifact_collection("model", seeded.path("beta"))
    assert moved.id == beta.id
    assert not any_api.artifact_collection_exists(seeded.path("beta"), "dataset")
    assert any_api.artifact(seeded.path("beta:v0")).type == "model"
    assert [v.type for v in beta.artifacts()] == ["model"]  # listed under the type it has now


def test_change_type_is_deprecated_but_works(any_api: Api, seeded: Seeded) -> None:
    beta = any_api.artifact_collection("dataset", seeded.path("beta"))
    with pytest.deprecated_call(match=r"change_type\(\) is deprecated; set .type and call .save\(\)"):
        beta.change_type("model")
    assert beta.type == "model"
    assert any_api.artifact_collection_exists(seeded.path("beta"), "model")


def test_a_portfolio_cannot_change_type_and_nothing_is_sent(
    emulator: EmbeddedEmulator, api: Api, tmp_path: Path, project: str
) -> None:
    seeded = seed(api, tmp_path, project)
    registry = api.artifact_collection("dataset", seeded.path("registry"))
    registry.type = "model"
    registry.description = "would be saved first"
    emulator.stats.reset()
    with pytest.raises(errors.UnsupportedError, match="the type of portfolio 'registry' cannot be changed"):
        registry.save()
    with (
        pytest.raises(errors.UnsupportedError, match="only sequences can move"),
        pytest.deprecated_call(),
    ):
        registry.change_type("model")
    assert emulator.stats.operations == {}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "has space", "collection name 'has space' may only contain"),
        ("name", "", "the collection name is empty"),
        ("tags", ["ok", "not/ok"], "tag 'not/ok' is not valid"),
        ("type", "a:b", "artifact type 'a:b' may only contain"),
        ("type", "wandb-history", "artifact type 'wandb-history' is reserved"),
    ],
)
def test_invalid_edits_fail_before_any_request(
    emulator: EmbeddedEmulator, api: Api, tmp_path: Path, project: str, field: str, value: object, message: str
) -> None:
    alpha = seed(api, tmp_path, project)
    collection = api.artifact_collection("dataset", alpha.path("alpha"))
    setattr(collection, field, value)
    emulator.stats.reset()
    with pytest.raises((errors.InvalidNameError, errors.UnsupportedError), match=message):
        collection.save()
    assert emulator.stats.operations == {}


def test_save_without_edits_sends_nothing(any_emulator: EmbeddedEmulator, any_api: Api, seeded: Seeded) -> None:
    alpha = any_api.artifact_collection("dataset", seeded.path("alpha"))
    any_emulator.stats.reset()
    alpha.save()
    assert any_emulator.stats.operations == {}


def test_load_drops_unsaved_edits(any_api: Api, seeded: Seeded) -> None:
    alpha = any_api.artifact_collection("dataset", seeded.path("alpha"))
    alpha.description = "unsaved"
    alpha.tags = ["unsaved"]
    assert alpha.load() is alpha
    assert (alpha.description, alpha.tags) == (None, [])


def test_deleting_a_sequence_deletes_its_versions(any_api: Api, seeded: Seeded) -> None:
    any_api.artifact_collection("dataset", seeded.path("beta")).delete()
    assert not any_api.artifact_collection_exists(seeded.path("beta"), "dataset")
    assert not any_api.artifact_exists(seeded.path("beta:v0"))


def test_deleting_a_portfolio_keeps_the_linked_versions(api: Api, tmp_path: Path, project: str) -> None:
    seeded = seed(api, tmp_path, project)
    api.artifact_collection("dataset", seeded.path("registry")).delete()
    assert not api.artifact_exists(seeded.path("registry:v0"))
    assert api.artifact(seeded.path("alpha:v0")).aliases == ["best"]
