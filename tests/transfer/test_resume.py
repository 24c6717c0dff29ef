"""Interrupted downloads continue from the bytes on disk; processes share one cache safely."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from artifactkit.server.embedded import EmbeddedEmulator
from artifactkit.transfer.fetch import MULTIPART_THRESHOLD, PART_SIZE, SMALL_FILE
from tests.conftest import make_api
from tests.transfer.helpers import (
    SlowLink,
    cli_process,
    file_size,
    md5_hex,
    reset_stats,
    settled_stats,
    tree_bytes,
    wait_for,
    write_tree,
)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEmulator]:
    """An emulator of this module's own: its injected faults hit every request it serves."""
    with EmbeddedEmulator(tmp_path_factory.mktemp("resume-emulator")) as emu:
        yield emu


def set_faults(emu: EmbeddedEmulator, **plan: object) -> None:
    response = httpx.put(f"{emu.url}/_emulator/faults", json=plan, auth=("api", emu.api_key), timeout=10)
    response.raise_for_status()


def test_a_dropped_connection_resumes_with_range_and_fetches_each_byte_once(
    faulty: EmbeddedEmulator, tmp_path: Path
) -> None:
    data = os.urandom(8 << 20)
    with make_api(faulty, tmp_path / "cache") as api:
        api.upload(write_tree(tmp_path / "src", {"big.bin": data}), "local/resume/dropped", "dataset")
        artifact = api.artifact("local/resume/dropped:v0")
        artifact.manifest  # noqa: B018 - fetched before the faults start
        set_faults(faulty, rate=0.6, seed=3, kinds=["truncate"], routes=["blob"])
        reset_stats(faulty)
        try:
            root = Path(artifact.download(tmp_path / "out", max_workers=1, progress=False))
        finally:
            set_faults(faulty, rate=0)
    assert (root / "big.bin").read_bytes() == data
    stats = settled_stats(faulty)
    assert stats.requests["blob"] > 1  # it was cut off at least once ...
    assert stats.statuses["206"] >= 1  # ... and continued with a Range request ...
    assert stats.bytes_out["blob"] == len(data)  # ... without fetching any byte twice


def test_a_killed_download_resumes_from_the_bytes_on_disk(emulator: EmbeddedEmulator, tmp_path: Path) -> None:
    data = os.urandom(24 << 20)
    with make_api(emulator, tmp_path / "seed-cache") as api:
        api.upload(write_tree(tmp_path / "src", {"model.bin": data}), "local/resume/killed", "model")
        manifest_size = len(api.artifact("local/resume/killed:v0").manifest.to_bytes())
    cache_dir = tmp_path / "wandb-cache"
    part = cache_dir / "artifactkit" / "partial" / f"md5-{md5_hex(data)}.part"

    with SlowLink(emulator.url, bytes_per_second=8 << 20) as link:
        child = cli_process(
            [
                "get",
                "local/resume/killed:v0",
                "--root",
                str(tmp_path / "out"),
                "--base-url",
                link.url,
                "--api-key",
                emulator.api_key,
                "--no-progress",
            ],
            cache_dir,
        )
        wait_for(lambda: file_size(part) >= 4 << 20, 60, "a quarter of the file arrived", child)
        child.send_signal(signal.SIGKILL)
        child.communicate()
    on_disk = file_size(part)
    assert 0 < on_disk < len(data)
    assert not (tmp_path / "out" / "model.bin").exists()  # no half file where the whole one belongs

    reset_stats(emulator)
    with make_api(emulator, cache_dir / "artifactkit") as api:  # the same cache, another process
        artifact = api.artifact("local/resume/killed:v0")
        root = Path(artifact.download(tmp_path / "out", progress=False))
        artifact.verify(root)

    assert (root / "model.bin").read_bytes() == data
    stats = settled_stats(emulator)
    assert stats.statuses["206"] == 1  # one Range request for the rest
    fetched = stats.bytes_out["blob"] - manifest_size  # (the child cached it as the slow link's)
    assert fetched == len(data) - on_disk
    print(f"\nresume after kill: {on_disk} bytes on disk, fetched {fetched} of {len(data)}")


@pytest.mark.slow
def test_a_killed_ranged_download_fetches_only_the_missing_parts(
    emulator: EmbeddedEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARTIFACTKIT_RANGED_PARTS", "always")  # a local server gets one stream otherwise
    size = MULTIPART_THRESHOLD + PART_SIZE // 2  # 4.5 parts
    data = os.urandom(size)
    with make_api(emulator, tmp_path / "seed-cache") as api:
        api.upload(write_tree(tmp_path / "src", {"weights.bin": data}), "local/resume/ranged", "model")
        manifest_size = len(api.artifact("local/resume/ranged:v0").manifest.to_bytes())
    cache_dir = tmp_path / "wandb-cache"
    part = cache_dir / "artifactkit" / "partial" / f"md5-{md5_hex(data)}.part"
    sidecar = part.with_name(part.name + ".parts")

    def done_parts() -> list[int]:
        try:
            return list(json.loads(sidecar.read_text())["done"])
        except (OSError, ValueError):
            return []

    with SlowLink(emulator.url, bytes_per_second=32 << 20) as link:
        child = cli_process(
            [
                "get",
                "local/resume/ranged:v0",
                "--root",
                str(tmp_path / "out"),
                "--base-url",
                link.url,
                "--api-key",
                emulator.api_key,
                "--no-progress",
                "--workers",
                "1",
            ],
            cache_dir,
        )
        wait_for(lambda: len(done_parts()) >= 2, 120, "two parts arrived", child)
        child.send_signal(signal.SIGKILL)
        child.communicate()
    done = done_parts()
    kept = sum(min(size, (i + 1) * PART_SIZE) - i * PART_SIZE for i in done)
    assert 2 <= len(done) < 5

    reset_stats(emulator)
    with make_api(emulator, cache_dir / "artifactkit") as api:
        artifact = api.artifact("local/resume/ranged:v0")
        root = Path(artifact.download(tmp_path / "out", progress=False))
        artifact.verify(root)

    assert (root / "weights.bin").read_bytes() == data
    stats = settled_stats(emulator)
    fetched = stats.bytes_out["blob"] - manifest_size
    assert fetched == size - kept  # only the parts not finished before the kill
    assert not sidecar.exists() and not part.exists()
    print(f"\nranged resume: {len(done)} parts kept ({kept} bytes), fetched {fetched} of {size}")


def test_two_processes_downloading_into_one_cache_both_verify_and_fetch_large_files_once(
    emulator: EmbeddedEmulator, tmp_path: Path
) -> None:
    large = {f"shard-{i}.bin": os.urandom(SMALL_FILE + 4096) for i in range(4)}  # fetched under a lock
    small = {f"small/{i}.txt": os.urandom(5000) for i in range(20)}  # fetched whole, unlocked
    files = {**large, **small}
    with make_api(emulator, tmp_path / "seed-cache") as api:
        api.upload(write_tree(tmp_path / "src", files), "local/resume/shared", "dataset")
        manifest_size = len(api.artifact("local/resume/shared:v0").manifest.to_bytes())
    cache_dir = tmp_path / "wandb-cache"
    reset_stats(emulator)

    with SlowLink(emulator.url, bytes_per_second=8 << 20) as link:
        children = [
            cli_process(
                [
                    "get",
                    "local/resume/shared:v0",
                    "--root",
                    str(tmp_path / f"out-{n}"),
                    "--base-url",
                    link.url,
                    "--api-key",
                    emulator.api_key,
                    "--no-progress",
                    "--workers",
                    "3",
                ],
                cache_dir,
            )
            for n in range(2)
        ]
        results = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0, 0], results
    sent = settled_stats(emulator).bytes_out["blob"]

    with make_api(emulator, cache_dir / "artifactkit") as api:
        artifact = api.artifact("local/resume/shared:v0")
        for n in range(2):
            artifact.verify(tmp_path / f"out-{n}")
            assert tree_bytes(tmp_path / f"out-{n}") == files
    large_bytes = sum(map(len, large.values()))
    small_bytes = sum(map(len, small.values()))
    # Each large file crossed the network once; a small one at most twice (if both asked at once).
    assert large_bytes + small_bytes <= sent <= large_bytes + 2 * small_bytes + 2 * manifest_size
    assert not list((cache_dir / "artifactkit" / "partial").glob("*.part"))


@pytest.mark.usefixtures("ctrl_c")
def test_ctrl_c_stops_a_download_promptly_and_keeps_its_bytes_for_a_resume(
    emulator: EmbeddedEmulator, tmp_path: Path
) -> None:
    data = os.urandom(16 << 20)
    with make_api(emulator, tmp_path / "seed-cache") as api:
        api.upload(write_tree(tmp_path / "src", {"big.bin": data}), "local/resume/interrupted", "model")
    cache_dir = tmp_path / "wandb-cache"
    part = cache_dir / "artifactkit" / "partial" / f"md5-{md5_hex(data)}.part"

    # The link holds the rest of the file once 4 MiB crossed: the download cannot finish before
    # Ctrl-C, however slow the machine; exit code 0 could only mean the signal was lost.
    with SlowLink(emulator.url, bytes_per_second=16 << 20, hold_after=4 << 20) as link:
        child = cli_process(
            ["get", "local/resume/interrupted:v0", "--root", str(tmp_path / "out"), "--base-url", link.url,
             "--api-key", emulator.api_key, "--no-progress"],
            cache_dir,
        )  # fmt: skip
        wait_for(lambda: link.held.is_set() and file_size(part) > 0, 60, "the link held half-way", child)
        child.send_signal(signal.SIGINT)
        try:
            _, err = child.communicate(timeout=60)  # the link still holds: only Ctrl-C ends the child
        finally:
            link.release()

    assert child.returncode == 130, err.decode()
    assert err.decode().strip().endswith("a partly downloaded file continues where it stopped")
    assert 0 < file_size(part) < len(data)
    assert not (tmp_path / "out" / "big.bin").exists()
    with make_api(emulator, cache_dir / "artifactkit") as api:
        root = Path(api.artifact("local/resume/interrupted:v0").download(tmp_path / "out", progress=False))
    assert (root / "big.bin").read_bytes() == data


def test_bytes_on_disk_that_are_not_a_prefix_of_the_file_are_caught_and_replaced(
    emulator: EmbeddedEmulator, tmp_path: Path
) -> None:
    data = os.urandom(3 << 20)
    with make_api(emulator, tmp_path / "cache") as api:
        api.upload(write_tree(tmp_path / "src", {"x.bin": data}), "local/resume/poisoned", "dataset")
        artifact = api.artifact("local/resume/poisoned:v0")
        artifact.manifest  # noqa: B018
        part = tmp_path / "cache" / "partial" / f"md5-{md5_hex(data)}.part"
        part.parent.mkdir(parents=True, exist_ok=True)
        part.write_bytes(os.urandom(1 << 20))  # garbage where a prefix should be
        reset_stats(emulator)

        root = Path(artifact.download(tmp_path / "out", progress=False))

    assert (root / "x.bin").read_bytes() == data
    stats = settled_stats(emulator)
    assert stats.bytes_out["blob"] == (2 << 20) + (3 << 20)  # the rest, found wrong, then all of it
    assert not part.exists()
