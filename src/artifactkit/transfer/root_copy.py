"""The download root's own copy of a file, written while the file streams into the cache.

Where the filesystem has no reflinks, a fetched file is written twice: into the cache's `.part`,
and into the download root as a file of the user's own. Copying the cache object once its MD5
verified puts the second write after the download; a `RootCopy` writes it while the body
streams (on the sink's writing thread, from the same buffers), so that the two overlap.

It is an unnamed file (`O_TMPFILE`) in the destination's directory: nothing of it is visible
until `publish` names it, after the cache's bytes verified, and a crash, a `kill -9` or Ctrl-C
leaves nothing of it behind (the `.part` in the cache stays, for a resume). It is an inode of its
own: it never shares a block with the cache object.

A failure of the copy (no `O_TMPFILE` here, a refused write, no `/proc` to name it by) only drops
it: the file is then placed from the cache object as usual, where a real problem (a full disk)
shows with its name.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger("artifactkit")

_READ = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)


def temp_beside(dest: Path) -> Path:
    """A fresh name beside `dest` for a file that becomes `dest` by `rename()`."""
    return dest.parent / f".{dest.name[:200]}.artifactkit-{secrets.token_hex(6)}.tmp"


def write_all(fd: int, *pieces: bytes | memoryview) -> None:
    """Write `pieces` at `fd`'s position, in one `writev` where the system takes them all."""
    views = [memoryview(p) for p in pieces if len(p)]
    while views:
        written = os.writev(fd, views)
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if views and written:
            views[0] = views[0][written:]


class RootCopy:
    """An unnamed file beside `dest` that mirrors a `.part` as it fills; see the module docstring.

    `restart` and `write` are called by one thread at a time (the fetch's), `publish` after the
    fetch, `close` always.
    """

    def __init__(self, fd: int, dest: Path) -> None:
        self._fd: int | None = fd
        self.dest = dest
        self.length = 0  # bytes written, equal to the .part's as long as the copy is kept

    @classmethod
    def create(cls, dest: Path) -> RootCopy | None:
        """An empty unnamed file in `dest`'s (existing) directory; None where the system has none."""
        flag = getattr(os, "O_TMPFILE", 0)
        if not flag:
            return None
        try:
            fd = os.open(os.path.dirname(dest), flag | os.O_RDWR | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as exc:  # EOPNOTSUPP, EISDIR (older kernels), ...: copied afterwards instead
            log.debug("%s: no unnamed temp file here (%s); the file is copied after its download", dest, exc)
            return None
        return cls(fd, dest)

    @property
    def fd(self) -> int | None:
        """The open file (None once dropped or closed)."""
        return self._fd

    def restart(self, part: Path, length: int) -> None:
        """Make the copy hold exactly the first `length` bytes of `part` (the bytes a body continues)."""
        if self._fd is None or self.length == length:
            return
        try:
            os.ftruncate(self._fd, 0)
            os.lseek(self._fd, 0, os.SEEK_SET)
            self.length = 0
            if length:
                source = os.open(part, _READ)
                try:
                    while self.length < length:
                        n = os.copy_file_range(source, self._fd, length - self.length, self.length)
                        if n == 0:
                            raise OSError(errno.EIO, f"{part} is shorter than {length} bytes")
                        self.length += n
                finally:
                    os.close(source)
        except OSError as exc:
            self._drop(exc)

    def write(self, pieces: list[bytes]) -> None:
        """Append `pieces` (just written to the `.part`, in the same order)."""
        if self._fd is None:
            return
        try:
            write_all(self._fd, *pieces)
        except OSError as exc:
            self._drop(exc)
            return
        self.length += sum(map(len, pieces))

    def publish(self, size: int) -> bool:
        """Give the copy `dest`'s name if it holds all `size` bytes; False: place the file otherwise.

        Called only once the `.part`'s bytes verified: the copy holds the same bytes, written from
        the same buffers. Named through `/proc/self/fd` (`linkat` of an unnamed file), then renamed
        over `dest`, so `dest` appears complete or not at all.
        """
        if self._fd is None or self.length != size:
            return False
        temp = temp_beside(self.dest)
        try:
            directory = os.open(temp.parent, _DIRECTORY)
            try:
                # With a directory descriptor, os.link calls linkat(AT_SYMLINK_FOLLOW): it links the
                # file behind /proc/self/fd/N, where plain link() would try to link the magic link.
                os.link(f"/proc/self/fd/{self._fd}", temp.name, dst_dir_fd=directory, follow_symlinks=True)
            finally:
                os.close(directory)
        except OSError as exc:
            self._drop(exc)
            return False
        try:
            os.replace(temp, self.dest)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        self.close()
        return True

    def _drop(self, cause: OSError) -> None:
        log.debug("%s: the copy written during the download was dropped (%s); copying it afterwards", self.dest, cause)
        self.close()

    def close(self) -> None:
        """Let go of the file: unless `publish` named it, it disappears with its last descriptor."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
