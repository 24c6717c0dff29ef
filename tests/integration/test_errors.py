"""Errors users see: not-found says what is missing, auth and permission errors are not "not found",
and malformed names fail before any request with the form that was expected."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from artifactkit import Api, errors
from artifactkit.server.embedded import EmbeddedEmulator
from tests.integration.support import normalise, upload


@pytest.fixture
def project_with_data(api: Api, tmp_path: Path, project: str) -> str:
    upload(api, tmp_path, f"{project}/data", aliases=["best"])
    upload(api, tmp_path, f"{project}/data")
    return project


# -- not found ----------------------------------------------------------------------------------------

NOT_FOUND = {
    "entity": "no-such-entity/{name}/data:v0",
    "project": "local/no-such-project/data:v0",
    "collection": "{project}/no-such-collection:v0",
    "version": "{project}/data:v7",
    "alias": "{project}/data:no-such-alias",
}


@pytest.mark.parametrize("kind", list(NOT_FOUND))
def test_not_found_names_what_is_missing(
    emulator: EmbeddedEmulator, api: Api, project_with_data: str, kind: str, snapshot: SnapshotAssertion
) -> None:
    path = NOT_FOUND[kind].format(project=project_with_data, name=project_with_data.split("/")[1])
    with pytest.raises(errors.NotFoundError) as caught:
        api.artifact(path)
    assert caught.value.kind == kind
    assert caught.value.path == path
    assert not isinstance(caught.value, errors.APIStatusError)
    assert normalise_project(str(caught.value), project_with_data) == snapshot


def normalise_project(message: str, project: str) -> str:
    return normalise(message).replace(project.split("/")[1], "<project>")


def test_a_diagnosis_costs_one_extra_request_only_on_the_error_path(
    emulator: EmbeddedEmulator, api: Api, project_with_data: str
) -> None:
    emulator.stats.reset()
    api.artifact(f"{project_with_data}/data:best")
    assert dict(emulator.stats.operations) == {"ArtifactMembershipByName": 1}
    emulator.stats.reset()
    assert not api.artifact_exists(f"{project_with_data}/data:v7")
    assert dict(emulator.stats.operations) == {"ArtifactMembershipByName": 1, "DiagnoseArtifactPath": 1}


# -- authentication and permissions -----------------------------------------------------------------


@pytest.fixture
def unknown_key_api(emulator: EmbeddedEmulator, tmp_path: Path) -> Iterator[Api]:
    with Api(api_key="local-" + "f" * 40, base_url=emulator.url, cache_dir=tmp_path / "c") as client:
        yield client


CALLS: dict[str, Callable[[Api, str], object]] = {
    "artifact_types": lambda api, p: list(api.artifact_types(p)),
    "artifact_collections": lambda api, p: list(api.artifact_collections(p, "dataset")),
    "artifacts": lambda api, p: len(api.artifacts("dataset", f"{p}/data")),
    "artifact": lambda api, p: api.artifact(f"{p}/data:v0"),
    "artifact_exists": lambda api, p: api.artifact_exists(f"{p}/data:v0"),
    "artifact_collection_exists": lambda api, p: api.artifact_collection_exists(f"{p}/data", "dataset"),
    "run": lambda api, p: api.run(f"{p}/some-run"),
}


@pytest.mark.parametrize("call", list(CALLS))
def test_an_unknown_key_is_an_authentication_error_everywhere(
    unknown_key_api: Api, project_with_data: str, call: str
) -> None:
    with pytest.raises(errors.AuthenticationError) as caught:
        CALLS[call](unknown_key_api, project_with_data)
    assert caught.value.status_code == 401
    assert not isinstance(caught.value, errors.NotFoundError)  # *_exists() does not say False
    assert "check the key from argument api_key=" in str(caught.value)


def test_the_authentication_message(unknown_key_api: Api, project_with_data: str, snapshot: SnapshotAssertion) -> None:
    with pytest.raises(errors.AuthenticationError) as caught:
        unknown_key_api.artifact(f"{project_with_data}/data:v0")
    assert normalise_project(str(caught.value), project_with_data) == snapshot


@pytest.fixture
def read_only_api(emulator: EmbeddedEmulator, tmp_path: Path) -> Iterator[Api]:
    with Api(api_key=emulator.create_key(read_only=True), base_url=emulator.url, cache_dir=tmp_path / "c") as client:
        yield client


def test_a_read_only_key_reads(read_only_api: Api, project_with_data: str) -> None:
    assert read_only_api.artifact_exists(f"{project_with_data}/data:best")
    assert [a.version for a in read_only_api.artifacts("dataset", f"{project_with_data}/data")] == ["v1", "v0"]


WRITES: dict[str, Callable[[Api, str], object]] = {
    "Artifact.save": lambda api, p: _edit_and_save(api, p),
    "Artifact.delete": lambda api, p: api.artifact(f"{p}/data:v1").delete(delete_aliases=True),
    "Artifact.link": lambda api, p: api.artifact(f"{p}/data:v1").link(f"{p}/registry"),
    "ArtifactCollection.save": lambda api, p: _rename_collection(api, p),
    "ArtifactCollection.delete": lambda api, p: api.artifact_collection("dataset", f"{p}/data").delete(),
}


def _edit_and_save(api: Api, project: str) -> None:
    artifact = api.artifact(f"{project}/data:v1")
    artifact.description = "edited"
    artifact.save()


def _rename_collection(api: Api, project: str) -> None:
    collection = api.artifact_collection("dataset", f"{project}/data")
    collection.name = "renamed"
    collection.save()


@pytest.mark.parametrize("write", list(WRITES))
def test_a_read_only_key_cannot_write_and_is_told_so(
    read_only_api: Api, api: Api, project_with_data: str, write: str, snapshot: SnapshotAssertion
) -> None:
    with pytest.raises(errors.PermissionDeniedError) as caught:
        WRITES[write](read_only_api, project_with_data)
    assert caught.value.status_code == 403
    assert not isinstance(caught.value, (errors.NotFoundError, errors.AuthenticationError))
    assert normalise_project(str(caught.value), project_with_data) == snapshot
    assert api.artifact(f"{project_with_data}/data:v1").description is None  # nothing changed
    assert api.artifact_collection_exists(f"{project_with_data}/data", "dataset")


# -- malformed names ------------------------------------------------------------------------------------

MISTAKES: dict[str, Callable[[Api], object]] = {
    "artifact without project": lambda api: api.artifact("data:v3"),
    "artifact with too many parts": lambda api: api.artifact("team/project/data/extra:v3"),
    "artifact with a space": lambda api: api.artifact("team/project/my data:v3"),
    "artifact with an empty alias": lambda api: api.artifact("team/project/data:"),
    "artifact with two aliases": lambda api: api.artifact("team/project/data:v1:v2"),
    "artifact with an empty name": lambda api: api.artifact("team/project/:v1"),
    "artifact path is not a string": lambda api: api.artifact(None),  # type: ignore[arg-type]
    "artifacts given a version": lambda api: api.artifacts("dataset", "team/project/data:v3"),
    "collection given a version": lambda api: api.artifact_collection("dataset", "team/project/data:latest"),
    "collection exists given a version": lambda api: api.artifact_collection_exists("team/project/data:v1", "dataset"),
    "project path with three parts": lambda api: api.artifact_types("team/project/data"),
    "empty project path": lambda api: api.artifact_types("  "),
    "no project at all": lambda api: api.artifact_types(),
    "run path with five parts": lambda api: api.run("team/project/runs/abc/extra"),
    "run id with a colon": lambda api: api.run("team/project/run:1"),
    "tag with a slash": lambda api: api.artifacts("dataset", "team/project/data", tags=["ok", "a/b"]),
    "per_page zero": lambda api: api.artifacts("dataset", "team/project/data", per_page=0),
    "per_page too large": lambda api: api.artifact_types("team/project", per_page=5000),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_malformed_names_fail_before_any_request(
    emulator: EmbeddedEmulator, tmp_path: Path, mistake: str, snapshot: SnapshotAssertion
) -> None:
    with Api(api_key=emulator.api_key, base_url=emulator.url, cache_dir=tmp_path) as api:  # no default entity
        emulator.stats.reset()
        with pytest.raises((errors.InvalidNameError, ValueError)) as caught:
            MISTAKES[mistake](api)
    assert emulator.stats.operations == {}
    assert f"{type(caught.value).__name__}: {caught.value}" == snapshot


def test_a_name_missing_only_its_entity_asks_for_the_default_entity(
    emulator: EmbeddedEmulator, api: Api, project_with_data: str
) -> None:
    emulator.stats.reset()
    name = project_with_data.split("/")[1]
    assert api.artifact(f"{name}/data:best").version == "v0"
    assert emulator.stats.operations["Viewer"] == 1
