"""A user's pipeline, type-checked with `mypy --strict` by `make typecheck` (never executed).

If the facade's annotations regress (an iteration yields `Any`, a property loses its type), mypy
fails here: this is what IDE autocomplete and mypy-checked pipelines rely on.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from typing_extensions import assert_type

from artifactkit import (
    Api,
    Artifact,
    ArtifactCollection,
    ArtifactCollections,
    ArtifactFiles,
    Artifacts,
    ArtifactType,
    ArtifactTypes,
    File,
    Run,
)
from artifactkit.errors import NotFoundError


def pipeline(api: Api) -> None:
    types = api.artifact_types("team/project")
    assert_type(types, ArtifactTypes)
    for artifact_type in types:
        assert_type(artifact_type, ArtifactType)
        assert_type(artifact_type.name, str)
        collections = artifact_type.collections(per_page=100)
        assert_type(collections, ArtifactCollections)
        for collection in collections:
            assert_type(collection, ArtifactCollection)
            assert_type(collection.aliases, list[str])
            assert_type(collection.is_sequence(), bool)

    versions = api.artifacts("dataset", "team/project/training-data", per_page=200)
    assert_type(versions, Artifacts)
    assert_type(len(versions), int)
    for version in versions:
        assert_type(version, Artifact)
        assert_type(version.version, str)
        assert_type(version.aliases, list[str])
        assert_type(version.metadata, dict[str, Any])
        assert_type(version.created_at, datetime)
        assert_type(version.size, int)

    best = api.artifact("team/project/training-data:best")
    files = best.files(names=["train.csv"])
    assert_type(files, ArtifactFiles)
    for file in files:
        assert_type(file, File)
        assert_type(file.size, int)
    root = best.download("/tmp/data", max_workers=8)
    assert_type(root, Path)
    run = best.logged_by()
    assert_type(run, Run | None)
    if run is not None:
        for used in run.used_artifacts():
            assert_type(used, Artifact)
    try:
        api.artifact("team/project/missing:v9")
    except NotFoundError as error:
        assert_type(error.kind, str)
