"""Fixtures for the emulator's own tests: a raw GraphQL client on the session's emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from artifactkit.server.embedded import EmbeddedEmulator
from tests.server.support import Client


@pytest.fixture
def client(emulator: EmbeddedEmulator) -> Iterator[Client]:
    with Client(emulator) as c:
        yield c
