"""Reading through `wandb://`: ranged reads of a 256 MiB file, read-ahead, request counts, the cache, pandas."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from artifactkit import Api, errors
from artifactkit.fs import DEFAULT_BLOCK_SIZE, ArtifactFileSystem
from artifactkit.manifest import Manifest, ManifestEntry, artifact_reference
from artifactkit.server.embedded import EmbeddedEmulator
from tests.fs.conftest import BigFile, make_fs
from tests.fs.support import BIG_SIZE, MARK, expected_bytes, seed_version
from tests.integration.support import upload
from tests.transfer.helpers import blob_path, reset_stats, settled_stats

KIB4 = 4096


@pytest.mark.parametrize(
    "offset",
    [0, BIG_SIZE // 2 - KIB4 // 2, BIG_SIZE - KIB4],
    ids=["start", "middle", "end"],
)
def test_ranged_reads_of_a_large_file(fs: ArtifactFileSystem, big_file: BigFile, offset: int) -> None:
    with fs.open(big_file.url) as f:
        assert f.size == BIG_SIZE
        f.seek(offset)
        assert f.read(KIB4) == expected_bytes(big_file.marks, offset, offset + KIB4)
        assert f.read(10) == expected_bytes(big_file.marks, offset + KIB4, min(BIG_SIZE, offset + KIB4 + 10))
    assert fs.cat_file(big_file.url, start=offset, end=offset + 100) == expected_bytes(
        big_file.marks, offset, offset + 100
    )


def test_reading_4_kib_from_the_middle_costs_one_block_and_three_requests_after_the_probe(
    emulator: EmbeddedEmulator, big_file: BigFile, tmp_path: Path
) -> None:
    fs = make_fs(emulator, tmp_path / "cold-cache")  # nothing known: not the version, not the manifest
    middle = BIG_SIZE // 2
    reset_stats(emulator)
    with fs.open(big_file.url) as f:
        f.seek(middle)
        data = f.read(KIB4)
    fs.api.close()
    assert data == expected_bytes(big_file.marks, middle, middle + KIB4)
    stats = settled_stats(emulator)
    # The Api's one capability probe (once per Api: it picks modern or legacy documents), then the
    # version, manifest URL and file URL at once.
    assert dict(stats.operations) == {"ServerCliVersion": 1, "VersionFileAccess": 1}
    assert stats.requests["blob"] == 2  # the manifest, then one ranged read
    assert sum(stats.requests.values()) == 4
    # the 4 KiB asked for plus at most one read-ahead block
    assert KIB4 < stats.bytes_out["blob"] - big_file.manifest_size <= KIB4 + DEFAULT_BLOCK_SIZE


def test_seek_and_read_ahead_serve_nearby_reads_without_requests(
    emulator: EmbeddedEmulator, fs: ArtifactFileSystem, big_file: BigFile
) -> None:
    start = BIG_SIZE // 2 - MARK // 2
    with fs.open(big_file.url, block_size=1 << 20) as f:
        f.seek(start)
        assert f.read(1000) == expected_bytes(big_file.marks, start, start + 1000)
        reset_stats(emulator)
        f.seek(start + 50_000)  # inside the block already read ahead
        assert f.read(2000) == expected_bytes(big_file.marks, start + 50_000, start + 52_000)
        f.seek(-10, 1)
        assert f.read(10) == expected_bytes(big_file.marks, start + 51_990, start + 52_000)
        assert sum(settled_stats(emulator).requests.values()) == 0
        f.seek(BIG_SIZE - 5)  # far away: one more ranged request
        assert f.read() == expected_bytes(big_file.marks, BIG_SIZE - 5, BIG_SIZE)
        assert f.tell() == BIG_SIZE
        assert settled_stats(emulator).requests["blob"] == 1


def test_an_alias_is_resolved_once_per_open_file(
    emulator: EmbeddedEmulator, fs: ArtifactFileSystem, api: Api, project: str, tmp_path: Path
) -> None:
    upload(api, tmp_path, f"{project}/moving", files={"data.txt": "first version"})
    with fs.open(f"wandb://{project}/moving:latest/data.txt", block_size=4) as f:
        assert f.read(5) == b"first"
        upload(api, tmp_path, f"{project}/moving", files={"data.txt": "second version, longer"})
        assert f.read() == b" version"  # still v0, though latest now is v1
        assert f.info()["version"] == "v0"
    with fs.open(f"wandb://{project}/moving:latest/data.txt") as f:
        assert f.read() == b"second version, longer"
        assert f.info()["version"] == "v1"


def test_a_file_read_to_the_end_lands_in_the_shared_cache(
    emulator: EmbeddedEmulator, fs: ArtifactFileSystem, api: Api, project: str, tmp_path: Path
) -> None:
    content = "".join(f"row {i}\n" for i in range(40_000))
    upload(api, tmp_path, f"{project}/cached", files={"rows.txt": content})
    url = f"wandb://{project}/cached:v0/rows.txt"
    with fs.open(url, block_size=64 << 10) as f:  # several blocks, read in order
        assert f.read().decode() == content
    md5_hex = hashlib.md5(content.encode()).hexdigest()
    assert fs.cache.lookup("md5", md5_hex, len(content)) is not None

    reset_stats(emulator)
    other = make_fs(emulator, tmp_path / "cache")  # another process sharing the cache
    assert other.cat_file(url) == content.encode()
    assert settled_stats(emulator).requests["blob"] == 0  # the manifest and the bytes come from the cache
    other.api.close()
    # and the download engine finds it there too
    reset_stats(emulator)
    api.artifact(f"{project}/cached:v0").download(tmp_path / "out", progress=False)
    assert (tmp_path / "out" / "rows.txt").read_text() == content
    assert settled_stats(emulator).requests["blob"] == 0


def test_corrupt_bytes_read_to_the_end_fail_and_are_not_cached(
    emulator: EmbeddedEmulator, fs: ArtifactFileSystem, api: Api, project: str, tmp_path: Path
) -> None:
    original = "genuine content " * 100
    upload(api, tmp_path, f"{project}/corrupt", files={"a.txt": original})
    blob = blob_path(emulator, original.encode())
    blob.write_bytes(original.upper().encode())  # storage now serves other bytes of the same size
    try:
        with fs.open(f"wandb://{project}/corrupt:v0/a.txt") as f, pytest.raises(OSError) as failed:
            f.read()
        assert isinstance(failed.value.__cause__, errors.DigestMismatchError)
        assert fs.cache.lookup("md5", hashlib.md5(original.encode()).hexdigest(), len(original)) is None
    finally:
        blob.write_bytes(original.encode())


def test_pandas_reads_a_csv_by_url(emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path) -> None:
    upload(api, tmp_path, f"{project}/table", files={"splits/train.csv": "x,label\n1,cat\n2,dog\n3,cat\n"})
    options = {"api_key": emulator.api_key, "base_url": emulator.url, "cache_dir": str(tmp_path / "pd-cache")}

    frame = pd.read_csv(f"wandb://{project}/table:latest/splits/train.csv", storage_options=options)

    assert frame.to_dict("list") == {"x": [1, 2, 3], "label": ["cat", "dog", "cat"]}
    shared = ArtifactFileSystem(**options)  # fsspec hands out the instance pandas used
    shared.api.close()
    ArtifactFileSystem.clear_instance_cache()


def test_a_wandb_artifact_reference_reads_the_file_it_points_at(
    emulator: EmbeddedEmulator, fs: ArtifactFileSystem, api: Api, project: str, tmp_path: Path
) -> None:
    text = "rows that live in the source artifact\n" * 50
    source = upload(api, tmp_path, f"{project}/source", files={"tables/rows.csv": text})
    target = source.manifest.entries["tables/rows.csv"]
    reference = ManifestEntry("linked.csv", target.digest, 0, ref=artifact_reference(source.id, "tables/rows.csv"))
    seed_version(emulator, f"{project}/holder", "dataset", Manifest.from_entries([reference]))

    url = f"wandb://{project}/holder:v0/linked.csv"
    assert fs.info(url)["ref"] == reference.ref
    with fs.open(url) as f:
        assert f.size == len(text)  # the target's size (the reference records 0, as wandb does)
        assert f.info()["md5"] == target.md5_hex
        f.seek(5)
        assert f.read(4) == b"that"
    assert fs.cat_file(url) == text.encode()
    assert fs.cache.lookup("md5", target.md5_hex, len(text)) is not None  # a full read is cached by content
    fs.get(url, str(tmp_path / "got.csv"))  # and `get` follows it through the download engine
    assert (tmp_path / "got.csv").read_text() == text

    dangling = ManifestEntry("gone.csv", target.digest, 0, ref=artifact_reference(source.id, "no/such.csv"))
    seed_version(emulator, f"{project}/dangling", "dataset", Manifest.from_entries([dangling]))
    with pytest.raises(FileNotFoundError) as missing:
        fs.open(f"wandb://{project}/dangling:v0/gone.csv")
    assert isinstance(missing.value.__cause__, errors.NotFoundError)
