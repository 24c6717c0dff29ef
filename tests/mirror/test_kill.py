"""A mirror killed with SIGKILL half-way (a real `artifactkit mirror` process), then run again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from artifactkit import Api
from artifactkit.server.embedded import EmbeddedEmulator

from .support import counts, differences, project_view, seed_project

PROJECT = "local/killed"


@pytest.fixture
def emulators(tmp_path: Path) -> Iterator[tuple[EmbeddedEmulator, EmbeddedEmulator]]:
    """A source and a target of this test's own: the target's uploads are slowed down below."""
    with EmbeddedEmulator(tmp_path / "source") as source, EmbeddedEmulator(tmp_path / "target") as target:
        yield source, target


def set_faults(emu: EmbeddedEmulator, **plan: object) -> None:
    response = httpx.put(f"{emu.url}/_emulator/faults", json=plan, auth=("api", emu.api_key), timeout=10)
    assert response.status_code == 200, response.text


def pending_versions(emu: EmbeddedEmulator) -> list[int]:
    rows = emu.store.conn.execute("SELECT id FROM artifacts WHERE state = 'PENDING' ORDER BY id").fetchall()
    return [int(row[0]) for row in rows]


def test_a_mirror_killed_half_way_is_finished_by_the_next_with_nothing_doubled(
    emulators: tuple[EmbeddedEmulator, EmbeddedEmulator], tmp_path: Path
) -> None:
    source_emu, target_emu = emulators
    with Api(api_key=source_emu.api_key, base_url=source_emu.url, cache_dir=tmp_path / "cache") as source:
        seed_project(source, source_emu, PROJECT, tmp_path / "seed")
    # Every file upload to the target hangs for a while: the kill lands while a version is half-sent.
    set_faults(target_emu, rate=1.0, kinds=["stall"], routes=["upload"], stall_seconds=3)
    command = [
        sys.executable, "-m", "artifactkit.cli", "mirror", PROJECT,
        "--source-url", source_emu.url, "--source-api-key", source_emu.api_key,
        "--target-url", target_emu.url, "--target-api-key", target_emu.api_key,
        "--json", "--no-progress",
    ]  # fmt: skip
    env = {**os.environ, "WANDB_CACHE_DIR": str(tmp_path / "child-cache")}
    output = tmp_path / "child.log"
    with output.open("wb") as log:
        child = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:  # until one version is committed and the next one's files are registered, not all sent
            operations = target_emu.stats.snapshot()["operations"]
            committed = operations.get("CommitArtifact", 0)
            if committed >= 1 and operations.get("CreateArtifactFiles", 0) > committed:
                break
            assert child.poll() is None, output.read_text()
            assert time.monotonic() < deadline, f"the mirror did not get far enough: {operations}"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    left = pending_versions(target_emu)
    assert len(left) == 1  # the version that was being sent
    set_faults(target_emu, rate=0)

    with (
        Api(api_key=source_emu.api_key, base_url=source_emu.url, cache_dir=tmp_path / "cache") as source,
        Api(api_key=target_emu.api_key, base_url=target_emu.url, cache_dir=tmp_path / "target-cache") as target,
    ):
        report = source.mirror(PROJECT, target)
        assert [v.action for v in report.versions].count("resume") == 1
        assert report.count("create") + report.count("resume") + report.count("unchanged") == 6
        assert pending_versions(target_emu) == []
        resumed = next(v for v in report.versions if v.action == "resume")
        assert target.artifact(str(resumed.target)).id == target_emu_id(left[0])
        assert differences(project_view(target, PROJECT), project_view(source, PROJECT)) == []
        # Nothing doubled: one row per version, membership, run, use and alias, as on the source.
        assert counts(target_emu) == counts(source_emu)

        again = source.mirror(PROJECT, target)
        assert again.count("unchanged") == 6 and again.created == 0 and again.sent_bytes == 0


def target_emu_id(number: int) -> str:
    from artifactkit.server import ids

    return ids.encode("Artifact", number)
