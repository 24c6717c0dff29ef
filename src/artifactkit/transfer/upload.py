"""Sending local files' bytes: hashing them, and PUTting them to the upload URLs the server gives.

The engine knows no entity and sends no GraphQL. `collect_files` expands paths into `LocalFile`s
(hashed in parallel); `put_files` asks the facade's `UploadUrls` which of them the server lacks
(it hands out no upload URL for content it already holds, from any artifact) and uploads those in
parallel over the one HTTP client, each distinct content once; an expired upload URL is exchanged
for a fresh one. At most `workers` PUTs are in flight; a PUT waiting to be retried (429, 503)
gives its slot back meanwhile, and spare threads (`limits.transfer_threads`) send other files.
The server checks every upload against its digest (`Content-MD5`). The W&B protocol around it
(create the version, register the manifest, commit) is `artifactkit.uploads`.

A file is read only as the file that was listed. The listing records each file's identity
(device, inode, size, mtime); hashing and every PUT open it without following a symlink (unless it
was listed through one: a link inside the folder, a file named explicitly, `follow_symlinks`), refuse
anything but a regular file, and compare the open file's `fstat` with that identity, after reading
too. A file replaced in between (a symlink swapped in, another file renamed over it) or changed is
refused with `FileChangedError` and none of its bytes are sent.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .._transport import Transport, Wait, read_error_text
from ..errors import FileChangedError, UploadError
from ..manifest import ManifestError, check_entry_path, md5_b64_to_hex, md5_hex_to_b64
from .cache import Cache
from .limits import CHUNK, default_workers, transfer_threads
from .progress import Progress
from .slots import Slots

log = logging.getLogger("artifactkit")


@dataclass
class UploadStats:
    """What an upload sent: files and bytes uploaded, and whether an identical version existed."""

    files: int = 0
    uploaded_files: int = 0
    uploaded_bytes: int = 0
    existing_version: bool = False
    skipped: tuple[str, ...] = ()
    """Symlinks in uploaded directories that were not followed (they lead outside the directory)."""
    checksums_reused: int = 0
    """Files not read to hash them: unchanged (size and mtime) since their MD5 was last computed."""


@dataclass(frozen=True)
class FileIdentity:
    """Which file, and which state of it: what a listed (then hashed) file must still be when it is read."""

    device: int
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, status: os.stat_result) -> FileIdentity:
        return cls(status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)

    def change(self, now: FileIdentity) -> str:
        """How `now` differs from this identity ("" when it does not)."""
        if (now.device, now.inode) != (self.device, self.inode):
            return "it was replaced by another file"
        if now.size != self.size:
            return f"its size changed from {self.size} to {now.size} bytes"
        if now.mtime_ns != self.mtime_ns:
            return "it was modified"
        return ""


@dataclass(frozen=True)
class LocalFile:
    """A file to upload: where it is on disk and its path inside the artifact."""

    source: Path
    path: str
    size: int
    md5_b64: str
    checksum_reused: bool = False  # the MD5 came from the checksum memo, not from reading the file
    identity: FileIdentity | None = None
    """The file that was hashed; a PUT reads only that file, unchanged (None: not checked)."""
    follow: bool = True
    """Whether `source` is opened through a symlink (it was listed through one)."""


class Interrupted(Exception):
    """Raised inside worker threads once Ctrl-C reached the main thread: stop at the next chunk."""


def _open_listed(source: Path, expected: FileIdentity | None, follow: bool, when: str) -> BinaryIO:
    """`source` opened for reading, if it is still the regular file `expected` (else `FileChangedError`).

    Without `follow` a symlink at `source` is refused (`O_NOFOLLOW`); a FIFO or device is refused
    without blocking on it. `when` says at which step, for the message.
    """
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(source, flags)
    except OSError as exc:
        if not follow and os.path.islink(source):
            raise FileChangedError(
                f"refusing {source} {when}: it was listed as a file and is now a symlink (to {os.readlink(source)!r})",
                path=str(source),
            ) from None
        if isinstance(exc, FileNotFoundError):
            raise FileChangedError(f"{source} disappeared {when}", path=str(source)) from None
        raise UploadError(f"cannot read {source}: {exc.strerror or exc}") from None
    handle = os.fdopen(fd, "rb")
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise FileChangedError(f"refusing {source} {when}: it is no longer a regular file", path=str(source))
        if expected is not None and (change := expected.change(FileIdentity.of(status))):
            raise FileChangedError(f"refusing {source} {when}: {change} since it was listed", path=str(source))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        handle.close()
        raise
    return handle


def _hash_file(
    source: Path,
    listed: FileIdentity | None,
    follow: bool,
    bar: Progress | None = None,
    cancel: threading.Event | None = None,
) -> tuple[str, os.stat_result]:
    """The MD5 (base64) of the file `listed` at `source`, and the stat of the bytes hashed."""
    hasher = hashlib.md5(usedforsecurity=False)
    with _open_listed(source, listed, follow, "before hashing it") as handle:
        try:
            while chunk := handle.read(CHUNK):
                if cancel is not None and cancel.is_set():
                    raise Interrupted(str(source))
                hasher.update(chunk)
                if bar is not None:
                    bar.bytes(len(chunk))
            after = os.fstat(handle.fileno())
        except OSError as exc:  # unreadable: a typed error naming the file
            raise UploadError(f"cannot read {source}: {exc.strerror or exc}") from None
    hashed = FileIdentity.of(after)
    if listed is not None and (change := listed.change(hashed)):
        raise FileChangedError(f"refusing {source}: {change} while it was hashed", path=str(source))
    if bar is not None:
        bar.file_done()
    return base64.b64encode(hasher.digest()).decode("ascii"), after


def _run_all(
    workers: int | None, function: Callable[[Any], Any], items: Sequence[Any], cancel: threading.Event
) -> list[Any]:
    """`function` over `items` on a pool; on Ctrl-C the workers stop at their next chunk, then it raises."""
    pool = ThreadPoolExecutor(max_workers=workers or default_workers(), thread_name_prefix="artifactkit-upload")
    try:
        return list(pool.map(function, items))
    except BaseException:
        cancel.set()
        pool.shutdown(wait=True, cancel_futures=True)  # in-flight work notices `cancel` within one chunk
        raise
    finally:
        pool.shutdown(wait=False)


def collect_files(
    paths: Iterable[str | os.PathLike[str]] | Mapping[str, str | os.PathLike[str]],
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    follow_symlinks: bool = False,
    skipped: list[Path] | None = None,
    checksums: Cache | None = None,
) -> list[LocalFile]:
    """Expand files and directories into `LocalFile`s, hashing in parallel.

    A directory contributes its files under their relative paths; a single file keeps its base
    name. A mapping gives explicit artifact paths: `{"data/train.csv": "/tmp/x.csv"}`. `progress`
    shows the hashing (bytes and files) as the first phase of an upload's bar.

    Inside a directory, a symlink whose target lies outside that directory (or does not exist) is
    skipped unless `follow_symlinks`: uploading a folder must not upload what lies elsewhere. The
    skipped links are appended to `skipped` (when given) and logged. A file named explicitly is
    read through its link.

    With `checksums` (the download cache's memo of MD5s by path, size and mtime), a file that did
    not change since its MD5 was last computed, by an upload or because a download wrote it, is not
    read again; files that are hashed are remembered there for the next upload.
    """
    listed: list[_Listed] = []
    items = paths.items() if isinstance(paths, Mapping) else [(None, p) for p in paths]
    for logical, raw in items:
        source = Path(raw)
        if source.is_dir():
            prefix = f"{logical.rstrip('/')}/" if logical else ""
            inside = source.resolve()
            for child in sorted(source.rglob("*")):
                link = child.is_symlink()
                if link and not follow_symlinks and not _resolves_inside(child, inside):
                    log.warning("not uploading %s: a symlink to outside %s (pass follow_symlinks=True)", child, source)
                    if skipped is not None:
                        skipped.append(child)
                    continue
                found = _listing_stat(child, follow=link)
                if found is not None and stat.S_ISREG(found.st_mode):
                    listed.append(_Listed(child, prefix + child.relative_to(source).as_posix(), found, link))
        elif source.is_file():
            found = _listing_stat(source, follow=True)  # a file named explicitly is read through its link
            if found is None:
                raise UploadError(f"{source} disappeared while it was listed")
            listed.append(_Listed(source, logical or source.name, found, True))
        else:
            raise UploadError(f"{source} is neither a file nor a directory")
    seen: dict[str, Path] = {}
    for item in listed:
        try:
            check_entry_path(item.logical)
        except ManifestError as exc:
            raise UploadError(f"cannot upload {item.source} as {item.logical!r}: {exc}") from None
        if item.logical in seen:
            raise UploadError(
                f"two files would both be stored as {item.logical!r}: {seen[item.logical]} and {item.source}"
            )
        seen[item.logical] = item.source
    if progress is not None:
        progress.phase(sum(item.stat.st_size for item in listed), len(listed), "hashed")
    cancel = threading.Event()

    def hash_one(item: _Listed) -> LocalFile:
        source, identity = item.source, FileIdentity.of(item.stat)
        where = Path(os.path.abspath(source))
        if checksums is not None:
            known = checksums.known_md5(where, item.stat)  # as listed: the PUT checks it is still that file
            if known is not None:
                if progress is not None:
                    progress.bytes(identity.size)
                    progress.file_done()
                md5 = md5_hex_to_b64(known)
                return LocalFile(source, item.logical, identity.size, md5, True, identity, item.follow)
        md5, hashed = _hash_file(source, identity, item.follow, progress, cancel)
        if checksums is not None:
            checksums.remember_md5(where, md5_b64_to_hex(md5), hashed)
        return LocalFile(source, item.logical, hashed.st_size, md5, False, FileIdentity.of(hashed), item.follow)

    files: list[LocalFile] = _run_all(workers, hash_one, listed, cancel)
    if checksums is not None:
        checksums.flush()
        reused = sum(f.checksum_reused for f in files)
        if reused:
            log.info("%d of %d file(s) unchanged since last hashed: not read again", reused, len(files))
    return files


@dataclass(frozen=True)
class _Listed:
    """A file as the listing found it: its stat (through its link only when `follow`)."""

    source: Path
    logical: str
    stat: os.stat_result
    follow: bool


def _listing_stat(path: Path, *, follow: bool) -> os.stat_result | None:
    try:
        return os.stat(path, follow_symlinks=follow)
    except OSError:
        return None  # gone, or a link that leads nowhere


def _resolves_inside(link: Path, root: Path) -> bool:
    """Whether `link` leads to an existing file or directory inside `root` (itself resolved)."""
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):  # dangling, a loop, unreadable
        return False
    return target == root or target.is_relative_to(root)


@dataclass(frozen=True)
class UploadUrl:
    """Where to PUT one file's bytes, with the headers the server asked for (`Name: value` lines)."""

    file: LocalFile
    url: str
    headers: Sequence[str] = ()


UploadUrls = Callable[[Sequence[LocalFile]], list[UploadUrl]]
"""Registers files with the pending version; returns upload URLs for those whose bytes the server lacks."""


def put_files(
    transport: Transport,
    files: Sequence[LocalFile],
    urls: UploadUrls,
    *,
    workers: int | None = None,
    progress: bool | None | Progress = False,
) -> UploadStats:
    """Upload the bytes of `files` the server asks for; returns what was sent.

    Identical contents at several paths go up once; the copies are registered again after, and
    sent only if the server still asks for them. A refused (expired) URL is replaced once by
    registering the file again. `progress` draws one bar on a terminal (None: when stderr is one).
    """
    stats = UploadStats(files=len(files), checksums_reused=sum(f.checksum_reused for f in files))
    uploads = urls(files)
    log.info("%d of %d file(s) to upload; the server already has the others' bytes", len(uploads), len(files))
    total = sum({u.file.md5_b64: u.file.size for u in uploads}.values())
    if isinstance(progress, Progress):
        bar = progress.phase(total, len(uploads), "uploaded")
    else:
        bar = Progress(total, len(uploads), progress, verb="uploaded")
    counter = threading.Lock()
    cancel = threading.Event()
    slots = Slots(workers or default_workers(), cancel, lambda: Interrupted("cancelled while waiting to retry"))

    def put(upload: UploadUrl) -> None:
        # The slot is kept from the first PUT to the last, so a fresh URL is used at once, not after
        # queueing for a slot; it is given back only while a PUT waits to be retried.
        with slots.hold():
            for attempt in range(2):
                local = upload.file
                status, text = _put_file(transport, local, upload.url, upload.headers, bar, cancel, slots.wait)
                if status < 300:
                    bar.file_done()
                    with counter:
                        stats.uploaded_files += 1
                        stats.uploaded_bytes += local.size
                    return
                if status in (401, 403) and attempt == 0:  # an expired upload URL: ask for a fresh one
                    fresh = urls([local])
                    if not fresh:
                        return  # meanwhile the server got these bytes from someone else
                    upload = fresh[0]
                    continue
                raise UploadError(f"uploading {local.path} ({local.source}) failed: HTTP {status} {text[:200]}")

    first_of: dict[str, UploadUrl] = {}
    copies: list[LocalFile] = []
    for upload in uploads:
        if upload.file.md5_b64 in first_of:
            copies.append(upload.file)
        else:
            first_of[upload.file.md5_b64] = upload
    threads = transfer_threads(slots.count)  # the threads beyond the slots only send while others wait
    try:
        _run_all(threads, put, list(first_of.values()), cancel)
        if copies:
            _run_all(threads, put, urls(copies), cancel)
    finally:
        if not isinstance(progress, Progress):
            bar.close()
    return stats


def put_document(transport: Transport, url_for: Callable[[str | None], str | None], body: bytes, name: str) -> None:
    """PUT a small document (`name`: "the manifest of ..."); an expired URL is exchanged once for `url_for(refused)`."""
    url = url_for(None)
    for attempt in range(2):
        if url is None:
            raise UploadError(f"the server gave no upload URL for {name}")
        with transport.stream("PUT", url, content=body) as response:
            if response.status_code < 300:
                return
            if response.status_code in (401, 403) and attempt == 0:  # expired while the files went up
                url = url_for(url)
                continue
            text = read_error_text(response)
            raise UploadError(f"uploading {name} failed: HTTP {response.status_code} {text[:200]}")


def _put_file(
    transport: Transport,
    local: LocalFile,
    url: str,
    header_lines: Sequence[str],
    bar: Progress,
    cancel: threading.Event | None = None,
    wait: Wait | None = None,
) -> tuple[int, str]:
    """PUT one file's bytes (read afresh for each retry); returns the status and the error text.

    `wait` waits before a retry (`Slots.wait` gives the caller's slot back meanwhile).
    """
    headers = dict(line.split(":", 1) for line in header_lines if ":" in line)
    headers = {key.strip(): value.strip() for key, value in headers.items()}
    headers["Content-Length"] = str(local.size)
    # Checked before the request is sent: a file that changed since it was hashed sends nothing.
    unused = [_open_listed(local.source, local.identity, local.follow, "before uploading it")]

    def body() -> Iterator[bytes]:  # each attempt reads its own handle, checked when it was opened
        handle = (
            unused.pop() if unused else _open_listed(local.source, local.identity, local.follow, "before uploading it")
        )
        with handle:
            remaining = local.size
            while remaining:
                chunk = handle.read(min(CHUNK, remaining))
                if not chunk:
                    raise FileChangedError(
                        f"{local.source} became shorter while it was uploaded", path=str(local.source)
                    )
                if cancel is not None and cancel.is_set():
                    raise Interrupted(local.path)  # Ctrl-C: the request is abandoned mid-body
                remaining -= len(chunk)
                bar.bytes(len(chunk))
                yield chunk

    try:
        with transport.stream("PUT", url, headers=headers, content=body, wait=wait) as response:
            if response.status_code >= 300:
                text = read_error_text(response)
                if response.status_code == 400 and "BAD_DIGEST" in text:
                    raise FileChangedError(
                        f"{local.source} changed while uploading: the server got bytes with another MD5",
                        path=str(local.source),
                    )
                return response.status_code, text
        return response.status_code, ""
    finally:
        for handle in unused:
            handle.close()
