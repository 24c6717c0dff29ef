"""wandb's own file cache, read-only: where its objects are, and that only verified bytes are taken."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest

from artifactkit.transfer.wandb_cache import WandbCache, reference_key, wandb_cache_dir


def put(root: Path, data: bytes) -> tuple[str, Path]:
    md5 = hashlib.md5(data).hexdigest()
    path = root / "artifacts" / "obj" / "md5" / md5[:2] / md5[2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return md5, path


def test_wandb_cache_dir_follows_wandb(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert wandb_cache_dir({"WANDB_CACHE_DIR": str(tmp_path / "wc")}) == tmp_path / "wc"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert wandb_cache_dir({}) == tmp_path / "xdg" / "wandb"


def test_an_object_is_found_by_md5_and_size_and_copied_only_if_it_verifies(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = WandbCache(tmp_path / "wandb")
    md5, path = put(cache.root, b"hello wandb")
    assert cache.find(md5, 11) == path
    assert cache.find(md5, 12) is None  # wrong size: not a candidate
    assert cache.find("0" * 32, None) is None
    before = path.stat()

    with caplog.at_level(logging.INFO, logger="artifactkit"):
        assert cache.copy_verified(path, tmp_path / "out", md5, "a.txt")
    assert (tmp_path / "out").read_bytes() == b"hello wandb"
    assert "a.txt: taken from wandb's cache" in caplog.text

    path.write_bytes(b"HELLO WANDB")  # same size, other bytes (wandb does not check what it caches)
    assert not cache.copy_verified(path, tmp_path / "bad", md5, "a.txt")
    assert not (tmp_path / "bad").exists()
    assert cache.read_verified(path, md5, "a.txt") is None
    assert "does not match its MD5: fetching it" in caplog.text
    assert path.read_bytes() == b"HELLO WANDB" and path.stat().st_ino == before.st_ino  # never written by us


def test_references_use_wandbs_key(tmp_path: Path) -> None:
    cache = WandbCache(tmp_path)
    key = reference_key("https://example.com/a.csv", "etag-1")
    inner = hashlib.sha256(b"https://example.com/a.csv").digest() + hashlib.sha256(b"etag-1").digest()
    assert key == hashlib.sha256(inner).hexdigest()
    path = tmp_path / "artifacts" / "obj" / "etag" / key[:2] / key[2:]
    path.parent.mkdir(parents=True)
    path.write_bytes(b"a,b\n")
    assert cache.find_reference("https://example.com/a.csv", "etag-1", 4) == path
