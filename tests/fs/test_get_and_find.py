"""`get` through the download engine, and `find` over a 100,000-entry manifest from one manifest fetch."""

from __future__ import annotations

import hashlib
from pathlib import Path

from artifactkit import Api
from artifactkit.fs import ArtifactFileSystem
from artifactkit.manifest import Manifest, ManifestEntry
from artifactkit.server.embedded import EmbeddedEmulator
from tests.fs.conftest import make_fs
from tests.fs.support import seed_version
from tests.integration.support import upload
from tests.transfer.helpers import reset_stats, settled_stats, tree_bytes

FILES = {"images/a.png": "A" * 3000, "images/sub/b.png": "B" * 5000, "labels.csv": "id,label\n"}


def test_get_copies_a_folder_verified_and_through_the_cache(
    emulator: EmbeddedEmulator, fs: ArtifactFileSystem, api: Api, project: str, tmp_path: Path
) -> None:
    upload(api, tmp_path, f"{project}/images", files=FILES)
    reset_stats(emulator)

    fs.get(f"wandb://{project}/images:v0/images", str(tmp_path / "out") + "/", recursive=True)

    assert tree_bytes(tmp_path / "out") == {"images/a.png": b"A" * 3000, "images/sub/b.png": b"B" * 5000}
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # no staging left
    stats = settled_stats(emulator)
    assert stats.operations["MembershipFileUrls"] == 1  # one URL batch for the folder, not one per file
    assert stats.requests["blob"] == 1 + 2  # the manifest and the two files
    reset_stats(emulator)
    fs.get(f"{project}/images:v0/labels.csv", str(tmp_path / "single.csv"))
    fs.get(f"{project}/images:v0/images/a.png", str(tmp_path / "again.png"))  # now in the shared cache
    assert (tmp_path / "single.csv").read_text() == "id,label\n"
    assert (tmp_path / "again.png").read_bytes() == b"A" * 3000
    assert settled_stats(emulator).requests["blob"] == 1  # only labels.csv was fetched


def test_find_over_100000_entries_fetches_one_manifest_and_nothing_per_file(
    emulator: EmbeddedEmulator, tmp_path: Path
) -> None:
    entries = [
        ManifestEntry(
            f"shard-{i // 1000:03d}/item-{i:06d}.json",
            hashlib.md5(str(i).encode()).hexdigest(),
            10 + i % 7,
            ref=f"https://example.test/items/{i}",
        )
        for i in range(100_000)
    ]
    manifest = Manifest.from_entries(entries)
    seed_version(emulator, "local/fs-many/items", "dataset", manifest)
    fs = make_fs(emulator, tmp_path / "cache")
    reset_stats(emulator)

    found = fs.find("wandb://local/fs-many/items:v0", detail=True)
    fs.api.close()

    assert len(found) == 100_000
    assert found["local/fs-many/items:v0/shard-042/item-042123.json"]["size"] == 10 + 42123 % 7
    stats = settled_stats(emulator)
    assert dict(stats.operations) == {"ServerCliVersion": 1, "VersionFileAccess": 1}  # the Api's one probe, the lookup
    assert dict(stats.requests) == {"graphql": 2, "blob": 1}  # ... and the one manifest


def test_get_downloads_the_version_an_alias_names_now(
    fs: ArtifactFileSystem, api: Api, project: str, tmp_path: Path
) -> None:
    upload(api, tmp_path, f"{project}/moving-get", files={"data.txt": "first", "more/b.txt": "b0"})
    root = f"{project}/moving-get:latest"
    assert fs.info(f"{root}/data.txt")["version"] == "v0"  # a listing remembers v0 ...
    upload(api, tmp_path, f"{project}/moving-get", files={"data.txt": "second", "more/b.txt": "b1"})

    fs.get(f"{root}/data.txt", str(tmp_path / "got.txt"))  # ... a download asks again
    assert (tmp_path / "got.txt").read_text() == "second"
    fs.get(f"{root}/", f"{tmp_path / 'tree'}/", recursive=True)
    assert (tmp_path / "tree" / "more" / "b.txt").read_text() == "b1"
