"""Moving stored files from one server to another: each download's body is the upload's body.

The engine knows no entity and sends no GraphQL. The facade hands it the files the target lacks,
each with the upload URL the target gave, a way to get each file's signed download URL on the
source (a fresh one after a refusal), and the two transports. A file streams from source to
target in `CHUNK`-sized pieces, hashed on the way, and never lands on disk. Its last piece is held
back until the MD5 and the size match the manifest: wrong bytes never complete an upload (the
target checks `Content-MD5` as well). A file already in the local cache is sent from there.

A break on either side starts the file again from its first byte (a new GET for the new PUT),
as the target's transport retries any idempotent request; bytes that turn out wrong are asked
for again up to `ATTEMPTS` times. An expired download URL is renewed (at most
`MAX_REFRESHES` times), an expired upload URL is asked for again; when the target then hands out
none, it got the bytes meanwhile. At most `workers` files are in flight.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .._transport import Transport, read_error_text
from ..errors import DigestMismatchError, DownloadError, UploadError
from ..manifest import ManifestEntry
from .cache import Cache
from .fetch import UrlSource
from .limits import ATTEMPTS, CHUNK, EMPTY_MD5, EXPIRED_STATUSES, MAX_REFRESHES, default_workers
from .progress import Progress

log = logging.getLogger("artifactkit")


@dataclass(frozen=True)
class RelayFile:
    """One stored file to move: its manifest entry and where the target wants its bytes."""

    entry: ManifestEntry
    upload_url: str
    headers: Sequence[str] = ()


@dataclass
class RelayStats:
    """What a relay sent: files and bytes, and how many of those files came from the local cache."""

    files: int = 0
    bytes: int = 0
    from_cache: int = 0


DownloadUrls = Callable[[str], UrlSource]
"""`path -> url_for`: the source's signed URL for a file (`url_for(None)`), fresh after a refusal."""
RenewUpload = Callable[[ManifestEntry], tuple[str, Sequence[str]] | None]
"""A fresh upload URL and headers for an entry; None when the target no longer wants its bytes."""


class _SourceRefused(Exception):
    """The source refused the download URL (expired): ask for a fresh one."""


class _WrongBytes(Exception):
    """The source sent bytes that are not the manifest's (short, long or another MD5)."""


class Cancelled(Exception):
    """Another file failed or the main thread was interrupted: this body is abandoned."""


def relay(
    files: Sequence[RelayFile],
    *,
    source: Transport,
    target: Transport,
    download_urls: DownloadUrls,
    renew_upload: RenewUpload,
    cache: Cache | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> RelayStats:
    """Send each file's bytes from the source to its upload URL; returns what was sent.

    Files with the same content go once. Raises `DigestMismatchError` when the source keeps
    sending wrong bytes, `UploadError` when the target refuses them, `DownloadError` when the
    source cannot serve a file.
    """
    stats = RelayStats()
    counter = threading.Lock()
    cancel = threading.Event()
    bar = progress or Progress(0, 0, False)
    distinct = list({f.entry.digest: f for f in files}.values())

    def send(item: RelayFile) -> None:
        cached = _cached(cache, item.entry)
        sent = _send_file(item, source, target, download_urls(item.entry.path), renew_upload, cached, bar, cancel)
        if sent is None:
            return
        bar.file_done()
        with counter:
            stats.files += 1
            stats.bytes += sent
            stats.from_cache += cached is not None

    pool = ThreadPoolExecutor(max_workers=workers or default_workers(), thread_name_prefix="artifactkit-relay")
    try:
        list(pool.map(send, distinct))
    except BaseException:
        cancel.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=False)
    return stats


def _cached(cache: Cache | None, entry: ManifestEntry) -> Path | None:
    if cache is None or entry.size == 0:
        return None
    try:
        return cache.lookup("md5", entry.md5_hex, entry.size)
    except OSError:
        return None


def _send_file(
    item: RelayFile,
    source: Transport,
    target: Transport,
    url_for: UrlSource,
    renew_upload: RenewUpload,
    cached: Path | None,
    bar: Progress,
    cancel: threading.Event,
) -> int | None:
    """Move one file; the bytes sent, or None when the target turned out to hold them already."""
    entry = item.entry
    upload_url, header_lines = item.upload_url, item.headers
    source_url: str | None = None
    failures = refreshes = 0
    renewed = False
    while True:
        if cached is None and source_url is None:
            source_url = url_for(None)
        body = _body(cached, source, source_url, entry, cancel, bar)
        headers = _headers(header_lines)
        if entry.size or entry.md5_hex == EMPTY_MD5:
            headers["Content-Length"] = str(entry.size)
        try:
            with target.stream("PUT", upload_url, headers=headers, content=body) as answer:
                status = answer.status_code
                text = read_error_text(answer) if status >= 300 else ""
        except _SourceRefused:
            refreshes += 1
            if refreshes > MAX_REFRESHES:
                raise DownloadError(
                    f"the source kept refusing fresh URLs for {entry.path} ({refreshes} tried)", path=entry.path
                ) from None
            source_url = url_for(source_url)
            continue
        except _WrongBytes as exc:
            failures += 1
            if failures >= ATTEMPTS:
                raise DigestMismatchError(
                    f"{entry.path}: the source sent other bytes than its manifest lists, {failures} times ({exc})",
                    path=entry.path,
                ) from None
            log.info("sending %s again (attempt %d of %d): %s", entry.path, failures + 1, ATTEMPTS, exc)
            cached = None  # a cache object that was wrong is not read again; the source is
            continue
        if status < 300:
            return entry.size
        if status in (401, 403) and not renewed:  # the upload URL expired while waiting
            renewed = True
            fresh = renew_upload(entry)
            if fresh is None:
                return None  # the target got these bytes meanwhile
            upload_url, header_lines = fresh
            continue
        raise UploadError(f"uploading {entry.path} to the target failed: HTTP {status} {text[:200]}")


def _body(
    cached: Path | None,
    source: Transport,
    url: str | None,
    entry: ManifestEntry,
    cancel: threading.Event,
    bar: Progress,
) -> Callable[[], Iterator[bytes]]:
    """A fresh body for each attempt: the cached file's bytes, else a new GET's."""
    chunks = _from_file(cached, entry, cancel) if cached is not None else _from_source(source, url, entry, cancel)
    return lambda: _counted(chunks(), bar)


def _headers(lines: Sequence[str]) -> dict[str, str]:
    pairs = (line.split(":", 1) for line in lines if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def _counted(chunks: Iterator[bytes], bar: Progress) -> Iterator[bytes]:
    for chunk in chunks:
        bar.bytes(len(chunk))
        yield chunk


def _checked(chunks: Iterator[bytes], entry: ManifestEntry, cancel: threading.Event) -> Iterator[bytes]:
    """`chunks`, hashed; the last one is given only once the size and MD5 are the manifest's."""
    hasher = hashlib.md5(usedforsecurity=False)
    received = 0
    known_size = bool(entry.size) or entry.md5_hex == EMPTY_MD5
    held: bytes | None = None
    for chunk in chunks:
        if cancel.is_set():
            raise Cancelled(entry.path)
        if not chunk:
            continue
        received += len(chunk)
        if known_size and received > entry.size:
            raise _WrongBytes(f"more than the {entry.size} bytes listed")
        hasher.update(chunk)
        if held is not None:
            yield held
        held = chunk
    if known_size and received != entry.size:
        raise _WrongBytes(f"{received} of {entry.size} bytes")
    if hasher.hexdigest() != entry.md5_hex:
        raise _WrongBytes("another MD5")
    if held is not None:
        yield held


def _from_source(
    source: Transport, url: str | None, entry: ManifestEntry, cancel: threading.Event
) -> Callable[[], Iterator[bytes]]:
    def body() -> Iterator[bytes]:
        assert url is not None
        with source.stream("GET", url) as response:
            if response.status_code in EXPIRED_STATUSES:
                raise _SourceRefused(entry.path)
            if response.status_code >= 300:
                text = read_error_text(response)
                raise DownloadError(
                    f"downloading {entry.path} from the source failed: HTTP {response.status_code} {text[:200]}",
                    path=entry.path,
                )
            yield from _checked(response.iter_bytes(CHUNK), entry, cancel)

    return body


def _from_file(path: Path, entry: ManifestEntry, cancel: threading.Event) -> Callable[[], Iterator[bytes]]:
    def body() -> Iterator[bytes]:
        with path.open("rb") as handle:
            yield from _checked(iter(lambda: handle.read(CHUNK), b""), entry, cancel)

    return body
