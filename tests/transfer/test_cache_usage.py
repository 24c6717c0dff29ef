"""What `cache info` reports: disk usage (allocated blocks) and a per-version breakdown; dry-run cleanup."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from artifactkit.transfer.cache import Cache


def store(cache: Cache, data: bytes) -> str:
    digest = hashlib.md5(data).digest()
    cache.store_bytes("md5", digest.hex(), data)
    return base64.b64encode(digest).decode()


def store_manifest(cache: Cache, key: str, name: str, entries: dict[str, tuple[str, int]]) -> None:
    manifest = {"version": 1, "contents": {p: {"digest": d, "size": n} for p, (d, n) in entries.items()}}
    cache.store_bytes("manifest", key, json.dumps(manifest).encode())
    cache.label_manifest(key, name)


def test_usage_is_broken_down_by_the_versions_whose_manifests_are_cached(tmp_path: Path) -> None:
    with Cache(tmp_path / "cache") as cache:
        shared = store(cache, b"a" * 10_000)
        only_v1 = store(cache, b"b" * 20_000)
        store(cache, b"c" * 5)  # no cached manifest names it
        store_manifest(cache, "1" * 64, "team/proj/data:v0", {"a.bin": (shared, 10_000)})
        store_manifest(cache, "2" * 64, "team/proj/data:v1", {"a.bin": (shared, 10_000), "b.bin": (only_v1, 20_000)})
        usage = {u.name: (u.files, u.disk_bytes) for u in cache.usage_by_artifact()}
        info = cache.info()
    assert list(usage) == ["team/proj/data:v1", "team/proj/data:v0", "(not attributed)"]
    assert usage["team/proj/data:v1"][0] == 2 and usage["team/proj/data:v0"][0] == 1
    assert usage["(not attributed)"][0] == 1
    assert info.objects == 5  # three files and two manifests; the labels are not objects
    assert usage["team/proj/data:v1"][1] > usage["team/proj/data:v0"][1] >= 10_000


def test_a_sparse_interrupted_download_counts_what_is_on_disk(tmp_path: Path) -> None:
    with Cache(tmp_path / "cache") as cache:
        part = cache.partial_path("md5", "f" * 32)
        with part.open("wb") as handle:
            handle.truncate(64 * 1024 * 1024)  # preallocated, as a ranged download does, nothing written yet
            handle.write(b"x" * 4096)
        info = cache.info()
    assert info.partial_bytes == 64 * 1024 * 1024
    assert info.partial_disk_bytes < 1024 * 1024  # what `du` shows, not the preallocated size


def test_a_dry_run_lists_what_would_go_and_removes_nothing(tmp_path: Path) -> None:
    with Cache(tmp_path / "cache") as cache:
        store(cache, b"old" * 100)
        store(cache, b"new" * 100)
        before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "cache").rglob("*"))
        plan = cache.cleanup_plan(300)
        assert [e.size for e in plan] == [300]
        assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "cache").rglob("*")) == before
        assert cache.cleanup(300, dry_run=True) == (1, 300)
        assert cache.info().objects == 2
        assert cache.cleanup(300) == (1, 300)
        assert cache.info().objects == 1
