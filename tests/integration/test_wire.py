"""What goes on the wire for each facade call, in the modern and the legacy server personality.

Every scenario runs once per personality against a fresh client (so the one capability probe shows
up where it is first needed). The snapshots pin, per call, the operations sent with their
normalised variables, and once per personality the text of every document sent. The edge switch
is visible there: `TypeArtifactCollections` against a modern server, `LegacyTypeArtifactCollections`
against one older than 0.12.11.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion

from artifactkit import Api, server_supports_artifact_collections_gql_edges
from artifactkit.errors import ArtifactkitError
from artifactkit.server.embedded import EmbeddedEmulator
from tests.conftest import make_api
from tests.integration.support import team, upload, wire

READ = "local/wire-read"
TEAM_READ = "wire-team/wire-read"  # registries link versions of team projects


def seed(api: Api, root: Path, project: str) -> None:
    tags = ["raw"] if api.client.operations.tags else []  # a server older than 0.12.11 has no tags
    v0 = upload(api, root, f"{project}/data", aliases=["best"], tags=tags, run="r1")
    upload(api, root, f"{project}/data")
    api.use_artifact(v0, f"{project}/r2")
    v0.link(f"{project}/registry")


def seed_registry(emu: EmbeddedEmulator, api: Api, root: Path) -> None:
    """A model of a team project linked into the home organization's `model` registry as `production`."""
    team(emu, "wire-team", "local")
    version = upload(api, root, f"{TEAM_READ}/wire-model", "model", aliases=["best"])
    if api.capabilities.collection_edges:  # a server before 0.12.11 has no registries
        version.link("wandb-registry-model/wire-model", aliases=["production"])


def _link_into_registry(api: Api, project: str) -> None:
    version = api.artifact(f"{TEAM_READ}/wire-model:v0")
    version.link("wandb-registry-model/wire-link", aliases=["candidate"]).unlink()


def _save_artifact(api: Api, project: str) -> None:
    artifact = api.artifact(f"{project}/data:v0")
    artifact.aliases = ["golden"]
    artifact.tags.append("checked")
    artifact.description = "edited"
    artifact.metadata = {"n": 1}
    artifact.save()


def _save_collection(api: Api, project: str) -> None:
    collection = api.artifact_collection("dataset", f"{project}/data")
    collection.name = "data-renamed"
    collection.description = "edited"
    collection.tags = ["raw"]
    collection.type = "model"
    collection.save()


def _link_and_unlink(api: Api, project: str) -> None:
    api.artifact(f"{project}/data:v1").link(f"{project}/registry", aliases=["candidate"]).unlink()


# name -> (the facade call, whether it changes data and so needs a project of its own)
SCENARIOS: dict[str, tuple[Callable[[Api, str], Any], bool]] = {
    "server_supports_artifact_collections_gql_edges": (
        lambda api, p: server_supports_artifact_collections_gql_edges(api.client),
        False,
    ),
    "artifact_types": (lambda api, p: list(api.artifact_types(p, per_page=1)), False),
    "artifact_type": (lambda api, p: api.artifact_type("dataset", p), False),
    "ArtifactType.collections": (lambda api, p: list(api.artifact_type("dataset", p).collections()), False),
    "artifact_collections": (lambda api, p: list(api.artifact_collections(p, "dataset", per_page=1)), False),
    "artifact_collections filtered": (
        lambda api, p: len(api.artifact_collections(p, "dataset", filters={"name": "data"}, order="-createdAt")),
        False,
    ),
    "artifact_collection": (lambda api, p: api.artifact_collection("dataset", f"{p}/data"), False),
    "ArtifactCollection.aliases": (lambda api, p: api.artifact_collection("dataset", f"{p}/data").aliases, False),
    "artifact_collection_exists": (lambda api, p: api.artifact_collection_exists(f"{p}/nope", "dataset"), False),
    "artifacts": (lambda api, p: list(api.artifacts("dataset", f"{p}/data", per_page=1)), False),
    "artifacts with tags, filters and order": (
        lambda api, p: list(
            api.artifacts("dataset", f"{p}/data", tags=["raw"], filters={"metadata.n": 1}, order="versionIndex")
        ),
        False,
    ),
    "artifact": (lambda api, p: api.artifact(f"{p}/data:best", type="dataset"), False),
    "artifact not found": (lambda api, p: api.artifact(f"{p}/data:v9"), False),
    "artifact_exists": (lambda api, p: api.artifact_exists(f"{p}/data"), False),
    "Artifact.files": (lambda api, p: list(api.artifact(f"{p}/data:v0").files(names=["data.txt"])), False),
    "Artifact.logged_by": (lambda api, p: api.artifact(f"{p}/data:v0").logged_by(), False),
    "Artifact.used_by": (lambda api, p: api.artifact(f"{p}/data:v0").used_by(), False),
    "run logged and used artifacts": (
        lambda api, p: (list(api.run(f"{p}/r1").logged_artifacts()), list(api.run(f"{p}/r2").used_artifacts())),
        False,
    ),
    "Artifact.save": (_save_artifact, True),
    "Artifact.delete": (lambda api, p: api.artifact(f"{p}/data:v1").delete(delete_aliases=True), True),
    "Artifact.link and unlink": (_link_and_unlink, True),
    "ArtifactCollection.save": (_save_collection, True),
    "ArtifactCollection.delete": (lambda api, p: api.artifact_collection("dataset", f"{p}/data").delete(), True),
    "Api.organization": (lambda api, p: api.organization(), False),
    "Api.registries": (lambda api, p: list(api.registries(filter={"name": "model"}, order="name")), False),
    "Api.registry, its collections and versions": (
        lambda api, p: (
            list((r := api.registry("model")).collections(filter={"name": "wire-model"})),
            list(r.versions(filter={"alias": "production"})),
        ),
        False,
    ),
    "Registries.versions across registries": (
        lambda api, p: list(
            api.registries(filter={"name": {"$regex": "model"}}).versions(filter={"alias": "production"})
        ),
        False,
    ),
    "Api.artifact on a registry path": (
        lambda api, p: api.artifact("wandb-registry-model/wire-model:production"),
        False,
    ),
    "Artifact.linked_artifacts": (lambda api, p: api.artifact(f"{TEAM_READ}/wire-model:v0").linked_artifacts, False),
    "Artifact.link into a registry and unlink": (_link_into_registry, False),
    "Api.download_many, batched lookups": (
        lambda api, p: api.download_many(
            [f"{p}/data:best", f"{p}/data:v1", f"{p}/data:v9", "wandb-registry-model/wire-model:production"],
            api.client.cache_root.parent / f"many-{api.client.cache_root.name}",
            raise_errors=False,
            max_workers=1,  # one request at a time: the order on the wire is fixed
        ),
        False,
    ),
}


@dataclass
class Recording:
    calls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    documents: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module", params=["modern", "legacy"])
def recording(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """Run every scenario once against this personality and keep what was sent."""
    emu: EmbeddedEmulator = request.getfixturevalue("emulator" if request.param == "modern" else "legacy_emulator")
    root = tmp_path_factory.mktemp(f"wire-{request.param}")
    recorded = Recording()
    with make_api(emu, root / "seed-cache") as seeder:
        seed(seeder, root, READ)
        seed_registry(emu, seeder, root)
        for number, (_call, writes) in enumerate(SCENARIOS.values()):
            if writes:
                seed(seeder, root, f"local/wire-{number}")
    for number, (name, (call, writes)) in enumerate(SCENARIOS.items()):
        project = f"local/wire-{number}" if writes else READ
        with make_api(emu, root / f"cache-{number}") as api:
            emu.stats.reset()
            try:
                call(api, project)
            except ArtifactkitError as error:
                recorded.calls.setdefault(name, []).append({"raised": type(error).__name__})
            sent = wire(emu)
        recorded.calls[name] = [*sent["calls"], *recorded.calls.get(name, [])]
        for operation, document in sent["documents"].items():
            recorded.documents.setdefault(operation, document)
    return recorded


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_operations_sent_per_call(recording: Recording, scenario: str, snapshot: SnapshotAssertion) -> None:
    assert recording.calls[scenario] == snapshot


def test_documents_sent(recording: Recording, snapshot: SnapshotAssertion) -> None:
    assert recording.documents == snapshot


def test_the_edge_switch_is_visible_on_the_wire(request: pytest.FixtureRequest, recording: Recording) -> None:
    sent = {call["operation"] for calls in recording.calls.values() for call in calls if "operation" in call}
    modern = {"TypeArtifactCollections", "TypeArtifactCollection", "CollectionVersions", "CollectionAliases"}
    legacy = {f"Legacy{name}" for name in modern}
    legacy_server = "legacy" in request.node.callspec.id
    assert sent >= (legacy if legacy_server else modern)
    assert not sent & (modern if legacy_server else legacy)
    assert sum(1 for calls in recording.calls.values() for c in calls if c.get("operation") == "ServerCliVersion") > 0
