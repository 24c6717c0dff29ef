"""Sending local files' bytes: hashing them, and PUTting them to the upload URLs the server gives.

The engine knows no entity and sends no GraphQL. `collect_files` expands paths into `LocalFile`s
(hashed in parallel); `put_files` asks the facade's `UploadUrls` which of them the server lacks
(it hands out no upload URL for content it already holds, from any artifact) and uploads those in
parallel over the one HTTP client, each distinct content once; an expired upload URL is exchanged
for a fresh one. At most `workers` PUTs are in flight; a PUT waiting to be retried (429, 503)
gives its slot back meanwhile, and spare threads (`limits.transfer_threads`) send other files.
The server checks every upload against its digest (`Content-MD5`). The W&B protocol around it
(create the version, register the manifest, commit) is `artifactkit.uploads`.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._transport import Transport, Wait, read_error_text
from ..errors import UploadError
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
class LocalFile:
    """A file to upload: where it is on disk and its path inside the artifact."""

    source: Path
    path: str
    size: int
    md5_b64: str
    checksum_reused: bool = False  # the MD5 came from the checksum memo, not from reading the file


class Interrupted(Exception):
    """Raised inside worker threads once Ctrl-C reached the main thread: stop at the next chunk."""


def _hash_file(source: Path, bar: Progress | None = None, cancel: threading.Event | None = None) -> tuple[int, str]:
    hasher = hashlib.md5(usedforsecurity=False)
    size = 0
    try:
        for chunk in _chunks(source):
            if cancel is not None and cancel.is_set():
                raise Interrupted(str(source))
            hasher.update(chunk)
            size += len(chunk)
            if bar is not None:
                bar.bytes(len(chunk))
    except OSError as exc:  # unreadable, vanished since it was listed, ...: a typed error naming the file
        raise UploadError(f"cannot read {source}: {exc.strerror or exc}") from None
    if bar is not None:
        bar.file_done()
    return size, base64.b64encode(hasher.digest()).decode("ascii")


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


def _chunks(source: Path) -> Iterator[bytes]:
    with source.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


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
    pairs: list[tuple[Path, str]] = []
    items = paths.items() if isinstance(paths, Mapping) else [(None, p) for p in paths]
    for logical, raw in items:
        source = Path(raw)
        if source.is_dir():
            prefix = f"{logical.rstrip('/')}/" if logical else ""
            inside = source.resolve()
            for child in sorted(source.rglob("*")):
                if child.is_symlink() and not follow_symlinks and not _resolves_inside(child, inside):
                    log.warning("not uploading %s: a symlink to outside %s (pass follow_symlinks=True)", child, source)
                    if skipped is not None:
                        skipped.append(child)
                    continue
                if child.is_file():
                    pairs.append((child, prefix + child.relative_to(source).as_posix()))
        elif source.is_file():
            pairs.append((source, logical or source.name))
        else:
            raise UploadError(f"{source} is neither a file nor a directory")
    seen: dict[str, Path] = {}
    for source, logical in pairs:
        try:
            check_entry_path(logical)
        except ManifestError as exc:
            raise UploadError(f"cannot upload {source} as {logical!r}: {exc}") from None
        if logical in seen:
            raise UploadError(f"two files would both be stored as {logical!r}: {seen[logical]} and {source}")
        seen[logical] = source
    if progress is not None:
        progress.phase(sum(_size(source) for source, _ in pairs), len(pairs), "hashed")
    cancel = threading.Event()

    def hash_one(pair: tuple[Path, str]) -> LocalFile:
        source, logical = pair
        where = Path(os.path.abspath(source))
        if checksums is not None:
            try:
                stat = os.stat(source)  # one stat: the size reported is the one the memo matched
            except OSError:
                stat = None  # hashing below reports why the file cannot be read
            known = None if stat is None else checksums.known_md5(where, stat)
            if known is not None and stat is not None:
                if progress is not None:
                    progress.bytes(stat.st_size)
                    progress.file_done()
                return LocalFile(source, logical, stat.st_size, md5_hex_to_b64(known), checksum_reused=True)
        size, md5 = _hash_file(source, progress, cancel)
        if checksums is not None:
            checksums.remember_md5(where, md5_b64_to_hex(md5))
        return LocalFile(source, logical, size, md5)

    files: list[LocalFile] = _run_all(workers, hash_one, pairs, cancel)
    if checksums is not None:
        checksums.flush()
        reused = sum(f.checksum_reused for f in files)
        if reused:
            log.info("%d of %d file(s) unchanged since last hashed: not read again", reused, len(files))
    return files


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


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
    try:
        stat = local.source.stat()
    except FileNotFoundError:
        raise UploadError(f"{local.source} disappeared before it was uploaded") from None
    if stat.st_size != local.size:
        raise UploadError(
            f"{local.source} changed while uploading ({local.size} bytes when hashed, now {stat.st_size})"
        )
    headers = dict(line.split(":", 1) for line in header_lines if ":" in line)
    headers = {key.strip(): value.strip() for key, value in headers.items()}
    headers["Content-Length"] = str(local.size)

    def body() -> Iterator[bytes]:
        for chunk in _chunks(local.source):
            if cancel is not None and cancel.is_set():
                raise Interrupted(local.path)  # Ctrl-C: the request is abandoned mid-body
            bar.bytes(len(chunk))
            yield chunk

    with transport.stream("PUT", url, headers=headers, content=body, wait=wait) as response:
        if response.status_code >= 300:
            text = read_error_text(response)
            if response.status_code == 400 and "BAD_DIGEST" in text:
                raise UploadError(f"{local.source} changed while uploading: the server got bytes with another MD5")
            return response.status_code, text
    return response.status_code, ""
