"""Running the emulator: `artifactkit serve` and the key commands behind it."""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import uvicorn

from .._local import announce
from .accounts import create_key, first_key, list_keys
from .app import Emulator
from .settings import Settings
from .store import Store


class ServeError(Exception):
    """The emulator cannot start where it was asked to (a busy port, an unknown host); the message says why."""


class RunningServer:
    """A uvicorn server on its own thread; `url` is known once `start()` returns."""

    def __init__(self, emulator: Emulator, host: str, port: int) -> None:
        config = uvicorn.Config(
            emulator.asgi(),
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.socket = bind_socket(host, port)  # here, so a busy port is our error, not uvicorn's log line
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, name="artifactkit-emulator", daemon=True
        )
        self.host = host

    def start(self) -> str:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the emulator failed to start; see the messages above")
            self.thread.join(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening-ready socket on `host:port`; a busy port is a `ServeError` saying what to do."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise ServeError(f"cannot listen on host {host!r}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    if os.name != "nt":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ServeError(
                f"port {port} on {host} is already in use (another `artifactkit serve`?); "
                "choose another --port, or --port 0 for a free one"
            ) from None
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def serve(
    *,
    host: str,
    port: int,
    data_dir: Path,
    legacy: bool,
    demo: bool,
    user: str,
    ready_file: Path | None,
    seed: Callable[[str, str], None] | None = None,
    faults: str | None = None,
    max_cli_version: str | None = None,
) -> int:
    """Start the emulator, print how to reach it, block until SIGINT/SIGTERM."""
    settings = Settings(data_dir=data_dir, legacy=legacy, faults=faults, cli_version=max_cli_version)
    emulator = Emulator(settings)
    key = first_key(emulator.store, user)
    running = RunningServer(emulator, host, port)
    url = running.start()
    if demo and seed is not None:
        seed(url, key.key)
    personality = "legacy (pre-0.12.11, artifactSequences only)" if settings.legacy else "modern"
    personality += f", max_cli_version {settings.max_cli_version}"
    print(f"artifactkit emulator ({personality}) listening on {url}", flush=True)
    print(f"data: {data_dir}", flush=True)
    print(f"export WANDB_BASE_URL={url}", flush=True)
    print(f"export WANDB_API_KEY={key.key}", flush=True)
    state = {"url": url, "api_key": key.key, "user": user, "pid": os.getpid(), "data_dir": str(data_dir)}
    announced = announce(state, data_dir)  # lets `Api()` with no configuration find this server
    if ready_file is not None:
        tmp = ready_file.with_name(ready_file.name + ".tmp")
        tmp.write_text(json.dumps(state))
        tmp.chmod(0o600)
        tmp.replace(ready_file)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.is_set() and running.thread.is_alive():
        stop.wait(0.5)
    running.stop()
    for path in announced:
        path.unlink(missing_ok=True)
    print("artifactkit emulator stopped", file=sys.stderr, flush=True)
    return 0


def keys_command(data_dir: Path, action: str, user: str, read_only: bool, *, as_json: bool = False) -> int:
    """`artifactkit keys create|list`: one key per line (tab-separated for list), or JSON with `as_json`."""
    store = Store(Settings(data_dir=data_dir).database_path)
    keys = [create_key(store, user, read_only=read_only)] if action == "create" else list(list_keys(store))
    if as_json:
        records = [{"key": k.key, "user": k.username, "read_only": bool(k.read_only)} for k in keys]
        document = (
            {"schema_version": 1, "key": records[0]} if action == "create" else {"schema_version": 1, "keys": records}
        )
        print(json.dumps(document, indent=2))
    elif action == "create":
        print(keys[0].key)
    else:
        for key in keys:
            print(f"{key.key}\t{key.username}\t{'read-only' if key.read_only else 'read-write'}")
    return 0


logging.getLogger("artifactkit.server").addHandler(logging.StreamHandler(sys.stderr))
