"""Where a local emulator announces itself, so `Api()` finds it with no configuration."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

STATE_FILE = "server.json"


def default_data_dir() -> Path:
    """`$ARTIFACTKIT_DATA_DIR`, else the platform's user data directory."""
    env = os.environ.get("ARTIFACTKIT_DATA_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("artifactkit", appauthor=False)) / "emulator"


@dataclass(frozen=True)
class LocalServer:
    url: str
    api_key: str
    pid: int


def running_local_server(data_dir: Path | None = None) -> LocalServer | None:
    """The emulator started from `data_dir` (default data dir), if it is still running."""
    path = (data_dir or default_data_dir()) / STATE_FILE
    try:
        state = json.loads(path.read_text())
        server = LocalServer(str(state["url"]), str(state["api_key"]), int(state["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(server.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return server
