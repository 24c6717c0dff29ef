"""Where a local emulator announces itself, so `Api()` finds it with no configuration.

`artifactkit serve` writes `server.json` into its data directory and, whatever `--data-dir` it was
given, a copy under `servers/<pid>.json` of the default data directory, so an emulator started with
`--data-dir ./emu` is found as well. Entries of processes that are gone are ignored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

STATE_FILE = "server.json"
REGISTRY_DIR = "servers"


def default_data_dir() -> Path:
    """`$ARTIFACTKIT_DATA_DIR`, else the platform's user data directory."""
    env = os.environ.get("ARTIFACTKIT_DATA_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("artifactkit", appauthor=False)) / "emulator"


def registry_dir() -> Path:
    """Where every running emulator leaves a pointer to itself, whatever its data directory."""
    return default_data_dir() / REGISTRY_DIR


def discovery_places() -> list[Path]:
    """What `running_local_server()` reads, for error messages."""
    return [default_data_dir() / STATE_FILE, registry_dir()]


@dataclass(frozen=True)
class LocalServer:
    url: str
    api_key: str
    pid: int
    state_file: Path = Path()
    data_dir: Path | None = None
    """The emulator's data directory (absolute), when its announcement says."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:  # e.g. an invalid pid on Windows
        return False
    return True


def _read(path: Path) -> LocalServer | None:
    try:
        state = json.loads(path.read_text())
        data_dir = state.get("data_dir")
        server = LocalServer(
            str(state["url"]),
            str(state["api_key"]),
            int(state["pid"]),
            path,
            data_dir=Path(data_dir) if isinstance(data_dir, str) and os.path.isabs(data_dir) else None,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return server if _alive(server.pid) else None


def running_local_server(data_dir: Path | None = None) -> LocalServer | None:
    """The emulator started from `data_dir`, if it is still running.

    Without `data_dir`: the one of the default data directory, else the most recently started one
    that announced itself in the registry.
    """
    if data_dir is not None:
        return _read(data_dir / STATE_FILE)
    found = _read(default_data_dir() / STATE_FILE)
    if found is not None:
        return found
    try:
        entries = sorted(registry_dir().glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return None
    for entry in entries:
        try:
            found = _read(entry)
        except OSError:
            continue
        if found is not None:
            return found
    return None


def announce(state: dict[str, object], data_dir: Path) -> list[Path]:
    """Write the state file into `data_dir` and the registry (owner-only); returns the files to remove on exit."""
    written = []
    for target in (data_dir / STATE_FILE, registry_dir() / f"{os.getpid()}.json"):
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_text(json.dumps(state))
            tmp.chmod(0o600)
            tmp.replace(target)
        except OSError:
            if target.parent == data_dir:
                raise
            continue  # the registry is a convenience; the server runs without it
        written.append(target)
    return written
