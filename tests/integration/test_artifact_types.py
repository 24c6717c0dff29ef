"""The first path end to end: listing a project's artifact types over HTTP from the emulator."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from artifactkit import Api, ArtifactType, errors
from artifactkit.cli import main as cli_main
from artifactkit.server.embedded import EmbeddedEmulator
from tests.conftest import create_types, make_api, sent_operations

TYPES = ["dataset", "model", "evaluation", "code", "predictions", "tokenizer", "config"]


def test_lists_every_type_across_pages(any_emulator: EmbeddedEmulator, any_api: Api, project: str) -> None:
    create_types(any_emulator, project, TYPES)
    any_emulator.stats.reset()

    types = list(any_api.artifact_types(project, per_page=3))

    assert [t.name for t in types] == TYPES
    assert all(isinstance(t, ArtifactType) and t.id for t in types)
    assert any_emulator.stats.operations["ProjectArtifactTypes"] == 3  # ceil(7 / 3) pages, nothing else


def test_is_reiterable_and_resumable_from_a_cursor(emulator: EmbeddedEmulator, api: Api, project: str) -> None:
    create_types(emulator, project, TYPES)
    types = api.artifact_types(project, per_page=4)
    first_pass = [t.name for t in types]
    assert [t.name for t in types] == first_pass == TYPES

    pages = list(api.artifact_types(project, per_page=4).pages())
    resumed = api.client  # a cursor kept from the first page restarts after it
    from artifactkit.artifact_types import ArtifactTypes

    rest = ArtifactTypes(resumed, *project.split("/"), per_page=4, start=pages[0].end_cursor)
    assert [t.name for t in rest] == TYPES[4:]


def test_types_are_not_counted_by_the_server(api: Api, emulator: EmbeddedEmulator, project: str) -> None:
    create_types(emulator, project, ["dataset"])
    types = api.artifact_types(project)
    assert types.length is None
    with pytest.raises(TypeError, match="does not count"):
        len(types)
    assert [t.name for t in types] == ["dataset"]


def test_artifact_type_loads_one_type(emulator: EmbeddedEmulator, api: Api, project: str) -> None:
    create_types(emulator, project, ["dataset", "model"])
    model = api.artifact_type("model", project)
    assert (model.name, model.entity, model.project) == ("model", *project.split("/"))
    with pytest.raises(errors.NotFoundError, match="artifact type 'nope' not found") as caught:
        api.artifact_type("nope", project)
    assert caught.value.kind == "artifact type"


def test_unknown_project_is_a_typed_not_found(api: Api) -> None:
    with pytest.raises(errors.NotFoundError, match="project local/does-not-exist not found") as caught:
        list(api.artifact_types("local/does-not-exist"))
    assert caught.value.kind == "project"


def test_wrong_api_key_is_a_typed_authentication_error(emulator: EmbeddedEmulator, tmp_path: Path) -> None:
    with (
        Api(api_key="local-" + "0" * 40, base_url=emulator.url, cache_dir=tmp_path) as bad,
        pytest.raises(errors.AuthenticationError) as caught,
    ):
        list(bad.artifact_types("local/anything"))
    assert caught.value.status_code == 401
    assert "API key was rejected" in str(caught.value)
    assert caught.value.__cause__ is not None  # the generated client's error is kept, not shown


def test_document_sent_for_artifact_types(emulator: EmbeddedEmulator, api: Api, snapshot: SnapshotAssertion) -> None:
    create_types(emulator, "local/snapshot-types", ["dataset"])
    emulator.stats.reset()
    list(api.artifact_types("local/snapshot-types", per_page=10))
    assert sent_operations(emulator) == snapshot


def test_cli_ls_prints_the_types(
    emulator: EmbeddedEmulator, capsys: pytest.CaptureFixture[str], snapshot: SnapshotAssertion
) -> None:
    create_types(emulator, "local/cli-types", ["dataset", "model"])
    args = ["ls", "local/cli-types", "--types", "--base-url", emulator.url, "--api-key", emulator.api_key]
    assert cli_main(args) == 0
    table = capsys.readouterr().out
    assert cli_main([*args, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["schema_version"] == 1
    assert [r["name"] for r in document["types"]] == ["dataset", "model"]
    assert re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "<time>", table) == snapshot


def test_cli_error_is_one_line_with_an_exit_code(
    emulator: EmbeddedEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(["ls", "local/no-such-project", "--base-url", emulator.url, "--api-key", emulator.api_key])
    err = capsys.readouterr().err
    assert code == 3
    assert err.strip() == "artifactkit: error: project local/no-such-project not found [NotFoundError]"


def test_api_without_a_server_means_w_and_b_cloud(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("WANDB_BASE_URL", "WANDB_API_KEY", "WANDB_CONFIG_DIR", "WANDB_DIR", "NETRC"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no netrc or wandb settings of the machine's user
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARTIFACTKIT_DATA_DIR", str(tmp_path))
    with Api(api_key="x" * 40) as api:  # as wandb: a key and no server configured is W&B cloud
        assert api.base_url == "https://api.wandb.ai"
    with pytest.raises(errors.ConfigurationError, match=r"no API key for https://api\.wandb\.ai"):
        Api()


def test_api_reads_the_environment(
    emulator: EmbeddedEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, project: str
) -> None:
    create_types(emulator, project, ["dataset"])
    monkeypatch.setenv("WANDB_BASE_URL", emulator.url)
    monkeypatch.setenv("WANDB_API_KEY", emulator.api_key)
    monkeypatch.setenv("WANDB_ENTITY", "local")
    with Api(cache_dir=tmp_path) as env_api:
        assert [t.name for t in env_api.artifact_types(project.split("/")[1])] == ["dataset"]


def test_make_api_helper_uses_the_emulator(emulator: EmbeddedEmulator, tmp_path: Path) -> None:
    with make_api(emulator, tmp_path) as client:
        assert client.default_entity == "local"


def test_artifact_types_paginator_members(any_emulator: EmbeddedEmulator, any_api: Api, project: str) -> None:
    create_types(any_emulator, project, TYPES)
    types = any_api.artifact_types(project, per_page=5)
    assert (types.length, types.more, types.cursor, types.convert_objects()) == (None, True, None, [])
    any_emulator.stats.reset()
    pages = types.pages()
    first = next(pages)
    assert [t.name for t in types.convert_objects()] == [t.name for t in first.items] == TYPES[:5]
    assert types.more is True and types.cursor == first.end_cursor is not None
    types.update_variables()  # kept for W&B compatibility; the cursor moves by itself
    assert types.variables == {"cursor": first.end_cursor, "perPage": 5}
    rest = next(pages)
    assert [t.name for t in rest.items] == TYPES[5:]
    assert types.more is False
    assert any_emulator.stats.operations["ProjectArtifactTypes"] == 2
    assert [t.name for t in any_api.artifact_types(project, per_page=5)[3:6]] == TYPES[3:6]


def test_artifact_type_load_refreshes(any_emulator: EmbeddedEmulator, any_api: Api, project: str) -> None:
    create_types(any_emulator, project, ["dataset"])
    dataset = any_api.artifact_type("dataset", project)
    any_emulator.stats.reset()
    assert dataset.load() is dataset
    assert dataset.name == "dataset" and dataset.id
    assert dict(any_emulator.stats.operations) == {"ProjectArtifactType": 1}
