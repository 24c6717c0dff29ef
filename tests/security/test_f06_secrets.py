"""Finding 6: the data directory is private, keys are stored as hashes and never written to a log."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from artifactkit.cli import main as cli_main
from artifactkit.server.embedded import EmulatorProcess


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_directory_and_its_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with EmulatorProcess(data) as server:
        key = server.api_key
        response = httpx.post(f"{server.url}/graphql", json={"query": "{ viewer { id } }"}, auth=("api", key))
        assert response.status_code == 200
        assert mode(data) == 0o700
        for name in ("emulator.sqlite3", "emulator.sqlite3-wal", "server.log", "ready.json", "url-signing.key"):
            assert mode(data / name) == 0o600, name
        stored = b"".join(p.read_bytes() for p in data.glob("emulator.sqlite3*"))
        assert key.encode() not in stored  # a hash is stored, not the key
    log = (data / "server.log").read_text()
    assert key not in log


def test_keys_are_shown_once_and_listed_by_prefix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    assert cli_main(["keys", "create", "--data-dir", str(data)]) == 0
    key = capsys.readouterr().out.strip()
    assert cli_main(["keys", "list", "--data-dir", str(data)]) == 0
    listed = capsys.readouterr().out
    assert key not in listed and key[:12] in listed
    assert key.encode() not in (data / "emulator.sqlite3").read_bytes()


def test_keys_of_an_older_data_directory_are_hashed_and_keep_working(tmp_path: Path) -> None:
    from artifactkit.server.accounts import ensure_key_schema, ensure_user, find_key
    from artifactkit.server.store import Store

    store = Store(tmp_path / "emulator.sqlite3")
    user_id = ensure_user(store, "old")
    old_key = "local-" + "ab" * 20
    with store.write():  # as artifactkit stored keys before: in plain text, no role or prefix
        store.conn.execute(
            "INSERT INTO api_keys (key, user_id, name, read_only, created_at) VALUES (?, ?, 'default', 0, 'then')",
            (old_key, user_id),
        )
    ensure_key_schema(store)
    found = find_key(store, old_key)
    assert found is not None and found[0]["username"] == "old" and found[1] == "write"
    assert store.one("SELECT 1 FROM api_keys WHERE key = ?", (old_key,)) is None
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("emulator.sqlite3*"))  # database and WAL
    assert old_key.encode() not in stored
