"""A user's pipeline, type-checked with `mypy --strict` by `make typecheck` (never executed).

If the facade's annotations regress (an iteration yields `Any`, a property loses its type), mypy
fails here: this is what IDE autocomplete and mypy-checked pipelines rely on.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, assert_type

from artifactkit import (
    Api,
    Artifact,
    ArtifactCollection,
    ArtifactCollections,
    ArtifactFiles,
    Artifacts,
    ArtifactType,
    ArtifactTypes,
    DownloadResult,
    File,
    Manifest,
    Project,
    ProjectArtifactCollections,
    Projects,
    Run,
    RunArtifacts,
    Runs,
    User,
    artifact_collection_edge_name,
    server_supports_artifact_collections_gql_edges,
)
from artifactkit.errors import AuthenticationError, InvalidNameError, NotFoundError


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
        assert_type(version.created_at, str)  # wandb's: the server's text
        assert_type(version.created_at_datetime, datetime)
        assert_type(version.updated_at_datetime, datetime)
        assert_type(version.ttl, timedelta | None)
        assert_type(version.url, str)
        assert_type(version.commit_hash, str)
        assert_type(version.linked_at, str | None)
        assert_type(version.size, int)

    best = api.artifact("team/project/training-data:best")
    files = best.files(names=["train.csv"])
    assert_type(files, ArtifactFiles)
    for file in files:
        assert_type(file, File)
        assert_type(file.size, int)
    root: str = best.download()  # wandb's habit: the default root, a str
    labels = open(root + "/labels.csv").read()  # noqa: SIM115 - the way wandb users write it
    assert_type(labels, str)
    assert_type(best.download("/tmp/data", max_workers=8), str)
    assert_type(best.download("/tmp/shared", placement="hardlink"), str)  # links into the cache, on request
    assert_type(best.file("/tmp/one"), str)
    assert_type(best.checkout(), str)
    entry = best.get_entry("train.csv")
    assert_type(entry.download(), str)
    assert_type(entry.size, int)
    plan = best.download("/tmp/data", dry_run=True)
    assert_type(plan, DownloadResult)
    assert_type([f.action for f in plan.files], list[Literal["keep", "cache", "fetch"]])
    assert_type([f.path for f in plan.files if f.replaces], list[str])
    run = best.logged_by()
    assert_type(run, Run | None)
    if run is not None:
        for used in run.used_artifacts():
            assert_type(used, Artifact)
    try:
        api.artifact("team/project/missing:v9")
    except NotFoundError as error:
        assert_type(error.kind, str)


def listings(api: Api) -> None:
    """Paginator members and indexing keep the item type."""
    versions = api.artifacts("dataset", "team/project/training-data", tags=["raw"], filters={"size": {"$gt": 0}})
    assert_type(versions[0], Artifact)
    assert_type(versions[:3], list[Artifact])
    assert_type(versions.cursor, str | None)
    assert_type(versions.more, bool)
    assert_type(versions.length, int | None)
    assert_type(versions.convert_objects(), list[Artifact])
    resumed = api.artifact_collection("dataset", "team/project/training-data").artifacts(start=versions.cursor)
    assert_type(resumed, Artifacts)
    assert_type(list(resumed), list[Artifact])
    assert_type(api.artifact_types("team/project").length, int | None)
    collections = api.artifact_collections("team/project", "dataset", order="name")
    assert_type(collections[0], ArtifactCollection)


def runs(api: Api) -> None:
    """A run's listings are `RunArtifacts` of `Artifact`, not a bare paginator."""
    run = api.run("team/project/abc123")
    assert_type(run, Run)
    assert_type(run.path, list[str])
    assert_type(run.name, str | None)  # the display name, as wandb
    assert_type(run.config, dict[str, Any])
    assert_type(run.user, User | None)
    assert_type(run.created_at_datetime, datetime)
    listed = api.runs("team/project", filters={"jobType": "train"}, order="-created_at")
    assert_type(listed, Runs)
    assert_type(next(listed), Run)
    for each in listed:
        assert_type(each.tags, list[str])
    logged = run.logged_artifacts()
    assert_type(logged, RunArtifacts)
    assert_type(run.used_artifacts(per_page=10), RunArtifacts)
    for artifact in logged:
        assert_type(artifact, Artifact)
        assert_type(artifact.is_link, bool)
        assert_type(artifact.used_by(), list[Run])


def projects(api: Api) -> None:
    """Projects as wandb has them: `api.project(name)`, `api.projects()`, `api.from_path()`."""
    project = api.project("project", entity="team")
    assert_type(project, Project)
    assert_type(project.path, list[str])
    assert_type(project.created_at_datetime, datetime)
    assert_type(project.owner, User)
    assert_type(project.collections(order="-createdAt"), ProjectArtifactCollections)
    assert_type(project.artifacts_types(), ArtifactTypes)
    assert_type(api.projects("team"), Projects)
    assert_type(api.from_path("team/project"), Project | Run)
    assert_type(api.default_project, str | None)
    assert_type(api.viewer, User)


def editing(api: Api) -> None:
    """Entities, edits and lookups keep precise types."""
    with Api(base_url="http://127.0.0.1:8080") as local:
        assert_type(local, Api)
        assert_type(local.default_entity, str | None)
    artifact_type = api.artifact_type("dataset", "team/project")
    assert_type(artifact_type.load(), ArtifactType)
    assert_type(artifact_type.collection("training-data"), ArtifactCollection)
    collection = api.artifact_collection("dataset", "team/project/training-data")
    assert_type(collection.load(), ArtifactCollection)
    assert_type(collection.tags, list[str])
    assert_type(collection.description, str | None)
    assert_type(collection.created_at, str)
    assert_type(collection.created_at_datetime, datetime)
    assert_type(collection.updated_at_datetime, datetime | None)
    collection.tags.append("checked")
    collection.save()
    version = api.artifact("team/project/training-data:v3", type="dataset")
    assert_type(version.collection, ArtifactCollection)
    assert_type(version.manifest, Manifest)
    assert_type(version.link("team/project/registry", aliases=["production"]), Artifact)
    assert_type(version.files().path, list[str])
    for file in version.files():
        assert_type(file.md5, str | None)
        assert_type(file.url, str | None)
        assert_type(file.direct_url, str)
        assert_type(file.download("/tmp/one"), io.TextIOWrapper)  # wandb's: the file, open
        assert_type(file.download_path("/tmp/one", replace=True), Path)
    version.aliases.append("golden")
    version.metadata["reviewed"] = True
    version.save()
    assert_type(api.artifact_exists("team/project/training-data:v9"), bool)
    assert_type(api.artifact_collection_exists("team/project/training-data", "dataset"), bool)
    assert_type(server_supports_artifact_collections_gql_edges(api), bool)
    assert_type(artifact_collection_edge_name(True), str)
    try:
        api.artifact("bad name")
    except InvalidNameError as error:
        assert_type(error.expected, str)
    except AuthenticationError as error:
        assert_type(error.status_code, int)


def filesystem(api: Api) -> None:
    from artifactkit.fs import ArtifactFile, ArtifactFileSystem, VersionTransaction, WandbPath, parse_path

    fs = ArtifactFileSystem(api, block_size=1 << 20, artifact_type="model")
    assert_type(fs.ls("team/project/dataset:v3"), list[Any])
    assert_type(fs.info("team/project/dataset:latest/a.csv"), dict[str, Any])
    assert_type(fs.cat_file("team/project/dataset:v3/a.csv", start=0, end=10), bytes)
    assert_type(parse_path("wandb://team/project/dataset:v3/a.csv"), WandbPath)
    opened = fs.open("wandb://team/project/dataset:v3/a.csv")
    if isinstance(opened, ArtifactFile):
        assert_type(opened.info(), dict[str, Any])
    with fs.transaction as transaction:
        if isinstance(transaction, VersionTransaction):
            assert_type(transaction.versions, list[Artifact])


def registry_pipeline(api: Api) -> None:
    """Promote a model through a registry, then consume it by alias, as a production service does."""
    from artifactkit import (
        AddOnlyArtifactTypesList,
        LinkTarget,
        MemberRole,
        Organization,
        Registries,
        Registry,
        RegistryCollections,
        RegistryVersions,
        TeamMember,
        UserMember,
    )
    from artifactkit.errors import AmbiguousOrganizationError, OrganizationNotFoundError

    production = api.artifact("wandb-registry-model/classifier:production")
    assert_type(production, Artifact)
    assert_type(production.is_link, bool)
    assert_type(production.linked_at, str | None)
    assert_type(production.source_artifact, Artifact)
    assert_type(production.download(), str)
    assert_type(api.artifact("acme/wandb-registry-model/classifier:v2").source_qualified_name, str)

    candidate = api.artifact("ml-team/training/classifier:v7")
    target = candidate.link_target("wandb-registry-model/classifier")
    assert_type(target, LinkTarget)
    if target.existing is None:
        linked = candidate.link("wandb-registry-model/classifier", aliases=["production"])
        assert_type(linked, Artifact)
    assert_type(candidate.linked_artifacts, list[Artifact])

    assert_type(api.organization(), Organization)
    registry = api.registry("model")
    assert_type(registry, Registry)
    assert_type(registry.visibility, Literal["organization", "restricted"])
    assert_type(registry.created_at, str)
    assert_type(registry.created_at_datetime, datetime)
    assert_type(registry.artifact_types, AddOnlyArtifactTypesList)
    registry.description = "models that passed evaluation"
    registry.save()
    for member in registry.members():
        if isinstance(member, UserMember):
            assert_type(member.role, MemberRole | str)
        else:
            assert_type(member, TeamMember)
    bob = api.user("bob")
    if bob is not None:
        assert_type(registry.add_members(bob).update_member(bob, MemberRole.VIEWER), Registry)

    registries = api.registries(filter={"name": {"$regex": "model"}})
    assert_type(registries, Registries)
    collections = registries.collections(filter={"tag": "prod"})
    if isinstance(collections, RegistryCollections):
        assert_type(len(collections), int)
    for version in registry.versions(filter={"alias": "production"}):
        assert_type(version, Artifact)
    assert_type(registry.versions(), RegistryVersions)
    try:
        api.artifact("wandb-registry-model/classifier:production")
    except AmbiguousOrganizationError as error:
        assert_type(error.message, str)
    except OrganizationNotFoundError as error:
        assert_type(error.kind, str)


def travel(source: Api, target: Api) -> None:
    from artifactkit import Bundle, MirrorReport
    from artifactkit.errors import BundleError, MirrorVerificationError
    from artifactkit.mirror import VersionResult

    report = source.mirror("team/project", target, to="other-team", dry_run=True)
    assert_type(report, MirrorReport)
    assert_type(report.bytes_to_send_at_most, int)
    for version in report.versions:
        assert_type(version, VersionResult)
        assert_type(version.target, str | None)
        assert_type(version.verified, bool | None)
    assert_type(report.verified, bool | None)
    assert_type(report.to_json(), dict[str, Any])
    assert_type(source.mirror("team/project/model:v1,best", Bundle("/tmp/bundle")).sent_bytes, int)
    assert_type(source.export(["team/project", "team/other/data"], "/tmp/bundle").created, int)
    try:
        target.import_bundle("/tmp/bundle", to="team")
    except BundleError as error:
        assert_type(error.path, str)
    except MirrorVerificationError as error:
        assert_type(error.versions, tuple[str, ...])
    assert_type(Api(base_url="https://wandb.corp.example", host_keys_only=True), Api)
