"""fsspec behaviour users rely on: registration, storage options, times, keys, walk, batched cat, parquet."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from artifactkit import Api
from artifactkit.fs import ArtifactFileSystem
from artifactkit.server.embedded import EmbeddedEmulator
from tests.fs.conftest import make_fs
from tests.integration.support import upload
from tests.transfer.helpers import reset_stats, settled_stats

SHARDS = {f"shards/part-{i}.csv": f"id,value\n{i},{i * i}\n" for i in range(5)}


@pytest.fixture
def options(emulator: EmbeddedEmulator, tmp_path: Path) -> Iterator[dict[str, Any]]:
    yield {"api_key": emulator.api_key, "base_url": emulator.url, "cache_dir": str(tmp_path / "options-cache")}
    for instance in list(ArtifactFileSystem._cache.values()):
        instance.api.close()
    ArtifactFileSystem.clear_instance_cache()


@pytest.fixture
def shards(api: Api, project: str, tmp_path: Path) -> str:
    upload(api, tmp_path, f"{project}/shards", files={**SHARDS, "README.md": "five shards"})
    return f"{project}/shards"


def test_the_protocol_works_through_fsspec_entry_points_and_storage_options(
    options: dict[str, Any], shards: str
) -> None:
    fs = fsspec.filesystem("wandb", **options)
    assert isinstance(fs, ArtifactFileSystem)
    assert fsspec.filesystem("wandb", **options) is fs  # fsspec's instance cache: equal options, one instance
    other = fsspec.filesystem("wandb", skip_instance_cache=True, **options)
    assert other is not fs and other.api is not fs.api
    other.api.close()
    with fsspec.open(f"wandb://{shards}:latest/README.md", "rt", **options) as f:
        assert f.read() == "five shards"
    files = fsspec.open_files(f"wandb://{shards}:v0/shards/*.csv", **options)
    assert [f.path for f in files] == [f"{shards}:v0/{p}" for p in sorted(SHARDS)]
    with files[2] as f:
        assert f.read() == SHARDS["shards/part-2.csv"].encode()


def test_times_come_from_the_version(fs: ArtifactFileSystem, api: Api, shards: str) -> None:
    created = api.artifact(f"{shards}:v0").created_at_datetime
    assert created.tzinfo is not None and created.utcoffset() == UTC.utcoffset(None)
    for path in (f"{shards}:v0", f"{shards}:v0/shards", f"{shards}:v0/README.md"):
        assert fs.created(path) == fs.modified(path) == created
        assert fs.info(path)["mtime"] == created
    with fs.open(f"{shards}:latest/README.md") as f:
        assert f.info()["created"] == created and f.info()["version"] == "v0"
    with pytest.raises(NotImplementedError, match="above a version"):
        fs.modified(shards)


def test_ukey_and_checksum_are_stable_per_version_and_follow_content(
    fs: ArtifactFileSystem, api: Api, shards: str, tmp_path: Path
) -> None:
    readme, root = f"{shards}:v0/README.md", f"{shards}:v0"
    before = {p: (fs.ukey(p), fs.checksum(p)) for p in (readme, root, f"{shards}:latest/README.md")}
    upload(api, tmp_path, shards, files={**SHARDS, "README.md": "six shards now"})  # latest moves, v0's aliases too
    fs.invalidate_cache()
    assert (fs.ukey(readme), fs.checksum(readme)) == before[readme]
    assert (fs.ukey(root), fs.checksum(root)) == before[root]
    assert fs.ukey(f"{shards}:latest/README.md") != before[f"{shards}:latest/README.md"][0]
    assert fs.ukey(f"{shards}:v0/shards/part-1.csv") == fs.ukey(f"{shards}:v1/shards/part-1.csv")  # same bytes


def test_each_level_walks_like_a_tree(fs: ArtifactFileSystem, shards: str) -> None:
    project = shards.rsplit("/", 1)[0]
    levels = {project: "directory", shards: "directory", f"{shards}:v0": "directory"}
    levels |= {f"{shards}:v0/shards": "directory", f"{shards}:v0/README.md": "file"}
    for path, kind in levels.items():
        assert (fs.isdir(path), fs.isfile(path)) == (kind == "directory", kind == "file"), path
    assert list(fs.walk(f"{shards}:v0")) == [
        (f"{shards}:v0", ["shards"], ["README.md"]),
        (f"{shards}:v0/shards", [], sorted(p.rsplit("/", 1)[1] for p in SHARDS)),
    ]
    assert [top for top, _, _ in fs.walk(shards)] == [shards, f"{shards}:v0", f"{shards}:v0/shards"]
    assert fs.expand_path(f"{shards}:v0/shards", recursive=True) == [f"{shards}:v0/shards"] + [
        f"{shards}:v0/{p}" for p in sorted(SHARDS)
    ]
    assert fs.expand_path(f"wandb://{shards}:v0/*/part-[12].csv") == [
        f"{shards}:v0/shards/part-1.csv",
        f"{shards}:v0/shards/part-2.csv",
    ]


def test_cat_of_many_files_asks_one_lookup_and_one_url_batch(
    emulator: EmbeddedEmulator, shards: str, tmp_path: Path
) -> None:
    fs = make_fs(emulator, tmp_path / "cold")
    reset_stats(emulator)
    out = fs.cat(f"wandb://{shards}:latest/shards/*.csv")
    assert out == {f"{shards}:latest/{p}": text.encode() for p, text in SHARDS.items()}
    stats = settled_stats(emulator)
    # the Api's one capability probe, the alias looked up once, the five URLs in one batch
    assert dict(stats.operations) == {"ServerCliVersion": 1, "VersionFileAccess": 1, "MembershipFiles": 1}
    assert stats.requests["blob"] == 1 + len(SHARDS)  # the manifest, then one GET per file
    reset_stats(emulator)
    assert fs.cat_ranges([f"{shards}:latest/{p}" for p in sorted(SHARDS)], 0, 2) == [b"id"] * len(SHARDS)
    assert settled_stats(emulator).operations["VersionFileAccess"] == 1  # the alias, once for the call
    fs.api.close()


def test_pandas_and_pyarrow_read_parquet_by_url(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path, options: dict[str, Any]
) -> None:
    table = pa.table({"split": ["train", "val"] * 5000, "value": list(range(10_000))})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=2500)
    upload_dir = tmp_path / "parquet-upload"
    upload_dir.mkdir()
    (upload_dir / "table.parquet").write_bytes(buffer.getvalue())
    api.upload(upload_dir, f"{project}/tables", "dataset")
    url = f"wandb://{project}/tables:latest/table.parquet"

    frame = pd.read_parquet(url, columns=["value"], storage_options=options)
    assert frame["value"].tolist() == list(range(10_000))
    fs = fsspec.filesystem("wandb", **options)
    assert pq.read_table(url.removeprefix("wandb://"), filesystem=fs).equals(table)


def test_glob_matches_versions_and_files_across_them(
    fs: ArtifactFileSystem, api: Api, shards: str, tmp_path: Path
) -> None:
    upload(api, tmp_path, shards, files={"shards/part-0.csv": "id,value\n0,1\n"})
    assert fs.glob(f"wandb://{shards}:v*") == [f"{shards}:v0", f"{shards}:v1"]
    assert fs.glob(f"{shards}:v[1-9]", detail=True)[f"{shards}:v1"]["type"] == "directory"
    across = fs.glob(f"{shards}:*/shards/part-0.csv")
    assert across == [f"{shards}:v0/shards/part-0.csv", f"{shards}:v1/shards/part-0.csv"]
    assert fs.cat(f"wandb://{shards}:*/shards/part-0.csv") == {
        across[0]: SHARDS["shards/part-0.csv"].encode(),
        across[1]: b"id,value\n0,1\n",
    }
    assert fs.glob(f"{shards}-nothing:*") == []
