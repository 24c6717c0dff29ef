"""`ls NAME`: an entity's projects, or (as `wandb artifact ls NAME` reads it) a project of the default entity."""

from __future__ import annotations

from pathlib import Path

import pytest

from artifactkit import Api
from artifactkit.cli import main as cli_main
from artifactkit.server.embedded import EmbeddedEmulator
from tests.transfer.helpers import write_tree


@pytest.fixture
def configured(emulator: EmbeddedEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_BASE_URL", emulator.url)
    monkeypatch.setenv("WANDB_API_KEY", emulator.api_key)
    monkeypatch.delenv("WANDB_ENTITY", raising=False)  # the default entity is the key's (the viewer's)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli_main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_project_name_alone_lists_its_collections_as_wandb_does(
    emulator: EmbeddedEmulator,
    configured: None,
    project: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with Api(api_key=emulator.api_key, base_url=emulator.url, cache_dir=tmp_path / "c") as api:
        api.upload(write_tree(tmp_path / "src", {"a.txt": b"a\n"}), f"{project}/solo", "dataset")
    entity, name = project.split("/")
    assert entity == "local"

    code, out, _ = run(capsys, "ls", name)
    assert code == 0
    assert out.splitlines()[0].split() == ["COLLECTION", "TYPE", "LATEST", "SIZE", "UPDATED", "KIND"]
    assert out.splitlines()[1].split()[:3] == ["solo", "dataset", "v0"]

    code, out, _ = run(capsys, "ls", name, "--types")
    assert code == 0 and out.split()[2] == "dataset"

    code, out, _ = run(capsys, "ls", entity)  # an entity with projects: its projects
    assert code == 0 and out.split()[:3] == ["PROJECT", "CREATED", "DESCRIPTION"] and project in out.split()


def test_a_name_that_is_neither_says_what_to_pass(configured: None, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "ls", "no-such-thing")
    assert (code, out) == (3, "")
    assert "'no-such-thing' is neither an entity with projects nor a project of the default entity 'local'" in err
    assert "pass ENTITY or ENTITY/PROJECT" in err
