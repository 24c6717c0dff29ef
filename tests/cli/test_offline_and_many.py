"""`artifactkit get A B C` and `--offline` / `WANDB_MODE=offline`, as a job runs them: in a child process.

The offline child gets a `sitecustomize` whose audit hook refuses every `socket.connect` and
`socket.getaddrinfo`: the command cannot have used the network and still succeeded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from artifactkit.server.embedded import EmbeddedEmulator
from tests.conftest import make_api
from tests.transfer.helpers import reset_stats, settled_stats, tree_bytes, write_tree

pytestmark = pytest.mark.timeout(120)

SRC = Path(__file__).resolve().parents[2] / "src"
NO_NETWORK = """
import sys

def _refuse(event, args):
    if event in ("socket.connect", "socket.getaddrinfo"):
        raise OSError(f"network used offline: {event}")

sys.addaudithook(_refuse)
"""


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "artifactkit", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def _env(emulator: EmbeddedEmulator, tmp_path: Path, *, offline: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(WANDB_BASE_URL=emulator.url, WANDB_CACHE_DIR=str(tmp_path / "wandb-cache"), PYTHONPATH=str(SRC))
    if offline:
        hooks = tmp_path / "no-network"
        hooks.mkdir(exist_ok=True)
        (hooks / "sitecustomize.py").write_text(NO_NETWORK)
        env["PYTHONPATH"] = f"{hooks}{os.pathsep}{SRC}"
    else:
        env["WANDB_API_KEY"] = emulator.api_key
    return env


def _seed(emulator: EmbeddedEmulator, tmp_path: Path, project: str, count: int) -> list[str]:
    with make_api(emulator, tmp_path / "seed-cache") as api:
        for index in range(count):
            files = {"x.txt": f"x{index}\n".encode()}
            api.upload(write_tree(tmp_path / f"src{index}", files), f"{project}/c{index}", "dataset", aliases=["best"])
    return [f"{project}/c{index}:best" for index in range(count)]


def test_get_several_then_again_offline_with_no_network(
    emulator: EmbeddedEmulator, project: str, tmp_path: Path
) -> None:
    names = _seed(emulator, tmp_path, project, 3)
    online = _cli(["get", *names, "--root", "out", "--json"], _env(emulator, tmp_path, offline=False), tmp_path)
    assert online.returncode == 0, online.stderr
    document = json.loads(online.stdout)
    assert document["schema_version"] == 1 and document["downloaded"] == 3 and document["failed"] == 0
    assert [a["root"] for a in document["artifacts"]] == [str(tmp_path / "out" / f"c{i}:v0") for i in range(3)]
    assert [a["fetched_files"] for a in document["artifacts"]] == [1, 1, 1]

    reset_stats(emulator)
    env = _env(emulator, tmp_path, offline=True)
    probe = _cli(["get", "--offline", names[0], "--root", "probe"], {**env, "WANDB_API_KEY": "x"}, tmp_path)
    assert probe.returncode == 0, probe.stderr  # the hook allows nothing, yet the version came from the cache
    assert tree_bytes(tmp_path / "probe") == {"x.txt": b"x0\n"}
    offline = _cli(["get", *names, "--root", "again", "-q"], {**env, "WANDB_MODE": "offline"}, tmp_path)
    assert offline.returncode == 0, offline.stderr
    assert offline.stdout.split() == [str(tmp_path / "again" / f"c{i}:v0") for i in range(3)]
    shown = _cli(["show", names[1], "--json"], {**env, "WANDB_MODE": "offline"}, tmp_path)
    assert shown.returncode == 0, shown.stderr
    described = json.loads(shown.stdout)
    assert (
        described["version"] == "v0"
        and described["seen_at"]
        and set(described["aliases_seen_at"])
        == {
            "best",
            "latest",
        }
    )
    listed = _cli(["ls", names[2], "--json"], {**env, "WANDB_MODE": "offline"}, tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert [f["path"] for f in json.loads(listed.stdout)["files"]] == ["x.txt"]
    verified = _cli(["verify", names[2], "--root", "again/c2:v0"], {**env, "WANDB_MODE": "offline"}, tmp_path)
    assert verified.returncode == 0, verified.stderr
    assert sum(settled_stats(emulator).requests.values()) == 0


def test_offline_misses_exit_9_naming_what_is_missing(emulator: EmbeddedEmulator, project: str, tmp_path: Path) -> None:
    names = _seed(emulator, tmp_path, project, 2)
    online = _cli(["get", names[0], "--root", "out"], _env(emulator, tmp_path, offline=False), tmp_path)
    assert online.returncode == 0, online.stderr
    env = {**_env(emulator, tmp_path, offline=True), "WANDB_MODE": "offline"}
    missing = _cli(["get", names[1]], env, tmp_path)
    assert missing.returncode == 9
    assert f"{names[1]} was never looked up online" in missing.stderr and "[NotCachedError]" in missing.stderr
    both = _cli(["get", names[0], names[1], "--root", "both"], env, tmp_path)
    assert both.returncode == 9
    assert (tmp_path / "both" / "c0:v0" / "x.txt").read_bytes() == b"x0\n"  # the cached one still came
    upload = _cli(["put", str(tmp_path / "src0"), "-n", f"{project}/c0"], env, tmp_path)
    assert upload.returncode == 9 and "[OfflineError]" in upload.stderr


def test_get_one_name_keeps_its_json(emulator: EmbeddedEmulator, project: str, tmp_path: Path) -> None:
    [name] = _seed(emulator, tmp_path, project, 1)
    done = _cli(["get", name, "--root", "one", "--json"], _env(emulator, tmp_path, offline=False), tmp_path)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["artifact"] == f"{project}/c0:v0" and document["root"] == "one"  # as given, as before
    assert document["files"] == [{"path": "x.txt", "size": 3, "action": "fetch"}]
