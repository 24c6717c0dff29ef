"""Virtual environments for the clients a benchmark compares (cached under .cache/)."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "bench"


def wandb_python(version: str = "0.31.0") -> Path:
    """A Python with exactly `wandb==version` installed, created on first use.

    The compat tests' environment of that version (`.cache/compat/`, same interpreter) is used
    when it is ready, rather than installing the same client twice.
    """
    compat = ROOT / ".cache" / "compat" / f"wandb-{version}-py{sys.version_info.major}.{sys.version_info.minor}"
    if (compat / ".artifactkit-ready").exists():
        return compat / "bin" / "python"
    env = CACHE / f"wandb-{version}"
    python = env / "bin" / "python"
    marker = env / ".ready"
    if not marker.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(env)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"wandb=={version}"],
            check=True,
        )
        marker.write_text(version)
    return python


def artifactkit_python() -> Path:
    """The project's own environment (where artifactkit is installed in development mode)."""
    return Path(sys.executable)


def client_env(base_url: str, api_key: str, home: Path, cache: Path) -> dict[str, str]:
    """A benchmark child's whole environment: one server and key, and every directory either
    client writes (config, run files, caches) under `home` and `cache`, nothing of the caller's."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "WANDB_BASE_URL": base_url,
        "WANDB_API_KEY": api_key,
        "WANDB_CACHE_DIR": str(cache),
        "WANDB_CONFIG_DIR": str(home / "config"),
        "WANDB_DIR": str(home / "wandb"),
        "WANDB_DATA_DIR": str(home / "data"),
        "WANDB_SILENT": "true",
        "WANDB_ERROR_REPORTING": "false",
        "ARTIFACTKIT_DATA_DIR": str(home / "artifactkit"),
    }
