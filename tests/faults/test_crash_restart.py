"""The emulator killed with SIGKILL and restarted: clients either finish after the restart within
their retry budget or fail with a typed error, and the server's data stays consistent."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import httpx
import pytest

from artifactkit import Api, RetryPolicy, errors
from artifactkit.server.blobs import BlobStore
from artifactkit.server.consistency import check
from artifactkit.server.embedded import EmulatorProcess
from artifactkit.server.settings import Settings
from artifactkit.server.store import Store
from tests.faults.conftest import seed_versions

# Refused connections to the restarting local server are waited out too (by default they are given up after 2 s).
BRIDGING = RetryPolicy(max_attempts=40, base_delay=0.1, max_delay=1.0, budget=60, local_refused_budget=60)


def consistency_problems(data_dir: Path) -> list[str]:
    settings = Settings(data_dir=data_dir)
    return check(Store(settings.database_path), BlobStore(settings.blob_dir))


@pytest.fixture
def server(tmp_path: Path) -> EmulatorProcess:
    process = EmulatorProcess(tmp_path / "server").start()
    yield process  # type: ignore[misc]
    process.stop()


def test_a_listing_continues_after_the_server_is_killed_and_restarted(server: EmulatorProcess, tmp_path: Path) -> None:
    with Api(api_key=server.api_key, base_url=server.url, cache_dir=tmp_path / "c") as seeder:
        seed_versions(seeder, "local/crash/listed", 120, tmp_path / "src")
    with Api(api_key=server.api_key, base_url=server.url, cache_dir=tmp_path / "c", retry=BRIDGING) as api:
        versions = iter(api.artifacts("dataset", "local/crash/listed", per_page=20))
        seen = [next(versions).version for _ in range(30)]  # two pages in
        server.kill()
        restart = threading.Timer(1.0, server.start)
        restart.start()
        seen += [v.version for v in versions]
        restart.join()
        retries = api.client.transport.stats.retries
    assert sorted(seen, key=lambda v: int(v[1:])) == [f"v{i}" for i in range(120)]
    assert retries >= 1  # the pages asked for while the server was down were retried
    server.stop()
    assert consistency_problems(server.data_dir) == []


def _upload_source(tmp: Path, files: int, size: int) -> Path:
    source = tmp / "upload"
    source.mkdir()
    for i in range(files):
        (source / f"part-{i:04d}.bin").write_bytes(os.urandom(size))
    return source


def test_an_upload_cut_by_a_crash_leaves_no_half_version_and_resumes(server: EmulatorProcess, tmp_path: Path) -> None:
    source = _upload_source(tmp_path, files=120, size=256 * 1024)
    total_bytes = 120 * 256 * 1024
    outcome: dict[str, object] = {}

    def upload() -> None:
        with Api(
            api_key=server.api_key,
            base_url=server.url,
            cache_dir=tmp_path / "c",
            retry=RetryPolicy(max_attempts=2, base_delay=0.05, budget=1),
        ) as api:
            try:
                outcome["artifact"] = api.upload(source, "local/crash/uploaded", "dataset", max_workers=4)
            except errors.ArtifactkitError as exc:
                outcome["error"] = exc

    worker = threading.Thread(target=upload)
    worker.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill once some, not all, file bytes arrived
        stats = httpx.get(f"{server.url}/_emulator/stats", auth=("api", server.api_key)).json()
        if stats["requests"].get("upload", 0) >= 20:
            break
        time.sleep(0.02)
    server.kill()
    worker.join(120)
    assert not worker.is_alive()
    assert "error" in outcome, "the upload cannot have finished: the server died half-way"
    assert isinstance(outcome["error"], errors.ArtifactkitError)  # typed, not a raw httpx/pydantic error

    assert consistency_problems(server.data_dir) == []  # nothing half-committed, no orphan alias
    server.start()
    with Api(api_key=server.api_key, base_url=server.url, cache_dir=tmp_path / "c") as api:
        with pytest.raises(errors.NotFoundError):
            api.artifact("local/crash/uploaded:latest")  # the pending version is invisible
        before = httpx.get(f"{server.url}/_emulator/stats", auth=("api", server.api_key)).json()
        artifact = api.upload(source, "local/crash/uploaded", "dataset")
        after = httpx.get(f"{server.url}/_emulator/stats", auth=("api", server.api_key)).json()
        resent = after["bytes_in"].get("upload", 0) - before["bytes_in"].get("upload", 0)
        assert artifact.version == "v0"  # the same version finished, no duplicate
        assert artifact.file_count == 120
        assert resent < total_bytes  # only what the server did not have yet
        artifact.download(tmp_path / "out", progress=False)
        artifact.verify(tmp_path / "out")
    server.stop()
    assert consistency_problems(server.data_dir) == []
