"""docs/ci.md's promotion job, run as written against an emulator: promote, refuse, and do nothing twice."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from artifactkit import Api
from artifactkit.server.embedded import EmbeddedEmulator
from tests.integration.support import upload

DOC = (Path(__file__).resolve().parents[2] / "docs" / "ci.md").read_text()
MODEL = "local/ci/classifier"

EVALUATE = """\
import json, pathlib, sys
print(json.loads(pathlib.Path(sys.argv[1], "metrics.json").read_text())["accuracy"])
"""


def block(marker: str) -> str:
    """The fenced block right after `<!-- marker -->` in docs/ci.md."""
    found = re.search(rf"<!-- {marker} -->\n```\w+\n(.*?)\n```", DOC, flags=re.DOTALL)
    assert found, f"docs/ci.md has no block marked {marker}"
    return found.group(1)


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEmulator]:
    with EmbeddedEmulator(tmp_path_factory.mktemp("ci-emulator")) as server:
        yield server


@pytest.fixture
def job(emu: EmbeddedEmulator, tmp_path: Path) -> Iterator[object]:
    """Runs ci/promote.sh from the doc in a fresh job directory, as a CI runner would."""
    scripts = Path(sys.executable).parent  # `artifactkit` and `python3` of this environment

    def run(candidate: str, min_accuracy: str = "0.9") -> tuple[int, str]:
        work = tmp_path / f"job-{candidate}-{len(list(tmp_path.iterdir()))}"
        (work / "ci").mkdir(parents=True)
        (work / "ci" / "promote.sh").write_text(block("promote.sh") + "\n")
        (work / "evaluate.py").write_text(EVALUATE)
        env = {
            "PATH": f"{scripts}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "WANDB_CACHE_DIR": str(tmp_path / "cache"),
            "WANDB_BASE_URL": emu.url,
            "WANDB_API_KEY": emu.api_key,
            "MODEL": MODEL,
            "CANDIDATE": candidate,
            "MIN_ACCURACY": min_accuracy,
        }
        done = subprocess.run(
            ["bash", "ci/promote.sh"], cwd=work, env=env, capture_output=True, text=True, timeout=240, check=False
        )
        return done.returncode, done.stdout + done.stderr

    yield run


def production(emu: EmbeddedEmulator, tmp_path: Path) -> tuple[str, dict[str, object]]:
    with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path / "check-cache") as api:
        version = api.artifact(f"{MODEL}:production")
        return version.version, version.metadata


@pytest.mark.timeout(600)
def test_the_promotion_job_in_docs_ci_md(emu: EmbeddedEmulator, job, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path / "seed-cache") as api:
        for accuracy in (0.91, 0.95, 0.5):
            upload(api, tmp_path, MODEL, "model", files={"metrics.json": json.dumps({"accuracy": accuracy})})

    code, log = job("v0")  # no production yet: the first passing candidate becomes it
    assert code == 0, log
    assert "no production version yet" in log and f"promoted {MODEL}:v0" in log
    assert production(emu, tmp_path) == ("v0", {"eval": {"accuracy": 0.91}})

    code, log = job("v1")
    assert code == 0, log
    assert "metrics.json | ±0 B (changed)" in log  # the diff against production is in the job's log
    assert production(emu, tmp_path)[0] == "v1"

    code, log = job("v2")  # fails the gate: production stays where it is
    assert code == 1, log
    assert "not promoted: accuracy 0.5 is below 0.9" in log
    assert production(emu, tmp_path)[0] == "v1"

    code, log = job("v1")  # already production: nothing to do
    assert code == 0, log
    assert "is production already: nothing to do" in log

    code, log = job("v9")  # no such version: the job fails with get's exit code
    assert code == 3, log


def test_the_ci_configurations_run_the_script() -> None:
    github = yaml.safe_load(block("github-actions"))
    steps = github["jobs"]["promote"]["steps"]
    assert any(step.get("run") == "bash ci/promote.sh" and "WANDB_API_KEY" in step["env"] for step in steps)
    gitlab = yaml.safe_load(block("gitlab-ci"))
    assert "bash ci/promote.sh" in gitlab["promote"]["script"]
    assert gitlab["promote"]["variables"]["MODEL"] == github["jobs"]["promote"]["steps"][-1]["env"]["MODEL"]
