"""Fault-injection fixtures. `ARTIFACTKIT_SOAK=1` (make soak) makes every run longer and harder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from artifactkit import Api
from artifactkit.server.embedded import EmbeddedEmulator

SOAK = os.environ.get("ARTIFACTKIT_SOAK") == "1"
FAULT_RATE = 0.2


def set_faults(emu: EmbeddedEmulator, **plan: object) -> dict[str, object]:
    response = httpx.put(f"{emu.url}/_emulator/faults", json=plan, auth=("api", emu.api_key), timeout=10)
    response.raise_for_status()
    body: dict[str, object] = response.json()
    return body


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEmulator]:
    """An emulator of its own, since faults apply to every request it serves."""
    with EmbeddedEmulator(tmp_path_factory.mktemp("faulty")) as emu:
        yield emu


@pytest.fixture
def calm(faulty: EmbeddedEmulator) -> Iterator[EmbeddedEmulator]:
    """The faulty emulator with faults off at the start and the end of a test."""
    set_faults(faulty, rate=0)
    yield faulty
    set_faults(faulty, rate=0)


def seed_versions(api: Api, name: str, count: int, tmp: Path, workers: int = 8) -> None:
    """`count` versions of `name`, each with distinct content, uploaded in parallel."""
    tmp.mkdir(parents=True, exist_ok=True)

    def upload(index: int) -> None:
        path = tmp / f"v{index}.txt"
        path.write_text(f"version {index}\n")
        api.upload({"data.txt": path}, name, "dataset", metadata={"index": index})

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(upload, range(count)))
