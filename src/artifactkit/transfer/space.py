"""Free disk space: checked before a download writes its first byte, and named when a disk fills up.

A download writes new bytes on up to two filesystems: the shared cache's (every fetched content,
once) and the download root's (a copy of each file, where it cannot share the cache's blocks by a
reflink or a link: always when the root is on another filesystem, with `skip_cache`, and with the
default `placement="copy"` on a filesystem known to have no reflinks, such as ext4 or tmpfs). The
check adds up what must be new on each, file sizes rounded up to the filesystem's blocks, and
refuses before anything is written when that is more than is free. Where sharing blocks may work
(root and cache on one filesystem that may clone, or links asked for) a copy is not counted:
whether it will be needed is only known by trying, and a refusal of a download that would have fit
is worse than the late error, which says the same (`DiskFullError`) and leaves no half-written
file either.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .._sizes import human_size
from ..errors import DiskFullError
from .cache import Cache
from .plan import PlannedFile, expected_size

log = logging.getLogger("artifactkit")

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


@dataclass(frozen=True)
class Filesystem:
    """Free space on the filesystem holding a directory (or the nearest parent that exists)."""

    device: int
    mount: Path
    block: int
    free: int

    @classmethod
    def of(cls, directory: Path) -> Filesystem:
        existing = _existing(directory)
        stat = os.statvfs(existing)
        # root may also use the blocks reserved for it (ext4's 5%); anyone else, what df calls available
        blocks = stat.f_bfree if hasattr(os, "geteuid") and os.geteuid() == 0 else stat.f_bavail
        block = stat.f_frsize or stat.f_bsize or 4096
        return cls(os.stat(existing).st_dev, mount_point(existing), block, blocks * block)

    def blocks_for(self, size: int) -> int:
        """Bytes `size` takes on this filesystem: whole blocks."""
        return -(-size // self.block) * self.block


def _existing(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def mount_point(path: Path) -> Path:
    """The mount point of the filesystem holding `path` (`/` when it is the root filesystem's)."""
    return _mount_point(_existing(path))


@functools.lru_cache(maxsize=256)
def _mount_point(path: Path) -> Path:
    """Remembered per directory for the process: many downloads into one parent walk up once."""
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


def check_free_space(
    root: Path, planned: Sequence[PlannedFile], cache: Cache, *, skip_cache: bool, label: str, placement: str = "copy"
) -> None:
    """Raise `DiskFullError` unless the root's and the cache's filesystems can hold what the download writes.

    `planned` is the plan of the download (files to `keep` need nothing); `placement` how files
    reach the root (`place.Placement`); see the module docstring.
    """
    to_write = [p for p in planned if p.action != "keep"]
    if not to_write:
        return
    target = Filesystem.of(root)
    store = target if skip_cache else Filesystem.of(cache.root)
    copies = skip_cache or target.device != store.device or (placement == "copy" and not may_clone(target.mount))
    need: dict[int, int] = {target.device: 0, store.device: 0}
    fetched: set[str] = set()
    for item in to_write:
        size = expected_size(item.entry) or 0
        if item.action == "fetch" and not skip_cache and item.content_key not in fetched:
            fetched.add(item.content_key)  # each content once into the cache, less what an interrupted run left
            need[store.device] += store.blocks_for(max(0, size - _resumable_bytes(cache, item)))
        if copies:
            need[target.device] += target.blocks_for(size)  # a copy: it cannot share the cache's blocks
    for fs in (target, store):
        log.debug("%s needs %d bytes on %s, %d free", label, need[fs.device], fs.mount, fs.free)
        if need[fs.device] > fs.free:
            raise DiskFullError(
                f"not enough disk space for {label}: needs {human_size(need[fs.device])}, "
                f"{human_size(fs.free)} free on {fs.mount}; nothing was downloaded",
                path=str(root if fs is target else cache.root),
                where=str(fs.mount),
                needed=need[fs.device],
                free=fs.free,
            )


# Filesystems without copy-on-write clones: a copy there takes its full size.
_NO_CLONES = frozenset(
    {"ext2", "ext3", "ext4", "tmpfs", "ramfs", "vfat", "msdos", "exfat", "ntfs", "ntfs3", "f2fs", "hfsplus", "jfs"}
)


@functools.lru_cache(maxsize=64)
def may_clone(mount: Path) -> bool:
    """False when the filesystem mounted at `mount` is known to have no reflinks (from /proc/self/mountinfo).

    Read once per mount point for the process (a download of many versions asks for each)."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as table:
            kinds = {}
            for line in table:
                fields = line.split(" - ", 1)
                if len(fields) == 2:  # "... mount-point ... - fstype source options"
                    kinds[fields[0].split()[4].replace("\\040", " ")] = fields[1].split()[0]
    except OSError:
        return True  # not Linux: unknown, so not counted
    return kinds.get(str(mount)) not in _NO_CLONES


def _resumable_bytes(cache: Cache, item: PlannedFile) -> int:
    """Bytes of this content an interrupted download left in the cache (continued, not fetched again)."""
    if item.entry.is_reference:
        return 0
    try:
        return (cache.partial / f"md5-{item.entry.md5_hex}.part").stat().st_size
    except OSError:
        return 0


def disk_full_cause(error: BaseException) -> OSError | None:
    """The "no space left" (or quota) OSError behind `error`, if that is what it comes down to."""
    seen: BaseException | None = error
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, OSError) and seen.errno in DISK_FULL_ERRNOS:
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def disk_full_error(label: str, failures: Sequence[tuple[str, BaseException]]) -> DiskFullError | None:
    """One `DiskFullError` for a download whose files failed because a disk filled up, else None."""
    full = [(path, cause) for path, error in failures if (cause := disk_full_cause(error)) is not None]
    if not full:
        return None
    path, cause = full[0]
    written = cause.filename2 or cause.filename  # a copy's error names its source first, then what it wrote
    where = mount_point(Path(os.fsdecode(written))) if isinstance(written, (str, bytes, os.PathLike)) else None
    names = ", ".join(p for p, _ in full[:5]) + (", ..." if len(full) > 5 else "")
    on = f" on {where}" if where is not None else ""
    return DiskFullError(
        f"the disk filled up{on} while downloading {label}: {len(full)} file(s) not written ({names}); "
        "the files completed before are in place and none is half-written: free some space and download again",
        path=path,
        where=str(where or ""),
    )
