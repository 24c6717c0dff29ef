"""Every transfer of the Python API draws its bar on a terminal by default, and stays silent elsewhere."""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
import sys
import termios
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from artifactkit import Api
from tests.transfer.helpers import random_files, write_tree


class Terminal:
    """A pseudo-terminal to stand in for sys.stderr; `drawn` is what was written on it once closed."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # 120 columns, as a window has
        self.stderr = os.fdopen(slave, "w", buffering=1)
        self._drawn = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:  # a terminal nobody reads would block the writer once its buffer is full
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the other end is closed and everything was read
                return
            if not chunk:
                return
            self._drawn += chunk

    def close(self) -> str:
        self.stderr.close()
        self._reader.join(10)
        os.close(self.master)
        return self._drawn.decode(errors="replace")


@contextlib.contextmanager
def stderr_on_a_terminal() -> Iterator[list[str]]:
    """sys.stderr is a terminal within the block; the list holds what was drawn on it, after."""
    term = Terminal()
    drawn: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "stderr", term.stderr)
        try:
            yield drawn
        finally:
            term.stderr.flush()
    drawn.append(term.close())


def _upload(api: Api, project: str, tmp_path: Path) -> Any:
    return api.upload(write_tree(tmp_path / "up", random_files(3, 200_000)), f"{project}/up", "dataset")


def _download(api: Api, project: str, tmp_path: Path) -> Any:
    api.upload(write_tree(tmp_path / "down", random_files(3, 200_000)), f"{project}/down", "dataset", progress=False)
    return api.artifact(f"{project}/down:v0").download(tmp_path / "out")


def _verify(api: Api, project: str, tmp_path: Path) -> Any:
    api.upload(write_tree(tmp_path / "v", random_files(3, 200_000)), f"{project}/v", "dataset", progress=False)
    artifact = api.artifact(f"{project}/v:v0")
    artifact.download(tmp_path / "checked", progress=False)
    return artifact.verify(tmp_path / "checked")


@pytest.mark.parametrize(
    ("call", "verb"), [(_upload, "uploaded"), (_download, "downloaded"), (_verify, "verified")], ids=lambda x: ""
)
def test_a_bar_by_default_on_a_terminal(
    api: Api, project: str, tmp_path: Path, call: Callable[..., Any], verb: str
) -> None:
    with stderr_on_a_terminal() as drawn:
        call(api, project, tmp_path)
    assert f"/3 {verb}" in drawn[0]


def test_no_bar_by_default_elsewhere(
    api: Api, project: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for call in (_upload, _download, _verify):
        call(api, project, tmp_path)
    assert capsys.readouterr().err == ""
