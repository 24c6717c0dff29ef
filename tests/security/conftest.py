"""Each module of hostile-client tests gets its own emulator: a test that breaks it breaks only its module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from artifactkit.server.embedded import EmbeddedEmulator


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEmulator]:
    with EmbeddedEmulator(tmp_path_factory.mktemp("hostile")) as emulator:
        yield emulator
