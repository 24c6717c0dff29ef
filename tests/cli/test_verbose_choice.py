"""`-v` says which server was chosen and where the API key came from (never the key itself)."""

from __future__ import annotations

import pytest

from artifactkit.cli import main as cli_main
from artifactkit.server.embedded import EmbeddedEmulator


def test_verbose_names_the_server_and_the_key_source_in_flags(
    emulator: EmbeddedEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(["ls", "local", "-v", "--base-url", emulator.url, "--api-key", emulator.api_key])
    err = capsys.readouterr().err
    assert code == 0
    assert f"artifactkit: server {emulator.url} (from --base-url); API key from --api-key" in err.splitlines()
    assert emulator.api_key not in err


def test_verbose_names_environment_variables(
    emulator: EmbeddedEmulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_BASE_URL", emulator.url)
    monkeypatch.setenv("WANDB_API_KEY", emulator.api_key)
    assert cli_main(["-v", "ls", "local"]) == 0
    err = capsys.readouterr().err
    assert f"artifactkit: server {emulator.url} (from WANDB_BASE_URL); API key from WANDB_API_KEY" in err.splitlines()


def test_without_verbose_the_choice_is_not_shown(
    emulator: EmbeddedEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["ls", "local", "--base-url", emulator.url, "--api-key", emulator.api_key]) == 0
    assert capsys.readouterr().err == ""
