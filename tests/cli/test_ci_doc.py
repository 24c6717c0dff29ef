"""docs/ci.md's promotion job, run as written against an emulator, within a project and into a registry:
promote, refuse (below the floor, below production's recorded score), do nothing twice, fail on a missing name."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml

from artifactkit import Api
from artifactkit.errors import NotFoundError
from artifactkit.server.embedded import EmbeddedEmulator
from tests.integration.support import upload

DOC = (Path(__file__).resolve().parents[2] / "docs" / "ci.md").read_text()

EVALUATE = """\
import json, pathlib, sys
print(json.loads(pathlib.Path(sys.argv[1], "metrics.json").read_text())["accuracy"])
"""
SCORES = (0.91, 0.95, 0.5, 0.93)  # v0..v3: the accuracy evaluate.py finds in each version


class Variant(NamedTuple):
    model: str
    registry: str | None

    @property
    def production(self) -> str:
        return f"{self.registry or self.model}:production"


VARIANTS = {
    # production is an alias in the model's own collection (a personal entity may do this)
    "in-project": Variant("local/ci/classifier", None),
    # production is an alias of the home organization's model registry; linking needs a team entity,
    # which the emulator creates (in the writer's organization, local-org) on its first write
    "registry": Variant("ml/ci/classifier", "wandb-registry-model/classifier"),
}


def block(marker: str) -> str:
    """The fenced block right after `<!-- marker -->` in docs/ci.md."""
    found = re.search(rf"<!-- {marker} -->\n```\w+\n(.*?)\n```", DOC, flags=re.DOTALL)
    assert found, f"docs/ci.md has no block marked {marker}"
    return found.group(1)


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEmulator]:
    with EmbeddedEmulator(tmp_path_factory.mktemp("ci-emulator")) as server:
        yield server


Job = Callable[[str], tuple[int, str]]


def job_runner(emu: EmbeddedEmulator, tmp_path: Path, variant: Variant) -> Job:
    """Runs ci/promote.sh from the doc in a fresh job directory, as a CI runner would."""
    scripts = Path(sys.executable).parent  # `artifactkit` and `python3` of this environment

    def run(candidate: str) -> tuple[int, str]:
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
            "MODEL": variant.model,
            "CANDIDATE": candidate,
            "MIN_ACCURACY": "0.9",
            **({"REGISTRY": variant.registry} if variant.registry else {}),
        }
        done = subprocess.run(
            ["bash", "ci/promote.sh"], cwd=work, env=env, capture_output=True, text=True, timeout=240, check=False
        )
        return done.returncode, done.stdout + done.stderr

    return run


def seed(emu: EmbeddedEmulator, tmp_path: Path, model: str) -> None:
    with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path / "seed-cache") as api:
        for accuracy in SCORES:
            upload(api, tmp_path, model, "model", files={"metrics.json": json.dumps({"accuracy": accuracy})})


def production(emu: EmbeddedEmulator, tmp_path: Path, variant: Variant) -> tuple[str, dict[str, object]] | None:
    """The version production names (as logged) and its metadata; None when there is none."""
    with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path / "check-cache") as api:
        try:
            version = api.artifact(variant.production)
        except NotFoundError:
            return None
        return version.source_qualified_name, version.metadata


@pytest.mark.timeout(600)
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_promotion_job_in_docs_ci_md(emu: EmbeddedEmulator, tmp_path: Path, variant: str) -> None:
    setup = VARIANTS[variant]
    model = setup.model
    seed(emu, tmp_path, model)
    job = job_runner(emu, tmp_path, setup)
    assert production(emu, tmp_path, setup) is None

    code, log = job("v0")  # no production yet: the first candidate above the floor becomes it
    assert code == 0, log
    assert "no production version yet" in log and f"promoted {model}:v0" in log
    assert production(emu, tmp_path, setup) == (f"{model}:v0", {"eval": {"accuracy": 0.91}})

    code, log = job("v1")  # 0.95 beats production's recorded 0.91
    assert code == 0, log
    assert "(accuracy 0.91)" in log  # production's recorded score, read with `show --json`
    assert "metrics.json | ±0 B (changed)" in log  # the diff against production is in the job's log
    assert production(emu, tmp_path, setup) == (f"{model}:v1", {"eval": {"accuracy": 0.95}})

    code, log = job("v2")  # 0.5: below everything, production stays where it is
    assert code == 1, log
    assert "not promoted: accuracy 0.5 is below 0.95" in log

    code, log = job("v3")  # 0.93: above the floor, but below production's recorded 0.95
    assert code == 1, log
    assert "not promoted: accuracy 0.93 is below 0.95" in log  # the floor alone (0.9) would have let it pass
    assert production(emu, tmp_path, setup) == (f"{model}:v1", {"eval": {"accuracy": 0.95}})

    code, log = job("v1")  # already production: nothing to do, nothing evaluated
    assert code == 0, log
    assert f"{model}:v1 is production already: nothing to do" in log

    code, log = job("v9")  # no such version: the job fails with show's exit code
    assert code == 3, log
    assert production(emu, tmp_path, setup) == (f"{model}:v1", {"eval": {"accuracy": 0.95}})
    if setup.registry:  # promoting moved the registry's alias from the first link to the second
        with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path / "check-cache") as api:
            links = {v.source_qualified_name: v.aliases for v in api.artifacts("model", setup.registry)}
        assert links == {f"{model}:v0": [], f"{model}:v1": ["latest", "production"]}


def test_the_ci_configurations_run_the_script() -> None:
    github = yaml.safe_load(block("github-actions"))
    steps = github["jobs"]["promote"]["steps"]
    assert any(step.get("run") == "bash ci/promote.sh" and "WANDB_API_KEY" in step["env"] for step in steps)
    gitlab = yaml.safe_load(block("gitlab-ci"))
    assert "bash ci/promote.sh" in gitlab["promote"]["script"]
    variables = gitlab["promote"]["variables"]
    env = github["jobs"]["promote"]["steps"][-1]["env"]
    assert (variables["MODEL"], variables["REGISTRY"]) == (env["MODEL"], env["REGISTRY"])
    assert variables["REGISTRY"].startswith("wandb-registry-")
