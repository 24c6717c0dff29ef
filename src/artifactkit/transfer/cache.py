"""The shared, content-addressed download cache.

Layout under the cache root (`$WANDB_CACHE_DIR/artifactkit`, else the platform cache directory):

    objects/md5/<hex[:2]>/<hex[2:]>     verified file contents, keyed by MD5
    objects/etag/<h[:2]>/<h[2:]>        contents of http(s) references, h = sha256(url, etag)
    partial/<key>.part                  bytes of an interrupted download, resumed with Range
    locks/<key>.lock                    one lock per object: one process fetches, others wait
    checksums.sqlite3                   MD5s of files already in download roots, by (size, mtime)

Objects only ever appear by atomic rename after their digest was checked, so a reader never
sees a partial object; any number of processes may share one cache. `cleanup(max_bytes)` evicts
least recently used objects first (every hit refreshes an object's mtime).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import filelock

CACHE_SUBDIR = "artifactkit"


def default_cache_root() -> Path:
    env = os.environ.get("WANDB_CACHE_DIR")
    if env:
        return Path(env).expanduser() / CACHE_SUBDIR
    import platformdirs

    return Path(platformdirs.user_cache_dir(CACHE_SUBDIR, appauthor=False))


def etag_key(url: str, etag: str) -> str:
    return hashlib.sha256(f"{url}\n{etag}".encode()).hexdigest()


@dataclass(frozen=True)
class CacheInfo:
    root: Path
    objects: int
    bytes: int
    partial_bytes: int


class Cache:
    """One cache directory; safe to share between threads and processes."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or default_cache_root()).expanduser()
        self.objects = self.root / "objects"
        self.partial = self.root / "partial"
        self.locks = self.root / "locks"
        for directory in (self.objects, self.partial, self.locks):
            directory.mkdir(parents=True, exist_ok=True)
        self._checksums = _ChecksumMemo(self.root / "checksums.sqlite3")

    # -- objects ------------------------------------------------------------------------

    def object_path(self, kind: str, key: str) -> Path:
        if kind not in ("md5", "etag") or len(key) < 8 or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(f"bad cache key {kind}/{key}")
        return self.objects / kind / key[:2] / key[2:]

    def lookup(self, kind: str, key: str, size: int | None) -> Path | None:
        """The cached object, if present with the expected size; a hit refreshes its mtime."""
        path = self.object_path(kind, key)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        if size is not None and stat.st_size != size:
            return None
        with contextlib.suppress(OSError):  # a read-only cache still serves hits
            os.utime(path)
        return path

    def partial_path(self, kind: str, key: str) -> Path:
        return self.partial / f"{kind}-{key}.part"

    def publish(self, source: Path, kind: str, key: str) -> Path:
        """Move a verified file into the cache (atomic rename; same filesystem)."""
        target = self.object_path(kind, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        return target

    @contextmanager
    def lock(self, kind: str, key: str) -> Iterator[None]:
        """Hold the per-object lock: the one process that fetches an object holds it."""
        with filelock.FileLock(str(self.locks / f"{kind}-{key}.lock"), timeout=-1):
            yield

    # -- checksums of files in download roots ---------------------------------------------

    def known_md5(self, path: Path) -> str | None:
        """The MD5 (hex) of `path` if it was computed before and the file did not change."""
        return self._checksums.get(path)

    def remember_md5(self, path: Path, md5_hex: str) -> None:
        self._checksums.put(path, md5_hex)

    # -- management -------------------------------------------------------------------------

    def info(self) -> CacheInfo:
        count = total = 0
        for path in self._object_files():
            count += 1
            total += path.stat().st_size
        partial = sum(p.stat().st_size for p in self.partial.glob("*.part"))
        return CacheInfo(self.root, count, total, partial)

    def _object_files(self) -> Iterator[Path]:
        for path in self.objects.rglob("*"):
            if path.is_file():
                yield path

    def cleanup(self, max_bytes: int) -> tuple[int, int]:
        """Evict least recently used objects until the cache holds at most `max_bytes`.

        Returns (files removed, bytes freed). Objects being fetched right now are skipped.
        """
        entries = []
        for path in self._object_files():
            stat = path.stat()
            entries.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in entries)
        removed = freed = 0
        for _, size, path in sorted(entries):
            if total <= max_bytes:
                break
            kind = path.parent.parent.name
            key = path.parent.name + path.name
            lock = filelock.FileLock(str(self.locks / f"{kind}-{key}.lock"), timeout=0)
            try:
                with lock:
                    path.unlink(missing_ok=True)
            except filelock.Timeout:
                continue
            total -= size
            removed += 1
            freed += size
        for part in self.partial.glob("*.part"):  # stale partials go too once the cache is over budget
            if total <= max_bytes:
                break
            if time.time() - part.stat().st_mtime > 3600:
                size = part.stat().st_size
                part.unlink(missing_ok=True)
                total -= size
                freed += size
        return removed, freed


class _ChecksumMemo:
    """`path -> md5` remembered with the file's size and mtime, so unchanged files are not re-hashed."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS checksums (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, md5 TEXT)"
            )
            self._local.conn = conn
        return conn

    def get(self, path: Path) -> str | None:
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        row = (
            self._conn()
            .execute(
                "SELECT md5 FROM checksums WHERE path = ? AND size = ? AND mtime_ns = ?",
                (str(path), stat.st_size, stat.st_mtime_ns),
            )
            .fetchone()
        )
        return None if row is None else str(row[0])

    def put(self, path: Path, md5_hex: str) -> None:
        stat = path.stat()
        self._conn().execute(
            "INSERT OR REPLACE INTO checksums (path, size, mtime_ns, md5) VALUES (?, ?, ?, ?)",
            (str(path), stat.st_size, stat.st_mtime_ns, md5_hex),
        )
