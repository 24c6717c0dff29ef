"""`artifactkit --version`, as `wandb --version`: the installed version on stdout, exit 0."""

from __future__ import annotations

import pytest

import artifactkit
from artifactkit.cli import main as cli_main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli_main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"artifactkit {artifactkit.__version__}\n"
