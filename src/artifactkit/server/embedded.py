"""Starting an emulator from Python: in this process (a thread) or as a child process.

Both serve real HTTP on 127.0.0.1 and hand out a URL and an API key, so tests and benchmarks
talk to the emulator exactly as a client talks to W&B:

    with EmbeddedEmulator(tmp_path) as emu:
        api = Api(api_key=emu.api_key, base_url=emu.url)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from .accounts import create_key, first_key
from .app import Emulator
from .main import RunningServer
from .settings import Settings


class EmbeddedEmulator:
    """An emulator on a background thread of this process; `stats` and `store` are at hand."""

    def __init__(
        self, data_dir: Path, *, legacy: bool = False, user: str = "local", port: int = 0, **settings: Any
    ) -> None:
        self.settings = Settings(data_dir=Path(data_dir), legacy=legacy, **settings)
        self.port = port
        self.emulator = Emulator(self.settings)
        self.user = user
        self.api_key = first_key(self.emulator.store, user).key
        self._server: RunningServer | None = None
        self.url = ""

    def start(self) -> EmbeddedEmulator:
        self._server = RunningServer(self.emulator, "127.0.0.1", self.port)
        self.url = self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> EmbeddedEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def stats(self) -> Any:
        return self.emulator.stats

    @property
    def store(self) -> Any:
        return self.emulator.store

    def create_key(self, user: str | None = None, *, read_only: bool = False, role: str = "write") -> str:
        """A new key for `user` (default: this emulator's user); `role` is read, write or admin."""
        return create_key(self.emulator.store, user or self.user, role="read" if read_only else role).key


class EmulatorProcess:
    """`artifactkit serve` in a child process: it can be killed and restarted like a real server."""

    def __init__(
        self,
        data_dir: Path,
        *,
        legacy: bool = False,
        port: int = 0,
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.legacy = legacy
        self.port = port
        self.extra_args = extra_args
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.api_key = ""

    def start(self, timeout: float = 30.0) -> EmulatorProcess:
        ready = self.data_dir / "ready.json"
        ready.unlink(missing_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        args = [
            sys.executable,
            "-m",
            "artifactkit.cli",
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
            "--ready-file",
            str(ready),
            *self.extra_args,
        ]
        if self.legacy:
            args.append("--legacy")
        log_fd = os.open(self.data_dir / "server.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(log_fd, "ab") as log:  # the child keeps its own copy; private like the data
            self.process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(self.env or {})}
            )
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the emulator exited with {self.process.returncode}; see {self.data_dir}/server.log"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError("the emulator did not become ready in time")
            time.sleep(0.05)
        state = json.loads(ready.read_text())
        self.url, self.api_key = state["url"], state["api_key"]
        self.port = int(self.url.rsplit(":", 1)[1])  # a restart comes back on the same port
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """SIGKILL: the server dies mid-whatever, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
