"""`artifactkit serve` as an operator runs it: health, printed URL and key, clean shutdown, keys."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from artifactkit._local import STATE_FILE, default_data_dir
from artifactkit.cli import main as cli_main
from artifactkit.server.embedded import EmulatorProcess


def test_serve_starts_answers_health_and_stops_cleanly(tmp_path: Path) -> None:
    server = EmulatorProcess(tmp_path / "data").start()
    process = server.process
    assert process is not None
    try:
        health = httpx.get(f"{server.url}/health", timeout=10)
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "version": health.json()["version"], "legacy": False}
        log = (server.data_dir / "server.log").read_text()
        assert f"listening on {server.url}" in log
        assert f"export WANDB_BASE_URL={server.url}" in log
        # The log is a file, not a terminal: it names the 0600 key file and holds no key.
        assert server.api_key not in log
        assert f"is in {server.data_dir / 'serve-keys.json'} (mode 0600)" in log
        assert (server.data_dir / STATE_FILE).exists()  # lets `Api()` find this server
        query = {"query": "{ viewer { username } }"}
        viewer = httpx.post(f"{server.url}/graphql", json=query, auth=("api", server.api_key))
        assert viewer.json() == {"data": {"viewer": {"username": "local"}}}
    finally:
        server.stop()
    assert process.returncode == 0  # SIGTERM is a clean shutdown, not a crash
    assert "artifactkit emulator stopped" in (server.data_dir / "server.log").read_text()
    assert not (server.data_dir / STATE_FILE).exists()
    host = urlsplit(server.url)
    with pytest.raises(OSError):
        socket.create_connection((host.hostname, host.port), timeout=2).close()


def test_a_restarted_server_keeps_its_data_and_key(tmp_path: Path) -> None:
    with EmulatorProcess(tmp_path / "data") as server:
        key = server.api_key
        created = httpx.post(
            f"{server.url}/graphql",
            json={"query": 'mutation { upsertModel(input: {entityName: "local", name: "kept"}) { inserted } }'},
            auth=("api", key),
        )
        assert created.json() == {"data": {"upsertModel": {"inserted": True}}}
    with EmulatorProcess(tmp_path / "data") as server:
        assert server.api_key == key
        found = httpx.post(
            f"{server.url}/graphql",
            json={"query": '{ project(entityName: "local", name: "kept") { name } }'},
            auth=("api", key),
        )
        assert found.json() == {"data": {"project": {"name": "kept"}}}


def test_the_legacy_personality_is_an_old_server(tmp_path: Path) -> None:
    with EmulatorProcess(tmp_path / "data", legacy=True) as server:
        assert httpx.get(f"{server.url}/health").json()["legacy"] is True

        def post(query: str) -> httpx.Response:
            return httpx.post(f"{server.url}/graphql", json={"query": query}, auth=("api", server.api_key))

        info = post("{ serverInfo { cliVersionInfo } }").json()
        assert info["data"]["serverInfo"]["cliVersionInfo"]["max_cli_version"] == "0.12.0"
        # Fields such a server lacks fail validation, answered like W&B does (HTTP 200 and the error).
        features = post("{ serverInfo { features { name } } }")
        assert features.status_code == 200
        assert features.json()["errors"][0]["message"] == 'Cannot query field "features" on type "ServerInfo".'
        edge = post('{ project(name: "p") { artifactType(name: "t") { artifactCollections { totalCount } } } }')
        assert edge.status_code == 200
        assert edge.json()["errors"][0]["message"].startswith(
            'Cannot query field "artifactCollections" on type "ArtifactType".'
        )
        # Any other invalid document is still a 400.
        assert post("{ serverInfo { nonsense } }").status_code == 400
        legacy_edge = post('{ project(name: "p") { artifactType(name: "t") { artifactSequences { totalCount } } } }')
        assert legacy_edge.json() == {"data": {"project": None}}


def test_keys_create_and_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    assert cli_main(["keys", "create", "--data-dir", str(data)]) == 0
    writer = capsys.readouterr().out.strip()
    assert cli_main(["keys", "create", "--data-dir", str(data), "--user", "bob", "--read-only"]) == 0
    reader = capsys.readouterr().out.strip()
    assert re.fullmatch(r"local-[0-9a-f]{40}", writer) and re.fullmatch(r"local-[0-9a-f]{40}", reader)
    assert cli_main(["keys", "create", "--data-dir", str(data), "--user", "carol", "--role", "admin"]) == 0
    admin = capsys.readouterr().out.strip()
    assert cli_main(["keys", "list", "--data-dir", str(data)]) == 0
    # Keys are shown once, at creation; the list names them by prefix (the database holds hashes).
    assert capsys.readouterr().out.splitlines() == [
        f"{writer[:12]}...\tlocal\twrite",
        f"{reader[:12]}...\tbob\tread",
        f"{admin[:12]}...\tcarol\tadmin",
    ]

    with EmulatorProcess(data) as server:
        assert server.api_key not in (writer, reader, admin)  # serve prints its own admin key
        stats = httpx.get(f"{server.url}/_emulator/stats", auth=("api", admin))
        assert stats.status_code == 200
        assert httpx.get(f"{server.url}/_emulator/stats", auth=("api", writer)).status_code == 403

        def mutate(key: str, entity: str) -> httpx.Response:
            query = f'mutation {{ upsertModel(input: {{entityName: "{entity}", name: "p"}}) {{ inserted }} }}'
            return httpx.post(f"{server.url}/graphql", json={"query": query}, auth=("api", key))

        assert mutate(reader, "bob").status_code == 403
        viewer = httpx.post(f"{server.url}/graphql", json={"query": "{ viewer { username } }"}, auth=("api", reader))
        assert viewer.json() == {"data": {"viewer": {"username": "bob"}}}
        assert mutate(writer, "local").status_code == 200
        assert mutate(writer, "bob").status_code == 403  # bob's personal entity is bob's alone


def test_the_default_data_dir_is_the_platform_user_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ARTIFACTKIT_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    expected = tmp_path / "xdg" / "artifactkit" / "emulator"
    assert default_data_dir() == expected
    assert cli_main(["keys", "create"]) == 0
    key = capsys.readouterr().out.strip()
    assert (expected / "emulator.sqlite3").exists()
    monkeypatch.setenv("ARTIFACTKIT_DATA_DIR", str(tmp_path / "elsewhere"))
    assert default_data_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("ARTIFACTKIT_DATA_DIR")
    assert cli_main(["keys", "list"]) == 0
    assert capsys.readouterr().out.split("\t")[0] == key[:12] + "..."
