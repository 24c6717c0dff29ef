"""Each byte fetched, hashed and written once: into the cache, then into the root by link (copies counted)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from artifactkit import Api, DownloadResult
from artifactkit.manifest import md5_b64_to_hex
from artifactkit.server.embedded import EmbeddedEmulator
from artifactkit.transfer import fetch
from artifactkit.transfer import place as place_module
from artifactkit.transfer.cache import Cache
from tests.conftest import make_api
from tests.transfer.helpers import random_files, reset_stats, settled_stats, tree_bytes, write_tree


def cache_object(cache_dir: Path, digest: str) -> Path:
    return Cache(cache_dir).object_path("md5", md5_b64_to_hex(digest))


def assert_placed_once(result: DownloadResult, cache_dir: Path, artifact_files: dict[str, str]) -> None:
    """Every file is the cache object itself (a hardlink), or its copy was counted."""
    linked = result.placed.get("link", 0)
    copies = result.placed.get("copy", 0) + result.placed.get("reflink", 0)
    assert linked + copies == len(artifact_files)
    for path, digest in artifact_files.items():
        same = (result.root / path).samefile(cache_object(cache_dir, digest))
        assert same or copies, f"{path} is neither linked to the cache nor counted as a copy"
    if linked:
        assert result.copied_bytes == 0


def test_a_download_writes_each_file_once_and_links_it_into_the_root(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path
) -> None:
    files = {**random_files(6, 4096), "big.bin": os.urandom(3 << 20)}  # small (in memory) and streamed
    api.upload(write_tree(tmp_path / "src", files), f"{project}/once", "dataset")
    artifact = api.artifact(f"{project}/once:v0")
    digests = {e.path: e.digest for e in artifact.manifest}

    result = artifact.download_files(tmp_path / "out", progress=False)

    assert tree_bytes(result.root) == files
    assert result.bytes_fetched == sum(map(len, files.values()))  # each byte fetched once
    assert_placed_once(result, tmp_path / "cache", digests)


def test_a_cached_redownload_into_a_new_root_asks_for_the_version_only_and_fetches_no_bytes(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path
) -> None:
    files = random_files(40, 4096)
    api.upload(write_tree(tmp_path / "src", files), f"{project}/warm", "dataset")
    api.artifact(f"{project}/warm:v0").download(tmp_path / "first", progress=False)
    reset_stats(emulator)

    with make_api(emulator, tmp_path / "cache") as fresh:  # as a new process would
        artifact = fresh.artifact(f"{project}/warm:v0")
        result = artifact.download_files(tmp_path / "second", progress=False)
        digests = {e.path: e.digest for e in artifact.manifest}

    stats = settled_stats(emulator)
    assert sum(stats.requests.values()) <= 2  # the version lookup; the manifest comes from the cache
    assert stats.requests.get("blob", 0) == 0 and stats.bytes_out.get("blob", 0) == 0
    assert result.bytes_fetched == 0 and result.url_requests == 0
    assert {f.action for f in result.files} == {"cache"}
    assert tree_bytes(result.root) == files
    assert_placed_once(result, tmp_path / "cache", digests)


def test_skip_cache_writes_private_files_and_links_nothing(api: Api, project: str, tmp_path: Path) -> None:
    files = {"a.bin": os.urandom(5000), "b.bin": os.urandom(3 << 20)}
    api.upload(write_tree(tmp_path / "src", files), f"{project}/private", "dataset")

    result = api.artifact(f"{project}/private:v0").download_files(tmp_path / "out", skip_cache=True, progress=False)

    assert tree_bytes(result.root) == files
    assert "link" not in result.placed
    assert all((result.root / name).stat().st_nlink == 1 for name in files)


def test_a_large_file_from_a_server_on_this_machine_comes_in_one_stream(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch, "MULTIPART_THRESHOLD", 3 << 20)  # make a 4 MiB file "large"
    data = os.urandom(4 << 20)
    api.upload(write_tree(tmp_path / "src", {"w.bin": data}), f"{project}/stream", "model")
    artifact = api.artifact(f"{project}/stream:v0")
    artifact.manifest  # noqa: B018 - fetched before counting
    reset_stats(emulator)

    artifact.download(tmp_path / "one", progress=False)
    one = settled_stats(emulator)
    assert (one.requests.get("blob", 0), one.statuses.get("206", 0)) == (1, 0)  # no ranged parts on loopback

    monkeypatch.setenv("ARTIFACTKIT_RANGED_PARTS", "always")
    monkeypatch.setattr(fetch, "PART_SIZE", 1 << 20)
    reset_stats(emulator)
    artifact.download_files(tmp_path / "parts", skip_cache=True, progress=False)
    parts = settled_stats(emulator)
    assert parts.statuses.get("206", 0) == 4  # asked for, they still work
    assert (tmp_path / "parts" / "w.bin").read_bytes() == data


def test_where_links_fail_the_files_are_copied_and_the_copies_counted(
    api: Api, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = random_files(5, 4096)
    api.upload(write_tree(tmp_path / "src", files), f"{project}/apart", "dataset")
    artifact = api.artifact(f"{project}/apart:v0")
    artifact.download(tmp_path / "warm", skip_cache=False, progress=False)  # fill the cache

    def no_link(src: object, dst: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")  # root and cache on different filesystems

    monkeypatch.setattr(place_module.os, "link", no_link)
    result = artifact.download_files(tmp_path / "elsewhere", progress=False)

    assert tree_bytes(result.root) == files
    assert result.placed.get("link", 0) == 0
    copies = result.placed.get("copy", 0)
    assert copies + result.placed.get("reflink", 0) == 5  # a clone where the filesystem has them
    assert result.copied_bytes == copies * 4096  # every byte written a second time is counted
    assert all((result.root / name).stat().st_nlink == 1 for name in files)
