"""With a fifth of all requests failing (429, 503, dropped connections, cut-off bodies), listings
and downloads still finish with complete, verified results; the retries they took are counted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from artifactkit import Api, RetryPolicy, errors
from artifactkit.server.embedded import EmbeddedEmulator
from tests.faults.conftest import FAULT_RATE, SOAK, seed_versions, set_faults

VERSIONS = 3000 if SOAK else 1000
FILES = 2000 if SOAK else 500
KINDS = ["429", "503", "reset", "truncate"]
PATIENT = RetryPolicy(max_attempts=12, base_delay=0.05, max_delay=1.0, budget=120)


def test_listing_survives_a_fifth_of_requests_failing(calm: EmbeddedEmulator, tmp_path: Path) -> None:
    with Api(api_key=calm.api_key, base_url=calm.url, cache_dir=tmp_path / "c") as seeder:
        seed_versions(seeder, "local/faults/listed", VERSIONS, tmp_path / "src")
    set_faults(calm, rate=FAULT_RATE, seed=11, kinds=KINDS, routes=["graphql"])
    calm.stats.reset()
    with Api(api_key=calm.api_key, base_url=calm.url, cache_dir=tmp_path / "c", retry=PATIENT) as api:
        versions = api.artifacts("dataset", "local/faults/listed", per_page=50)
        listed = [v.version for v in versions]
        total = len(versions)
        retries = api.client.transport.stats.retries
    assert total == VERSIONS
    assert sorted(listed, key=lambda v: int(v[1:])) == [f"v{i}" for i in range(VERSIONS)]
    injected = sum(calm.emulator.faults.injected.values())
    assert injected > 0 and retries >= injected  # every fault cost one retry, nothing was lost
    print(f"\nlisting {VERSIONS} versions: {injected} faults injected, {retries} retries")


def test_download_survives_a_fifth_of_requests_failing(calm: EmbeddedEmulator, tmp_path: Path) -> None:
    source = tmp_path / "src"
    for i in range(FILES):
        (source / f"d{i % 10}").mkdir(parents=True, exist_ok=True)
        (source / f"d{i % 10}" / f"f{i}.bin").write_bytes(os.urandom(1024 + i))
    with Api(api_key=calm.api_key, base_url=calm.url, cache_dir=tmp_path / "seed-cache") as seeder:
        seeder.upload(source, "local/faults/many-files", "dataset")
    set_faults(calm, rate=FAULT_RATE, seed=12, kinds=KINDS, routes=["graphql", "blob"])
    with Api(api_key=calm.api_key, base_url=calm.url, cache_dir=tmp_path / "cache", retry=PATIENT) as api:
        artifact = api.artifact("local/faults/many-files:latest")
        root = Path(artifact.download(tmp_path / "out", progress=False))
        retries = api.client.transport.stats.retries
    set_faults(calm, rate=0)
    artifact.verify(root)  # every byte matches the manifest, no file missing or extra
    assert sum(1 for p in root.rglob("*") if p.is_file()) == FILES
    assert not list(root.rglob("*.tmp")) and not list(root.rglob("*.part"))
    injected = sum(calm.emulator.faults.injected.values())
    assert injected > 0 and retries > 0
    print(f"\ndownloading {FILES} files: {injected} faults injected, {retries} request retries")


def test_a_stalled_server_times_out_and_is_retried(calm: EmbeddedEmulator, tmp_path: Path) -> None:
    with Api(api_key=calm.api_key, base_url=calm.url, cache_dir=tmp_path) as seeder:
        seeder.upload({"x.txt": _file(tmp_path, "x")}, "local/faults/stalled", "dataset")
    set_faults(calm, rate=1.0, kinds=["stall"], stall_seconds=3, routes=["graphql"])
    with (
        Api(
            api_key=calm.api_key,
            base_url=calm.url,
            cache_dir=tmp_path,
            timeout=0.5,
            retry=RetryPolicy(max_attempts=3, base_delay=0.01, budget=5),
        ) as api,
        pytest.raises(errors.APITimeoutError, match="timed out"),
    ):
        api.artifact("local/faults/stalled:latest")
    set_faults(calm, rate=0.5, seed=3, kinds=["stall"], stall_seconds=3, routes=["graphql"])
    with Api(
        api_key=calm.api_key,
        base_url=calm.url,
        cache_dir=tmp_path,
        timeout=0.5,
        retry=RetryPolicy(max_attempts=20, base_delay=0.01, budget=30),
    ) as api:
        assert api.artifact("local/faults/stalled:latest").version == "v0"
        assert api.client.transport.stats.retries >= 1


def test_a_mutation_cut_off_mid_answer_is_not_repeated(calm: EmbeddedEmulator, tmp_path: Path) -> None:
    """The server may have acted on it: the client reports a typed error instead of resending."""
    with Api(api_key=calm.api_key, base_url=calm.url, cache_dir=tmp_path) as api:
        api.upload({"x.txt": _file(tmp_path, "y")}, "local/faults/mutated", "dataset")
        artifact = api.artifact("local/faults/mutated:latest")
        artifact.description = "changed"
        set_faults(calm, rate=1.0, kinds=["reset"], routes=["graphql"])
        calm.stats.reset()
        with pytest.raises(errors.TransportError):
            artifact.save()
        set_faults(calm, rate=0)
        assert calm.stats.operations["UpdateArtifact"] == 1
        assert api.artifact("local/faults/mutated:latest").description == "changed"  # it did happen


def test_bad_fault_plans_are_refused(calm: EmbeddedEmulator) -> None:
    import httpx

    for plan in ({"rate": 2}, {"kinds": ["explode"]}, {"nonsense": 1}):
        response = httpx.put(f"{calm.url}/_emulator/faults", json=plan, auth=("api", calm.api_key))
        assert response.status_code == 400, plan
        assert "bad fault plan" in response.json()["errors"][0]["message"]


def _file(tmp: Path, content: str) -> Path:
    path = tmp / f"{content}.txt"
    path.write_text(content)
    return path


def test_a_body_that_keeps_breaking_off_is_asked_for_as_often_as_the_retry_policy_allows(
    calm: EmbeddedEmulator, tmp_path: Path
) -> None:
    """A dropped connection is retried with backoff up to `max_attempts`, then a DownloadError names the file."""
    with Api(api_key=calm.api_key, base_url=calm.url, cache_dir=tmp_path / "seed") as seeder:
        seeder.upload({"b.bin": _file(tmp_path, "b")}, "local/faults/breaking", "dataset")
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, budget=30)
    gets: list[str] = []
    try:
        with Api(api_key=calm.api_key, base_url=calm.url, cache_dir=tmp_path / "cache", retry=policy) as api:
            artifact = api.artifact("local/faults/breaking:v0")
            assert len(artifact.manifest) == 1  # fetched before the faults start: only the file's body breaks
            set_faults(calm, rate=1.0, kinds=["reset"], routes=["blob"])
            hooks = api.client.transport.client.event_hooks
            hooks["request"] = [lambda r: gets.append(r.url.path) if r.method == "GET" else None]
            with pytest.raises(errors.DownloadError, match=r"b\.bin: the connection broke .*\(3 attempts\)"):
                artifact.download(tmp_path / "out", progress=False)
    finally:
        set_faults(calm, rate=0)
    assert len(gets) == 3 and not (tmp_path / "out" / "b.bin").exists()
