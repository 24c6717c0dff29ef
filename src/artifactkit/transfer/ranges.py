"""Byte ranges of one object, for readers that seek (the `wandb://` filesystem's open files).

`open_ranges()` picks where a manifest entry's bytes come from: a verified cache object (read from
disk, no request), an http(s) reference (from its origin, whose ETag must still be the one the
manifest recorded), or a stored object (through its signed URL, which `url_for` renews when storage
refuses it). `wandb-artifact://` entries are followed to the stored file first (`references.follow`).

`read(start, end)` returns exactly the bytes [start, end) (a reference of unknown size may end
sooner) or raises, under the rules of whole-file downloads (`fetch.py`): a body that breaks off
with nothing new is asked for again with the transport's backoff (`RetryPolicy.max_attempts`), one
that breaks off after new bytes is continued from there, an answer that comes back short is
continued up to `ATTEMPTS` times, an expired URL is renewed up to `MAX_REFRESHES` times (a fresh
URL refused at once is not about expiry), and a 404 is final. A server that ignores `Range` is read
from its start and the bytes before `start` dropped.

A range says nothing about the file's MD5. A reader that reads a file from its first byte to its
last hands the bytes to a `Spool`, which verifies them and publishes them to the cache (so the
next reader needs no request); a mismatch fails the read and keeps nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from .._transport import Transport
from ..errors import DigestMismatchError, DownloadError
from ..manifest import ManifestEntry
from .cache import Cache, etag_key
from .fetch import UrlSource, check_reference_etag, range_start, wait_after_break
from .limits import ATTEMPTS, EXPIRED_STATUSES, MAX_REFRESHES, MAX_TRIES
from .plan import check_reference

log = logging.getLogger("artifactkit")


class RangeSource(Protocol):
    """Bytes [start, end) of one object."""

    def read(self, start: int, end: int) -> bytes: ...


class CachedObject:
    """A verified object in the cache: read from disk."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self, start: int, end: int) -> bytes:
        with self.path.open("rb") as f:
            f.seek(start)
            return f.read(max(0, end - start))


class StoredObject:
    """A stored file read through its signed URL: `url_for(None)` gives it, `url_for(refused)` a fresh one."""

    def __init__(self, transport: Transport, name: str, size: int, url_for: UrlSource) -> None:
        self.transport = transport
        self.name = name
        self.size = size
        self.url_for = url_for

    def read(self, start: int, end: int) -> bytes:
        end = min(end, self.size)
        if start >= end:
            return b""
        return read_range(self.transport, self.name, start, end, self.url_for, renewable=True)


class ReferenceObject:
    """An http(s) reference read from its origin; each answer's ETag must be the one the manifest recorded."""

    def __init__(self, transport: Transport, entry: ManifestEntry) -> None:
        assert entry.ref is not None
        self.transport = transport
        self.entry = entry
        self.url = entry.ref

    def read(self, start: int, end: int) -> bytes:
        size = self.entry.size  # 0 when the manifest does not know it
        if size:
            end = min(end, size)
        if start >= end:
            return b""
        return read_range(
            self.transport,
            self.entry.path,
            start,
            end,
            lambda _refused: self.url,
            renewable=False,
            check=lambda response: check_reference_etag(self.entry, response),
            exact=bool(size),
            label=f"reference {self.url}",
        )


def open_ranges(
    entry: ManifestEntry, transport: Transport, cache: Cache, url_for: UrlSource, *, spool: bool, where: str
) -> tuple[RangeSource, Spool | None]:
    """Where `entry`'s bytes are read from, and the `Spool` that verifies and caches a whole read.

    `entry` is a stored file or an http(s) reference (other references raise
    `UnsupportedReferenceError`); `url_for` gives a stored file's signed URL. A `Spool` is made
    only with `spool` and for a stored file that is not in the cache yet; `where` names the file
    in its errors.
    """
    if entry.ref is not None:
        check_reference(entry)
        hit = cache.lookup("etag", etag_key(entry.ref, entry.digest), entry.size or None)
        return (CachedObject(hit) if hit is not None else ReferenceObject(transport, entry)), None
    hit = cache.lookup("md5", entry.md5_hex, entry.size)
    if hit is not None:
        return CachedObject(hit), None
    source = StoredObject(transport, entry.path, entry.size, url_for)
    return source, Spool(cache, entry, where) if spool and entry.size else None


@dataclass
class _Reply:
    status: int
    data: bytes = b""
    broken: bool = False  # the body broke off (connection dropped, truncated)
    wrong: str = ""  # the answer is not the range asked for


def _ranged_get(
    transport: Transport, url: str, start: int, end: int, check: Callable[[httpx.Response], None] | None
) -> _Reply:
    """One GET of bytes [start, end), reading no more of the body than that."""
    want = end - start
    with transport.stream("GET", url, headers={"Range": f"bytes={start}-{end - 1}"}) as response:
        status = response.status_code
        if status not in (200, 206):
            return _Reply(status)
        if check is not None:
            check(response)
        if status == 206:
            first = range_start(response.headers.get("content-range"))
            if first is None or first > start:
                return _Reply(status, wrong=f"asked for bytes from {start}, the server sent them from {first}")
            skip = start - first
        else:
            skip = start  # the server ignored Range: drop the bytes before `start`
        body = bytearray()
        broken = False
        try:
            for chunk in response.iter_bytes():  # as they arrive: what came before a break is kept
                if skip:
                    cut = min(skip, len(chunk))
                    chunk, skip = chunk[cut:], skip - cut
                body += chunk
                if len(body) >= want:
                    break
        except (httpx.TransportError, httpx.StreamError):
            broken = True
    return _Reply(status, bytes(body[:want]), broken)


def read_range(
    transport: Transport,
    name: str,
    start: int,
    end: int,
    url_for: UrlSource,
    *,
    renewable: bool,
    check: Callable[[httpx.Response], None] | None = None,
    exact: bool = True,
    label: str = "",
) -> bytes:
    """Bytes [start, end) of the object at `url_for(None)`, under the rules in the module docstring.

    `renewable`: a refused URL may be exchanged for `url_for(refused)`. `check` sees each
    successful answer before its body is read and may raise. Without `exact`, an answer that ends
    early is the end of the object. `name` (a manifest path) and `label` name it in errors.
    """
    what = f"{name} ({label})" if label else name
    url = url_for(None)
    data = bytearray()
    position = start
    failures = breaks = refreshes = 0
    just_refreshed = False
    for _ in range(MAX_TRIES):
        reply = _ranged_get(transport, url, position, end, check)
        status = reply.status
        if status in EXPIRED_STATUSES:
            if not renewable or just_refreshed or refreshes >= MAX_REFRESHES:
                after = " even after a refresh" if refreshes else ""
                raise DownloadError(f"{what}: storage refused the URL (HTTP {status}){after}", path=name)
            url, refreshes, just_refreshed = url_for(url), refreshes + 1, True
            continue
        just_refreshed = False
        if status == 404:
            raise DownloadError(f"{what}: storage has no bytes for it (HTTP 404)", path=name)
        if status >= 500 or status == 429:  # still failing after the transport's own retries
            breaks += 1
            wait_after_break(transport.retry, what, f"storage answered HTTP {status}", breaks)
            continue
        if status not in (200, 206):
            raise DownloadError(f"{what}: HTTP {status} for bytes {start}-{end - 1}", path=name)
        data += reply.data
        position += len(reply.data)
        if position == end:
            return bytes(data)
        if reply.broken:
            if not reply.data:  # nothing new: wait before asking again
                breaks += 1
                wait_after_break(transport.retry, what, f"bytes {start}-{end - 1} broke off at {position}", breaks)
            continue  # else continue from where it broke
        if not reply.wrong and not exact:
            return bytes(data)  # the end of an object of unknown size
        failures += 1
        problem = reply.wrong or f"the server sent {position - start} of the {end - start} bytes asked for"
        if failures >= ATTEMPTS:
            raise DownloadError(
                f"{what}: reading bytes {start}-{end - 1} failed: {problem} ({failures} attempts)", path=name
            )
    raise DownloadError(f"{what}: bytes {start}-{end - 1} kept breaking off (at {position})", path=name)


class Spool:
    """The bytes of a file read in order from its start, kept until the whole file is there.

    A complete spool whose MD5 is the manifest's is published to the cache; other bytes are
    deleted and the read fails with `DigestMismatchError`. Reads that skip ahead are not spooled;
    the spool continues if the gap is read later. Until then the bytes wait in a locked temp file
    under the cache's `partial/` (a killed reader's is removed by cache cleanup).
    """

    def __init__(self, cache: Cache, entry: ManifestEntry, where: str) -> None:
        self.cache = cache
        self.entry = entry
        self.where = where
        self.next = 0
        self.hasher = hashlib.md5(usedforsecurity=False)
        self.temp: Path | None = None
        self.out: Any = None
        self.active = True

    def add(self, start: int, data: bytes) -> None:
        """Bytes read at `start`; the ones that continue the spool are kept."""
        if not self.active or start > self.next or start + len(data) <= self.next:
            return
        fresh = data[self.next - start :]
        try:
            if self.out is None:
                self.temp, self.out = self.cache.open_temp(f"fs-{self.entry.md5_hex}")
            self.out.write(fresh)
        except OSError as exc:  # a read-only cache still reads
            log.debug("not caching %s: %s", self.where, exc)
            self.discard()
            return
        self.hasher.update(fresh)
        self.next += len(fresh)
        if self.next >= self.entry.size:
            self._finish()

    def _finish(self) -> None:
        self.active = False
        self.out.close()
        self.out = None
        assert self.temp is not None
        actual = self.hasher.hexdigest()
        if actual != self.entry.md5_hex:
            self.temp.unlink(missing_ok=True)
            raise DigestMismatchError(
                f"{self.where}: the bytes read have MD5 {actual}, the manifest says {self.entry.md5_hex}",
                path=self.entry.path,
            )
        try:
            self.cache.publish(self.temp, "md5", self.entry.md5_hex)
            log.debug("cached %s after a full read", self.where)
        except OSError as exc:
            log.debug("could not cache %s: %s", self.where, exc)
            self.temp.unlink(missing_ok=True)

    def discard(self) -> None:
        """Stop spooling and delete what was kept."""
        self.active = False
        if self.out is not None:
            self.out.close()
            self.out = None
        if self.temp is not None:
            self.temp.unlink(missing_ok=True)
