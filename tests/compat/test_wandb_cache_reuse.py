"""Bytes the official wandb client already downloaded are reused, verified, and wandb's cache is never written."""

from __future__ import annotations

import os
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from artifactkit import Api
from artifactkit.server.embedded import EmbeddedEmulator
from tests.compat.conftest import client_python
from tests.transfer.helpers import write_tree

pytestmark = pytest.mark.compat

WANDB_DOWNLOAD = """
import sys, wandb
api = wandb.Api()
artifact = api.artifact(sys.argv[1])
print(artifact.download(sys.argv[2]))
"""


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEmulator]:
    with EmbeddedEmulator(tmp_path_factory.mktemp("reuse-emulator")) as server:
        yield server


def snapshot_tree(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every file under `root` with its inode, size and mtime: any write by us would change it."""
    return {
        str(p.relative_to(root)): (p.stat().st_ino, p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_a_download_after_wandbs_takes_every_byte_from_wandbs_cache(
    emu: EmbeddedEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(10)
    files = {f"small/{i}.bin": rng.randbytes(1000 + i) for i in range(5)}
    files["big.bin"] = rng.randbytes(3 << 20)  # above the in-memory threshold: the streamed path
    source = write_tree(tmp_path / "source", files)
    with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path / "seed-cache") as api:
        api.upload(source, "local/reuse/data", "dataset")

    wandb_cache = tmp_path / "wandb-cache"
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "WANDB_BASE_URL": emu.url,
        "WANDB_API_KEY": emu.api_key,
        "WANDB_CACHE_DIR": str(wandb_cache),
        "WANDB_CONFIG_DIR": str(home / "config"),
        "WANDB_SILENT": "true",
        "WANDB_ERROR_REPORTING": "false",
    }
    done = subprocess.run(
        [str(client_python("0.31.0")), "-c", WANDB_DOWNLOAD, "local/reuse/data:v0", str(tmp_path / "by-wandb")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert len(list((wandb_cache / "artifacts" / "obj" / "md5").rglob("*"))) >= len(files)
    before = snapshot_tree(wandb_cache / "artifacts")

    monkeypatch.setenv("WANDB_CACHE_DIR", str(wandb_cache))
    with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path / "artifactkit-cache") as api:
        artifact = api.artifact("local/reuse/data:v0")
        artifact.manifest  # noqa: B018 - fetched now, so the counted download below is file bytes only
        emu.stats.reset()
        root = artifact.download(tmp_path / "by-artifactkit")

    assert emu.stats.bytes_out["blob"] == 0  # not one file byte fetched
    assert emu.stats.requests["blob"] == 0
    for name, data in files.items():
        assert (Path(root) / name).read_bytes() == data
    assert snapshot_tree(wandb_cache / "artifacts") == before  # wandb's cache untouched


def test_a_corrupt_copy_in_wandbs_cache_is_not_used(
    emu: EmbeddedEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"the real bytes\n" * 100
    source = write_tree(tmp_path / "source", {"a.txt": data})
    with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path / "seed-cache") as api:
        artifact = api.upload(source, "local/reuse/corrupt", "dataset")
        md5 = artifact.manifest.entries["a.txt"].md5_hex
    wandb_cache = tmp_path / "wandb-cache"
    planted = wandb_cache / "artifacts" / "obj" / "md5" / md5[:2] / md5[2:]
    planted.parent.mkdir(parents=True)
    planted.write_bytes(b"X" * len(data))  # the right size, the wrong bytes (wandb does not verify)

    monkeypatch.setenv("WANDB_CACHE_DIR", str(wandb_cache))
    with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path / "artifactkit-cache") as api:
        artifact = api.artifact("local/reuse/corrupt:v0")
        artifact.manifest  # noqa: B018
        emu.stats.reset()
        root = artifact.download(tmp_path / "out")
    assert (Path(root) / "a.txt").read_bytes() == data
    assert emu.stats.bytes_out["blob"] == len(data)  # fetched from the server instead
    assert planted.read_bytes() == b"X" * len(data)  # and wandb's (bad) copy left as it was
