"""docs/ci.md's side-by-side: the wandb Python version of the promotion job, run as written with the
official client (0.31.0) against the emulator, does what the artifactkit script does in both variants."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from artifactkit.server.embedded import EmbeddedEmulator
from tests.cli.test_ci_doc import EVALUATE, VARIANTS, block, production, seed
from tests.compat.conftest import _client_env, client_python

pytestmark = pytest.mark.compat

WANDB = "0.31.0"


@pytest.mark.timeout(900)
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_wandb_version_of_the_job_promotes_the_same(tmp_path: Path, variant: str) -> None:
    setup = VARIANTS[variant]
    python = client_python(WANDB)
    with EmbeddedEmulator(tmp_path / "emulator") as emu:
        seed(emu, tmp_path, setup.model)
        env = _client_env(emu, tmp_path / "home")  # type: ignore[arg-type]  # needs only url and api_key
        env |= {"MODEL": setup.model, "MIN_ACCURACY": "0.9", **({"REGISTRY": setup.registry} if setup.registry else {})}

        def job(candidate: str) -> tuple[int, str]:
            work = tmp_path / f"job-{candidate}-{len(list(tmp_path.iterdir()))}"
            work.mkdir()
            (work / "promote.py").write_text(block("wandb-python") + "\n")
            (work / "evaluate.py").write_text(EVALUATE)
            done = subprocess.run(
                [str(python), "promote.py"],
                cwd=work,
                env={**env, "CANDIDATE": candidate},
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            return done.returncode, done.stdout + done.stderr

        model = setup.model
        code, log = job("v0")
        assert code == 0, log
        assert production(emu, tmp_path, setup) == (f"{model}:v0", {"eval": {"accuracy": 0.91}})
        code, log = job("v1")
        assert code == 0, log
        assert "metrics.json" in log  # the hand-written diff
        assert production(emu, tmp_path, setup) == (f"{model}:v1", {"eval": {"accuracy": 0.95}})
        for refused, score in (("v2", 0.5), ("v3", 0.93)):
            code, log = job(refused)
            assert code == 1 and f"not promoted: accuracy {score} is below 0.95" in log, log
        code, log = job("v1")
        assert code == 0 and "is production already: nothing to do" in log, log
        code, log = job("v9")  # wandb raises for the missing name: the status says only "failed"
        assert code == 1 and "CommError" in log, log
        assert production(emu, tmp_path, setup) == (f"{model}:v1", {"eval": {"accuracy": 0.95}})
