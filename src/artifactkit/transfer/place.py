"""Putting verified bytes at their destination, writing them no more than once.

A fetched object is written once, into the cache; it reaches the download root as a reflink (a
copy-on-write clone: Btrfs, XFS, ...) or, where the filesystem has none, as a hardlink to the
cache object, which is read-only so that an edit in place cannot change the cached bytes. Only
when neither works (another filesystem, a filesystem without links) are the bytes copied, and
those copies are counted. A destination appears only complete: by `link()`/`rename()` of a
finished file, never by writing into it.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from .cache import Cache, signed
from .fetch import Source
from .plan import DownloadRoot

LINK, REFLINK, COPY, WRITE, MOVE = "link", "reflink", "copy", "write", "move"

# Errors that mean "this filesystem (pair) cannot do that", as opposed to a real failure.
_UNSUPPORTED = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS}
_FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)


def _temp_beside(dest: Path) -> Path:
    return dest.parent / f".{dest.name[:200]}.artifactkit-{secrets.token_hex(6)}.tmp"


def _clone(src: Path, tmp: Path) -> bool:
    """Make `tmp` a copy-on-write clone of `src` (Linux FICLONE); False where unsupported."""
    if sys.platform != "linux":
        return False
    import fcntl

    with src.open("rb") as source, tmp.open("xb") as target:
        try:
            fcntl.ioctl(target.fileno(), _FICLONE, source.fileno())
        except OSError as exc:
            if exc.errno in _UNSUPPORTED or exc.errno == errno.ENOTTY:
                target.close()
                tmp.unlink(missing_ok=True)
                return False
            raise
    return True


class Placer:
    """Places the files of one download, counting how (`counts[LINK]`, `counts[COPY]`, ...)."""

    def __init__(self, target: DownloadRoot, *, cache: Cache | None = None) -> None:
        self.target = target
        self.cache = cache
        self.counts: Counter[str] = Counter()
        self.copied_bytes = 0
        self._lock = threading.Lock()
        self._no_clone: set[int] = set()  # destination devices without reflinks
        self._no_link: set[tuple[int, int]] = set()  # (source, destination) devices hardlinks cannot join
        self._devices: dict[str, int] = {}

    def _count(self, how: str, copied: int = 0) -> str:
        with self._lock:
            self.counts[how] += 1
            self.copied_bytes += copied
        return how

    def place(self, source: Source, dest: Path, *, move: bool = False) -> str:
        """Put `source`'s verified bytes at `dest`; returns how (`link`, `reflink`, `copy`, `write`, `move`).

        `move` hands over a private temp file (`source.owned`) instead of cloning or copying it.
        """
        self.target.prepare_parent(dest)
        if source.data is not None:
            data = source.data
            self._replace_with(dest, lambda tmp: tmp.write_bytes(data))
            return self._count(WRITE)
        assert source.path is not None
        if move and source.owned:
            os.replace(source.path, dest)
            return self._count(MOVE)
        if self._try_clone(source.path, dest):
            return self._count(REFLINK)
        if not source.owned and self._linkable(source) and self._try_link(source.path, dest):
            return self._count(LINK)
        path = source.path
        size = self._replace_with(dest, lambda tmp: shutil.copyfile(path, tmp))
        return self._count(COPY, size)

    def _replace_with(self, dest: Path, fill: Callable[[Path], object]) -> int:
        """Fill a temp file beside `dest` with `fill(tmp)`, then rename it over `dest`; returns its size."""
        tmp = _temp_beside(dest)
        try:
            fill(tmp)
            size = tmp.stat().st_size
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return size

    def _linkable(self, source: Source) -> bool:
        """Whether a cache object may be shared by a hardlink: only if an in-place edit would show.

        That is so when its mtime carries its signature (`cache.signed`); an object from before
        signatures is signed now. Where the filesystem keeps no nanoseconds, nothing is linked.
        """
        if self.cache is None or source.key is None or source.path is None:
            return False
        stat = source.stat or os.stat(source.path)
        if signed(stat, source.key):
            return True
        try:
            return signed(self.cache.sign(source.path, source.key), source.key)
        except OSError:
            return False

    def _try_clone(self, src: Path, dest: Path) -> bool:
        device = self._device(os.path.dirname(dest))
        if device in self._no_clone:
            return False
        tmp = _temp_beside(dest)
        try:
            cloned = _clone(src, tmp)
            if cloned:  # an independent file, with the mode any new file gets
                os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        if not cloned:
            with self._lock:
                self._no_clone.add(device)
        return cloned

    def _try_link(self, src: Path, dest: Path) -> bool:
        devices = (self._device(os.path.dirname(src)), self._device(os.path.dirname(dest)))
        if devices in self._no_link:
            return False
        try:
            try:
                os.link(src, dest)
            except FileExistsError:  # replacing a changed file: link beside it, then rename over it
                tmp = _temp_beside(dest)
                os.link(src, tmp)
                try:
                    os.replace(tmp, dest)
                except BaseException:
                    tmp.unlink(missing_ok=True)
                    raise
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED:
                raise
            with self._lock:
                self._no_link.add(devices)
            return False
        return True

    def _device(self, directory: str) -> int:
        device = self._devices.get(directory)
        if device is None:
            device = self._devices[directory] = os.stat(directory).st_dev
        return device
