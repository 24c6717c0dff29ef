"""Listing through `wandb://` against the emulator over HTTP: each level of the tree, glob, info, errors."""

from __future__ import annotations

from pathlib import Path

import fsspec
import pytest

from artifactkit import Api, errors
from artifactkit.fs import ArtifactFileSystem
from artifactkit.server.embedded import EmbeddedEmulator
from tests.conftest import make_api
from tests.integration.support import upload
from tests.transfer.helpers import reset_stats, settled_stats

FILES = {
    "train/part-0.csv": "a,b\n1,2\n",
    "train/part-1.csv": "a,b\n3,4\n",
    "train/nested/deep.txt": "deep",
    "README.md": "# data",
}


@pytest.fixture
def seeded(api: Api, project: str, tmp_path: Path) -> str:
    upload(api, tmp_path, f"{project}/dataset", files=FILES, aliases=["best"])
    upload(api, tmp_path, f"{project}/dataset", files={**FILES, "README.md": "# data v1"})
    upload(api, tmp_path, f"{project}/weights", "model", files={"model.bin": "weights"})
    return project


def test_the_protocol_is_registered_through_the_entry_point() -> None:
    assert fsspec.get_filesystem_class("wandb") is ArtifactFileSystem


def test_a_project_lists_its_collections_and_a_collection_its_versions(fs: ArtifactFileSystem, seeded: str) -> None:
    collections = fs.ls(f"wandb://{seeded}")
    assert [(c["name"], c["type"], c["artifact_type"]) for c in collections] == [
        (f"{seeded}/dataset", "directory", "dataset"),
        (f"{seeded}/weights", "directory", "model"),
    ]
    versions = {v["name"]: v for v in fs.ls(f"wandb://{seeded}/dataset")}
    assert sorted(versions) == [f"{seeded}/dataset:v0", f"{seeded}/dataset:v1"]
    assert versions[f"{seeded}/dataset:v0"]["aliases"] == ["best"]
    assert "latest" in versions[f"{seeded}/dataset:v1"]["aliases"]
    assert all(v["type"] == "directory" for v in versions.values())


def test_a_version_lists_files_and_folders_under_the_alias_as_written(fs: ArtifactFileSystem, seeded: str) -> None:
    root = f"{seeded}/dataset:best"
    listing = fs.ls(f"wandb://{root}")
    assert [(i["name"], i["type"], i["size"]) for i in listing] == [
        (f"{root}/README.md", "file", 6),
        (f"{root}/train", "directory", 0),
    ]
    assert {i["version"] for i in listing} == {"v0"}
    assert fs.ls(f"{root}/train", detail=False) == [
        f"{root}/train/nested",
        f"{root}/train/part-0.csv",
        f"{root}/train/part-1.csv",
    ]
    assert fs.ls(f"{root}/README.md", detail=False) == [f"{root}/README.md"]  # a file lists itself


def test_info_reports_the_version_an_alias_resolved_to(fs: ArtifactFileSystem, seeded: str) -> None:
    info = fs.info(f"wandb://{seeded}/dataset:latest/README.md")
    assert info["type"] == "file" and info["size"] == len("# data v1")
    assert info["version"] == "v1"
    assert info["version_path"] == f"{seeded}/dataset:v1/README.md"
    assert len(info["md5"]) == 32
    assert fs.info(f"{seeded}/dataset:v0")["type"] == "directory"
    assert fs.info(f"{seeded}/dataset:v0/train/nested")["type"] == "directory"
    assert fs.info(f"{seeded}/dataset")["artifact_type"] == "dataset"
    assert fs.isfile(f"{seeded}/dataset:v0/train/part-0.csv")
    assert fs.isdir(f"{seeded}/dataset:v0/train")
    assert fs.exists(f"{seeded}/dataset:v0/README.md")
    assert not fs.exists(f"{seeded}/dataset:v0/nope.txt")
    assert not fs.exists(f"{seeded}/dataset:v7")


def test_glob_find_and_du_come_from_one_manifest(
    emulator: EmbeddedEmulator, fs: ArtifactFileSystem, seeded: str
) -> None:
    root = f"{seeded}/dataset:v0"
    reset_stats(emulator)
    assert fs.glob(f"wandb://{root}/train/*.csv") == [f"{root}/train/part-0.csv", f"{root}/train/part-1.csv"]
    assert fs.glob(f"{root}/**/*.txt") == [f"{root}/train/nested/deep.txt"]
    assert fs.find(root) == sorted(f"{root}/{p}" for p in FILES)
    assert fs.find(root, maxdepth=1) == [f"{root}/README.md"]
    assert fs.find(f"{root}/train", maxdepth=1, withdirs=True) == [
        f"{root}/train",
        f"{root}/train/nested",
        f"{root}/train/part-0.csv",
        f"{root}/train/part-1.csv",
    ]
    assert fs.du(root) == sum(len(text) for text in FILES.values())
    stats = settled_stats(emulator)
    assert stats.operations["VersionFileAccess"] == 1  # v0 is looked up once
    assert stats.requests["blob"] == 1  # the manifest, once
    # At most the Api's one capability probe: none when an earlier client kept the server's answer in this cache.
    probes = stats.operations.get("ServerCliVersion", 0)
    assert probes <= 1
    assert sum(stats.requests.values()) == 2 + probes  # the lookup, the manifest


def test_unknown_versions_and_paths_are_file_not_found_with_the_typed_cause(
    fs: ArtifactFileSystem, seeded: str
) -> None:
    with pytest.raises(FileNotFoundError) as version:
        fs.info(f"{seeded}/dataset:v9/README.md")
    assert isinstance(version.value.__cause__, errors.NotFoundError)
    assert version.value.__cause__.kind == "version"
    with pytest.raises(FileNotFoundError) as path:
        fs.open(f"{seeded}/dataset:v0/missing.csv")
    assert isinstance(path.value.__cause__, errors.NotFoundError)
    with pytest.raises(FileNotFoundError):
        fs.ls(f"{seeded}/nothing-here")
    with pytest.raises(FileNotFoundError) as project:
        fs.ls("local/no-such-project-anywhere")
    assert isinstance(project.value.__cause__, errors.NotFoundError)
    with pytest.raises(IsADirectoryError):
        fs.open(f"{seeded}/dataset:v0/train")


def test_a_refused_key_is_a_permission_error(emulator: EmbeddedEmulator, seeded: str, tmp_path: Path) -> None:
    with Api(api_key="x" * 40, base_url=emulator.url, cache_dir=tmp_path / "c") as wrong_key:
        fs = ArtifactFileSystem(wrong_key)
        with pytest.raises(PermissionError) as refused:
            fs.info(f"{seeded}/dataset:v0/README.md")
        for question in (fs.exists, fs.isfile, fs.isdir):  # not "missing": fsspec's default said False
            with pytest.raises(PermissionError):
                question(f"{seeded}/dataset:v0/README.md")
    assert isinstance(refused.value.__cause__, errors.AuthenticationError)


def test_a_legacy_server_serves_the_same_tree(legacy_emulator: EmbeddedEmulator, project: str, tmp_path: Path) -> None:
    with make_api(legacy_emulator, tmp_path / "cache") as legacy_api:
        upload(legacy_api, tmp_path, f"{project}/dataset", files=FILES)
        fs = ArtifactFileSystem(legacy_api)
        assert fs.ls(project, detail=False) == [f"{project}/dataset"]
        assert fs.ls(f"{project}/dataset", detail=False) == [f"{project}/dataset:v0"]
        root = f"{project}/dataset:latest"
        assert fs.find(root) == sorted(f"{root}/{p}" for p in FILES)
        assert fs.cat_file(f"wandb://{root}/train/part-1.csv") == FILES["train/part-1.csv"].encode()


def test_the_root_says_what_to_name_and_an_entity_lists_its_projects(
    emulator: EmbeddedEmulator, fs: ArtifactFileSystem, seeded: str
) -> None:
    reset_stats(emulator)
    for root in ("wandb://", "wandb:///", ""):
        assert fs.info(root)["type"] == "directory"
        assert fs.isdir(root) and fs.exists(root) and not fs.isfile(root)
        with pytest.raises(NotImplementedError, match=r"name an entity: 'wandb://ENTITY'"):
            fs.ls(root)
    assert sum(settled_stats(emulator).requests.values()) == 0  # nothing to ask a server
    entity = seeded.split("/")[0]
    projects = fs.ls(f"wandb://{entity}")
    assert seeded in [p["name"] for p in projects] and {p["type"] for p in projects} == {"directory"}
    assert fs.ls(f"wandb://{entity}", detail=False) == sorted(p["name"] for p in projects)
    assert fs.isdir(f"wandb://{entity}")
    assert fs.ls("wandb://no-such-entity-here") == []
