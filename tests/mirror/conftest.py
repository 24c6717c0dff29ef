"""Two emulators per module, a source and a target, each on real HTTP with its own data and key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from artifactkit import Api
from artifactkit.server.embedded import EmbeddedEmulator


@pytest.fixture(scope="module")
def source_emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEmulator]:
    with EmbeddedEmulator(tmp_path_factory.mktemp("source")) as emu:
        yield emu


@pytest.fixture(scope="module")
def target_emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEmulator]:
    with EmbeddedEmulator(tmp_path_factory.mktemp("target")) as emu:
        yield emu


@pytest.fixture
def source(source_emu: EmbeddedEmulator, tmp_path: Path) -> Iterator[Api]:
    with Api(api_key=source_emu.api_key, base_url=source_emu.url, cache_dir=tmp_path / "source-cache") as api:
        yield api


@pytest.fixture
def target(target_emu: EmbeddedEmulator, tmp_path: Path) -> Iterator[Api]:
    with Api(api_key=target_emu.api_key, base_url=target_emu.url, cache_dir=tmp_path / "target-cache") as api:
        yield api
