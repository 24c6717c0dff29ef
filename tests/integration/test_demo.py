"""`make demo` runs `python -m artifactkit.demo`: it must keep working, and again on its own data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.timeout(300)
def test_the_demo_runs_and_runs_again_on_its_own_data(tmp_path: Path) -> None:
    outputs = []
    for _ in range(2):  # the second run finds everything seeded and seeds nothing twice
        result = subprocess.run(
            [sys.executable, "-m", "artifactkit.demo", "--data-dir", str(tmp_path / "demo")],
            capture_output=True,
            text=True,
            timeout=240,
            check=True,
        )
        assert result.stderr == ""
        outputs.append(result.stdout.split("\n", 1)[1])  # past the line naming the emulator's port
    first, second = outputs
    assert first == second
    assert "digits:v1  aliases=['latest', 'best'] files=26" in first
    assert "and verified 26 files." in first
    assert "digits:v0 -> digits:v1: 8 file(s) added, 18 changed, +16528 bytes; metadata: rows: 16 -> 24" in first
    assert (
        "wandb-registry-model/digit-classifier:production is local-org-entity/wandb-registry-model/"
        "digit-classifier:v0, linked from demo-team/demo/classifier:v0" in first
    )
    assert "Fetched 3 versions at once: digits:v1, dataset-notes:v0, classifier:v0" in first
    assert "Offline, local/demo/digits:best is v1, downloaded from the cache and verified." in first
