"""`models(entityName:)`, the projects listing: the official client's `wandb.Api().projects()` and ours agree."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from artifactkit import Api
from artifactkit.server.embedded import EmbeddedEmulator
from tests.compat.conftest import client_python

pytestmark = pytest.mark.compat

LIST_PROJECTS = """
import json, wandb
print(json.dumps([[p.entity, p.name] for p in wandb.Api().projects("local")]))
"""


def test_the_official_client_lists_the_same_projects(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    with EmbeddedEmulator(tmp_path / "emu") as emu:
        with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path / "cache") as api:
            for name in ("alpha", "beta", "gamma"):
                api.upload(tmp_path / "f.txt", f"local/{name}/data", "dataset")
            ours = [[p.entity, p.name] for p in api.projects("local", per_page=2)]
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "WANDB_BASE_URL": emu.url,
            "WANDB_API_KEY": emu.api_key,
            "WANDB_SILENT": "true",
            "WANDB_ERROR_REPORTING": "false",
            "WANDB_CONFIG_DIR": str(tmp_path / "config"),
            "WANDB_CACHE_DIR": str(tmp_path / "wandb-cache"),
        }
        done = subprocess.run(
            [str(client_python("0.31.0")), "-c", LIST_PROJECTS], env=env, capture_output=True, text=True, timeout=300
        )
    assert done.returncode == 0, done.stderr
    assert ours == [["local", "gamma"], ["local", "beta"], ["local", "alpha"]]  # newest first
    assert json.loads(done.stdout) == ours
