"""wandb 0.31.0, unchanged, reads a mirror's target as it reads its source (mirror_reader.py on both)."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from artifactkit import Api
from artifactkit.server.embedded import EmbeddedEmulator
from tests.compat.conftest import _client_env, client_python
from tests.mirror.support import differences, seed_project

pytestmark = pytest.mark.compat

READER = Path(__file__).with_name("mirror_reader.py")
PROJECT = "local/vision"


def read_with_wandb(python: Path, emu: EmbeddedEmulator, work: Path) -> dict[str, Any]:
    work.mkdir(parents=True)
    config = work / "config.json"
    config.write_text(
        json.dumps({"base_url": emu.url, "api_key": emu.api_key, "project": PROJECT, "workdir": str(work / "files")})
    )
    (work / "files").mkdir()
    done = subprocess.run(
        [str(python), str(READER), str(config)],
        env=_client_env(emu, work / "home"),  # type: ignore[arg-type]
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    document: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return document


def test_wandb_0_31_reads_the_mirror_as_it_reads_the_source(tmp_path: Path) -> None:
    python = client_python("0.31.0")
    with EmbeddedEmulator(tmp_path / "a") as a, EmbeddedEmulator(tmp_path / "b") as b:
        with (
            Api(api_key=a.api_key, base_url=a.url, cache_dir=tmp_path / "cache-a") as source,
            Api(api_key=b.api_key, base_url=b.url, cache_dir=tmp_path / "cache-b") as target,
        ):
            seed_project(source, a, PROJECT, tmp_path / "seed")
            report = source.mirror(PROJECT, target)
            assert report.verified is True

        on_source = read_with_wandb(python, a, tmp_path / "read-a")
        on_target = read_with_wandb(python, b, tmp_path / "read-b")

    assert on_source["wandb"] == "0.31.0"
    assert differences(on_target, on_source) == []
    model = on_target["collections"]["model"]["versions"]
    assert [v["aliases"] for v in model] == [[], ["best"], ["candidate", "latest"]]
    assert model[0]["ttl"] == "30 days, 0:00:00"
    assert model[1]["logged_by"]["name"] == "Train baseline"
    assert [r["id"] for r in model[1]["used_by"]] == ["eval-1"]
    production = on_target["collections"]["production"]["versions"]
    assert [(v["source_name"], v["aliases"]) for v in production] == [
        ("model:v1", ["prod"]),
        ("model:v2", ["latest", "staging"]),
    ]
    for version in model:  # wandb downloaded each file from the target, with the manifest's digest
        stored = {path: base64.b64decode(f["digest"]).hex() for path, f in version["files"].items()}
        assert version["downloaded"] == stored
