"""A rejected API key: the error names where that key came from, in the caller's terms."""

from __future__ import annotations

from pathlib import Path

import pytest

from artifactkit import Api, errors
from artifactkit.cli import main as cli_main
from artifactkit.server.embedded import EmbeddedEmulator

BAD_KEY = "local-" + "f" * 40


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli_main(list(argv))
    return code, capsys.readouterr().err


def test_a_rejected_flag_is_named_as_the_flag(
    emulator: EmbeddedEmulator, project: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(capsys, "ls", project, "--base-url", emulator.url, "--api-key", BAD_KEY)
    assert code == 4
    assert "the API key was rejected (invalid API key); check the key from --api-key" in err
    assert "WANDB_API_KEY" not in err and "api_key=" not in err


def test_a_rejected_environment_key_names_the_variable(
    emulator: EmbeddedEmulator, project: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_BASE_URL", emulator.url)
    monkeypatch.setenv("WANDB_API_KEY", BAD_KEY)
    code, err = run(capsys, "ls", project)
    assert code == 4
    assert "check the key from WANDB_API_KEY" in err


def test_a_rejected_netrc_key_names_the_file(
    emulator: EmbeddedEmulator, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    host = emulator.url.split("://", 1)[1]
    netrc.write_text(f"machine {host}\n  login user\n  password {BAD_KEY}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    with (
        Api(base_url=emulator.url, cache_dir=tmp_path / "c") as api,
        pytest.raises(errors.AuthenticationError) as caught,
    ):
        api.artifact(f"{project}/data:v0")
    assert f"check the key from netrc {netrc}" in str(caught.value)
    assert "WANDB_API_KEY" not in str(caught.value)
