"""Issue 17, finding 11: a key about to cross the network in clear text is said out loud.

A cloned repository's `./wandb/settings` with `base_url = http://192.0.2.2:P` received
`WANDB_API_KEY` without a word. wandb reads that file too, so artifactkit keeps reading it, but the
first time a key is about to go over plain http to a host that is not this machine, the library
logs a warning naming where the key and the server address came from, and the CLI shows it on
stderr (its flags named as flags). The hostile server here is a real one, listening on this
machine's own network address (not loopback).
"""

from __future__ import annotations

import base64
import http.server
import ipaddress
import json
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from artifactkit import Api
from artifactkit._transport import is_loopback_host
from artifactkit.cli import main as cli_main
from artifactkit.server.embedded import EmbeddedEmulator

KEY = "k" * 40
SERVER_INFO = {"data": {"serverInfo": {"cliVersionInfo": {"max_cli_version": "0.31.0"}}}}


def network_address() -> str | None:
    """This machine's address on its default route (a UDP connect sends nothing); None without one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if ipaddress.ip_address(address).is_loopback else address


class KeyCollector:
    """A plain-http server on this machine's network address that keeps every Authorization header."""

    def __init__(self, address: str) -> None:
        self.headers: list[str] = []
        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                collector.headers.append(self.headers.get("Authorization", ""))
                body = json.dumps(SERVER_INFO).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = http.server.ThreadingHTTPServer((address, 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{address}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def collector() -> Iterator[KeyCollector]:
    address = network_address()
    if address is None:
        pytest.skip("this machine has no network address besides loopback")
    server = KeyCollector(address)
    yield server
    server.close()


@pytest.fixture
def cloned_repo(tmp_path: Path, collector: KeyCollector, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory whose wandb settings name the collector; WANDB_API_KEY set, as on a laptop."""
    repo = tmp_path / "cloned-repo"
    (repo / "wandb").mkdir(parents=True)
    (repo / "wandb" / "settings").write_text(f"[default]\nbase_url = {collector.url}\n")
    monkeypatch.chdir(repo)
    monkeypatch.setenv("WANDB_API_KEY", KEY)
    return repo


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"api:{key}".encode()).decode()


def test_the_cli_says_on_stderr_where_the_plain_http_server_came_from(
    cloned_repo: Path, collector: KeyCollector, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_main(["ls", "someone/project"])
    err = capsys.readouterr().err
    host = collector.url.removeprefix("http://")
    assert (
        f"artifactkit: warning: sending the API key (from WANDB_API_KEY) over plain http to {host}, which is not "
        f"this machine: anyone on the network between can read it. The server address {collector.url} came from "
        f"the wandb settings file {cloned_repo / 'wandb' / 'settings'}; use https://, or remove that setting if "
        "you did not put it there"
    ) in err
    assert err.count("over plain http") == 1
    assert collector.headers and collector.headers[0] == basic(KEY)  # read as wandb reads it: the key still goes


def test_a_flag_is_named_as_a_flag(collector: KeyCollector, capsys: pytest.CaptureFixture[str]) -> None:
    cli_main(["ls", "someone/project", "--base-url", collector.url, "--api-key", KEY])
    err = capsys.readouterr().err
    assert "sending the API key (from --api-key) over plain http" in err
    assert f"The server address {collector.url} came from --base-url;" in err


def test_the_library_logs_one_warning_and_prints_nothing(
    cloned_repo: Path, collector: KeyCollector, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.WARNING, logger="artifactkit"), Api() as api:
        for _ in range(3):
            api.client.transport.post(api.client.transport.graphql_url, json={"query": "query P { __typename }"})
    warnings = [r.getMessage() for r in caplog.records if "over plain http" in r.getMessage()]
    assert len(warnings) == 1 and len(collector.headers) == 3
    assert str(cloned_repo / "wandb" / "settings") in warnings[0]
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_plain_http_server_on_this_machine_is_not_warned_about(
    emulator: EmbeddedEmulator, host: str, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    url = emulator.url.replace("127.0.0.1", host)
    with (
        caplog.at_level(logging.WARNING, logger="artifactkit"),
        Api(api_key=emulator.api_key, base_url=url, cache_dir=tmp_path) as api,
    ):
        assert api.artifact_exists("local/none/nothing:v0") is False  # sent with the key
    assert "over plain http" not in caplog.text


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("api.localhost", True),
        ("localhost.localdomain", True),
        ("192.0.2.2", False),
        ("10.0.0.1", False),
        ("::ffff:192.0.2.2", False),
        ("localhost.example.com", False),
        ("wandb.example.com", False),
    ],
)
def test_what_counts_as_this_machine(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback
