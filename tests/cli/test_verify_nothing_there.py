"""`verify NAME` before anything was downloaded says so, instead of "is not a directory"."""

from __future__ import annotations

from pathlib import Path

import pytest

from artifactkit import Api
from artifactkit.cli import main as cli_main
from artifactkit.server.embedded import EmbeddedEmulator
from tests.transfer.helpers import write_tree


def test_verify_before_any_download(
    emulator: EmbeddedEmulator,
    project: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with Api(api_key=emulator.api_key, base_url=emulator.url, cache_dir=tmp_path / "c") as api:
        api.upload(write_tree(tmp_path / "src", {"a.txt": b"a\n"}), f"{project}/never-got", "dataset")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_BASE_URL", emulator.url)
    monkeypatch.setenv("WANDB_API_KEY", emulator.api_key)
    code = cli_main(["verify", f"{project}/never-got:v0"])
    err = capsys.readouterr().err
    assert code == 6
    assert f"{tmp_path}/artifacts/never-got:v0 does not exist: nothing was downloaded there" in err
    assert not (tmp_path / "artifacts").exists()  # verifying creates nothing
