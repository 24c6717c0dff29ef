"""Deciding what a download does, before it writes anything.

`plan()` selects the manifest entries asked for, refuses every one that could write outside the
download root (or that the download could not complete), and classifies the rest: already in
place with the right MD5 (`keep`), in the shared cache (`cache`), or to be fetched (`fetch`).
It only reads the disk; a dry run is a plan and nothing else.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISDIR, S_ISLNK, S_ISREG
from typing import TYPE_CHECKING, Literal

from ..errors import DownloadError, UnsafePathError, UnsupportedReferenceError
from ..manifest import Manifest, ManifestEntry, ManifestError, check_entry_path
from .cache import Cache, etag_key, md5_of
from .limits import EMPTY_MD5
from .progress import Progress

if TYPE_CHECKING:
    from .place import Placement

FETCHABLE_SCHEMES = ("http://", "https://")
_NAME_MAX = 255
_PATH_MAX = 4096  # Linux PATH_MAX; macOS allows 1024, where the OS error is mapped instead

Action = Literal["keep", "cache", "fetch"]
_GLOB_MAGIC = re.compile(r"[*?[]")


@dataclass
class PlannedFile:
    """What a download does (or, in a dry run, would do) with one manifest entry."""

    path: str
    size: int
    action: Action
    destination: Path
    entry: ManifestEntry = field(repr=False)
    source: Path | None = field(default=None, repr=False, compare=False)
    """For `cache`: the cache object the bytes come from."""
    source_stat: os.stat_result | None = field(default=None, repr=False, compare=False)
    replaces: bool = False
    """True when the destination holds other bytes (an edit, another version's file), which this download replaces."""

    @property
    def content_key(self) -> str:
        """Entries with the same key have the same bytes: fetched once, copied to each path."""
        return f"ref:{self.entry.ref}\n{self.entry.digest}" if self.entry.is_reference else self.entry.md5_hex


def expected_size(entry: ManifestEntry) -> int | None:
    """The entry's size, or None where the manifest leaves it unknown (a missing size reads as 0)."""
    if entry.size:
        return entry.size
    if not entry.is_reference and entry.md5_hex == EMPTY_MD5:
        return 0
    return None


def select_entries(
    manifest: Manifest,
    path_prefix: str | None = None,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
) -> list[ManifestEntry]:
    """Entries whose path starts with `path_prefix`, matches one of the `include` globs and none of `exclude`.

    Globs use `fnmatch` rules on the whole POSIX path; `*` also matches `/`. A pattern without
    `*`, `?` or `[` matches only itself and is looked up in a set, so selecting thousands of named
    files costs one lookup per entry, not one match per pattern.
    """
    exact = {pattern for pattern in include or () if not _GLOB_MAGIC.search(pattern)}
    globs = [pattern for pattern in include or () if pattern not in exact]
    entries = []
    for entry in manifest:
        if path_prefix and not entry.path.startswith(path_prefix):
            continue
        if include and entry.path not in exact and not any(fnmatch.fnmatchcase(entry.path, g) for g in globs):
            continue
        if exclude and any(fnmatch.fnmatchcase(entry.path, pattern) for pattern in exclude):
            continue
        entries.append(entry)
    return sorted(entries, key=lambda e: e.path)


class DownloadRoot:
    """Maps manifest paths to files under one root, refusing any that could land outside it.

    A destination that is a symlink is refused, unless it points into `links_into` (the cache's
    objects, where a download with `placement="symlink"` points its files): the download only
    ever renames over a destination, never writes through it.
    """

    def __init__(self, root: Path, *, links_into: Path | None = None) -> None:
        self.root = root
        self.links_into = None if links_into is None else os.path.join(os.path.abspath(links_into), "")
        self.real = os.path.realpath(root)
        self._parents: dict[str, tuple[str, bool]] = {}  # directory -> (its real path, whether it exists)
        self._prepared: set[str] = set()
        self._lock = threading.Lock()

    def _inside(self, real: str) -> bool:
        return real == self.real or real.startswith(self.real.rstrip(os.sep) + os.sep)

    def destination(self, path: str) -> Path:
        """`root/path`, or `UnsafePathError` if writing there could leave the root or cannot be done."""
        return self.inspect(path)[0]

    def inspect(self, path: str) -> tuple[Path, os.stat_result | None]:
        """`destination(path)` and what is there now (`lstat`; None when nothing is).

        One `lstat` per path at most, and none when its directory does not exist yet. A path the
        file system cannot hold under this root (longer than PATH_MAX) is unsafe too, and any other
        error from looking at the disk is a `DownloadError` naming the entry (never a bare OSError).
        """
        try:
            return self._inspect(path)
        except OSError as exc:
            if exc.errno in (errno.ENAMETOOLONG, errno.ELOOP):
                raise UnsafePathError(f"refusing manifest entry {path[:200]!r}...: {exc.strerror}", path=path) from None
            raise DownloadError(f"cannot check where manifest entry {path[:200]!r} goes: {exc}", path=path) from None

    def _inspect(self, path: str) -> tuple[Path, os.stat_result | None]:
        try:
            check_entry_path(path)
        except ManifestError as exc:
            raise UnsafePathError(f"refusing manifest entry {path[:200]!r}: {exc}", path=path) from None
        if len(os.fsencode(os.path.join(self.real, path))) >= _PATH_MAX:
            raise UnsafePathError(
                f"refusing manifest entry {path[:200]!r}...: under {self.root} it would be longer than "
                f"{_PATH_MAX} bytes, the longest path the file system takes",
                path=path,
            )
        parts = path.split("/")
        if any(len(part.encode()) > _NAME_MAX for part in parts):
            raise DownloadError(f"cannot write manifest entry {path!r}: a name is longer than 255 bytes", path=path)
        parent = os.path.join(self.real, *parts[:-1])
        if parent not in self._parents:
            self._parents[parent] = self._check_parent(path, parent)
        real_parent, exists = self._parents[parent]
        dest = Path(real_parent, parts[-1])
        if not exists:
            return dest, None
        try:
            stat = os.lstat(dest)
        except (FileNotFoundError, NotADirectoryError):
            return dest, None
        if S_ISLNK(stat.st_mode) and not self.points_into_cache(dest):
            raise UnsafePathError(f"refusing manifest entry {path!r}: the destination is a symlink", path=path)
        if S_ISDIR(stat.st_mode):
            raise DownloadError(f"cannot write manifest entry {path!r}: {dest} is a directory", path=path)
        return dest, stat

    def points_into_cache(self, link: Path) -> bool:
        """Whether the symlink `link` points at a file under `links_into` (as symlink placement makes them)."""
        if self.links_into is None:
            return False
        return os.path.normpath(os.path.join(os.path.dirname(link), os.readlink(link))).startswith(self.links_into)

    def _check_parent(self, path: str, parent: str) -> tuple[str, bool]:
        real = os.path.realpath(parent)
        if not self._inside(real):
            raise UnsafePathError(
                f"refusing manifest entry {path!r}: its directory resolves outside the download root "
                "(through a symlink)",
                path=path,
            )
        probe = real
        while not os.path.lexists(probe) and probe != self.real:
            probe = os.path.dirname(probe)
        if os.path.lexists(probe) and not os.path.isdir(probe):
            raise DownloadError(f"cannot write manifest entry {path!r}: {probe} is a file, not a directory", path=path)
        return real, probe == real and os.path.isdir(real)

    def prepare_parent(self, dest: Path) -> None:
        """Create the destination's directory, and check again, at write time, that it is inside the root.

        Done once per directory per download (the plan checked every path before anything was written).
        """
        parent = os.path.dirname(dest)  # strings: no Path built or hashed per file
        if parent in self._prepared:  # a set lookup is atomic; adding happens under the lock
            return
        os.makedirs(parent, exist_ok=True)
        if not self._inside(os.path.realpath(parent)):
            raise UnsafePathError(
                f"refusing to write {dest}: its directory now resolves outside the download root",
                path=str(dest),
            )
        with self._lock:
            self._prepared.add(parent)


def check_reference(entry: ManifestEntry) -> None:
    """Refuse references artifactkit cannot fetch (anything but http(s)) with a clear error."""
    assert entry.ref is not None
    if not entry.ref.startswith(FETCHABLE_SCHEMES):
        scheme = entry.ref.split("://", 1)[0] if "://" in entry.ref else entry.ref
        raise UnsupportedReferenceError(
            f"{entry.path} is a reference to {scheme}:// storage ({entry.ref}), which artifactkit does not "
            "fetch; fetch it with that storage's own tools, or leave it out with path_prefix/include/exclude",
            path=entry.path,
        )


def _check_no_conflicts(entries: Sequence[ManifestEntry]) -> None:
    """Refuse a selection in which one entry's path is a directory of another's."""
    files = {entry.path for entry in entries}
    for entry in entries:
        parts = entry.path.split("/")
        for depth in range(1, len(parts)):
            prefix = "/".join(parts[:depth])
            if prefix in files:
                raise DownloadError(
                    f"the manifest has both a file {prefix!r} and a file {entry.path!r} inside it", path=entry.path
                )


def plan(
    manifest: Manifest,
    root: Path,
    cache: Cache,
    *,
    path_prefix: str | None = None,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    skip_cache: bool = False,
    workers: int = 8,
    progress: Progress | None = None,
    placement: Placement = "copy",
) -> list[PlannedFile]:
    """Decide, without writing anything, what happens to each selected entry; refuses unsafe ones.

    Every selected path is checked before any is classified, so one bad entry stops the whole
    download before its first byte is written. (Bytes in wandb's own cache are planned as `fetch`:
    the fetcher takes them from there, verified, instead of the server.)

    A destination that is a link into the cache (the cache object itself, or a symlink to it) is
    kept only when `placement` asks for that kind of link; otherwise it is placed again, from the
    cache, as the kind of file asked for (an independent copy by default). No bytes of such a
    destination are hashed: it is the object, which the cache checks.
    """
    target = DownloadRoot(root, links_into=cache.objects)
    entries = select_entries(manifest, path_prefix, include, exclude)
    planned = []
    present: dict[int, os.stat_result] = {}  # what is at each destination now (stored entries only)
    linked: dict[int, str] = {}  # destinations that are symlinks into the cache: where they point
    for entry in entries:
        dest, stat = target.inspect(entry.path)
        if entry.is_reference:
            check_reference(entry)
        item = PlannedFile(entry.path, entry.size, "fetch", dest, entry)
        planned.append(item)
        if stat is None:
            continue
        if S_ISLNK(stat.st_mode):
            linked[id(item)] = os.readlink(dest)
        elif _may_be_in_place(item, stat):
            present[id(item)] = stat
        elif not entry.is_reference:  # (a reference's bytes are placed again anyway: unknown until fetched)
            item.replaces = True  # another size
    _check_no_conflicts(entries)

    objects = {id(item): _object(cache, item.entry) for item in planned} if present or not skip_cache else {}
    cached: dict[int, tuple[Path, os.stat_result | None]] = {}  # each entry's cache object, stat'ed once
    on_disk: dict[int, str | None] = {}
    for item in planned:
        link_target = linked.get(id(item))
        if link_target is not None:  # a symlink into the cache: the object's bytes, if it is intact
            cached[id(item)] = path, obj = _cache_stat(cache, item.entry, objects.get(id(item)))
            if link_target != os.path.abspath(path):
                item.replaces = True  # another object: another version's bytes
            elif obj is not None and placement == "symlink":
                item.action = "keep"
            continue
        stat = present.get(id(item))
        if stat is None:
            continue
        cached[id(item)] = _cache_stat(cache, item.entry, objects.get(id(item)))
        obj = cached[id(item)][1]
        if obj is not None and (obj.st_ino, obj.st_dev) == (stat.st_ino, stat.st_dev):
            if placement == "hardlink":
                on_disk[id(item)] = item.entry.md5_hex  # a hardlink to the intact cache object: these bytes
            # else shared with the cache: placed again (from it), as the kind of file asked for
        else:
            on_disk[id(item)] = cache.known_md5(item.destination, stat)  # a regular file: lstat is its stat
    unknown = [item for item in planned if on_disk.get(id(item), "") is None]
    if unknown:  # hash what is on disk, in parallel; later downloads find these in the memo
        if progress is not None:
            progress.phase(sum(i.size for i in unknown), len(unknown), "checked")
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(unknown)))) as pool:
            hashes = pool.map(lambda i: md5_of(i.destination, progress), unknown)
            for item, digest in zip(unknown, hashes, strict=True):
                cache.remember_md5(item.destination, digest)
                on_disk[id(item)] = digest
    for item in planned:
        if item.action == "keep":
            continue
        known = on_disk.get(id(item))  # only stored entries are candidates
        if known is not None and known == item.entry.md5_hex:
            item.action = "keep"
            continue
        if known is not None:
            item.replaces = True
        if not skip_cache:
            path, obj = (
                cached[id(item)] if id(item) in cached else _cache_stat(cache, item.entry, objects.get(id(item)))
            )
            if obj is not None:
                item.action, item.source, item.source_stat = "cache", path, obj
    return planned


def _may_be_in_place(item: PlannedFile, stat: os.stat_result) -> bool:
    """A stored file already at the destination with the expected size (its MD5 decides)."""
    if item.entry.is_reference:
        return False
    size = expected_size(item.entry)
    return S_ISREG(stat.st_mode) and (size is None or stat.st_size == size)


def cache_key(entry: ManifestEntry) -> tuple[str, str]:
    """Where the cache keeps an entry's bytes: `("md5", hex)`, or `("etag", key)` for a reference."""
    if entry.is_reference:
        return "etag", etag_key(str(entry.ref), entry.digest)
    return "md5", entry.md5_hex


def _object(cache: Cache, entry: ManifestEntry) -> tuple[Path, str, str]:
    kind, key = cache_key(entry)
    return cache.object_path(kind, key), kind, key


def _cache_stat(
    cache: Cache, entry: ManifestEntry, known: tuple[Path, str, str] | None = None
) -> tuple[Path, os.stat_result | None]:
    """The entry's cache object and its stat if intact (a plan only looks: placing it marks the use)."""
    path, kind, key = known or _object(cache, entry)
    return path, cache.stat_object(kind, key, expected_size(entry), path=path)
