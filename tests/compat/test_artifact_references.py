"""`wandb-artifact://` references built by the official client, read back with artifactkit.

The official client (0.31.0, in its own virtual environment) logs a version holding a file, then a
second version whose entry references that file by `wandb-artifact://<hex artifact id>/<path>`, as
`Artifact.add_reference` records it (digest of the target's bytes, size 0). artifactkit then
downloads the second version and reads the entry through `wandb://`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from artifactkit.fs import ArtifactFileSystem
from artifactkit.server.embedded import EmbeddedEmulator
from tests.compat.conftest import _client_env, client_python
from tests.conftest import make_api
from tests.transfer.helpers import reset_stats, settled_stats

pytestmark = pytest.mark.compat

CLIENT = "0.31.0"
TARGET_TEXT = "bytes that live in another artifact\n"

LOG_REFERENCE = """
import json, sys
from pathlib import Path
import wandb
from wandb.sdk.lib.hashutil import b64_to_hex_id

entity, project, work = sys.argv[1:4]
settings = wandb.Settings(silent=True, console="off", x_disable_stats=True, save_code=False)
with wandb.init(entity=entity, project=project, job_type="references", settings=settings) as run:
    source = Path(work) / "target.txt"
    source.write_text(sys.argv[4])
    target = wandb.Artifact("ref-target", type="dataset")
    target.add_file(str(source), name="data/target.txt")
    run.log_artifact(target)
    target.wait()
    holder = wandb.Artifact("ref-holder", type="dataset")
    holder.add_reference(f"wandb-artifact://{b64_to_hex_id(target.id)}/data/target.txt", name="linked/target.txt")
    plain = Path(work) / "plain.txt"
    plain.write_text("a plain file")
    holder.add_file(str(plain), name="plain.txt")
    run.log_artifact(holder)
    holder.wait()
    entry = holder.manifest.entries["linked/target.txt"]
    print(json.dumps({"target_id": target.id, "ref": entry.ref, "size": entry.size, "digest": entry.digest}))
"""


@pytest.fixture(scope="module")
def logged(emulator: EmbeddedEmulator, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    python = client_python(CLIENT)
    work = tmp_path_factory.mktemp("wandb-refs")
    done = subprocess.run(
        [str(python), "-c", LOG_REFERENCE, "local", "compat-refs", str(work), TARGET_TEXT],
        env=_client_env(emulator, work / "home"),  # type: ignore[arg-type]
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    record: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return record


def test_the_official_client_records_the_reference_by_hex_artifact_id(logged: dict[str, object]) -> None:
    ref = str(logged["ref"])
    hex_id = bytes.fromhex(ref.removeprefix("wandb-artifact://").split("/", 1)[0])
    assert ref.endswith("/data/target.txt")
    assert hex_id.decode() == __import__("base64").b64decode(str(logged["target_id"])).decode()
    assert logged["size"] == 0


def test_artifactkit_downloads_the_referenced_bytes(
    emulator: EmbeddedEmulator, logged: dict[str, object], tmp_path: Path
) -> None:
    with make_api(emulator, tmp_path / "cache") as api:
        root = Path(api.artifact("local/compat-refs/ref-holder:v0").download(tmp_path / "out", progress=False))
    assert (root / "linked" / "target.txt").read_text() == TARGET_TEXT
    assert (root / "plain.txt").read_text() == "a plain file"


def test_the_filesystem_reads_the_referenced_bytes(
    emulator: EmbeddedEmulator, logged: dict[str, object], tmp_path: Path
) -> None:
    with make_api(emulator, tmp_path / "cache") as api:
        fs = ArtifactFileSystem(api)
        url = "wandb://local/compat-refs/ref-holder:latest/linked/target.txt"
        assert fs.cat_file(url) == TARGET_TEXT.encode()
        assert fs.info(url)["ref"] == logged["ref"]
        with fs.open(url) as f:
            assert f.size == len(TARGET_TEXT)
            f.seek(6)
            assert f.read(5) == b"that "
        reset_stats(emulator)
        assert fs.cat_file(url) == TARGET_TEXT.encode()  # read whole once: now in the shared cache
        assert settled_stats(emulator).requests["blob"] == 0


def test_a_single_file_download_follows_the_reference(
    emulator: EmbeddedEmulator, logged: dict[str, object], tmp_path: Path
) -> None:
    with make_api(emulator, tmp_path / "cache") as api:
        [file] = api.artifact("local/compat-refs/ref-holder:v0").files(names=["linked/target.txt"])
        assert file.download_path(tmp_path / "one").read_text() == TARGET_TEXT
