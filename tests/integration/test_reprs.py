"""What users see when they print things, and the typed models behind each entity, pinned by syrupy.

The model dumps are the generated pydantic models each entity wraps, as parsed from the server's
answer (ids, timestamps, digests and URLs normalised): a schema or query change shows up here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from syrupy.assertion import SnapshotAssertion

from artifactkit import Api
from artifactkit.server.embedded import EmbeddedEmulator
from tests.integration.support import normalise, upload

PROJECT = "local/reprs"
_DIGEST = re.compile(r"\b[0-9a-f]{32}\b")
_SIGNED = re.compile(r"\?exp=\d+&sig=[0-9a-f]+")
_MD5_B64 = re.compile(r"^[A-Za-z0-9+/]{22}==$")


@pytest.fixture(scope="module")
def seeded_api(emulator: EmbeddedEmulator, tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("reprs")
    with Api(api_key=emulator.api_key, base_url=emulator.url, cache_dir=root / "cache") as api:
        v0 = upload(
            api,
            root,
            f"{PROJECT}/data",
            files={"train.csv": "a,b\n1,2\n", "nested/readme.md": "# data\n"},
            aliases=["best"],
            tags=["raw"],
            metadata={"rows": 1, "source": "synthetic"},
            description="tiny",
            run="r1",
        )
        v0.link(f"{PROJECT}/registry", aliases=["production"])
        yield api


def dump(model: BaseModel) -> Any:
    """The model as JSON-able data, volatile values replaced."""

    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        if isinstance(value, str):
            value = _DIGEST.sub("<digest>", _SIGNED.sub("?exp=<exp>&sig=<sig>", value))
            return "<md5>" if _MD5_B64.match(value) else value
        return value

    return scrub(normalise(model.model_dump(mode="json", by_alias=True)))


def test_reprs(seeded_api: Api, emulator: EmbeddedEmulator, snapshot: SnapshotAssertion) -> None:
    api = seeded_api
    artifact = api.artifact(f"{PROJECT}/data:v0")
    link = api.artifact(f"{PROJECT}/registry:production")
    run = api.run(f"{PROJECT}/r1")
    shown = {
        "Api": repr(api),
        "ArtifactTypes": repr(api.artifact_types(PROJECT)),
        "ArtifactType": repr(api.artifact_type("dataset", PROJECT)),
        "ArtifactCollections": repr(api.artifact_collections(PROJECT, "dataset")),
        "ArtifactCollection (sequence)": repr(api.artifact_collection("dataset", f"{PROJECT}/data")),
        "ArtifactCollection (portfolio)": repr(api.artifact_collection("dataset", f"{PROJECT}/registry")),
        "Artifacts": repr(api.artifacts("dataset", f"{PROJECT}/data")),
        "Artifact": repr(artifact),
        "Artifact (link)": repr(link),
        "ArtifactFiles": repr(artifact.files()),
        "File": [repr(f) for f in artifact.files()],
        "Run": repr(run),
        "RunArtifacts": repr(run.logged_artifacts()),
    }
    assert normalise(shown) == snapshot


def test_typed_models(seeded_api: Api, snapshot: SnapshotAssertion) -> None:
    api = seeded_api
    artifact = api.artifact(f"{PROJECT}/data:v0")
    models = {
        "ArtifactType": api.artifact_type("dataset", PROJECT)._attrs,
        "ArtifactCollection (sequence)": api.artifact_collection("dataset", f"{PROJECT}/data")._attrs,
        "ArtifactCollection (portfolio)": api.artifact_collection("dataset", f"{PROJECT}/registry")._attrs,
        "Artifact": artifact._attrs,
        "Artifact (link)": api.artifact(f"{PROJECT}/registry:v0")._attrs,
        "File": next(iter(artifact.files(names=["train.csv"])))._attrs,
        "Run": api.run(f"{PROJECT}/r1")._attrs,
    }
    assert {name: dump(model) for name, model in models.items()} == snapshot


def test_a_version_seen_through_a_portfolio_keeps_the_sources_model(seeded_api: Api) -> None:
    source = seeded_api.artifact(f"{PROJECT}/data:v0")
    link = seeded_api.artifact(f"{PROJECT}/registry:v0")
    assert link._attrs == source._attrs  # one version, two views: only the view differs
    assert (link.qualified_name, source.qualified_name) == (f"{PROJECT}/registry:v0", f"{PROJECT}/data:v0")


def test_the_manifest_model(seeded_api: Api, tmp_path: Path, snapshot: SnapshotAssertion) -> None:
    manifest = seeded_api.artifact(f"{PROJECT}/data:v0").manifest
    assert {path: (e.size, e.is_reference) for path, e in manifest.entries.items()} == snapshot
