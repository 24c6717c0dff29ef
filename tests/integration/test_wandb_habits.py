"""Where files land and what the calls return, as wandb users expect: `./artifacts/<name>:<version>`, `str` paths,
`file()`, `get_entry()` / `get_path()` entries that download themselves, `checkout()`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from artifactkit import Api, errors
from tests.transfer.helpers import tree_bytes, write_tree

FILES = {"labels.csv": b"0,1\n1,7\n", "images/000.bin": b"\x00" * 300, "images/001.bin": b"\x01" * 301}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WANDB_ARTIFACT_DIR", raising=False)
    return tmp_path


def test_download_lands_where_wandb_puts_it_and_returns_a_str(
    api: Api, project: str, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.upload(write_tree(workdir / "src", FILES), f"{project}/digits", "dataset")
    artifact = api.artifact(f"{project}/digits:latest")
    root = artifact.download()
    assert isinstance(root, str)
    assert root == os.path.abspath("artifacts/digits:v0")  # the version, not the alias
    with open(root + "/labels.csv", "rb") as handle:  # the way wandb code joins paths
        assert handle.read() == FILES["labels.csv"]
    artifact.verify()  # the default root again

    monkeypatch.setenv("WANDB_ARTIFACT_DIR", str(workdir / "elsewhere"))
    assert api.artifact(f"{project}/digits:v0").download() == str(workdir / "elsewhere" / "digits:v0")


def test_an_earlier_dashed_default_root_is_still_used(api: Api, project: str, workdir: Path) -> None:
    api.upload(write_tree(workdir / "src", FILES), f"{project}/old", "dataset")
    (workdir / "artifacts" / "old-v0").mkdir(parents=True)  # where artifactkit used to put it
    assert api.artifact(f"{project}/old:v0").download() == str(workdir / "artifacts" / "old-v0")


def test_file_downloads_the_only_file(api: Api, project: str, workdir: Path) -> None:
    api.upload(write_tree(workdir / "one", {"model.pt": b"weights"}), f"{project}/model", "model")
    path = api.artifact(f"{project}/model:v0").file()
    assert path == os.path.abspath("artifacts/model:v0/model.pt")
    assert Path(path).read_bytes() == b"weights"
    assert api.artifact(f"{project}/model:v0").file(workdir / "here") == str(workdir / "here" / "model.pt")

    api.upload(write_tree(workdir / "many", FILES), f"{project}/many", "dataset")
    with pytest.raises(ValueError, match="has 3 files, not one"):
        api.artifact(f"{project}/many:v0").file()


def test_entries_download_themselves(api: Api, project: str, workdir: Path) -> None:
    api.upload(write_tree(workdir / "src", FILES), f"{project}/entries", "dataset")
    artifact = api.artifact(f"{project}/entries:v0")
    entry = artifact.get_entry("images/001.bin")
    assert (entry.path, entry.size, entry.is_reference) == ("images/001.bin", 301, False)
    path = entry.download()
    assert path == os.path.abspath("artifacts/entries:v0/images/001.bin")
    assert Path(path).read_bytes() == FILES["images/001.bin"]
    assert sorted(p.name for p in Path(path).parent.parent.rglob("*") if p.is_file()) == ["001.bin"]  # only it
    assert artifact.get_path("labels.csv").download(workdir / "x") == str(workdir / "x" / "labels.csv")
    with pytest.raises(KeyError, match=r"'nope\.txt' is not a file of"):
        artifact.get_entry("nope.txt")
    with pytest.raises(errors.UnsupportedError, match="stored in W&B, not a reference"):
        entry.ref_target()


def test_checkout_makes_the_directory_hold_exactly_the_version(api: Api, project: str, workdir: Path) -> None:
    api.upload(write_tree(workdir / "v0", FILES), f"{project}/co", "dataset")
    changed = {**FILES, "labels.csv": b"changed\n"}
    del changed["images/000.bin"]
    api.upload(write_tree(workdir / "v1", changed), f"{project}/co", "dataset")

    root = api.artifact(f"{project}/co:v0").checkout()
    assert root == os.path.abspath("artifacts/co")  # no version: one directory follows checkouts
    (Path(root) / "stray.txt").write_text("not in the artifact")
    assert api.artifact(f"{project}/co:v1").checkout() == root
    assert tree_bytes(root) == changed  # the stray file and v0's extra file are gone


def test_projects_of_an_entity_as_wandb_lists_them(any_api: Api, project: str, workdir: Path) -> None:
    entity, name = project.split("/")
    any_api.upload(write_tree(workdir / "src", FILES), f"{project}/listed", "dataset")
    projects = list(any_api.projects(entity, per_page=2))  # several pages on the shared emulator
    assert project in [p.path_str for p in projects]
    mine = next(p for p in projects if p.name == name)
    assert (mine.entity, mine.description) == (entity, None)
    assert [p.path for p in any_api.projects()] == [p.path for p in projects]  # the default entity
    assert list(any_api.projects("nobody-here")) == []
