"""Running the emulator: `artifactkit serve`, and the `keys` and `admin` commands behind it."""

from __future__ import annotations

import asyncio
import errno
import gc
import json
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

from .._local import announce
from .accounts import SERVE_KEYS_FILE, create_key, ensure_key_schema, list_keys, serve_key, write_private
from .app import Emulator, secure_data_dir
from .connections import guarded_protocol
from .organizations import ensure_home_organization
from .settings import Settings
from .store import Store


class ServeError(Exception):
    """The emulator cannot start where it was asked to (a busy port, an unknown host); the message says why."""


class _ShutdownNotes(logging.Filter):
    """uvicorn's report of the requests it cut off at shutdown, counted instead of printed.

    When requests are still running after the grace period, uvicorn cancels them, logs that, and
    logs each cancelled request as an "Exception in ASGI application" with a traceback. Stopping
    the emulator with requests in flight is normal (a client still downloading): `serve` says so in
    its one closing line instead.
    """

    def __init__(self) -> None:
        super().__init__()
        self.cut_off = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if "timeout graceful shutdown exceeded" in str(record.msg):
            if record.args and isinstance(record.args, tuple) and isinstance(record.args[0], int):
                self.cut_off += record.args[0]
            return False
        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, asyncio.CancelledError) and "graceful shutdown" in str(error))


class RunningServer:
    """A uvicorn server on its own thread; `url` is known once `start()` returns."""

    def __init__(self, emulator: Emulator, host: str, port: int) -> None:
        self.notes = _ShutdownNotes()
        logging.getLogger("uvicorn.error").addFilter(self.notes)
        self.grace = emulator.settings.shutdown_grace_seconds
        config = uvicorn.Config(
            emulator.asgi(),
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=max(1, round(self.grace)),
            timeout_keep_alive=5,
            # Deadlines and sizes for request heads, and a bound on open connections (connections.py).
            http=guarded_protocol(emulator.settings),
        )
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[attr-defined, unused-ignore]
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

    def stop(self, timeout: float | None = None) -> bool:
        """Ask the server to finish; True once it has (in-flight requests get `grace` seconds)."""
        self.server.should_exit = True
        self.thread.join(self.grace + 1.0 if timeout is None else timeout)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(0.5)
        if self.thread.is_alive():
            return False
        logging.getLogger("uvicorn.error").removeFilter(self.notes)
        self.socket.close()
        return True


def tune_garbage_collector() -> None:
    """Keep the cycle collector out of the answers' way in a long-running `serve` process.

    Measured under the load benchmark (8 clients, pages of 50 versions): with the default
    thresholds the collector ran about 370 times a second and 31 full collections took up to
    39 ms each (5% of the emulator's CPU, and most of the p99). The objects made at start-up
    (schema, parsed SDL, modules) are moved out of its view (`gc.freeze`), and a young
    collection waits for 10,000 surviving allocations instead of 700: almost everything a
    request allocates is freed by reference counting before that.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


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
    """Start the emulator, print how to reach it, block until SIGINT/SIGTERM.

    The admin key is printed only to a terminal; when the output goes to a file (a log), the
    line names the 0600 file the key is kept in instead.
    """
    stop = threading.Event()  # SIGINT/SIGTERM from here on stop the server, also while it starts
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    settings = Settings(data_dir=data_dir, legacy=legacy, faults=faults, cli_version=max_cli_version)
    emulator = Emulator(settings)
    key = serve_key(emulator.store, user, data_dir)
    running = RunningServer(emulator, host, port)
    url = running.start()
    tune_garbage_collector()
    if demo and seed is not None and not stop.is_set():
        seed(url, key.key)
    personality = "legacy (pre-0.12.11, artifactSequences only)" if settings.legacy else "modern"
    personality += f", max_cli_version {settings.max_cli_version}"
    print(f"artifactkit emulator ({personality}) listening on {url}", flush=True)
    print(f"data: {data_dir}", flush=True)
    print(f"export WANDB_BASE_URL={url}", flush=True)
    if faults:
        print(f"faults: {faults}", flush=True)
    if sys.stdout.isatty():
        print(f"export WANDB_API_KEY={key.key}", flush=True)
    else:
        keys_file = data_dir / SERVE_KEYS_FILE
        print(f"the API key of {user!r} is in {keys_file} (mode 0600); not printed to a file", flush=True)
    state = {"url": url, "api_key": key.key, "user": user, "pid": os.getpid(), "data_dir": str(data_dir.resolve())}
    announced = announce(state, data_dir)  # lets `Api()` with no configuration find this server
    if ready_file is not None:
        write_private(ready_file, json.dumps(state))
    while not stop.is_set() and running.thread.is_alive():
        stop.wait(0.5)
    finished = running.stop()
    for path in announced:
        path.unlink(missing_ok=True)
    cut_off = running.notes.cut_off
    note = (
        f" ({cut_off} request(s) still running after {running.grace:g} s were cut off)"
        if cut_off
        else " (a request would not finish: left without waiting for it)"
        if not finished
        else ""
    )
    print(f"artifactkit emulator stopped{note}", file=sys.stderr, flush=True)
    if not finished:  # a request thread would not let go: leave without waiting for it
        os._exit(0)
    return 0


def keys_command(
    data_dir: Path, action: str, user: str, read_only: bool, *, as_json: bool = False, role: str = "write"
) -> int:
    """`artifactkit keys create|list`: one key per line (tab-separated for list), or JSON with `as_json`.

    A key is shown once, by `create`; the database keeps its hash, so `list` shows prefixes.
    """
    settings = Settings(data_dir=data_dir)
    secure_data_dir(settings)
    store = Store(settings.database_path)
    role = "read" if read_only else role
    keys = [create_key(store, user, role=role)] if action == "create" else list(list_keys(store))
    if as_json:
        records: list[dict[str, object]] = [
            {"key_prefix": k.prefix, "user": k.username, "read_only": k.read_only, "role": k.role} for k in keys
        ]
        if action == "create":
            records[0] = {"key": keys[0].key, **records[0]}
        document = (
            {"schema_version": 1, "key": records[0]} if action == "create" else {"schema_version": 1, "keys": records}
        )
        print(json.dumps(document, indent=2))
    elif action == "create":
        print(keys[0].key)
    else:
        for key in keys:
            print(f"{key.prefix}...\t{key.username}\t{key.role}")
    return 0


logging.getLogger("artifactkit.server").addHandler(logging.StreamHandler(sys.stderr))


class AdminError(ValueError):
    """An `artifactkit admin` command the data directory refuses (unknown name, taken name, bad role)."""


def admin_command(
    data_dir: Path,
    noun: str,
    verb: str,
    *,
    name: str | None = None,
    user: str | None = None,
    role: str | None = None,
    organization: str | None = None,
    entity: str | None = None,
    as_json: bool = False,
) -> int:
    """`artifactkit admin org|team ...`: organizations, teams and their members, in the data directory.

    Users are made by `keys create --user NAME` (or their first key); these commands only place them.
    """
    from .errors import EmulatorError

    settings = Settings(data_dir=data_dir)
    secure_data_dir(settings)
    store = Store(settings.database_path)
    ensure_key_schema(store)
    ensure_home_organization(store)
    try:
        message = _administer(
            store, noun, verb, name=name, user=user, role=role, organization=organization, entity=entity
        )
    except EmulatorError as exc:
        raise AdminError(exc.message) from None
    listing = _organizations_listing(store)
    if as_json:
        print(json.dumps({"schema_version": 1, "organizations": listing}, indent=2))
    elif verb == "list":
        for org in listing:
            members = ", ".join(f"{m['user']} ({m['role']})" for m in org["members"]) or "-"
            print(f"{org['name']}\tentity {org['entity']}\tmembers: {members}")
            for team in org["teams"]:
                team_members = ", ".join(f"{m['user']} ({m['role']})" for m in team["members"]) or "-"
                print(f"  team {team['name']}\tmembers: {team_members}")
    else:
        print(message)
    return 0


def _user(store: Store, username: str | None) -> int:
    from .errors import NotFound

    found = store.user_id_by_name(username or "")
    if found is None:
        raise NotFound(f"no user {username!r}; create one with `artifactkit keys create --user {username}`")
    return found


def _administer(
    store: Store,
    noun: str,
    verb: str,
    *,
    name: str | None,
    user: str | None,
    role: str | None,
    organization: str | None,
    entity: str | None,
) -> str:
    from . import organizations as orgs

    if verb == "list":
        return ""
    assert name is not None
    if noun == "org":
        if verb == "create":
            admin = None if user is None else _user(store, user)
            made = orgs.create_organization(store, name, entity or f"{name}-entity", admin=admin)
            return f"created organization {name} (entity {made['entity_name']}) with the registries model and dataset"
        org = orgs.require_organization(store, name)
        if verb == "add-member":
            orgs.set_organization_member(store, int(org["id"]), _user(store, user), role or "member")
            return f"{user} is a {role or 'member'} of organization {name}"
        orgs.remove_organization_member(store, int(org["id"]), _user(store, user))
        return f"{user} left organization {name}, its teams and its registries"
    if verb == "create":
        org = orgs.require_organization(store, organization or orgs.HOME_ORGANIZATION)
        admin = None if user is None else _user(store, user)
        orgs.create_team(store, name, int(org["id"]), admin=admin)
        return f"created team {name} in organization {org['name']}"
    team = orgs.require_team(store, name)
    if verb == "add-member":
        orgs.set_team_member(store, team, _user(store, user), role or "member")
        return f"{user} is a {role or 'member'} of team {name}"
    orgs.remove_team_member(store, team, _user(store, user))
    return f"{user} left team {name}"


def _organizations_listing(store: Store) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for org in store.organizations():
        teams = [
            {
                "name": team["name"],
                "members": [{"user": m["username"], "role": m["role"]} for m in store.team_members(int(team["id"]))],
            }
            for team in store.teams_of_organization(int(org["id"]))
        ]
        members = [{"user": m["username"], "role": m["role"]} for m in store.organization_members(int(org["id"]))]
        result.append({"name": org["name"], "entity": org["entity_name"], "members": members, "teams": teams})
    return result
