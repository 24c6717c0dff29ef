"""The shared cache: where it lives, what `info` and `cleanup` do, locks, and the checksum memo."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from artifactkit import Api
from artifactkit.transfer import cache as cache_module
from artifactkit.transfer import plan as plan_module
from artifactkit.transfer.cache import TOUCH_EVERY, Cache, LockTimeout, _ObjectLock, default_cache_root
from artifactkit.transfer.progress import Progress
from tests.transfer.helpers import md5_hex, random_files, tree_bytes, write_tree


def test_the_cache_lives_under_wandb_cache_dir_or_the_platform_cache_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wc"))
    assert default_cache_root() == tmp_path / "wc" / "artifactkit"
    monkeypatch.delenv("WANDB_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_root() == tmp_path / "xdg" / "artifactkit"


def test_looking_at_a_cache_creates_nothing(tmp_path: Path) -> None:
    with Cache(tmp_path / "nowhere") as cache:
        info = cache.info()
        assert cache.lookup("md5", "0" * 32, None) is None
        assert cache.known_md5(tmp_path / "x") is None
    assert (info.objects, info.bytes, info.partial_bytes) == (0, 0, 0)
    assert not (tmp_path / "nowhere").exists()


def put_object(cache: Cache, data: bytes, age: float) -> Path:
    temp = cache.root / f"tmp-{md5_hex(data)}"
    cache.root.mkdir(parents=True, exist_ok=True)
    temp.write_bytes(data)
    path = cache.publish(temp, "md5", md5_hex(data))
    # Last used `age` seconds ago, keeping the signature artifactkit gives every object's mtime.
    stamp = int(time.time() - age) * 1_000_000_000 + cache_module._signature(md5_hex(data))
    os.utime(path, ns=(stamp, stamp))
    return path


def test_cleanup_evicts_least_recently_used_first_and_keeps_what_is_being_fetched(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c")
    oldest, old, busy, recent = (os.urandom(1000) for _ in range(4))
    hour = TOUCH_EVERY  # a hit refreshes an object's use time at most this often
    put_object(cache, oldest, age=4 * hour)
    put_object(cache, old, age=3 * hour)
    put_object(cache, busy, age=2 * hour)
    recent_path = put_object(cache, recent, age=hour / 2)
    cache.lookup("md5", md5_hex(oldest), 1000)  # a hit makes it the most recently used
    before = recent_path.stat().st_mtime_ns
    cache.lookup("md5", md5_hex(recent), 1000)
    assert recent_path.stat().st_mtime_ns == before  # used within the hour: not written again
    fetching = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with cache.lock("md5", md5_hex(busy)):
            fetching.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    fetching.wait(10)
    try:
        removed, freed = cache.cleanup(2000)
    finally:
        release.set()
        holder.join()

    assert (removed, freed) == (2, 2000)  # `old`, then `recent`: `busy` is locked, `oldest` was just used
    assert cache.lookup("md5", md5_hex(oldest), None) is not None
    assert cache.lookup("md5", md5_hex(busy), None) is not None
    assert cache.lookup("md5", md5_hex(old), None) is None and not recent_path.exists()
    assert cache.info().bytes == 2000
    assert cache.cleanup(0) == (2, 2000)
    assert cache.info().objects == 0


def test_cleanup_counts_interrupted_downloads_and_removes_them_after_objects(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c")
    put_object(cache, os.urandom(500), age=10)
    cache.partial_path("md5", "a" * 32).write_bytes(b"x" * 300)
    assert cache.info().partial_bytes == 300

    assert cache.cleanup(300) == (1, 500)  # the object goes first; the partial fits
    assert cache.info().partial_bytes == 300
    assert cache.cleanup(0) == (1, 300)
    assert cache.info().partial_bytes == 0


def test_object_locks_exclude_each_other_and_leave_no_lock_files(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c")
    inside = 0
    overlaps = 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal inside, overlaps
        for _ in range(20):
            with cache.lock("md5", "b" * 32):
                with guard:
                    inside += 1
                    overlaps += inside > 1
                time.sleep(0.001)
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert overlaps == 0
    assert list((cache.root / "locks").iterdir()) == []
    held = _ObjectLock(cache.root / "locks" / "md5-x.lock")
    held.acquire(blocking=True)
    with pytest.raises(LockTimeout):
        _ObjectLock(cache.root / "locks" / "md5-x.lock").acquire(blocking=False)
    held.release()


def test_files_already_in_place_are_hashed_once_then_found_in_the_checksum_memo(
    api: Api, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = random_files(5, 3000)
    api.upload(write_tree(tmp_path / "src", files), f"{project}/memo", "dataset")
    root = Path(api.artifact(f"{project}/memo:v0").download(tmp_path / "out", progress=False))
    hashed: list[Path] = []
    real_md5_of = cache_module.md5_of
    monkeypatch.setattr(plan_module, "md5_of", lambda path, *rest: hashed.append(path) or real_md5_of(path, *rest))
    monkeypatch.setattr(cache_module, "md5_of", lambda path, *rest: hashed.append(path) or real_md5_of(path, *rest))

    api.artifact(f"{project}/memo:v0").download(root, progress=False)
    assert hashed == []  # the download itself remembered every file it wrote

    (root / "f003.bin").write_bytes(files["f003.bin"])  # rewritten in place: same bytes, new mtime
    api.artifact(f"{project}/memo:v0").download(root, progress=False)
    # Hashed once more: the file itself, or (placed as a hardlink) the cache object it shares bytes with.
    assert len(hashed) == 1 and hashed[0].samefile(root / "f003.bin")
    api.artifact(f"{project}/memo:v0").download(root, progress=False)
    assert len(hashed) == 1


def test_a_broken_checksum_database_only_costs_rehashing(api: Api, project: str, tmp_path: Path) -> None:
    files = random_files(3, 100)
    api.upload(write_tree(tmp_path / "src", files), f"{project}/broken-memo", "dataset")
    (tmp_path / "cache").mkdir(exist_ok=True)
    (tmp_path / "cache" / "checksums.sqlite3").write_bytes(b"this is not a database" * 100)

    root = Path(api.artifact(f"{project}/broken-memo:v0").download(tmp_path / "out", progress=False))
    again = Path(api.artifact(f"{project}/broken-memo:v0").download(root, progress=False))

    assert tree_bytes(again) == files


def test_one_aggregate_progress_bar_on_a_terminal_and_silence_otherwise(capsys: pytest.CaptureFixture[str]) -> None:
    bar = Progress(total_bytes=3000, total_files=3, enabled=True)
    for _ in range(3):
        bar.bytes(1000)
        bar.file_done()
    bar.close()
    drawn = capsys.readouterr().err
    assert "0/3 files" in drawn and "2.93k" in drawn  # files and bytes, in one bar

    quiet = Progress(total_bytes=3000, total_files=3, enabled=None)  # stderr is not a TTY under pytest
    quiet.bytes(3000)
    quiet.file_done()
    quiet.close()
    assert not quiet.shown and capsys.readouterr().err == ""
