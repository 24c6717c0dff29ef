"""`put PATH` without -n and without a default project says which flag or setting gives the project."""

from __future__ import annotations

from pathlib import Path

import pytest

from artifactkit.cli import main as cli_main
from artifactkit.server.embedded import EmbeddedEmulator


def test_put_without_a_project_names_the_flag_and_the_settings(
    emulator: EmbeddedEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("a\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_BASE_URL", emulator.url)
    monkeypatch.setenv("WANDB_API_KEY", emulator.api_key)
    monkeypatch.delenv("WANDB_PROJECT", raising=False)
    emulator.stats.reset()
    code = cli_main(["put", "data/"])
    err = capsys.readouterr().err
    assert code == 2
    assert "no project to put 'data' (the name taken from PATH) in: pass -n ENTITY/PROJECT/data" in err
    assert "WANDB_PROJECT" in err
    assert "CreateArtifact" not in emulator.stats.operations and "UpsertProject" not in emulator.stats.operations
