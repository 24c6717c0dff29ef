"""The shared, content-addressed download cache.

Layout under the cache root (`$WANDB_CACHE_DIR/artifactkit`, else the platform cache directory,
e.g. `~/.cache/artifactkit` on Linux):

    objects/md5/<hex[:2]>/<hex[2:]>       verified file contents, keyed by their MD5
    objects/etag/<h[:2]>/<h[2:]>          contents of http(s) references, h = sha256(url, etag)
    objects/manifest/<h[:2]>/<h[2:]>      manifests of committed versions, h = sha256(server, id, digest)
    objects/manifest/<h[:2]>/<h[2:]>.name the version a manifest belongs to (`entity/project/name:v3`)
    objects/version/<h[:2]>/<h[2:]>       which committed version a content name means (`{"id", "digest"}`),
                                          h = sha256(server, name); name: an ID or `entity/project/name:<digest>`
    partial/<kind>-<key>.part             bytes of an interrupted download, resumed with Range
    partial/<kind>-<key>.part.parts       which ranged parts of a large `.part` are complete
    partial/<label>-<random>.tmp          bytes on their way to becoming an object (`open_temp`,
                                          `store_bytes`); locked while in use, junk once abandoned
    locks/<kind>-<key>.lock               held by the one process fetching that object
    checksums.sqlite3                     MD5s of files already in download roots, by (path, size, mtime)

An object appears only by an atomic rename after its bytes were checked, so a reader never sees
a partial object, and any number of threads and processes may share one cache: the per-object
lock makes one of them fetch while the others wait and then read the result. `cleanup(max_bytes)`
evicts least recently used objects first; a hit refreshes an object's mtime (at most once an hour).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import BinaryIO

from .limits import CHUNK
from .progress import Progress

CACHE_SUBDIR = "artifactkit"
_READ_ONLY = 0o444
TOUCH_EVERY = 3600.0  # seconds: a hit refreshes an object's mtime (its LRU time) at most this often
KINDS = ("md5", "etag", "manifest", "version")
_HEX = frozenset("0123456789abcdef")
TEMP_GRACE = 60.0
"""Seconds a temp file under `partial/` is left alone after its last write, locked or not."""


def default_cache_root() -> Path:
    """`$WANDB_CACHE_DIR/artifactkit` when set, else the platform's user cache directory."""
    env = os.environ.get("WANDB_CACHE_DIR")
    if env:
        return Path(env).expanduser() / CACHE_SUBDIR
    import platformdirs

    return Path(platformdirs.user_cache_dir(CACHE_SUBDIR, appauthor=False))


def resolve_cache_root(root: Path | None) -> Path:
    """The cache directory `root` names (`~` expanded), or the default one (`default_cache_root`)."""
    return Path(root).expanduser() if root is not None else default_cache_root()


def etag_key(url: str, etag: str) -> str:
    """The cache key of a reference's bytes: the URL and the ETag they were served with."""
    return hashlib.sha256(f"{url}\n{etag}".encode()).hexdigest()


def manifest_key(server: str, artifact_id: str, digest: str) -> str:
    """The cache key of a committed version's manifest on one server."""
    return hashlib.sha256(f"{server}\n{artifact_id}\n{digest}".encode()).hexdigest()


def version_key(server: str, name: str) -> str:
    """The cache key of what a content name (a version ID, `entity/project/name:<digest>`) means on one server.

    Both name a committed version's files for good: an ID never changes its digest, a digest
    its files. So the note is never stale, and a manifest found through it needs no request.
    """
    return hashlib.sha256(f"{server}\nversion\n{name}".encode()).hexdigest()


def _signature(key: str) -> int:
    """The nanoseconds an object's mtime carries: a function of its key (see `Cache.stat_object`)."""
    return int(key[-8:], 16) % 1_000_000_000


def signed(stat: os.stat_result, key: str) -> bool:
    """Whether the object's mtime still carries the signature artifactkit gave it."""
    return stat.st_mtime_ns % 1_000_000_000 == _signature(key)


def _sign(path: Path, key: str) -> os.stat_result:
    """Set the object's mtime to now, with its signature as the nanoseconds; returns its new stat."""
    now = time.time_ns()
    mtime = now - now % 1_000_000_000 + _signature(key)
    os.utime(path, ns=(now, mtime))
    return os.stat(path)


def md5_of(path: Path, progress: Progress | None = None) -> str:
    """The hex MD5 of a file, reporting bytes and the finished file to `progress`."""
    hasher = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            hasher.update(chunk)
            if progress is not None:
                progress.bytes(len(chunk))
    if progress is not None:
        progress.file_done()
    return hasher.hexdigest()


@dataclass(frozen=True)
class CacheInfo:
    """What `Cache.info()` reports: objects and interrupted downloads, apparent and on disk (bytes)."""

    root: Path
    objects: int
    bytes: int
    """Apparent size of the cached objects (the sum of their file sizes)."""
    partial_bytes: int
    """Apparent size of interrupted downloads (preallocated files count in full here)."""
    disk_bytes: int = 0
    """Disk space the objects take (allocated blocks, what `du` shows)."""
    partial_disk_bytes: int = 0
    """Disk space interrupted downloads take (sparse preallocation counts only what was written)."""


@dataclass(frozen=True)
class ArtifactUsage:
    """The cached files of one version, as `Cache.usage_by_artifact()` reports them."""

    name: str
    """`entity/project/name:vN`; `(not attributed)` for objects no cached manifest names."""
    files: int
    """Manifest entries whose bytes are in the cache."""
    disk_bytes: int
    """Disk space of those files (a file shared with other versions counts for each)."""
    last_used: float
    """Newest access time (mtime, seconds since the epoch) among them."""


@dataclass(frozen=True)
class CacheEntry:
    """One file `cleanup` removes (or would remove, in a dry run)."""

    path: Path
    kind: str
    size: int
    last_used: float


def disk_usage(stat: os.stat_result) -> int:
    """Allocated bytes (`st_blocks` x 512 on POSIX); the apparent size where blocks are unknown."""
    blocks = getattr(stat, "st_blocks", None)
    return stat.st_size if blocks is None else blocks * 512


class LockTimeout(Exception):
    """A non-blocking lock attempt found the lock held."""


class Cache:
    """One cache directory; safe to share between threads and processes.

    Nothing is created on disk until something is stored, so inspecting a cache changes nothing.
    """

    def __init__(self, root: Path | None = None) -> None:
        self.root = resolve_cache_root(root)
        self.objects = self.root / "objects"
        self._objects_prefix = f"{self.objects}{os.sep}"
        self.partial = self.root / "partial"
        self.locks = self.root / "locks"
        self._checksums = _ChecksumMemo(self.root / "checksums.sqlite3")
        self._made: set[Path] = set()
        self._signatures_hold = True  # False once an mtime signature did not stick (see `stat_object`)

    def _ensure_dir(self, directory: Path) -> Path:
        """`mkdir -p`, once per directory per Cache object."""
        if directory not in self._made:
            directory.mkdir(parents=True, exist_ok=True)
            self._made.add(directory)
        return directory

    # -- objects ------------------------------------------------------------------------

    def object_path(self, kind: str, key: str) -> Path:
        if kind not in KINDS or len(key) < 8 or not _HEX.issuperset(key):
            raise ValueError(f"bad cache key {kind}/{key}")
        return Path(f"{self._objects_prefix}{kind}{os.sep}{key[:2]}{os.sep}{key[2:]}")  # one parse, not four

    def lookup(self, kind: str, key: str, size: int | None, *, touch: bool = True) -> Path | None:
        """The cached object, if present and intact (with `size` bytes when given); a hit marks it used."""
        path = self.object_path(kind, key)
        stat = self.stat_object(kind, key, size, path=path)
        if stat is None:
            return None
        if touch:
            self.touch(path, key, stat)
        return path

    def touch(self, path: Path, key: str, stat: os.stat_result) -> None:
        """Mark an object used (its mtime orders `cleanup`), at most once per `TOUCH_EVERY` seconds."""
        if time.time() - stat.st_mtime >= TOUCH_EVERY:
            with contextlib.suppress(OSError):  # a read-only cache still serves hits
                self.sign(path, key)

    def sign(self, path: Path, key: str) -> os.stat_result:
        """Give an object its mtime signature (see `stat_object`); returns its new stat."""
        stat = _sign(path, key)
        if not signed(stat, key):  # this filesystem keeps no nanoseconds
            self._signatures_hold = False
        return stat

    def stat_object(self, kind: str, key: str, size: int | None, *, path: Path | None = None) -> os.stat_result | None:
        """The object's stat if it is present and intact (with `size` bytes when given), else None.

        Every object's mtime carries a signature of its key in its nanoseconds (`signed`), written
        only by artifactkit as it stores, checks or uses the object. Whatever writes into an object
        replaces it: an in-place edit of a file hardlinked into a download root, a write inside the
        cache directory. An object without its signature is hashed again (md5 objects; signed again
        if right) or dropped (other kinds cannot be re-checked). The check costs the `stat` already
        made; bytes are hashed only when something changed them. On a filesystem that keeps no
        nanoseconds, objects nothing links to are trusted (and nothing is linked). `path`, if given,
        is `object_path(kind, key)` already built.
        """
        path = path or self.object_path(kind, key)
        try:
            stat = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if size is not None and stat.st_size != size:
            return None
        if not signed(stat, key) and (self._signatures_hold or stat.st_nlink > 1):
            if kind != "md5" or md5_of(path) != key:
                with contextlib.suppress(OSError):
                    path.unlink()
                return None
            with contextlib.suppress(OSError):
                stat = self.sign(path, key)  # the bytes are right: sign it again
        return stat

    def partial_dir(self) -> Path:
        """The directory of unfinished fetches (`partial/`), made if missing."""
        return self._ensure_dir(self.partial)

    def partial_path(self, kind: str, key: str) -> Path:
        """Where the bytes of an unfinished fetch of this object are kept between attempts."""
        self.object_path(kind, key)  # validates
        return self._ensure_dir(self.partial) / f"{kind}-{key}.part"

    def publish(self, source: Path, kind: str, key: str) -> Path:
        """Move a verified file into the cache (atomic rename on the cache's filesystem), read-only.

        Objects are read-only because download roots may hardlink them: a file placed that way
        refuses an in-place edit that would otherwise change the cached bytes too.
        """
        target = self.object_path(kind, key)
        self._ensure_dir(target.parent)
        with contextlib.suppress(OSError):
            self.sign(source, key)
        if sys.platform != "win32":  # Windows cannot replace a read-only file; objects stay writable there
            with contextlib.suppress(OSError):
                os.chmod(source, _READ_ONLY)
        os.replace(source, target)
        return target

    def open_temp(self, label: str) -> tuple[Path, BinaryIO]:
        """A new temp file under `partial/`, open for writing, for bytes that `publish` turns into an object.

        It stays locked while the returned handle is open, so cleanup removes it only once its
        process has closed it without publishing or died (`remove_abandoned_temps`); delete it
        yourself when you give up on it.
        """
        path = self._ensure_dir(self.partial) / f"{label}-{secrets.token_hex(6)}.tmp"
        out = path.open("xb")
        if sys.platform != "win32":  # Windows refuses to delete an open file anyway
            import fcntl

            fcntl.flock(out.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return path, out

    def store_bytes(self, kind: str, key: str, data: bytes) -> Path:
        """Write a small object (a manifest) through a temp file and publish it."""
        temp = self._ensure_dir(self.partial) / f"{kind}-{key}.{secrets.token_hex(4)}.tmp"
        try:
            temp.write_bytes(data)
            return self.publish(temp, kind, key)
        except BaseException:  # after a successful publish the temp is gone: no unlink to make then
            temp.unlink(missing_ok=True)
            raise

    @contextmanager
    def lock(self, kind: str, key: str, *, cancelled: Callable[[], bool] | None = None) -> Iterator[None]:
        """Hold the per-object lock: the one process that fetches an object holds it."""
        self.object_path(kind, key)  # validates
        lock = _ObjectLock(self._ensure_dir(self.locks) / f"{kind}-{key}.lock")
        lock.acquire(blocking=True, cancelled=cancelled)
        try:
            yield
        finally:
            lock.release()

    # -- checksums of files in download roots ---------------------------------------------

    def known_md5(self, path: Path, stat: os.stat_result | None = None) -> str | None:
        """The MD5 (hex) of `path` if it was computed before and the file did not change since.

        `stat`: the file's stat, when the caller has just taken it (saves taking another).
        """
        return self._checksums.get(path, stat)

    def remember_md5(self, path: Path, md5_hex: str, stat: os.stat_result | None = None) -> None:
        """Note the MD5 of a file just written or hashed; kept in memory until `flush()`.

        `stat`: the stat of the bytes that were hashed (`fstat` of the handle read), when the caller has it.
        """
        self._checksums.put(path, md5_hex, stat)

    def flush(self) -> None:
        """Write the remembered MD5s to the checksum database in one transaction."""
        self._checksums.flush()

    def close(self) -> None:
        """Flush remembered MD5s and close the checksum database."""
        self._checksums.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- management -------------------------------------------------------------------------

    def label_manifest(self, key: str, name: str) -> None:
        """Note which version a cached manifest belongs to (for `usage_by_artifact`)."""
        target = self.object_path("manifest", key)
        label = target.with_name(target.name + ".name")
        temp = label.with_name(f"{label.name}.{secrets.token_hex(4)}.tmp")
        with contextlib.suppress(OSError):  # a label is a convenience; a read-only cache works without
            self._ensure_dir(label.parent)
            temp.write_text(name, encoding="utf-8")
            os.replace(temp, label)
        temp.unlink(missing_ok=True)

    def note_version(self, server: str, names: list[str], artifact_id: str, digest: str) -> None:
        """Remember that each content name in `names` means the committed version `artifact_id` (`digest`)."""
        import json

        body = json.dumps({"id": artifact_id, "digest": digest}).encode()
        for name in dict.fromkeys(names):
            key = version_key(server, name)
            if self.stat_object("version", key, len(body)) is None:
                self.store_bytes("version", key, body)

    def noted_version(self, server: str, name: str) -> tuple[str, str] | None:
        """`(id, digest)` of the committed version a content name means, if `note_version` was told."""
        import json

        path = self.lookup("version", version_key(server, name), None)
        if path is None:
            return None
        try:
            note = json.loads(path.read_bytes())
            return str(note["id"]), str(note["digest"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def info(self) -> CacheInfo:
        """Counts and sizes of what the cache holds (one stat per file; nothing is read)."""
        count = total = disk = 0
        for _, stat in self._object_files():
            total += stat.st_size
            disk += disk_usage(stat)
            count += 1
        partial = partial_disk = 0
        for part in self._partials():
            with contextlib.suppress(FileNotFoundError):
                stat = part.stat()
                partial += stat.st_size
                partial_disk += disk_usage(stat)
        return CacheInfo(self.root, count, total, partial, disk, partial_disk)

    def usage_by_artifact(self) -> list[ArtifactUsage]:
        """Disk usage per version whose manifest is cached, largest first, then what no manifest names."""
        import base64
        import json

        objects = {(path.parent.parent.name, path.parent.name + path.name): stat for path, stat in self._object_files()}
        attributed: set[tuple[str, str]] = set()
        usages: list[ArtifactUsage] = []
        for (kind, key), manifest_stat in list(objects.items()):
            if kind != "manifest":
                continue
            path = self.object_path("manifest", key)
            try:
                name = path.with_name(path.name + ".name").read_text(encoding="utf-8").strip()
                contents = json.loads(path.read_bytes()).get("contents", {})
            except (OSError, ValueError, AttributeError):
                continue
            files = disk = 0
            last_used = manifest_stat.st_mtime
            attributed.add((kind, key))
            for entry in contents.values() if isinstance(contents, dict) else ():
                try:
                    digest = str(entry["digest"])
                    ref = entry.get("ref")
                    if ref:
                        object_key = ("etag", etag_key(str(ref), digest))
                    else:
                        object_key = ("md5", base64.b64decode(digest, validate=True).hex())
                except (KeyError, TypeError, ValueError, AttributeError):
                    continue
                stat = objects.get(object_key)
                if stat is None:
                    continue
                attributed.add(object_key)
                files += 1
                disk += disk_usage(stat)
                last_used = max(last_used, stat.st_mtime)
            usages.append(ArtifactUsage(name, files, disk, last_used))
        usages.sort(key=lambda u: (-u.disk_bytes, u.name))
        rest = [stat for key, stat in objects.items() if key not in attributed]
        if rest:
            usages.append(
                ArtifactUsage(
                    "(not attributed)",
                    len(rest),
                    sum(disk_usage(s) for s in rest),
                    max(s.st_mtime for s in rest),
                )
            )
        return usages

    def _object_files(self) -> Iterator[tuple[Path, os.stat_result]]:
        """Every cached object with its stat (one stat per object; vanished ones are skipped)."""
        if not self.objects.is_dir():
            return
        for kind in KINDS:
            for prefix in sorted((self.objects / kind).glob("??")):
                with os.scandir(prefix) as found:
                    for item in found:
                        if "." in item.name:
                            continue  # a label or a temp file, not an object (keys are hex)
                        try:
                            stat = item.stat()
                        except FileNotFoundError:
                            continue
                        if S_ISREG(stat.st_mode):
                            yield Path(item.path), stat

    def _partials(self) -> Iterator[Path]:
        if self.partial.is_dir():
            yield from self.partial.glob("*.part")

    def cleanup(self, max_bytes: int, *, dry_run: bool = False) -> tuple[int, int]:
        """Evict least recently used objects until the cache holds at most `max_bytes`.

        Interrupted downloads count too and go after the objects (they are what a resume needs).
        Objects and partial files being fetched right now are skipped. Returns (files removed,
        bytes freed); `dry_run` removes nothing and returns what would go (see `cleanup_plan`).
        """
        entries = self.cleanup_plan(max_bytes, remove=not dry_run)
        return len(entries), sum(e.size for e in entries)

    def cleanup_plan(self, max_bytes: int, *, remove: bool = False) -> list[CacheEntry]:
        """The files `cleanup(max_bytes)` removes, least recently used first; removed when `remove`.

        Args:
            max_bytes: what the cache may still hold afterwards, in bytes (apparent sizes); 0 empties it.
            remove: delete them (False: only say which would go).
        """
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        abandoned = self.abandoned_temps(remove=remove)
        entries: list[tuple[float, int, Path, str, str]] = []
        for path, stat in self._object_files():
            entries.append((stat.st_mtime, stat.st_size, path, path.parent.parent.name, path.parent.name + path.name))
        partials: list[tuple[float, int, Path, str, str]] = []
        for part in self._partials():
            kind, _, key = part.name.removesuffix(".part").partition("-")
            try:
                stat = part.stat()
            except FileNotFoundError:
                continue
            partials.append((stat.st_mtime, stat.st_size, part, kind, key))
        total = sum(e[1] for e in entries) + sum(p[1] for p in partials)
        chosen: list[CacheEntry] = list(abandoned)  # junk whatever the budget: never resumed
        for mtime, size, path, kind, key in [*sorted(entries), *sorted(partials)]:
            if total <= max_bytes:
                break
            if remove:  # a dry run takes no locks: it changes nothing, not even the locks directory
                lock = _ObjectLock(self.locks / f"{kind}-{key}.lock")
                try:
                    lock.acquire(blocking=False)
                except LockTimeout:
                    continue  # being fetched right now
                try:
                    path.unlink(missing_ok=True)
                    path.with_name(path.name + ".parts").unlink(missing_ok=True)
                    path.with_name(path.name + ".name").unlink(missing_ok=True)
                finally:
                    lock.release()
            total -= size
            chosen.append(CacheEntry(path, kind, size, mtime))
        if remove:
            self._checksums.prune()
            self._remove_stale_locks()
        return chosen

    def abandoned_temps(self, *, remove: bool = False) -> list[CacheEntry]:
        """Temp files under `partial/` that no process works on any more (a crash or a kill left them).

        A temp file is abandoned when it is older than `TEMP_GRACE` seconds and unlocked (see
        `open_temp`); those are never resumed, so cleanup removes them whatever the size budget.
        """
        found: list[CacheEntry] = []
        if not self.partial.is_dir():
            return found
        now = time.time()
        for path in self.partial.glob("*.tmp"):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            if now - stat.st_mtime < TEMP_GRACE or not _unlink_if_unlocked(path, remove=remove):
                continue
            found.append(CacheEntry(path, "temp", stat.st_size, stat.st_mtime))
        return found

    def _remove_stale_locks(self) -> None:
        """Lock files left by killed processes: take each (if free) and let release delete it."""
        if not self.locks.is_dir():
            return
        for path in self.locks.glob("*.lock"):
            lock = _ObjectLock(path)
            try:
                lock.acquire(blocking=False)
            except LockTimeout:
                continue
            lock.release()


def _unlink_if_unlocked(path: Path, *, remove: bool) -> bool:
    """Whether no process holds the temp file `path` (see `Cache.open_temp`); deleted too when `remove`."""
    if sys.platform == "win32":  # pragma: no cover - Windows only: an open file cannot be deleted
        if not remove:
            return True
        try:
            path.unlink()
        except OSError:
            return False
        return True
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its writer is alive
        if remove:
            path.unlink(missing_ok=True)
        return True
    finally:
        os.close(fd)


class _ObjectLock:
    """An exclusive lock on a lock file that its holder deletes on release, so none pile up.

    On POSIX: `flock` the file, then check it is still the file at that path (a holder may have
    deleted it meanwhile; then try again on the new one). Elsewhere: `filelock`, files kept.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._fallback: object | None = None

    def acquire(self, *, blocking: bool, cancelled: Callable[[], bool] | None = None) -> None:
        if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
            self._acquire_filelock(blocking)
            return
        import fcntl

        delay = 0.005
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except FileNotFoundError:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if not blocking:
                    raise LockTimeout(str(self.path)) from None
                if cancelled is not None and cancelled():
                    raise InterruptedError(f"gave up waiting for {self.path}") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
                continue
            try:
                current = os.stat(self.path)
                held = os.fstat(fd)
                same = (current.st_ino, current.st_dev) == (held.st_ino, held.st_dev)
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                return
            os.close(fd)  # the file was replaced while we waited; lock the new one

    def _acquire_filelock(self, blocking: bool) -> None:  # pragma: no cover - Windows only
        import filelock

        lock = filelock.FileLock(str(self.path), timeout=-1 if blocking else 0)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise LockTimeout(str(self.path)) from None
        self._fallback = lock

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)  # while still held: a waiter notices and retries
            os.close(self._fd)
            self._fd = None
        elif self._fallback is not None:  # pragma: no cover - Windows only
            self._fallback.release()  # type: ignore[attr-defined]
            self._fallback = None


class _ChecksumMemo:
    """`path -> md5` remembered with the file's size and mtime, so unchanged files are not re-hashed.

    Writes are batched in memory and committed together (`flush`); reads see both. A broken or
    unwritable database only costs re-hashing: every error turns the memo off.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._pending: dict[str, tuple[int, int, str]] = {}
        self._lock = threading.Lock()
        self._broken = False

    def _connection(self) -> sqlite3.Connection | None:
        """The open database (call with `_lock` held), or None when the memo is off."""
        if self._broken:
            return None
        if self._conn is None:
            try:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self._path, timeout=30, isolation_level=None, check_same_thread=False)
                try:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute("PRAGMA synchronous=NORMAL")
                    conn.execute(
                        "CREATE TABLE IF NOT EXISTS checksums "
                        "(path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, md5 TEXT)"
                    )
                except sqlite3.Error:
                    conn.close()
                    raise
            except (sqlite3.Error, OSError):
                self._broken = True
                return None
            self._conn = conn
        return self._conn

    def _fail(self) -> None:
        self._broken = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def get(self, path: Path, stat: os.stat_result | None = None) -> str | None:
        if stat is None:
            try:
                stat = path.stat()
            except (FileNotFoundError, NotADirectoryError):
                return None
        key = str(path)
        with self._lock:
            pending = self._pending.get(key)
            if pending is not None:
                return pending[2] if pending[:2] == (stat.st_size, stat.st_mtime_ns) else None
            if self._conn is None and not self._path.exists():
                return None  # nothing remembered yet; do not create the database just to ask
            conn = self._connection()
            if conn is None:
                return None
            try:
                row = conn.execute(
                    "SELECT md5 FROM checksums WHERE path = ? AND size = ? AND mtime_ns = ?",
                    (key, stat.st_size, stat.st_mtime_ns),
                ).fetchone()
            except sqlite3.Error:
                self._fail()
                return None
        return None if row is None else str(row[0])

    def put(self, path: Path, md5_hex: str, stat: os.stat_result | None = None) -> None:
        if stat is None:
            try:
                stat = path.stat()
            except FileNotFoundError:
                return
        with self._lock:
            self._pending[str(path)] = (stat.st_size, stat.st_mtime_ns, md5_hex)

    def flush(self) -> None:
        with self._lock:
            rows = [(path, *values) for path, values in self._pending.items()]
            self._pending.clear()
            conn = self._connection() if rows else None
            if conn is None:
                return
            try:
                conn.execute("BEGIN")
                conn.executemany(
                    "INSERT OR REPLACE INTO checksums (path, size, mtime_ns, md5) VALUES (?, ?, ?, ?)", rows
                )
                conn.execute("COMMIT")
            except sqlite3.Error:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                self._fail()

    def prune(self) -> None:
        """Forget files that no longer exist."""
        with self._lock:
            if not self._path.exists():
                return
            conn = self._connection()
            if conn is None:
                return
            try:
                gone = [(p,) for (p,) in conn.execute("SELECT path FROM checksums") if not os.path.exists(p)]
                conn.executemany("DELETE FROM checksums WHERE path = ?", gone)
            except sqlite3.Error:
                self._fail()

    def close(self) -> None:
        self.flush()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
