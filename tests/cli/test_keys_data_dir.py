"""`keys list` with no --data-dir finds the data of a running emulator started with `--data-dir ./emu`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from artifactkit.cli import main as cli_main


@pytest.fixture
def default_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    default = tmp_path / "default-data"
    monkeypatch.setenv("ARTIFACTKIT_DATA_DIR", str(default))
    monkeypatch.chdir(tmp_path)
    return default


@pytest.fixture
def served_from_relative_dir(tmp_path: Path, default_dir: Path) -> Iterator[Path]:
    """`artifactkit serve --data-dir emu` run from tmp_path/work (a real process); yields its absolute data dir."""
    work = tmp_path / "work"
    work.mkdir()
    ready = tmp_path / "ready.json"
    env = {**os.environ, "ARTIFACTKIT_DATA_DIR": str(default_dir)}
    process = subprocess.Popen(
        [sys.executable, "-m", "artifactkit", "serve", "--port", "0", "--data-dir", "emu", "--ready-file", str(ready)],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert process.poll() is None, "the emulator exited"
            assert time.monotonic() < deadline, "the emulator did not start"
            time.sleep(0.05)
        assert json.loads(ready.read_text())["data_dir"] == str(work / "emu")  # absolute, whatever the cwd
        yield work / "emu"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_keys_list_finds_the_running_emulators_data(
    served_from_relative_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(["keys", "list", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert [key["user"] for key in json.loads(captured.out)["keys"]] == ["local"]
    assert f": {served_from_relative_dir}" in captured.err


def test_without_data_or_a_running_emulator_the_error_says_what_to_pass(
    default_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(["keys", "list"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"the default data directory {default_dir} holds no emulator data" in err
    assert "pass --data-dir, the directory `artifactkit serve --data-dir` used" in err
