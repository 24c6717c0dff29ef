"""Writing through `wandb://`: read-only outside a transaction, one version per committed transaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from artifactkit import Api
from artifactkit.fs import ArtifactFileSystem
from artifactkit.server.embedded import EmbeddedEmulator
from tests.integration.support import upload
from tests.transfer.helpers import reset_stats, settled_stats


def versions(api: Api, path: str, type_name: str = "dataset") -> list[str]:
    return sorted(a.version for a in api.artifacts(type_name, path))


def pending_versions(emulator: EmbeddedEmulator, project: str) -> int:
    """Unfinished versions in `project` (other tests on the shared emulator leave theirs, on purpose)."""
    entity, name = project.split("/")
    row = emulator.store.one(
        "SELECT COUNT(*) AS n FROM artifacts a JOIN collections c ON c.id = a.sequence_id "
        "JOIN projects p ON p.id = c.project_id JOIN entities e ON e.id = p.entity_id "
        "WHERE a.state = 'PENDING' AND e.name = ? AND p.name = ?",
        (entity, name),
    )
    return int(row["n"])


def test_outside_a_transaction_the_filesystem_is_read_only(
    emulator: EmbeddedEmulator, fs: ArtifactFileSystem, api: Api, project: str, tmp_path: Path
) -> None:
    upload(api, tmp_path, f"{project}/frozen", files={"a.txt": "a"})
    local = tmp_path / "local.txt"
    local.write_text("local")
    reset_stats(emulator)
    with pytest.raises(PermissionError, match="transaction"):
        fs.open(f"wandb://{project}/frozen/b.txt", "wb")
    with pytest.raises(PermissionError):
        fs.put(str(local), f"wandb://{project}/frozen/b.txt")
    with pytest.raises(PermissionError):
        fs.pipe(f"wandb://{project}/frozen/b.txt", b"b")
    with pytest.raises(PermissionError):
        fs.rm(f"wandb://{project}/frozen:v0/a.txt")
    assert sum(settled_stats(emulator).requests.values()) == 0
    assert versions(api, f"{project}/frozen") == ["v0"]


def test_a_committed_transaction_creates_one_version(
    emulator: EmbeddedEmulator, fs: ArtifactFileSystem, api: Api, project: str, tmp_path: Path
) -> None:
    upload(api, tmp_path, f"{project}/results", files={"old.txt": "old"})
    local = tmp_path / "local"
    (local / "nested").mkdir(parents=True)
    (local / "metrics.csv").write_text("step,loss\n1,0.5\n")
    (local / "nested" / "notes.txt").write_text("notes")

    with fs.transaction as transaction:
        with fs.open(f"wandb://{project}/results/summary.json", "wb") as f:
            f.write(b'{"accuracy": 0.93}')
        fs.put(str(local) + "/", f"wandb://{project}/results/run/", recursive=True)
        fs.pipe(f"wandb://{project}/results/summary.json", b'{"accuracy": 0.94}')  # the last write wins
        assert versions(api, f"{project}/results") == ["v0"]  # nothing is sent before the commit

    assert [a.qualified_name for a in transaction.versions] == [f"{project}/results:v1"]
    assert versions(api, f"{project}/results") == ["v0", "v1"]
    root = f"{project}/results:v1"
    assert fs.find(root) == [f"{root}/run/metrics.csv", f"{root}/run/nested/notes.txt", f"{root}/summary.json"]
    assert fs.cat_file(f"{root}/summary.json") == b'{"accuracy": 0.94}'
    assert fs.cat_file(f"wandb://{project}/results:latest/run/nested/notes.txt") == b"notes"
    assert pending_versions(emulator, project) == 0


def test_a_new_collection_gets_the_filesystem_s_artifact_type(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path
) -> None:
    fs = ArtifactFileSystem(api, artifact_type="model")
    with fs.transaction:
        fs.pipe(f"{project}/weights/model.bin", b"\x00\x01")
    assert versions(api, f"{project}/weights", "model") == ["v0"]


def test_an_abandoned_transaction_leaves_no_version_and_nothing_pending(
    emulator: EmbeddedEmulator, fs: ArtifactFileSystem, api: Api, project: str, tmp_path: Path
) -> None:
    upload(api, tmp_path, f"{project}/kept", files={"a.txt": "a"})
    reset_stats(emulator)
    staged: list[Path] = []
    with pytest.raises(RuntimeError, match="training diverged"), fs.transaction:
        with fs.open(f"wandb://{project}/kept/b.txt", "wb") as f:
            f.write(b"b" * 10_000)
            staged.append(f.temp)
        fs.pipe(f"wandb://{project}/new-collection/c.txt", b"c")
        raise RuntimeError("training diverged")

    assert sum(settled_stats(emulator).requests.values()) == 0  # nothing was sent
    assert versions(api, f"{project}/kept") == ["v0"]
    assert not api.artifact_collection_exists(f"{project}/new-collection", "dataset")
    assert pending_versions(emulator, project) == 0
    assert not staged[0].exists() and not staged[0].parent.exists()  # staged bytes deleted
    with pytest.raises(PermissionError):  # and the filesystem is read-only again
        fs.pipe(f"wandb://{project}/kept/b.txt", b"b")


def test_versions_cannot_be_written_into(fs: ArtifactFileSystem, project: str) -> None:
    with fs.transaction, pytest.raises(ValueError, match="immutable"):
        fs.open(f"wandb://{project}/results:v0/x.txt", "wb")
