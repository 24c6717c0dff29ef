"""Fetching one object's bytes, verified, over the Api's shared HTTP client.

Files under `SMALL_FILE` bytes are fetched whole into memory and checked before they are used.
Larger ones are hashed while they stream into a `.part` file (in the cache's `partial/`, or next
to the destination with `skip_cache`), by one process at a time under the object's lock. An
interrupted body (connection dropped, process killed) leaves its prefix there; the next attempt,
in this process or a later one, hashes that prefix and asks for the rest with `Range`. A body that
turns out short, long or corrupt is retried from scratch, and after `ATTEMPTS` such failures
raises `DigestMismatchError` naming the file; wrong bytes are always deleted. A body that breaks
off with nothing new received is asked for again with the transport's backoff, as often as the
transport retries a request (`RetryPolicy.max_attempts`). Files of
`MULTIPART_THRESHOLD` bytes or more come in `PART_SIZE` ranged parts, fetched in parallel, where
that can add bandwidth (`ranged_parts_help`: not from a server on this machine), with finished
parts listed in a `.parts` sidecar so a resume fetches only the missing ones. A refused (expired)
signed URL is exchanged for a fresh one.

All requests share a bounded number of slots (`max_workers`, at most the client's connection
pool), so parallel files and parallel parts never oversubscribe the pool or deadlock. A request
the server asks to retry later gives its slot back while it waits (`slots.Slots`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import queue
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from .._transport import RetryPolicy, Transport, is_loopback_host
from ..errors import DigestMismatchError, DownloadError
from ..manifest import ManifestEntry
from .cache import Cache, etag_key
from .limits import (
    ATTEMPTS,
    CHUNK,
    EMPTY_MD5,
    EXPIRED_STATUSES,
    MAX_PART_WORKERS,
    MAX_REFRESHES,
    MAX_TRIES,
    MULTIPART_THRESHOLD,
    PART_SIZE,
    PIPELINE_MIN,
    SINK_DEPTH,
    SMALL_FILE,
)
from .plan import expected_size
from .progress import Progress
from .root_copy import RootCopy, write_all
from .slots import Slots
from .wandb_cache import WandbCache

log = logging.getLogger("artifactkit")

_MAX_PIECES = 256  # pieces per batch handed to the sink (well under the system's IOV_MAX for writev)
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")

# Given None, the URL to start with; given a refused URL, a fresh one.
UrlSource = Callable[[str | None], str]


class Cancelled(Exception):
    """The download was interrupted (Ctrl-C in the main thread); partial bytes stay for a resume."""


@dataclass(frozen=True)
class Source:
    """Verified bytes to place: a cache object, a private temp file (`owned`), or small `data` in memory."""

    path: Path | None
    owned: bool = False
    data: bytes | None = None
    key: str | None = None  # the cache key of a cache object (its MD5, or the reference's key)
    stat: os.stat_result | None = None  # the cache object's stat, when already known


class _Expired(Exception):
    def __init__(self, status: int, progressed: bool) -> None:
        super().__init__(status)
        self.status = status
        self.progressed = progressed


class _Broken(Exception):
    """The body stopped early (connection dropped, server error); the bytes so far are on disk."""

    def __init__(self, reason: str, progressed: bool, offset: int, hasher: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.progressed = progressed
        self.offset = offset
        self.hasher = hasher


class _StartOver(Exception):
    """The bytes on disk cannot be continued (range refused or answered wrongly)."""


class _NoRanges(Exception):
    """The server ignores `Range`; fetch the file in one piece."""


def _strip_query(url: str) -> str:
    return url.split("?", 1)[0]


def ranged_parts_help(url: str) -> bool:
    """Whether fetching a large file in parallel ranged parts can be faster than one stream.

    Parts pay off against storage that limits each connection (object stores, long links); a
    server on this machine is bound by its own CPU, so one stream (hashed as it arrives, written
    once) is the fastest there. `ARTIFACTKIT_RANGED_PARTS=always|never` overrides the guess.
    """
    choice = os.environ.get("ARTIFACTKIT_RANGED_PARTS", "auto").strip().lower()
    if choice in ("always", "never"):
        return choice == "always"
    return not is_loopback_host(urlsplit(url).hostname or "")


def wait_after_break(
    retry: RetryPolicy, name: str, reason: str, breaks: int, cancel: threading.Event | None = None
) -> None:
    """Wait before asking again for a body that broke off with nothing new received.

    A dropped connection is the network's failure, not wrong bytes: it is retried as often and
    with the same backoff as the transport retries any request (`retry`), not within the
    `ATTEMPTS` that bytes which come back wrong get. Giving up raises `DownloadError`; `cancel`
    (set by Ctrl-C) ends the wait with `Cancelled`.
    """
    if breaks >= retry.max_attempts:
        raise DownloadError(f"{name}: {reason} ({breaks} attempts)", path=name)
    delay = retry.delay(breaks, None)
    log.info("%s: %s; asking again in %.2f s (attempt %d of %d)", name, reason, delay, breaks + 1, retry.max_attempts)
    if cancel is None:
        time.sleep(delay)
    elif cancel.wait(delay):
        raise Cancelled()


def normalise_etag(value: str | None) -> str:
    return (value or "").strip().removeprefix("W/").strip('"')


def check_reference_etag(entry: ManifestEntry, response: httpx.Response) -> None:
    """Raise `DigestMismatchError` when a reference's origin now has another ETag than the manifest's."""
    if entry.digest == entry.ref:  # W&B records the URL itself when the origin had no ETag
        return
    etag = normalise_etag(response.headers.get("etag"))
    if etag not in {entry.digest, normalise_etag(str(entry.extra.get("etag", "")))} - {""}:
        shown = repr(etag) if etag else "no ETag"
        raise DigestMismatchError(
            f"{entry.path}: reference {entry.ref} now has {shown}, the manifest recorded "
            f"{entry.digest!r}; its content changed since the version was logged",
            path=entry.path,
        )


class Fetcher:
    """Fetches objects into the cache (or a private temp file) with verification and resume."""

    def __init__(
        self,
        transport: Transport,
        cache: Cache,
        progress: Progress,
        workers: int,
        cancel: threading.Event | None = None,
        wandb_cache: WandbCache | None = None,
        slots: Slots | None = None,
    ) -> None:
        self.transport = transport
        self.cache = cache
        self.wandb_cache = wandb_cache
        self.progress = progress
        self.workers = workers
        self.cancel = cancel or threading.Event()
        self.bytes_fetched = 0
        self.from_wandb_cache: set[str] = set()  # MD5s taken from wandb's cache instead of fetched
        self._count_lock = threading.Lock()
        # `slots` given: a budget shared with other fetchers (several versions downloaded at once)
        self.shared_slots = slots is not None
        self.slots = slots or Slots(min(workers, transport.max_connections), self.cancel, Cancelled)

    # -- plumbing -------------------------------------------------------------------------------

    def _fetched(self, n: int) -> None:
        with self._count_lock:
            self.bytes_fetched += n
        self.progress.bytes(n)

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled()

    @contextlib.contextmanager
    def _get(self, url: str, headers: dict[str, str]) -> Iterator[httpx.Response]:
        """One GET holding one of the shared request slots for as long as its body streams.

        Waits before retries (429, 503, a dropped connection) are spent without the slot.
        """
        with self.slots.hold():
            self._check_cancel()
            with self.transport.stream("GET", url, headers=headers, wait=self.slots.wait) as response:
                yield response

    # -- stored objects (by MD5) ------------------------------------------------------------------

    def fetch_object(
        self,
        name: str,
        md5_hex: str,
        size: int | None,
        url_for: UrlSource,
        *,
        skip_cache: bool,
        temp_dir: Path,
        copy: RootCopy | None = None,
    ) -> Source:
        """The verified bytes of `md5_hex`: from the cache, or fetched into it (or into `temp_dir`).

        `name` (a manifest path holding these bytes) is what errors name. Small files are fetched
        whole into memory and published to the cache as they are; two processes racing for the
        same small file may both fetch it (both publish the same bytes atomically). Larger files
        are fetched by one process at a time, into a `.part` file that a later attempt resumes;
        `copy`, if given, is filled with the same bytes as they stream (the download root's own
        copy, published by the caller once this returns; left alone by every other path).
        """
        if not skip_cache:
            hit = self.cache.lookup("md5", md5_hex, size)
            if hit is not None:
                log.debug("%s: from the cache (%s)", name, hit)
                return Source(hit, key=md5_hex)
            reused = self._from_wandb_cache(name, md5_hex, size)
            if reused is not None:
                with self._count_lock:
                    self.from_wandb_cache.add(md5_hex)
                return reused
        if size is not None and size < SMALL_FILE:
            data = self._download_small(name, url_for, size, md5_hex)
            if not skip_cache:
                try:
                    return Source(self.cache.store_bytes("md5", md5_hex, data), key=md5_hex)
                except OSError:
                    pass  # a read-only cache still downloads: the bytes are placed from memory
            return Source(None, data=data)
        if skip_cache:
            part = temp_dir / f".artifactkit-{secrets.token_hex(6)}.part"
            try:
                self._download(part, name, url_for, size, md5_hex)
            except BaseException:
                _remove_part(part)
                raise
            return Source(part, owned=True)
        with self.cache.lock("md5", md5_hex, cancelled=self.cancel.is_set):
            hit = self.cache.lookup("md5", md5_hex, size)  # another process may have fetched it meanwhile
            if hit is not None:
                return Source(hit, key=md5_hex)
            part = self.cache.partial_path("md5", md5_hex)
            self._download(part, name, url_for, size, md5_hex, copy)
            return Source(self.cache.publish(part, "md5", md5_hex), key=md5_hex)

    def _from_wandb_cache(self, name: str, md5_hex: str, size: int | None) -> Source | None:
        """wandb's cached copy of these bytes, verified on the way into our cache; None to fetch instead.

        wandb's cache is only read. Its copy is hashed while it is copied; a mismatch is logged and
        the file fetched as usual.
        """
        if self.wandb_cache is None:
            return None
        candidate = self.wandb_cache.find(md5_hex, size)
        if candidate is None:
            return None
        if size is not None and size < SMALL_FILE:
            data = self.wandb_cache.read_verified(candidate, md5_hex, name)
            if data is None:
                return None
            try:
                return Source(self.cache.store_bytes("md5", md5_hex, data), key=md5_hex)
            except OSError:
                return Source(None, data=data)  # a read-only cache: placed from memory
        with self.cache.lock("md5", md5_hex, cancelled=self.cancel.is_set):
            hit = self.cache.lookup("md5", md5_hex, size)
            if hit is not None:
                return Source(hit, key=md5_hex)
            # Named like the cache's other temps (`partial/*.tmp`): cleanup removes it if a crash abandons it.
            part = self.cache.partial_path("md5", md5_hex)
            copy = part.with_name(f"md5-{md5_hex}.wandb-{secrets.token_hex(4)}.tmp")
            if not self.wandb_cache.copy_verified(candidate, copy, md5_hex, name):
                return None
            return Source(self.cache.publish(copy, "md5", md5_hex), key=md5_hex)

    def _download_small(self, name: str, url_for: UrlSource, size: int, md5_hex: str) -> bytes:
        """A small file's bytes, fetched whole and verified; retried, refreshing the URL if refused."""
        if size == 0 and md5_hex == EMPTY_MD5:
            return b""  # nothing to ask the server for
        url = url_for(None)
        failures = refreshes = breaks = 0
        just_refreshed = False
        problem = ""
        for _ in range(MAX_TRIES):
            try:
                data = self._get_whole(name, url, size)
            except _Expired as expired:
                if just_refreshed or refreshes >= MAX_REFRESHES:
                    raise DownloadError(
                        f"{name}: storage refused the download URL (HTTP {expired.status}) even after a refresh",
                        path=name,
                    ) from None
                url, refreshes, just_refreshed = url_for(url), refreshes + 1, True
                continue
            except _Broken as broken:
                breaks += 1
                self._after_break(name, broken.reason, breaks)
                just_refreshed = False
                continue
            except _StartOver as start_over:
                problem = str(start_over)
                data = None
            just_refreshed = False
            if data is not None:
                if len(data) != size:
                    problem = f"the server sent {len(data)} of {size} bytes"
                else:
                    actual = hashlib.md5(data, usedforsecurity=False).hexdigest()
                    if actual == md5_hex:
                        return data
                    problem = f"the bytes have MD5 {actual}, the manifest says {md5_hex}"
            failures += 1
            if failures >= ATTEMPTS:
                break
        if problem.startswith(("the bytes", "the server sent")):
            raise DigestMismatchError(f"{name}: {problem} (after {failures} attempts)", path=name)
        raise DownloadError(f"{name}: {problem} ({failures} attempts)", path=name)

    def _after_break(self, name: str, reason: str, breaks: int) -> None:
        wait_after_break(self.transport.retry, name, reason, breaks, self.cancel)

    def _get_whole(self, name: str, url: str, size: int) -> bytes:
        """One GET of a whole small file into memory, reading no more than `size` bytes."""
        with self._get(url, {}) as response:
            self._check_status(name, url, response, offset=0)
            body = bytearray()
            try:
                for chunk in response.iter_bytes(CHUNK):
                    self._check_cancel()
                    if len(body) + len(chunk) > size:
                        raise _StartOver(f"the server sent more than the {size} bytes the manifest says")
                    body += chunk
                    self._fetched(len(chunk))
            except (httpx.TransportError, httpx.StreamError) as exc:
                raise _Broken(
                    f"the connection broke after {len(body)} bytes ({type(exc).__name__})",
                    progressed=False,
                    offset=0,
                    hasher=None,
                ) from None
        return bytes(body)

    def _check_status(self, name: str, url: str, response: httpx.Response, *, offset: int) -> None:
        """Raise what a storage answer other than 200/206 means for the transfer."""
        status = response.status_code
        if status in EXPIRED_STATUSES:
            raise _Expired(status, progressed=False)
        if status == 416:
            raise _StartOver(f"the server cannot serve bytes from offset {offset}")
        if status == 404:
            raise DownloadError(f"{name}: storage has no bytes for it (HTTP 404 from {_strip_query(url)})", path=name)
        if status >= 500 or status == 429:
            raise _Broken(f"storage answered HTTP {status}", progressed=False, offset=offset, hasher=None)
        if status not in (200, 206):
            raise DownloadError(f"{name}: HTTP {status} from {_strip_query(url)}", path=name)

    def _download(
        self, part: Path, name: str, url_for: UrlSource, size: int | None, md5_hex: str, copy: RootCopy | None = None
    ) -> None:
        """Make `part` hold the verified bytes, refreshing the URL whenever storage refuses it."""
        url = url_for(None)
        ranged = size is not None and size >= MULTIPART_THRESHOLD and ranged_parts_help(url)
        refreshes = 0
        while True:
            try:
                if ranged:
                    assert size is not None
                    self._ranged(part, name, url, size, md5_hex, report_resumed=not refreshes)
                else:
                    self._stream(part, name, url, size, md5_hex, report_resumed=not refreshes, copy=copy)
                return
            except DigestMismatchError:
                _remove_part(part)  # wrong bytes are never kept
                raise
            except _Expired as expired:
                # A fresh URL refused straight away means it is not about expiry: give up.
                if (refreshes and not expired.progressed) or refreshes >= MAX_REFRESHES:
                    raise DownloadError(
                        f"{name}: storage refused the download URL (HTTP {expired.status}) even after a refresh",
                        path=name,
                    ) from None
                refreshes += 1
                url = url_for(url)
            except _NoRanges:
                _remove_part(part)
                ranged = False

    def _resume_state(self, part: Path, size: int | None, *, report: bool) -> tuple[int, Any]:
        """How much of the object is already on disk, and the MD5 state over those bytes."""
        hasher = hashlib.md5(usedforsecurity=False)
        sidecar = _sidecar(part)
        if sidecar.exists():  # a ranged download's file is not a prefix
            _remove_part(part)
            return 0, hasher
        try:
            offset = part.stat().st_size
        except FileNotFoundError:
            return 0, hasher
        if size is not None and offset > size:
            part.unlink()
            return 0, hasher
        with part.open("rb") as existing:
            while chunk := existing.read(CHUNK):
                hasher.update(chunk)
        if offset and report:
            self.progress.bytes(offset)
        if offset:
            log.info("resuming %s at byte %d of %s (kept from an interrupted download)", part.name, offset, size or "?")
        return offset, hasher

    def _stream(
        self,
        part: Path,
        name: str,
        url: str,
        size: int | None,
        md5_hex: str,
        *,
        report_resumed: bool,
        copy: RootCopy | None = None,
    ) -> None:
        """Fill `part` with one body (continuing what is on disk), verify it, retry what failed."""
        offset, hasher = self._resume_state(part, size, report=report_resumed)
        initial = offset
        failures = breaks = 0
        problem = ""
        for _ in range(MAX_TRIES):
            complete_on_disk = size is not None and offset == size
            if not complete_on_disk:
                try:
                    offset, hasher = self._append(part, name, url, offset, hasher, size, copy)
                except _Expired as expired:
                    raise _Expired(expired.status, progressed=offset > initial) from None
                except _Broken as broken:
                    offset, hasher = broken.offset, broken.hasher
                    if not broken.progressed:
                        # Keeps the bytes if it gives up: they are a correct prefix as far as we
                        # know, and a later run continues from them.
                        breaks += 1
                        self._after_break(name, broken.reason, breaks)
                    continue
                except _StartOver as start_over:
                    _remove_part(part)
                    offset, hasher = 0, hashlib.md5(usedforsecurity=False)
                    problem = str(start_over)
                    failures += 1
                    if failures >= ATTEMPTS:
                        break
                    continue
            if size is not None and offset < size:
                problem = f"the server sent {offset} of {size} bytes"
                failures += 1
                if failures >= ATTEMPTS:
                    break
                continue  # ask for the rest
            actual = hasher.hexdigest()
            if actual == md5_hex:
                return
            problem = f"the bytes have MD5 {actual}, the manifest says {md5_hex}"
            _remove_part(part)  # wrong bytes are never kept
            offset, hasher = 0, hashlib.md5(usedforsecurity=False)
            failures += 1
            if failures >= ATTEMPTS:
                break
        _remove_part(part)
        raise DigestMismatchError(f"{name}: {problem} (after {failures} attempts)", path=name)

    def _append(
        self,
        part: Path,
        name: str,
        url: str,
        offset: int,
        hasher: Any,
        size: int | None,
        copy: RootCopy | None = None,
    ) -> tuple[int, Any]:
        """One request for the bytes from `offset` on, appended to `part` (and `copy`) and hashed on the way."""
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        start = offset
        with self._get(url, headers) as response:
            try:
                self._check_status(name, url, response, offset=offset)
            except _Broken as broken:
                raise _Broken(broken.reason, progressed=False, offset=offset, hasher=hasher) from None
            status = response.status_code
            if status == 206:
                first = range_start(response.headers.get("content-range"))
                if first != offset:
                    raise _StartOver(f"asked for bytes from {offset}, the server sent them from {first}")
            elif offset:  # 200: the server ignored Range; start from scratch
                offset, hasher = 0, hashlib.md5(usedforsecurity=False)
            if copy is not None:
                copy.restart(part, offset)  # it holds what `part` holds before the body continues it
            try:
                with part.open("ab" if offset else "wb", buffering=0) as out:
                    # A long body is hashed and written on threads of their own while the next bytes
                    # arrive (both release the GIL); each byte is hashed once and written once per file.
                    long_body = size is None or size - offset >= PIPELINE_MIN
                    sink = _Sink(out.fileno(), hasher, copy) if long_body else None
                    try:
                        for piece in body_pieces(response):
                            self._check_cancel()
                            if size is not None and offset + len(piece) > size:
                                raise _StartOver(f"the server sent more than the {size} bytes the manifest says")
                            if sink is None:
                                write_all(out.fileno(), piece)
                                if copy is not None:
                                    copy.write([piece])
                                hasher.update(piece)
                            else:
                                sink.put(piece)
                            offset += len(piece)
                            self._fetched(len(piece))
                    finally:
                        if sink is not None:
                            sink.close()  # everything received is on disk and hashed, even on an error
            except (httpx.TransportError, httpx.StreamError) as exc:
                raise _Broken(
                    f"the connection broke after {offset} bytes ({type(exc).__name__})",
                    progressed=offset > start,
                    offset=offset,
                    hasher=hasher,
                ) from None
        return offset, hasher

    def _ranged(self, part: Path, name: str, url: str, size: int, md5_hex: str, *, report_resumed: bool) -> None:
        """Like `_stream`, in parallel ranged parts; finished parts survive an interruption."""
        for attempt in range(1, ATTEMPTS + 1):
            state = _RangedState.load_or_create(part, size)
            if report_resumed and attempt == 1:
                self.progress.bytes(sum(state.part_length(i) for i in state.done))
            if attempt == 1 and state.done:
                log.info("resuming %s: %d of its %d parts are already here", part.name, len(state.done), state.count)
            actual = self._ranged_attempt(part, name, url, state)
            if actual == md5_hex:
                _sidecar(part).unlink(missing_ok=True)
                return
            _remove_part(part)
            problem = f"the bytes have MD5 {actual}, the manifest says {md5_hex}"
            if attempt == ATTEMPTS:
                raise DigestMismatchError(f"{name}: {problem} (after {attempt} attempts)", path=name)

    def _ranged_attempt(self, part: Path, name: str, url: str, state: _RangedState) -> str:
        """Fetch the parts not yet on disk, in parallel; returns the MD5 of the whole file."""
        initial = len(state.done)
        hasher = _OrderedHasher(part, state)
        stop = threading.Event()

        def fetch_part(index: int) -> None:
            if stop.is_set():
                return
            try:
                self._fetch_part(part, name, url, state, index)
            except BaseException:
                stop.set()  # the other parts not yet started are left for the next try
                raise
            state.mark_done(index)
            hasher.advance()

        todo = [i for i in range(state.count) if i not in state.done]
        workers = max(1, min(self.workers, MAX_PART_WORKERS, len(todo) or 1))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="artifactkit-part") as pool:
            futures = [pool.submit(fetch_part, i) for i in todo]
        errors = [error for error in (f.exception() for f in futures) if error is not None]
        for error in errors:
            if not isinstance(error, _Expired):
                raise error
        if errors:
            status = errors[0].status  # type: ignore[attr-defined]
            raise _Expired(status, progressed=len(state.done) > initial)
        hasher.advance()
        return hasher.hexdigest()

    def _fetch_part(self, part: Path, name: str, url: str, state: _RangedState, index: int) -> None:
        start = index * state.part_size
        end = start + state.part_length(index) - 1
        breaks = 0
        position = start
        for _ in range(MAX_TRIES):
            headers = {"Range": f"bytes={position}-{end}"}
            before = position
            with self._get(url, headers) as response:
                status = response.status_code
                if status in EXPIRED_STATUSES:
                    raise _Expired(status, progressed=False)
                if status == 200:
                    raise _NoRanges()
                if status == 404:
                    raise DownloadError(f"{name}: storage has no bytes for it (HTTP 404)", path=name)
                if status == 206 and range_start(response.headers.get("content-range")) == position:
                    with part.open("r+b") as out:  # a handle per part: no shared file position
                        out.seek(position)
                        try:
                            for chunk in response.iter_bytes(CHUNK):
                                self._check_cancel()
                                if position + len(chunk) > end + 1:
                                    raise DigestMismatchError(
                                        f"{name}: the server sent more bytes than the range asked for", path=name
                                    )
                                out.write(chunk)
                                position += len(chunk)
                                self._fetched(len(chunk))
                        except (httpx.TransportError, httpx.StreamError):
                            pass  # continue the part from `position`
                elif status not in (206, 416) and status < 500 and status != 429:
                    raise DownloadError(f"{name}: HTTP {status} for bytes {start}-{end}", path=name)
            if position == end + 1:
                return
            if position == before:
                breaks += 1
                self._after_break(name, f"bytes {start}-{end} kept breaking off (at {position})", breaks)
        raise DownloadError(f"{name}: bytes {start}-{end} kept breaking off (at {position})", path=name)

    # -- references (http/https) ----------------------------------------------------------------

    def fetch_reference(self, entry: ManifestEntry, *, skip_cache: bool, temp_dir: Path) -> Source:
        """Fetch an http(s) reference; the server's ETag must match the one the manifest recorded."""
        assert entry.ref is not None
        key = etag_key(entry.ref, entry.digest)
        size = expected_size(entry)
        if skip_cache:
            part = temp_dir / f".artifactkit-{secrets.token_hex(6)}.part"
            try:
                self._reference_into(part, entry, size)
            except BaseException:
                part.unlink(missing_ok=True)
                raise
            return Source(part, owned=True)
        hit = self.cache.lookup("etag", key, size)
        if hit is not None:
            return Source(hit, key=key)
        with self.cache.lock("etag", key, cancelled=self.cancel.is_set):
            hit = self.cache.lookup("etag", key, size)
            if hit is not None:
                return Source(hit, key=key)
            part = self.cache.partial_path("etag", key)
            try:
                self._reference_into(part, entry, size)
            except BaseException:
                part.unlink(missing_ok=True)
                raise
            return Source(self.cache.publish(part, "etag", key), key=key)

    def _reference_into(self, part: Path, entry: ManifestEntry, size: int | None) -> None:
        assert entry.ref is not None
        problem = ""
        for _attempt in range(ATTEMPTS):
            written = 0
            with self._get(entry.ref, {}) as response:
                if response.status_code != 200:
                    raise DownloadError(
                        f"{entry.path}: HTTP {response.status_code} from reference {entry.ref}", path=entry.path
                    )
                check_reference_etag(entry, response)
                try:
                    with part.open("wb") as out:
                        for chunk in response.iter_bytes(CHUNK):
                            self._check_cancel()
                            written += len(chunk)
                            if size is not None and written > size:
                                raise DigestMismatchError(
                                    f"{entry.path}: reference {entry.ref} sent more than {size} bytes",
                                    path=entry.path,
                                )
                            out.write(chunk)
                            self._fetched(len(chunk))
                except (httpx.TransportError, httpx.StreamError) as exc:
                    problem = f"the connection broke after {written} bytes ({type(exc).__name__})"
                    continue
            if size is None or written == size:
                return
            problem = f"reference {entry.ref} sent {written} of {size} bytes"
        part.unlink(missing_ok=True)
        raise DigestMismatchError(f"{entry.path}: {problem} (after {ATTEMPTS} attempts)", path=entry.path)


class _Sink:
    """Writes and hashes a body's pieces in order, a few batches behind the network.

    The writing and the hashing each run on a thread of their own, so that a long body costs the
    slowest of receiving, writing and hashing rather than their sum (`os.writev` and `md5.update`
    release the GIL). The writing thread also fills the download root's copy, if there is one.
    Pieces are handed over in batches of about `CHUNK` bytes, as the list of pieces the socket
    gave (never joined into one buffer: no byte is copied in Python).
    """

    def __init__(self, fd: int, hasher: Any, copy: RootCopy | None = None) -> None:
        self._error: BaseException | None = None
        self._batch: list[bytes] = []
        self._batched = 0

        def write(pieces: list[bytes]) -> None:
            write_all(fd, *pieces)
            if copy is not None:
                copy.write(pieces)  # the root's copy, from the same buffers (see root_copy.py)

        self._lanes = [
            self._lane(write, "artifactkit-write"),
            self._lane(lambda pieces: [hasher.update(p) for p in pieces], "artifactkit-hash"),
        ]

    def _lane(
        self, consume: Callable[[list[bytes]], object], name: str
    ) -> tuple[queue.Queue[list[bytes] | None], threading.Thread]:
        batches: queue.Queue[list[bytes] | None] = queue.Queue(maxsize=SINK_DEPTH)
        thread = threading.Thread(target=self._run, args=(batches, consume), name=name, daemon=True)
        thread.start()
        return batches, thread

    def _run(self, batches: queue.Queue[list[bytes] | None], consume: Callable[[list[bytes]], object]) -> None:
        while (batch := batches.get()) is not None:
            if self._error is None:
                try:
                    consume(batch)
                except BaseException as exc:  # re-raised in the receiving thread
                    self._error = exc

    def put(self, piece: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._batch.append(piece)
        self._batched += len(piece)
        if self._batched >= CHUNK or len(self._batch) >= _MAX_PIECES:
            self._hand_over()

    def _hand_over(self) -> None:
        batch, self._batch, self._batched = self._batch, [], 0
        for batches, _ in self._lanes:
            batches.put(batch)

    def close(self) -> None:
        if self._batch:
            self._hand_over()
        for batches, _ in self._lanes:
            batches.put(None)
        for _, thread in self._lanes:
            thread.join()
        if self._error is not None:
            raise self._error


def body_pieces(response: httpx.Response) -> Iterator[bytes]:
    """A response body in the pieces the connection delivers them (up to 64 KiB each).

    An unencoded body (what storage sends for a file) is read raw: nothing is joined into larger
    buffers, which would copy every byte once more in Python. An encoded one (`Content-Encoding:
    gzip`) is decoded, so that the bytes hashed are the file's.
    """
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    return response.iter_raw() if encoding in ("", "identity") else response.iter_bytes()


def range_start(content_range: str | None) -> int | None:
    """The first byte a 206 answer holds (`bytes 10-19/100`), None when the header says nothing usable."""
    match = _CONTENT_RANGE.fullmatch((content_range or "").strip())
    return int(match.group(1)) if match else None


def _sidecar(part: Path) -> Path:
    return part.with_name(part.name + ".parts")


def _remove_part(part: Path) -> None:
    part.unlink(missing_ok=True)
    _sidecar(part).unlink(missing_ok=True)


class _RangedState:
    """Which parts of a ranged download are on disk, kept in `<part>.parts` (replaced atomically)."""

    def __init__(self, part: Path, size: int, part_size: int, done: set[int]) -> None:
        self.part = part
        self.size = size
        self.part_size = part_size
        self.count = (size + part_size - 1) // part_size
        self.done = done
        self._lock = threading.Lock()

    @classmethod
    def load_or_create(cls, part: Path, size: int) -> _RangedState:
        sidecar = _sidecar(part)
        try:
            doc = json.loads(sidecar.read_text())
            if (
                isinstance(doc, dict)
                and doc.get("size") == size
                and isinstance(doc.get("part_size"), int)
                and doc["part_size"] > 0
                and part.stat().st_size == size
            ):
                done = {int(i) for i in doc.get("done", [])}
                return cls(part, size, doc["part_size"], done)
        except (OSError, ValueError, TypeError):
            pass
        with part.open("wb") as f:
            f.truncate(size)
        state = cls(part, size, PART_SIZE, set())
        state._save()
        return state

    def part_length(self, index: int) -> int:
        return min(self.size, (index + 1) * self.part_size) - index * self.part_size

    def mark_done(self, index: int) -> None:
        with self._lock:
            self.done.add(index)
            self._save()

    def _save(self) -> None:
        sidecar = _sidecar(self.part)
        temp = sidecar.with_name(f"{sidecar.name}.{secrets.token_hex(4)}.tmp")
        temp.write_text(json.dumps({"size": self.size, "part_size": self.part_size, "done": sorted(self.done)}))
        os.replace(temp, sidecar)


class _OrderedHasher:
    """MD5 over a ranged file, advanced part by part as soon as the parts before it are complete."""

    def __init__(self, part: Path, state: _RangedState) -> None:
        self._part = part
        self._state = state
        self._hasher = hashlib.md5(usedforsecurity=False)
        self._next = 0
        self._lock = threading.Lock()

    def advance(self) -> None:
        with self._lock, self._part.open("rb") as f:
            while self._next < self._state.count and self._next in self._state.done:
                f.seek(self._next * self._state.part_size)
                remaining = self._state.part_length(self._next)
                while remaining:
                    chunk = f.read(min(CHUNK, remaining))
                    if not chunk:
                        raise DigestMismatchError(f"{self._part} is shorter than expected")
                    self._hasher.update(chunk)
                    remaining -= len(chunk)
                self._next += 1

    def hexdigest(self) -> str:
        with self._lock:
            if self._next < self._state.count:
                return "(incomplete)"
            return self._hasher.hexdigest()
