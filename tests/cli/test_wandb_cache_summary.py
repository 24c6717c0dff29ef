"""`get` says how many files came from wandb's cache instead of counting them as downloaded."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from artifactkit import Api
from artifactkit.cli import main as cli_main
from artifactkit.server.embedded import EmbeddedEmulator
from tests.transfer.helpers import write_tree


def plant(wandb_cache: Path, data: bytes) -> None:
    """Put `data` where the official client keeps it: artifacts/obj/md5/<2>/<rest>."""
    md5 = hashlib.md5(data).hexdigest()
    target = wandb_cache / "artifacts" / "obj" / "md5" / md5[:2] / md5[2:]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def test_files_taken_from_wandbs_cache_are_reported_as_such(
    emulator: EmbeddedEmulator,
    project: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = {"a.txt": b"in wandb's cache\n" * 50, "b.txt": b"only on the server\n" * 50}
    with Api(api_key=emulator.api_key, base_url=emulator.url, cache_dir=tmp_path / "seed") as api:
        api.upload(write_tree(tmp_path / "src", files), f"{project}/data", "dataset")
    wandb_cache = tmp_path / "wandb-cache"
    plant(wandb_cache, files["a.txt"])
    monkeypatch.setenv("WANDB_CACHE_DIR", str(wandb_cache))
    monkeypatch.setenv("WANDB_BASE_URL", emulator.url)
    monkeypatch.setenv("WANDB_API_KEY", emulator.api_key)
    name = f"{project}/data:v0"

    code = cli_main(["get", name, "--root", str(tmp_path / "one"), "--json", "--skip-cache"])
    # --skip-cache: neither cache is read, so both files are fetched
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["fetched_files"], report["wandb_cache_files"]) == (2, 0)

    code = cli_main(["get", name, "--root", str(tmp_path / "two")])
    assert code == 0
    size = len(files["b.txt"])
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"1 downloaded ({size} B), 0 from cache, 1 from wandb's cache, 0 already up to date"
    )
