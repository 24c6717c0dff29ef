"""The CLI in the forms a wandb user types (`wandb artifact put/get/ls/cache cleanup`), as snapshots."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from artifactkit.cli import main as cli_main
from artifactkit.server.embedded import EmbeddedEmulator
from tests.transfer.helpers import ReferenceOrigin, tree_bytes, write_tree

FILES = {"labels.csv": b"0,3\n1,7\n", "images/000.bin": b"\x00" * 500, "images/001.bin": b"\x01" * 700}


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEmulator]:
    with EmbeddedEmulator(tmp_path_factory.mktemp("forms-emulator")) as server:
        yield server


@pytest.fixture
def wandb_user(emu: EmbeddedEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine configured the wandb way: WANDB_* variables with a default entity and project."""
    for name, value in {
        "WANDB_BASE_URL": emu.url,
        "WANDB_API_KEY": emu.api_key,
        "WANDB_ENTITY": "local",
        "WANDB_PROJECT": "forms",
        "WANDB_CACHE_DIR": str(tmp_path / "cache"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("WANDB_ARTIFACT_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], work: Path, emu: EmbeddedEmulator, *argv: str) -> tuple[int, str, str]:
    code = cli_main(list(argv))
    out, err = capsys.readouterr()

    def normal(text: str) -> str:
        text = text.replace(emu.url, "http://EMULATOR").replace(str(work), "<work>")
        text = re.sub(r"http://127\.0\.0\.1:\d+", "http://ORIGIN", text)
        return re.sub(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?(\+00:00|Z)?", "<time>", text)

    return code, normal(out), normal(err)


def test_put_get_ls_and_cache_cleanup_as_wandb_users_type_them(
    emu: EmbeddedEmulator, wandb_user: Path, capsys: pytest.CaptureFixture[str], snapshot: SnapshotAssertion
) -> None:
    write_tree(wandb_user / "training-data", FILES)
    (wandb_user / "model.pt").write_bytes(b"weights" * 100)
    with ReferenceOrigin() as origin:
        url = origin.put("/raw/table.csv", b"a,b\n1,2\n", etag="etag-1")
        calls = {
            "put DIR (name = the folder, type = dataset)": ("put", "training-data/", "--no-progress"),
            "put FILE -n -t -a": ("put", "model.pt", "-n", "forms/classifier", "-t", "model", "-a", "prod"),
            "put URL (a reference)": ("put", url, "-n", "raw-table"),
            "ls ENTITY/PROJECT (collections, latest version)": ("ls", "local/forms"),
            "ls ENTITY (its projects)": ("ls", "local"),
            "get --type --quiet (only the path)": ("get", "training-data:latest", "--type", "dataset", "--quiet"),
            "get --type of another type": ("get", "training-data", "--type", "model"),
            "get --exclude beside --include": (
                "get",
                "training-data:v0",
                "--root",
                "some",
                "--include",
                "images/*",
                "--exclude",
                "*/001.bin",
            ),
            "get URL reference": ("get", "raw-table:v0", "--quiet"),
            "cache cleanup 10GB (positional)": ("cache", "cleanup", "10GB"),
            "cache cleanup 0 --dry-run": ("cache", "cleanup", "0", "--dry-run", "--json"),
        }
        results = {label: run(capsys, wandb_user, emu, *argv) for label, argv in calls.items()}

    dry = json.loads(results.pop("cache cleanup 0 --dry-run")[1])
    assert dry["schema_version"] == 1 and dry["dry_run"] is True and dry["removed_files"] == len(dry["files"]) > 0
    assert sorted((f["kind"], f["size"]) for f in dry["files"]) == snapshot(name="dry run would remove")
    assert {label: code for label, (code, _, _) in results.items()} == snapshot(name="exit codes")
    assert {label: out + (f"[stderr] {err}" if err else "") for label, (_, out, err) in results.items()} == snapshot
    assert tree_bytes(wandb_user / "artifacts" / "training-data:v0") == FILES  # where wandb puts it
    assert tree_bytes(wandb_user / "some") == {"images/000.bin": FILES["images/000.bin"]}
    assert (wandb_user / "artifacts" / "raw-table:v0" / "table.csv").read_bytes() == b"a,b\n1,2\n"


def test_python_dash_m_runs_the_same_command(wandb_user: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "artifactkit", "ls", "local/forms"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[:5] == ["COLLECTION", "TYPE", "LATEST", "SIZE", "UPDATED"]


def test_verify_checks_the_default_root(
    emu: EmbeddedEmulator, wandb_user: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree(wandb_user / "checked", FILES)
    assert run(capsys, wandb_user, emu, "put", "checked", "-q")[0] == 0
    assert run(capsys, wandb_user, emu, "get", "checked:v0", "-q")[0] == 0
    code, out, _ = run(capsys, wandb_user, emu, "verify", "checked:v0")
    assert (code, out) == (0, "<work>/artifacts/checked:v0 holds exactly local/forms/checked:v0 (3 files, verified)\n")
    (wandb_user / "artifacts" / "checked:v0" / "labels.csv").chmod(0o644)
    (wandb_user / "artifacts" / "checked:v0" / "labels.csv").write_bytes(b"edited")
    (wandb_user / "artifacts" / "checked:v0" / "extra.txt").write_text("x")
    code, _, err = run(capsys, wandb_user, emu, "verify", "checked:v0")
    assert code == 6
    assert "extra.txt: not in the manifest" in err and "labels.csv: 6 bytes, the manifest says 8" in err
