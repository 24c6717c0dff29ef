"""Real parts for transfer tests: a slow network link, a reference origin, the emulator's disk."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from artifactkit.server import ids
from artifactkit.server.embedded import EmbeddedEmulator

# --------------------------------------------------------------------------- files


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for path, data in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


def random_files(count: int, size: int, prefix: str = "") -> dict[str, bytes]:
    """Distinct random contents (so no two tests share a blob on the session emulator)."""
    return {f"{prefix}f{i:03d}.bin": os.urandom(size) for i in range(count)}


def tree_bytes(root: Path | str) -> dict[str, bytes]:
    root = Path(root)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


# --------------------------------------------------------------------------- the emulator's disk


def blob_path(emu: EmbeddedEmulator, data: bytes) -> Path:
    """Where the emulator keeps the blob holding `data` (replace it to play a broken server)."""
    digest = md5_hex(data)
    path: Path = emu.settings.blob_dir / digest[:2] / digest
    return path


def manifest_blob_path(emu: EmbeddedEmulator, artifact_id: str) -> Path:
    """The stored manifest of a version, as the emulator serves it."""
    row = emu.store.one(
        "SELECT blob_md5 FROM manifests WHERE artifact_id = ? ORDER BY id DESC LIMIT 1",
        (ids.decode(artifact_id, "Artifact"),),
    )
    digest = row["blob_md5"]
    path: Path = emu.settings.blob_dir / digest[:2] / digest
    return path


# --------------------------------------------------------------------------- a slow link


class SlowLink:
    """A TCP proxy in front of a server that sends each connection's responses at `bytes_per_second`
    (and its requests at `upload_bytes_per_second`, unlimited by default).

    Clients that use `url` as the base URL get signed URLs pointing back at the proxy (the
    emulator signs for the Host it was asked on), so every byte crosses the slow link.

    With `hold_after=N`, responses stop once N bytes have crossed (over all connections) until
    `release()`: `held` is set then, so a test acts at that point however slow the machine is.
    """

    def __init__(
        self,
        upstream_url: str,
        bytes_per_second: int,
        upload_bytes_per_second: int | None = None,
        *,
        hold_after: int | None = None,
    ) -> None:
        host_port = upstream_url.split("://", 1)[1].rstrip("/")
        host, port = host_port.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.rate = bytes_per_second
        self.upload_rate = upload_bytes_per_second
        self.hold_after = hold_after
        self.sent = 0
        self.held = threading.Event()
        self._released = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> SlowLink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def release(self) -> None:
        """Let held responses go on."""
        self._released.set()

    def _gate(self, n: int) -> None:
        """Count `n` response bytes about to cross; wait for `release()` once past `hold_after`."""
        if self.hold_after is None:
            return
        with self._lock:
            self.sent += n
            holding = self.sent >= self.hold_after
        if holding and not self._released.is_set():
            self.held.set()
            self._released.wait()

    def close(self) -> None:
        self._released.set()
        with self._lock:
            self._closed = True
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        self._thread.join(5)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._closed:  # close() ran while this connection was being set up: it owns no one
                    client.close()
                    server.close()
                    return
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, self.upload_rate), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, self.rate, self._gate), daemon=True).start()

    @staticmethod
    def _pump(
        source: socket.socket, sink: socket.socket, rate: int | None, gate: Callable[[int], None] | None = None
    ) -> None:
        try:
            while True:
                data = source.recv(16384)
                if not data:
                    break
                if gate is not None:
                    gate(len(data))
                sink.sendall(data)
                if rate:
                    time.sleep(len(data) / rate)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


# --------------------------------------------------------------------------- a reference origin


class ReferenceOrigin:
    """A tiny HTTP server holding files for reference entries, with settable ETags."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str | None]] = {}
        self.requests: list[str] = []
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(body=True)

            def do_HEAD(self) -> None:  # what `put URL` asks for: ETag and size
                self._answer(body=False)

            def _answer(self, *, body: bool) -> None:
                origin.requests.append(self.path if body else f"HEAD {self.path}")
                if self.path not in origin.files:
                    self.send_error(404)
                    return
                data, etag = origin.files[self.path]
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                if etag is not None:
                    self.send_header("ETag", f'"{etag}"')
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def put(self, path: str, data: bytes, etag: str | None) -> str:
        self.files[path] = (data, etag)
        return f"{self.url}{path}"

    def __enter__(self) -> ReferenceOrigin:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# --------------------------------------------------------------------------- subprocesses


def cli_process(args: list[str], cache_dir: Path, **kwargs: Any) -> subprocess.Popen[bytes]:
    """`artifactkit ARGS` in a child process with its own WANDB_CACHE_DIR."""
    env = {**os.environ, "WANDB_CACHE_DIR": str(cache_dir)}
    return subprocess.Popen(
        [sys.executable, "-m", "artifactkit.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def wait_for(condition: Callable[[], bool], timeout: float, what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            _, err = process.communicate()
            raise AssertionError(f"the child exited ({process.returncode}) before {what}: {err.decode()[-2000:]}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def settled_stats(emu: EmbeddedEmulator, quiet: float = 0.05, timeout: float = 5.0) -> Any:
    """The emulator's stats once they stop changing.

    The emulator records a request after its last byte is sent, so a client can be done with a
    response a moment before it is counted; wait for the counts to be quiet for `quiet` seconds.
    """
    deadline = time.monotonic() + timeout
    last = emu.stats.snapshot()
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = emu.stats.snapshot()
        if now == last:
            break
        last = now
    return emu.stats


def reset_stats(emu: EmbeddedEmulator) -> None:
    """Zero the emulator's counts once the requests already answered have all been counted."""
    settled_stats(emu)
    emu.stats.reset()
