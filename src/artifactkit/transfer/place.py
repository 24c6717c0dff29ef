"""Putting verified bytes at their destination: by default as files of the user's own.

A fetched object is written once, into the cache. How it reaches the download root is the
download's `placement`:

- `"copy"` (the default): an independent file, writable by its owner like any file the user
  makes. Where the filesystem has them (Btrfs, XFS made with reflinks, bcachefs) it is a
  reflink (`FICLONE`): no byte is written twice, and a write to either file splits the shared
  blocks. Elsewhere the bytes are copied in the kernel (`copy_file_range`, falling back to
  `read`/`write` where that is refused), and those copies are counted; a large file's copy is
  written while it streams instead (`root_copy.RootCopy`, `Placer.root_copy_for`), and named
  here once verified. Nothing a user does to
  such a file (`chmod` and write in place as root, truncate, delete) reaches the cache or another
  download root.
- `"hardlink"`: the cache object itself, under a second name. Nothing is copied, but the file is
  shared: an in-place edit (by root, or after a `chmod`) changes the cache object and every other
  root linked to it. The cache notices (the object's mtime loses its signature, see
  `Cache.stat_object`) and fetches the bytes again at its next use; the other roots stay changed
  until they are downloaded again or checked with `verify`.
- `"symlink"`: a symbolic link to the cache object: the same sharing, across filesystems too,
  and `cache cleanup` leaves such a root with dangling links.

A link placement falls back to a copy (counted as such) where a link cannot be made: another
filesystem for a hardlink, a filesystem that keeps no nanoseconds in mtimes (an edit made
through a link could not be noticed), a read-only cache (bytes placed from memory).

A destination appears only complete: by `rename()` of a finished temp file beside it
(`.<name>.artifactkit-<random>.tmp`), never by writing into it, and no temp file outlives its
download (renaming one link of an inode over another link of the same inode does nothing in
POSIX, so the temp name of a hardlink is removed after its rename).
"""

from __future__ import annotations

import errno
import os
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Literal, get_args

from .cache import Cache, signed
from .fetch import Source
from .limits import CHUNK
from .plan import DownloadRoot
from .root_copy import RootCopy, temp_beside, write_all

Placement = Literal["copy", "hardlink", "symlink"]
"""How a download puts files in its root: independent files (`copy`), or links into the cache."""
PLACEMENTS: tuple[Placement, ...] = get_args(Placement)

LINK, SYMLINK, REFLINK, COPY, WRITE, MOVE = "link", "symlink", "reflink", "copy", "write", "move"
LINKED = frozenset({LINK, SYMLINK})
"""The ways of placing that leave a file shared with the cache (a checksum memo cannot vouch for it)."""

# Errors that mean "this filesystem (pair) cannot do that", as opposed to a real failure.
_UNSUPPORTED = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS}
_FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)
_COPY_PIECE = 64 << 20  # bytes per copy_file_range call
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_READ = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def check_placement(placement: str, *, skip_cache: bool = False) -> Placement:
    """`placement` if it is one artifactkit knows (and can honour with this cache use), else `ValueError`."""
    if placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {', '.join(map(repr, PLACEMENTS))}, not {placement!r}")
    if skip_cache and placement != "copy":
        raise ValueError(f"placement={placement!r} links files into the cache, which skip_cache=True does not use")
    return placement


class Placer:
    """Places the files of one download, counting how (`counts[COPY]`, `counts[LINK]`, ...)."""

    def __init__(self, target: DownloadRoot, *, cache: Cache | None = None, placement: Placement = "copy") -> None:
        self.target = target
        self.cache = cache
        self.placement = placement
        self.counts: Counter[str] = Counter()
        self.copied_bytes = 0
        self._lock = threading.Lock()
        self._no_clone: set[tuple[int, int]] = set()  # (source, destination) devices without reflinks
        self._reflinks: dict[tuple[int, int], bool] = {}  # (cache, root) devices: whether root_copy_for's probe cloned
        self._no_link: set[tuple[int, int]] = set()  # (source, destination) devices hardlinks cannot join
        self._no_copy_range = sys.platform != "linux"  # copy_file_range refused once: read/write from then on
        self._devices: dict[str, int] = {}

    def _count(self, how: str, copied: int = 0) -> str:
        with self._lock:
            self.counts[how] += 1
            self.copied_bytes += copied
        return how

    def place(self, source: Source, dest: Path, *, move: bool = False, copy: RootCopy | None = None) -> str:
        """Put `source`'s verified bytes at `dest`; returns how (`copy`, `reflink`, `link`, `symlink`, `write`, `move`).

        `move` hands over a private temp file (`source.owned`) instead of cloning or copying it.
        `copy`: `dest`'s copy written during the fetch (`root_copy_for`), named now if it is complete.
        """
        self.target.prepare_parent(dest)
        if copy is not None and copy.dest == dest and self.placement == "copy" and source.path is not None:
            size = (source.stat or os.stat(source.path)).st_size
            if copy.publish(size):
                return self._count(COPY, size)
        if source.data is not None:
            data = source.data
            self._replace_with(dest, lambda fd: write_all(fd, data))
            return self._count(WRITE)
        assert source.path is not None
        if move and source.owned:
            os.replace(source.path, dest)
            return self._count(MOVE)
        if self.placement != "copy" and not source.owned and self._linkable(source):
            if self.placement == "hardlink" and self._try_link(source.path, dest):
                return self._count(LINK)
            if self.placement == "symlink" and self._try_symlink(source.path, dest):
                return self._count(SYMLINK)
        return self._copy(source.path, dest)

    # -- independent files ---------------------------------------------------------------------

    def _replace_with(self, dest: Path, fill: Callable[[int], object], source: Path | None = None) -> None:
        """Create a temp file beside `dest`, `fill(fd)` it (with `source`'s bytes), then rename it over `dest`.

        An error of the bytes' way names the files, as `shutil` does (`filename` the source,
        `filename2` the file written), so that a full disk can be named.
        """
        tmp = temp_beside(dest)
        try:
            fd = os.open(tmp, _NEW_FILE, 0o666)  # a new file of the user's: their umask decides
            try:
                fill(fd)
            except OSError as exc:
                if exc.filename is None:
                    exc.filename, exc.filename2 = os.fspath(source or tmp), os.fspath(tmp)
                raise
            finally:
                os.close(fd)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _copy(self, src: Path, dest: Path) -> str:
        """`dest` as an independent file with `src`'s bytes: a reflink where possible, else a copy."""
        outcome: list[str | int] = [COPY, 0]

        def fill(out: int) -> None:
            source = os.open(src, _READ)
            try:
                stat = os.fstat(source)
                devices = (stat.st_dev, os.fstat(out).st_dev)
                if self._clone(source, out, devices):
                    outcome[0] = REFLINK
                else:
                    outcome[1] = self._copy_bytes(source, out, stat.st_size)
            finally:
                os.close(source)

        self._replace_with(dest, fill, src)
        how, copied = outcome
        return self._count(str(how), int(copied))

    def root_copy_for(self, dest: Path, cache_dir: Path) -> RootCopy | None:
        """An unnamed file beside `dest` to fill while its bytes stream into `cache_dir`, or None.

        Worth it only where the cache object cannot be reflinked into the root (then the file is
        written twice, and the second write had better overlap the first): ext4, or another
        filesystem than the cache's. Found out once per pair of filesystems, by cloning an empty
        file of `cache_dir` into the new one.
        """
        if self.placement != "copy":
            return None
        self.target.prepare_parent(dest)
        try:
            devices: tuple[int, int] | None = (self._device(str(cache_dir)), self._device(str(dest.parent)))
        except OSError:
            devices = None
        if devices is not None and self._reflinks.get(devices):
            return None  # reflinks: the file is placed as one after its download, writing nothing twice
        copy = RootCopy.create(dest)
        if copy is None or copy.fd is None:
            return None
        if devices is None or devices in self._reflinks:
            return copy  # known to lack reflinks (or no cache directory to ask): a copy is cheap to drop
        probe = RootCopy.create(cache_dir / "probe")
        if probe is None or probe.fd is None:
            return copy  # no unnamed file in the cache: it cannot tell
        try:
            cloned = self._clone(probe.fd, copy.fd, devices)
        except BaseException:
            copy.close()
            raise
        finally:
            probe.close()
        with self._lock:
            self._reflinks[devices] = cloned
        if cloned:
            copy.close()
            return None
        return copy

    def _clone(self, source: int, out: int, devices: tuple[int, int]) -> bool:
        """Make `out` a copy-on-write clone of `source` (Linux `FICLONE`); False where unsupported."""
        if sys.platform != "linux" or devices in self._no_clone:
            return False
        import fcntl

        try:
            fcntl.ioctl(out, _FICLONE, source)
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED and exc.errno != errno.ENOTTY:
                raise
            with self._lock:
                self._no_clone.add(devices)
            return False
        return True

    def _copy_bytes(self, source: int, out: int, size: int) -> int:
        """Copy `source` to `out` from their current offsets to the end of `source`; returns the bytes copied.

        `copy_file_range` keeps the bytes in the kernel (and lets NFS and SMB copy on the server);
        where it is refused (older kernels across filesystems, some FUSE filesystems) the rest
        goes through `read`/`write`.
        """
        done = 0
        if not self._no_copy_range:
            try:
                while done < size:  # in pieces, so that Ctrl-C is seen between them
                    n = os.copy_file_range(source, out, min(max(size - done, CHUNK), _COPY_PIECE))
                    if n == 0:
                        return done  # the end of the file (it was shorter than its stat said)
                    done += n
                return done
            except OSError as exc:
                if exc.errno not in _UNSUPPORTED and exc.errno != errno.EBADF:
                    raise
                self._no_copy_range = True  # the offsets are where the refused call left them
        while chunk := os.read(source, CHUNK):
            write_all(out, chunk)
            done += len(chunk)
        return done

    # -- links into the cache (an explicit choice) ----------------------------------------------------

    def _linkable(self, source: Source) -> bool:
        """Whether a cache object may be shared by a link: only if an in-place edit would show.

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

    def _try_link(self, src: Path, dest: Path) -> bool:
        devices = (self._device(os.path.dirname(src)), self._device(os.path.dirname(dest)))
        if devices in self._no_link:
            return False
        try:
            try:
                os.link(src, dest)
            except FileExistsError:  # replacing another file: link beside it, then rename over it
                self._link_over(src, dest)
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED:
                raise
            with self._lock:
                self._no_link.add(devices)
            return False
        return True

    def _try_symlink(self, src: Path, dest: Path) -> bool:
        tmp = temp_beside(dest)
        try:
            os.symlink(os.path.abspath(src), tmp)
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED:
                raise
            return False
        try:
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return True

    def _link_over(self, src: Path, dest: Path) -> None:
        tmp = temp_beside(dest)
        os.link(src, tmp)
        try:
            os.replace(tmp, dest)
        finally:
            # When `dest` already was this object (another process placed it meanwhile), the rename
            # of one of its links over another did nothing and left both names (POSIX): the temp goes.
            tmp.unlink(missing_ok=True)

    def _device(self, directory: str) -> int:
        device = self._devices.get(directory)
        if device is None:
            device = self._devices[directory] = os.stat(directory).st_dev
        return device
