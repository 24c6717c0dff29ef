"""Ctrl-C stops `artifactkit serve` with one line, also while a client is still downloading."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest

from artifactkit import Api
from artifactkit.server.embedded import EmulatorProcess
from tests.transfer.helpers import write_tree


@pytest.mark.usefixtures("ctrl_c")
def test_ctrl_c_with_a_download_in_flight_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    server = EmulatorProcess(tmp_path / "data").start()
    process = server.process
    assert process is not None
    try:
        with Api(api_key=server.api_key, base_url=server.url, cache_dir=tmp_path / "cache") as api:
            api.upload(write_tree(tmp_path / "src", {"big.bin": os.urandom(8 << 20)}), "local/p/big", "dataset")
            [file] = list(api.artifact("local/p/big:v0").files())
        # A client that asked for the file and reads nothing: its response cannot finish.
        host, port = server.url.removeprefix("http://").split(":")
        stalled = socket.create_connection((host, int(port)))
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        path = file.url.split(server.url, 1)[1]
        stalled.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        stalled.recv(1)  # the response has started
        process.send_signal(signal.SIGINT)
        process.wait(60)
        stalled.close()
    finally:
        server.stop()
    log = (server.data_dir / "server.log").read_text()
    assert process.returncode == 0
    assert "Traceback" not in log and "ERROR" not in log, log
    assert log.splitlines()[-1] == "artifactkit emulator stopped (1 request(s) still running after 3 s were cut off)"


@pytest.mark.usefixtures("ctrl_c")
def test_ctrl_c_of_an_idle_server_prints_one_line(tmp_path: Path) -> None:
    server = EmulatorProcess(tmp_path / "data").start()
    assert server.process is not None
    server.process.send_signal(signal.SIGINT)
    server.process.wait(60)
    log = (server.data_dir / "server.log").read_text()
    assert server.process.returncode == 0
    assert log.splitlines()[-1] == "artifactkit emulator stopped"
    server.stop()
