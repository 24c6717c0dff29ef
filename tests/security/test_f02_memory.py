"""Finding 2: request logs and the document cache are bounded; strangers' requests keep no content."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import httpx
import pytest

from artifactkit.server.embedded import EmbeddedEmulator
from tests.security.support import TIMEOUT, basic

LOG_BYTES = 2 * 1024 * 1024
CACHE_BYTES = 512 * 1024


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEmulator]:
    with EmbeddedEmulator(
        tmp_path_factory.mktemp("small"), request_log_bytes=LOG_BYTES, document_cache_bytes=CACHE_BYTES
    ) as emu:
        yield emu


def padded(i: int, size: int) -> str:
    return f"query Q{i} {{ viewer {{ id }} }}\n#" + "x" * size


def test_requests_without_a_key_are_logged_without_their_content(small: EmbeddedEmulator) -> None:
    secret_variables = {"password": "hunter2"}
    with httpx.Client(base_url=small.url, timeout=TIMEOUT) as client:
        for i in range(5):
            client.post("/graphql", json={"query": padded(i, 1000), "variables": secret_variables})
        log = client.get("/_emulator/stats", params={"log": 1}, headers=basic(small.api_key)).json()["graphql_log"]
    strangers = [entry for entry in log if not entry.get("authenticated", True)]
    assert len(strangers) >= 5
    assert all("query" not in entry and "variables" not in entry for entry in strangers)
    assert "hunter2" not in str(log)


def test_the_request_log_and_document_cache_stay_within_their_bytes(small: EmbeddedEmulator) -> None:
    with httpx.Client(base_url=small.url, timeout=TIMEOUT, headers=basic(small.api_key)) as client:
        for i in range(40):  # 40 distinct documents of 200 KB: 8 MB sent
            assert client.post("/graphql", json={"query": padded(i, 200_000)}).status_code == 200
        log = client.get("/_emulator/stats", params={"log": 1}).json()["graphql_log"]
    logged = sum(len(entry.get("query", "")) for entry in log)
    assert logged <= LOG_BYTES
    assert 0 < len(log) < 40 + 10  # the oldest entries went
    assert small.emulator.graphql.cache.bytes <= CACHE_BYTES


def test_a_request_past_its_time_budget_is_stopped(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The SQLite work of one request is bounded in time: past the budget the statement is interrupted."""
    with EmbeddedEmulator(tmp_path_factory.mktemp("budget")) as emu:
        # A query that makes SQLite step through rows: interrupted at the first progress check.
        recursive = (
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000000) SELECT count(*) FROM n"
        )
        emu.emulator.budget.start(emu.store.conn, 0.0)
        with pytest.raises(sqlite3.OperationalError, match="interrupted"):
            emu.store.conn.execute(recursive).fetchone()
        emu.emulator.budget.stop()
        assert emu.store.conn.execute("SELECT 1").fetchone()[0] == 1  # the connection is fine afterwards
