"""`wandb://` paths into registries read like any other version: by alias, with or without the
organization, listed like projects; a registry path never resolves against the caller's own entity."""

from __future__ import annotations

import pickle
from pathlib import Path

import pandas as pd
import pytest

from artifactkit import Api, errors
from artifactkit.fs import ArtifactFileSystem, parse_path
from artifactkit.server.embedded import EmbeddedEmulator
from tests.conftest import make_api
from tests.integration.support import leave_home_organization, team, upload, user_key

REGISTRY = "wandb-registry-model"


@pytest.fixture(scope="module")
def linked(emulator: EmbeddedEmulator, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`fs-scores` of a team project, linked into the home organization's model registry as production."""
    root = tmp_path_factory.mktemp("fs-registry")
    team(emulator, "fs-team", "local")
    with make_api(emulator, root / "cache") as api:
        version = upload(
            api, root, "fs-team/fs-work/fs-scores", "model", files={"scores.csv": "a,b\n1,2\n3,4\n", "notes/x.txt": "x"}
        )
        version.link(f"{REGISTRY}/fs-scores", aliases=["production"])
    return f"{REGISTRY}/fs-scores:production"


def test_a_registry_version_opens_by_alias(fs: ArtifactFileSystem, linked: str) -> None:
    assert fs.cat_file(f"wandb://{linked}/notes/x.txt") == b"x"
    frame = pd.read_csv(f"wandb://{linked}/scores.csv", storage_options={"api": fs.api})
    assert frame.to_dict("list") == {"a": [1, 3], "b": [2, 4]}
    for organization in ("local-org", "local-org-entity"):
        assert fs.cat_file(f"wandb://{organization}/{linked}/notes/x.txt") == b"x"


def test_registries_list_like_projects(fs: ArtifactFileSystem, linked: str) -> None:
    collections = fs.ls(f"wandb://{REGISTRY}", detail=False)
    assert f"local-org-entity/{REGISTRY}/fs-scores" in collections
    versions = fs.ls(f"wandb://{REGISTRY}/fs-scores", detail=True)
    assert [(v["name"], v["aliases"]) for v in versions] == [
        (f"local-org-entity/{REGISTRY}/fs-scores:v0", ["latest", "production"])
    ]
    assert sorted(fs.ls(f"wandb://{linked}", detail=False)) == [
        f"local-org-entity/{linked}/notes",
        f"local-org-entity/{linked}/scores.csv",
    ]
    # What a listing names opens again.
    assert fs.cat_file(f"wandb://local-org-entity/{linked}/notes/x.txt") == b"x"


def test_get_downloads_a_registry_version(fs: ArtifactFileSystem, linked: str, tmp_path: Path) -> None:
    fs.get(f"wandb://{linked}/scores.csv", str(tmp_path / "scores.csv"))
    assert (tmp_path / "scores.csv").read_text() == "a,b\n1,2\n3,4\n"


def test_the_organization_survives_pickling(emulator: EmbeddedEmulator, linked: str, tmp_path: Path) -> None:
    fs = ArtifactFileSystem(
        api_key=emulator.api_key, base_url=emulator.url, cache_dir=tmp_path / "c", organization="local-org"
    )
    clone = pickle.loads(pickle.dumps(fs))
    assert clone.api.config.organization == "local-org"
    assert clone.cat_file(f"wandb://{linked}/notes/x.txt") == b"x"
    fs.api.close()
    clone.api.close()


def test_a_registry_path_without_an_organization_is_a_typed_error(
    emulator: EmbeddedEmulator, linked: str, tmp_path: Path
) -> None:
    key = user_key(emulator, "fs-lone")
    leave_home_organization(emulator, "fs-lone")
    with Api(api_key=key, base_url=emulator.url, cache_dir=tmp_path / "c") as api:
        fs = ArtifactFileSystem(api)
        with pytest.raises(FileNotFoundError) as missing:
            fs.cat_file(f"wandb://{linked}/notes/x.txt")
        assert isinstance(missing.value.__cause__, errors.OrganizationNotFoundError)


def test_parsing_a_registry_path_asks_for_the_organization_once(linked: str) -> None:
    asked: list[str | None] = []

    def entity(organization: str | None) -> str:
        asked.append(organization)
        return "acme-org"

    ref = parse_path(f"wandb://acme/{linked}/notes/x.txt", entity)
    assert (ref.entity, ref.project, ref.collection, ref.alias, ref.path) == (
        "acme-org",
        REGISTRY,
        "fs-scores",
        "production",
        "notes/x.txt",
    )
    assert parse_path(f"wandb://{REGISTRY}", entity).entity == "acme-org"
    assert asked == ["acme", None]
    with pytest.raises(errors.InvalidNameError):
        parse_path("wandb://bad org/wandb-registry-model/x:v0", entity)
    assert parse_path("wandb://team/project/data:v0", entity).entity == "team"
    assert asked == ["acme", None]
