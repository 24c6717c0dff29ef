"""Fixtures for the `wandb://` filesystem: a filesystem on the session emulator, a seeded 256 MiB file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from artifactkit.fs import ArtifactFileSystem
from artifactkit.manifest import Manifest
from artifactkit.server.embedded import EmbeddedEmulator
from tests.conftest import make_api
from tests.fs.support import BIG_SIZE, md5_of, place_blob, seed_version, stored_entry, write_big_file


def make_fs(emu: EmbeddedEmulator, cache_dir: Path, **options: object) -> ArtifactFileSystem:
    return ArtifactFileSystem(make_api(emu, cache_dir), **options)  # type: ignore[arg-type]


@pytest.fixture
def fs(emulator: EmbeddedEmulator, tmp_path: Path) -> Iterator[ArtifactFileSystem]:
    filesystem = make_fs(emulator, tmp_path / "cache")
    yield filesystem
    filesystem.api.close()


@dataclass(frozen=True)
class BigFile:
    """`wandb://local/fs-big/big:v0/data/big.bin`: 256 MiB, random marks at start, middle and end."""

    version_root: str
    path: str
    marks: dict[int, bytes]
    md5_hex: str
    manifest_size: int  # bytes of its manifest document

    @property
    def url(self) -> str:
        return f"wandb://{self.version_root}/{self.path}"


@pytest.fixture(scope="session")
def big_file(emulator: EmbeddedEmulator, tmp_path_factory: pytest.TempPathFactory) -> BigFile:
    source = tmp_path_factory.mktemp("big") / "big.bin"
    marks = write_big_file(source)
    md5_hex = md5_of(source)
    place_blob(emulator, source, md5_hex)
    manifest = Manifest.from_entries([stored_entry("data/big.bin", md5_hex, BIG_SIZE)])
    seed_version(emulator, "local/fs-big/big", "dataset", manifest)
    return BigFile("local/fs-big/big:v0", "data/big.bin", marks, md5_hex, len(manifest.to_bytes()))
