"""Each module of hostile-client tests gets its own emulator: a test that breaks it breaks only its module.

`alice` and `mallory` are two plain users of it, each with a client of its own (a module may
override either to set up more).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from artifactkit.server.embedded import EmbeddedEmulator
from tests.server.support import Client


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEmulator]:
    with EmbeddedEmulator(tmp_path_factory.mktemp("hostile")) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def alice(emu: EmbeddedEmulator) -> Iterator[Client]:
    with Client(emu, emu.create_key("alice")) as client:
        yield client


@pytest.fixture(scope="module")
def mallory(emu: EmbeddedEmulator) -> Iterator[Client]:
    with Client(emu, emu.create_key("mallory")) as client:
        yield client
