"""`wandb://` paths for fsspec: artifact files read (and, in a transaction, written) like any other files.

    import pandas as pd
    df = pd.read_csv("wandb://my-team/my-project/dataset:v3/train/part-0.csv")

Paths are `wandb://ENTITY/PROJECT/COLLECTION:VERSION_OR_ALIAS/path/in/artifact`. Listing
`wandb://ENTITY` gives the entity's projects, `wandb://ENTITY/PROJECT` the project's collections,
`.../COLLECTION` its versions, and a version its files and folders, these from the version's
manifest (fetched once per version and kept in the shared cache). `open()` returns a seekable
file that reads byte ranges through signed URLs in read-ahead blocks: reading a few KiB of a
50 GB file transfers about one block. A file read from start to end is verified against its MD5
and lands in the shared cache, so the next open reads it from disk;
`get()` goes through the download engine (verified, cached, resumable).

The filesystem is read-only except inside `with fs.transaction:`; files written there
(`open(..., "wb")`, `put`, `pipe`) under `wandb://ENTITY/PROJECT/COLLECTION/path` become one new version
of each collection when the block ends without an exception, through the same upload as `Api.upload`.
An abandoned transaction sends nothing.

Installed with `pip install 'artifactkit[fsspec]'`; fsspec finds the class through the package's
`fsspec.specs` entry point. Configuration is `Api`'s: storage options `api_key`, `base_url`,
`cache_dir`, `timeout`, else the `WANDB_*` environment variables, `~/.netrc` or a running
`artifactkit serve`.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import glob
import hashlib
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, Protocol

import httpx

try:
    from fsspec import AbstractFileSystem
    from fsspec.spec import AbstractBufferedFile, make_instance
    from fsspec.transaction import Transaction
except ImportError as exc:  # pragma: no cover - only without the extra
    raise ImportError("artifactkit.fs needs fsspec: pip install 'artifactkit[fsspec]'") from exc

from . import _lookups
from ._paths import ArtifactPath, check_alias, check_part, version_index
from ._transport import RetryPolicy, Transport
from .api import Api
from .artifacts import Artifact
from .errors import (
    APITimeoutError,
    ArtifactkitError,
    AuthenticationError,
    DigestMismatchError,
    DownloadError,
    InvalidNameError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
    UnsafePathError,
)
from .files import ArtifactFiles
from .manifest import Manifest, ManifestEntry, ManifestError, check_entry_path
from .transfer.cache import Cache, etag_key, manifest_key
from .transfer.fetch import check_reference_etag
from .transfer.references import follow

logger = logging.getLogger("artifactkit")

PROTOCOL = "wandb"
DEFAULT_BLOCK_SIZE = 4 << 20  # bytes per read-ahead block
PATH_FORM = "'wandb://ENTITY/PROJECT/COLLECTION:VERSION/path/in/artifact'"
_ATTEMPTS = 4
_EXPIRED = frozenset({400, 401, 403})
_CHUNK = 1 << 20
_MAGIC = re.compile(r"[*?\[]")  # a glob pattern character
_URL_BATCH = 100  # download URLs asked for in one request (the `files(names:)` page the server allows)


# ----------------------------------------------------------------------------- paths


@dataclass(frozen=True)
class WandbPath:
    """A parsed `wandb://` path; the parts it does not name are None (or "" for `path`)."""

    entity: str
    project: str | None = None
    collection: str | None = None
    alias: str | None = None  # as written: 'v3', 'latest'; None when no version is named
    path: str = ""  # inside the version

    @property
    def collection_path(self) -> str:
        return f"{self.entity}/{self.project}/{self.collection}"

    @property
    def version_root(self) -> str:
        """`entity/project/collection:alias`, the prefix every name inside the version carries."""
        return f"{self.collection_path}:{self.alias}"

    def inside(self, path: str) -> str:
        """The name of `path` (inside the version) as listings show it, under the alias as written."""
        return f"{self.version_root}/{path}" if path else self.version_root


def parse_path(raw: str) -> WandbPath:
    """Split and check a `wandb://` path (with or without the protocol); nothing is sent.

    Malformed names raise `InvalidNameError` (a `ValueError`); a path inside an artifact that is
    absolute, has `.`/`..` or empty components or backslashes is refused with `ValueError`, its
    cause an `UnsafePathError`.
    """
    text = ArtifactFileSystem._strip_protocol(raw)
    if not text:
        raise InvalidNameError("the path names nothing", expected=PATH_FORM)
    scheme, sep, _ = text.partition("://")
    if sep and "/" not in scheme:
        raise InvalidNameError(f"{raw!r} is not a wandb:// path", expected=PATH_FORM)
    parts = text.split("/")
    entity = check_part("entity", parts[0], PATH_FORM)
    if len(parts) == 1:
        return WandbPath(entity)
    project = check_part("project", parts[1], PATH_FORM)
    if len(parts) == 2:
        return WandbPath(entity, project)
    name, sep, alias = parts[2].partition(":")
    collection = check_part("artifact name", name, PATH_FORM)
    checked_alias = check_alias(alias) if sep else None
    inner = "/".join(parts[3:])
    if inner:
        try:
            check_entry_path(inner)
        except ManifestError as exc:
            unsafe = UnsafePathError(f"refusing {raw!r}: {exc}", path=inner)
            raise ValueError(str(unsafe)) from unsafe
    return WandbPath(entity, project, collection, checked_alias, inner)


def _fs_error(exc: ArtifactkitError, path: str) -> OSError | ValueError | None:
    """The fsspec-convention exception for an artifactkit error (None: raise it as it is)."""
    if isinstance(exc, NotFoundError):
        return FileNotFoundError(errno.ENOENT, str(exc), path)
    if isinstance(exc, (PermissionDeniedError, AuthenticationError)):
        return PermissionError(errno.EACCES, str(exc), path)
    if isinstance(exc, UnsafePathError):
        return ValueError(str(exc))
    if isinstance(exc, DownloadError):
        return OSError(errno.EIO, str(exc), path)
    if isinstance(exc, APITimeoutError):
        return TimeoutError(errno.ETIMEDOUT, str(exc), path)
    if isinstance(exc, TransportError):
        return ConnectionError(errno.ECONNABORTED, str(exc), path)
    if isinstance(exc, (ServerError, RateLimitError)):  # still failing after the transport's retries
        return OSError(errno.EIO, str(exc), path)
    return None


@contextlib.contextmanager
def _translated(path: str) -> Iterator[None]:
    """Raise artifactkit errors as the exceptions fsspec callers expect, the typed one as `__cause__`."""
    try:
        yield
    except ArtifactkitError as exc:
        translated = _fs_error(exc, path)
        if translated is None:
            raise
        raise translated from exc


def _no_version(path: str) -> NoReturn:
    """`ENTITY/PROJECT/COLLECTION/path` names a file of the next version (what a transaction writes): none yet."""
    _not_found(path, f"{path}: no version named; read from COLLECTION:VERSION (e.g. ':latest')")


def _not_found(path: str, message: str) -> NoReturn:
    cause = NotFoundError(message, kind="file", path=path)
    raise FileNotFoundError(errno.ENOENT, message, path) from cause


# ----------------------------------------------------------------------------- versions and their trees


@dataclass
class _Version:
    """A version as one lookup found it: the entity, its manifest's URL, download URLs asked for."""

    artifact: Artifact
    manifest_url: str | None
    file_urls: dict[str, str] = field(default_factory=dict)


class _Tree:
    """The files of one manifest and the folders they imply (unsafe entry paths are left out)."""

    def __init__(self, manifest: Manifest, where: str) -> None:
        self.manifest = manifest
        self.files: dict[str, ManifestEntry] = {}
        self.dirs: dict[str, dict[str, bool]] = {"": {}}  # folder -> {child name: is a folder}
        for path, entry in manifest.entries.items():
            try:
                check_entry_path(path)
            except ManifestError as exc:
                logger.warning("%s: leaving out manifest entry %r: %s", where, path, exc)
                continue
            self.files[path] = entry
            parent = ""
            parts = path.split("/")
            last = len(parts) - 1
            for depth, part in enumerate(parts):
                children = self.dirs.setdefault(parent, {})
                children[part] = children.get(part, False) or depth < last
                parent = f"{parent}/{part}" if parent else part


def _file_info(ref: WandbPath, version: Artifact, entry: ManifestEntry) -> dict[str, Any]:
    info: dict[str, Any] = {
        "name": ref.inside(entry.path),
        "size": entry.size,
        "type": "file",
        "digest": entry.digest,
        "version": version.version,
        "version_path": f"{ref.collection_path}:{version.version}/{entry.path}",
        "artifact_id": version.id,
        "created": version.created_at_datetime,  # a version's files never change after it was created
        "mtime": version.created_at_datetime,
    }
    if entry.ref is None:
        info["md5"] = entry.md5_hex
    else:
        info["ref"] = entry.ref
    return info


def _dir_info(name: str, version: Artifact | None = None, size: int = 0) -> dict[str, Any]:
    info: dict[str, Any] = {"name": name, "size": size, "type": "directory"}
    if version is not None:
        info.update(version=version.version, artifact_id=version.id, created=version.created_at_datetime)
        info["mtime"] = version.created_at_datetime
    return info


# ----------------------------------------------------------------------------- bytes


class _ByteSource(Protocol):
    def read(self, start: int, end: int) -> bytes: ...


class _LocalBytes:
    """A verified copy in the shared cache: no request at all."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self, start: int, end: int) -> bytes:
        with self.path.open("rb") as f:
            f.seek(start)
            return f.read(end - start)


def _get_range(
    transport: Transport,
    url: str,
    start: int,
    end: int,
    headers: dict[str, str],
    check: Callable[[httpx.Response], None] | None = None,
) -> bytes | int:
    """Bytes [start, end) of `url` by one ranged GET, or the HTTP status that refused it (0: broken off).

    `check` sees a successful answer's headers before its body is read and may raise.
    """
    want = end - start
    with transport.stream("GET", url, headers={**headers, "Range": f"bytes={start}-{end - 1}"}) as response:
        status = response.status_code
        if check is not None and status in (200, 206):
            check(response)
        if status == 206:
            skip = start - _range_start(response.headers.get("content-range"), start)
        elif status == 200:
            skip = start  # the server ignored Range: read past the bytes before `start`
        else:
            return status
        if skip < 0:
            return 0
        body = bytearray()
        try:
            for chunk in response.iter_bytes(_CHUNK):
                if skip:
                    cut = min(skip, len(chunk))
                    chunk, skip = chunk[cut:], skip - cut
                body += chunk
                if len(body) >= want:
                    break
        except (httpx.TransportError, httpx.StreamError):
            return 0
    return bytes(body[:want])


def _range_start(content_range: str | None, default: int) -> int:
    """The first byte a 206 answer holds (`bytes 10-19/100`)."""
    try:
        unit, _, spec = (content_range or "").partition(" ")
        return int(spec.split("-", 1)[0]) if unit == "bytes" else default
    except ValueError:
        return -1


class _SignedUrlBytes:
    """A stored file of a version, read through its signed download URL (renewed when refused)."""

    def __init__(self, fs: ArtifactFileSystem, version: _Version, path: str, size: int) -> None:
        self.fs = fs
        self.version = version
        self.path = path
        self.size = size

    def _url(self, *, refresh: bool = False) -> str:
        url = None if refresh else self.version.file_urls.get(self.path)
        if url is None:
            artifact = self.version.artifact
            # through the filesystem's current client: in a forked worker the version's is the parent's
            listing = ArtifactFiles(self.fs.api.client, artifact, names=[self.path], per_page=1)
            found = [f for f in listing if f.name == self.path]
            if not found:
                raise DownloadError(
                    f"the server lists no file {self.path!r} in {artifact.qualified_name}", path=self.path
                )
            url = found[0].direct_url
            self.version.file_urls[self.path] = url
        return url

    def read(self, start: int, end: int) -> bytes:
        end = min(end, self.size)
        if start >= end:
            return b""
        url = self._url()
        refreshed = False
        status = 0
        for _attempt in range(_ATTEMPTS):
            outcome = _get_range(self.fs.api.client.transport, url, start, end, {})
            if isinstance(outcome, bytes):
                if len(outcome) == end - start:
                    return outcome
                status = 0  # short: try again
                continue
            status = outcome
            if status in _EXPIRED and not refreshed:
                url, refreshed = self._url(refresh=True), True
                continue
            if status == 404:
                raise DownloadError(f"{self.path}: storage has no bytes for it (HTTP 404)", path=self.path)
            if status and status < 500 and status != 429:
                break
        problem = f"HTTP {status}" if status else "the connection broke or the body was short"
        raise DownloadError(f"{self.path}: reading bytes {start}-{end - 1} failed: {problem}", path=self.path)


class _ReferenceBytes:
    """An http(s) reference, read from its origin; the ETag it answers with must be the recorded one."""

    def __init__(self, fs: ArtifactFileSystem, entry: ManifestEntry) -> None:
        assert entry.ref is not None
        self.fs = fs
        self.entry = entry
        self.url = entry.ref

    def _check_etag(self, response: httpx.Response) -> None:
        check_reference_etag(self.entry, response)

    def read(self, start: int, end: int) -> bytes:
        entry = self.entry
        if entry.size:
            end = min(end, entry.size)
        if start >= end:
            return b""
        status = 0
        for _attempt in range(_ATTEMPTS):
            outcome = _get_range(self.fs.api.client.transport, self.url, start, end, {}, self._check_etag)
            if isinstance(outcome, bytes):
                if not entry.size or len(outcome) == end - start:
                    return outcome
                status = 0  # fewer bytes than the recorded size promises: try again
                continue
            status = outcome
            if status and status < 500 and status != 429:
                break
        problem = f"HTTP {status}" if status else "the connection broke or the body was short"
        raise DownloadError(
            f"{entry.path}: reading bytes {start}-{end - 1} of reference {self.url} failed: {problem}", path=entry.path
        )


class _Spool:
    """The bytes of a file read in order from its start, kept until the whole file is there.

    A complete, verified spool is published to the shared cache (so the next reader needs no
    request); bytes that turn out not to have the manifest's MD5 are deleted and the read fails.
    Reads that skip ahead are simply not spooled; the spool continues if the gap is read later.
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
        if not self.active or start > self.next or start + len(data) <= self.next:
            return
        fresh = data[self.next - start :]
        try:
            if self.out is None:
                self.temp, self.out = self.cache.open_temp(f"fs-{self.entry.md5_hex}")
            self.out.write(fresh)
        except OSError as exc:  # a read-only cache still reads
            logger.debug("not caching %s: %s", self.where, exc)
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
            logger.debug("cached %s after a full read", self.where)
        except OSError as exc:
            logger.debug("could not cache %s: %s", self.where, exc)
            self.temp.unlink(missing_ok=True)

    def discard(self) -> None:
        self.active = False
        if self.out is not None:
            self.out.close()
            self.out = None
        if self.temp is not None:
            self.temp.unlink(missing_ok=True)


class ArtifactFile(AbstractBufferedFile):  # type: ignore[misc]
    """A file of one artifact version opened for reading: seekable, fetched in read-ahead blocks.

    The version was resolved when the file was opened; every read of this file comes from it
    (`info()["version"]` says which), however its alias moves meanwhile.
    """

    def __init__(
        self,
        fs: ArtifactFileSystem,
        path: str,
        info: dict[str, Any],
        source: _ByteSource,
        spool: _Spool | None,
        *,
        block_size: int,
        cache_type: str = "readahead",
        cache_options: dict[str, Any] | None = None,
    ) -> None:
        self._source = source
        self._spool = spool
        super().__init__(
            fs,
            path,
            mode="rb",
            block_size=block_size,
            cache_type=cache_type,
            cache_options=cache_options,
            size=info["size"],
        )
        self.details = info

    def _fetch_range(self, start: int, end: int) -> bytes:
        with _translated(self.path):
            data = self._source.read(start, end)
            if self._spool is not None:
                self._spool.add(start, data)
        return data

    def info(self) -> dict[str, Any]:
        """The file's details as of opening, including the `version` an alias resolved to."""
        return dict(self.details)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as the filesystem, the resolved version and the position: the copy reads the same bytes."""
        cache_type = self.cache.name if self.cache is not None else "none"
        return _reopen, (self.fs, self.path, self.details, self.loc, self.blocksize, cache_type)

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._spool is not None:
                self._spool.discard()


def _reopen(
    fs: ArtifactFileSystem, path: str, details: dict[str, Any], loc: int, block_size: int, cache_type: str
) -> ArtifactFile:
    """An unpickled `ArtifactFile`: opened again on the version it was opened on, however aliases moved."""
    pinned = f"{PROTOCOL}://{details['version_path']}"
    f: ArtifactFile = fs.open(pinned, block_size=block_size, cache_type=cache_type)
    f.path, f.details = path, details
    f.seek(loc)
    return f


# ----------------------------------------------------------------------------- writing


class _StagedFile(AbstractBufferedFile):  # type: ignore[misc]
    """A file written in a transaction: its bytes wait in a local temp file until the commit."""

    def __init__(self, fs: ArtifactFileSystem, path: str, target: WandbPath, transaction: VersionTransaction) -> None:
        super().__init__(fs, path, mode="wb", block_size=fs.blocksize, autocommit=False)
        self.target = target
        self.transaction = transaction
        self.temp = transaction.new_temp()
        self._out = self.temp.open("xb")

    def _initiate_upload(self) -> None:
        pass

    def _upload_chunk(self, final: bool = False) -> bool:
        self._out.write(self.buffer.getbuffer())
        if final:
            self._out.close()
        return True

    def commit(self) -> None:
        if not self.closed:
            self.close()
        self.transaction.stage(self.target, self.temp)

    def discard(self) -> None:
        self._out.close()
        self.temp.unlink(missing_ok=True)


class VersionTransaction(Transaction):  # type: ignore[misc]
    """`with fs.transaction:` — the files written in the block become one new version per collection.

    Nothing is sent before the block ends. Without an exception, each collection written to gets
    one version holding exactly the files written to it (uploaded as `Api.upload` does: only bytes
    the server lacks); `versions` lists them afterwards. After an exception nothing is sent and the
    staged bytes are deleted.
    """

    def __init__(self, fs: ArtifactFileSystem, **kwargs: Any) -> None:
        super().__init__(fs, **kwargs)
        self._staged: dict[tuple[str, str, str], dict[str, Path]] = {}
        self._dir: Path | None = None
        self.versions: list[Artifact] = []

    def new_temp(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="artifactkit-fs-"))
        return self._dir / secrets.token_hex(8)

    def stage(self, target: WandbPath, temp: Path) -> None:
        assert target.project is not None and target.collection is not None
        files = self._staged.setdefault((target.entity, target.project, target.collection), {})
        previous = files.get(target.path)
        if previous is not None and previous != temp:
            previous.unlink(missing_ok=True)  # written twice: the last write wins
        files[target.path] = temp

    def complete(self, commit: bool = True) -> None:
        fs: ArtifactFileSystem = self.fs
        try:
            super().complete(commit)
            if commit:
                for (entity, project, collection), files in self._staged.items():
                    self.versions.append(fs._commit_version(entity, project, collection, files))
        finally:
            self._staged.clear()
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._dir = None


def _check_destination(lpath: str, root: str | None) -> None:
    """Refuse a destination whose folder resolves outside the destination the caller named.

    `root` itself may be a symlink (the caller chose it); folders below it may not lead elsewhere.
    A symlink at the destination file is replaced, never written through.
    """
    target = os.path.abspath(lpath)
    base = os.path.abspath(root) if root is not None else os.path.dirname(target)
    if base == target:  # a file's own path was named
        base = os.path.dirname(target)
    real_base = os.path.realpath(base)
    real_folder = os.path.realpath(os.path.dirname(target))
    if real_folder != real_base and not real_folder.startswith(real_base.rstrip(os.sep) + os.sep):
        raise UnsafePathError(
            f"refusing to write {lpath!r}: its folder resolves to {real_folder}, outside {base} (through a symlink)",
            path=lpath,
        )


# ----------------------------------------------------------------------------- the filesystem


def _api_settings(api: Api, cache_root: Path) -> dict[str, Any]:
    """Storage options that rebuild `api` in another process: its resolved configuration."""
    transport = api.client.transport
    if transport.custom_sender:
        raise TypeError(
            "this filesystem cannot be pickled: its Api sends requests through a custom http_transport, "
            "which another process could not rebuild; pickle one built from storage options instead"
        )
    config = api.config
    return {
        "base_url": transport.base_url,
        "api_key": config.api_key,
        "entity": api._entity,
        "project": api.default_project,
        "timeout": config.timeout,
        "retry": transport.retry,
        "cache_dir": str(cache_root),
    }


class _PerApiCache(type(AbstractFileSystem)):  # type: ignore[misc]
    """fsspec reuses instances built with equal arguments; one built around an `Api` object is its own."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("api") is not None or any(isinstance(arg, Api) for arg in args):
            kwargs.setdefault("skip_instance_cache", True)
        return super().__call__(*args, **kwargs)


class ArtifactFileSystem(AbstractFileSystem, metaclass=_PerApiCache):  # type: ignore[misc]
    """W&B artifacts as an fsspec filesystem, protocol `wandb://`.

    `api` is an `Api` to use; without it one is made from `api_key`, `base_url`, `cache_dir`,
    `timeout`, `entity`, `project` and `retry` (else the environment, as `Api()` does). Both kinds
    pickle (`__reduce__`), for DataLoader and dask workers. `block_size` is the read-ahead of opened
    files. `artifact_type` is the type given to collections a transaction creates. `cache_reads`
    puts files read from start to end into the shared cache.
    """

    protocol = PROTOCOL
    root_marker = ""
    transaction_type = VersionTransaction

    def __init__(
        self,
        api: Api | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        timeout: float | None = None,
        entity: str | None = None,
        project: str | None = None,
        retry: RetryPolicy | None = None,
        block_size: int = DEFAULT_BLOCK_SIZE,
        artifact_type: str = "dataset",
        cache_reads: bool = True,
        **storage_options: Any,
    ) -> None:
        super().__init__(**storage_options)
        self._api = api or Api(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            entity=entity,
            project=project,
            retry=retry,
            cache_dir=cache_dir,
        )
        self.blocksize = block_size
        self.artifact_type = artifact_type
        self.cache_reads = cache_reads
        self._pid = os.getpid()
        self.cache = Cache(self._api.client.cache_root)
        self._lock = threading.Lock()
        self._versions: dict[tuple[str, str, str, str], _Version] = {}
        self._versions_by_id: dict[str, _Version] = {}
        self._trees: dict[tuple[str, str], _Tree] = {}
        self._collection_types: dict[tuple[str, str, str], str] = {}
        self._collecting = threading.local()
        self._batch = threading.local()
        self._swept = False

    @property
    def api(self) -> Api:
        """The `Api` requests go through; in a forked child, a new one with the same configuration."""
        if self._pid != os.getpid():
            self._after_fork()
        return self._api

    def _after_fork(self) -> None:
        """In a forked child (a DataLoader worker under `fork`): stop sharing the parent's connections.

        The child inherits the parent's HTTP connections (and their sockets) and any lock another
        thread held at the fork. Reading responses from a socket the parent also reads mixes bytes,
        so the child builds its own `Api` from the parent's configuration, forgets the versions it
        looked up (they hold the parent's client) and keeps the manifests.
        """
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._versions, self._versions_by_id = {}, {}
        self.cache = Cache(self.cache.root)
        try:
            settings = _api_settings(self._api, self.cache.root)
        except TypeError:
            logger.warning("a forked process keeps using its parent's Api (it has a custom http_transport)")
            return
        self._api = Api(**settings)
        logger.debug("built a new Api for process %d (forked)", self._pid)

    def __repr__(self) -> str:
        return f"<ArtifactFileSystem wandb:// on {self._api.base_url}>"  # never the key

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by configuration, so DataLoader and dask workers each rebuild the filesystem.

        One built from storage options is rebuilt from them (fsspec's own way: in the worker,
        equal options share one instance). One built around an `Api` object is rebuilt from that
        Api's resolved configuration (server, key, entity, project, timeout, retries, cache
        folder), read again in no environment or settings file. The pickle holds the API key, as
        it must for the worker to use it; treat it like the key.
        """
        args = tuple(arg for arg in self.storage_args if not isinstance(arg, Api))
        options = {name: value for name, value in self.storage_options.items() if name != "api"}
        if len(args) == len(self.storage_args) and "api" not in self.storage_options:
            return super().__reduce__()  # type: ignore[no-any-return]
        return make_instance, (type(self), args, {**options, **_api_settings(self.api, self.cache.root)})

    # -- resolving versions ------------------------------------------------------------------------

    def _resolve(self, ref: WandbPath, *, fresh: bool = False, files: Iterable[str] = ()) -> _Version:
        """The version `ref` names: looked up once and remembered, except with `fresh` (moving aliases)."""
        assert ref.project is not None and ref.collection is not None
        alias = ref.alias or "latest"
        key = (ref.entity, ref.project, ref.collection, alias)
        pinned: dict[tuple[str, str, str, str], _Version] | None = getattr(self._batch, "pinned", None)
        if pinned is not None and key in pinned:
            return pinned[key]  # one `cat` of many files reads them all from one version
        names = list(files)
        with self._lock:
            known = self._versions.get(key)
        if known is not None and not names and (not fresh or version_index(alias) is not None):
            return known
        client = self.api.client
        name = f"{ref.collection}:{alias}"
        found = client.operations.version_file_access(ref.entity, ref.project or "", name, names)
        membership = None if found is None else found[0]
        if found is None or membership is None or membership.artifact is None or membership.artifact_collection is None:
            raise _lookups.diagnose(client, ArtifactPath(ref.entity, ref.project, ref.collection, alias))
        artifact = Artifact._from_membership(client, membership, (ref.entity, ref.project))
        version = _Version(artifact, found[1], found[2])
        with self._lock:
            self._versions[key] = version
            self._versions[(ref.entity, ref.project, ref.collection, artifact.version)] = version
        return version

    def _tree(self, version: _Version) -> _Tree:
        """The version's files, from its manifest: fetched once per version, kept in the shared cache."""
        artifact = version.artifact
        key = (artifact.id, artifact.digest)
        with self._lock:
            tree = self._trees.get(key)
        if tree is None:
            tree = _Tree(self._manifest(version), artifact.qualified_name)
            with self._lock:
                self._trees[key] = tree
        return tree

    def _manifest(self, version: _Version) -> Manifest:
        artifact = version.artifact
        cache_key = manifest_key(self.api.client.transport.base_url, artifact.id, artifact.digest)
        committed = artifact.state == "COMMITTED"
        if committed:
            hit = self.cache.lookup("manifest", cache_key, None)
            if hit is not None:
                with contextlib.suppress(OSError, ManifestError):
                    manifest = Manifest.from_json(hit.read_bytes(), check_paths=False)
                    if manifest.digest() == artifact.digest:
                        artifact._manifest = manifest
                        return manifest
        body = None
        if version.manifest_url is not None:
            with self.api.client.transport.stream("GET", version.manifest_url) as response:
                if response.status_code == 200:
                    with contextlib.suppress(httpx.TransportError, httpx.StreamError):
                        body = response.read()
        if body is not None:
            with contextlib.suppress(ManifestError):
                manifest = Manifest.from_json(body, check_paths=False)
                if committed and manifest.digest() == artifact.digest:
                    with contextlib.suppress(OSError):
                        self.cache.store_bytes("manifest", cache_key, body)
                artifact._manifest = manifest
                return manifest
        # The URL expired or the body broke: the SDK's own manifest fetch retries and renews.
        return artifact.manifest

    def _collection_type(self, ref: WandbPath) -> str:
        assert ref.project is not None and ref.collection is not None
        key = (ref.entity, ref.project, ref.collection)
        known = self._collection_types.get(key)
        if known is not None:
            return known
        type_name = _lookups.collection_type(
            self.api.client, ArtifactPath(ref.entity, ref.project, ref.collection, None)
        )
        self._collection_types[key] = type_name
        return type_name

    def _version_of(self, path: str, *, fresh: bool = False, files: Iterable[str] = ()) -> tuple[WandbPath, _Version]:
        ref = parse_path(path)
        if ref.project is None or ref.collection is None or ref.alias is None:
            raise InvalidNameError(f"{path!r} names no version", expected=PATH_FORM)
        return ref, self._resolve(ref, fresh=fresh, files=files)

    def invalidate_cache(self, path: str | None = None) -> None:
        """Forget what aliases resolved to and which collections exist; manifests of versions stay."""
        with self._lock:
            self._versions = {k: v for k, v in self._versions.items() if version_index(k[3]) is not None}
            if path is None:
                self._versions.clear()
                self._collection_types.clear()
        super().invalidate_cache(path)

    # -- listing --------------------------------------------------------------------------------------

    def _collections(self, ref: WandbPath) -> list[dict[str, Any]]:
        infos = []
        project = f"{ref.entity}/{ref.project}"
        for artifact_type in self.api.artifact_types(project):
            for collection in artifact_type.collections():
                self._collection_types[(ref.entity, str(ref.project), collection.name)] = artifact_type.name
                info = _dir_info(f"{project}/{collection.name}")
                info.update(
                    artifact_type=artifact_type.name, kind="sequence" if collection.is_sequence() else "portfolio"
                )
                infos.append(info)
        return sorted(infos, key=lambda i: i["name"])

    def _versions_of(self, ref: WandbPath) -> list[dict[str, Any]]:
        type_name = self._collection_type(ref)
        infos = []
        for artifact in self.api.artifacts(type_name, ref.collection_path):
            info = _dir_info(f"{ref.collection_path}:{artifact.version}", artifact, artifact.size)
            info.update(aliases=list(artifact.aliases), digest=artifact.digest, file_count=artifact.file_count)
            infos.append(info)
        return infos

    def _children(self, ref: WandbPath, version: _Version, tree: _Tree) -> list[dict[str, Any]]:
        artifact = version.artifact
        entry = tree.files.get(ref.path)
        if entry is not None and ref.path not in tree.dirs:
            return [_file_info(ref, artifact, entry)]
        children = tree.dirs.get(ref.path)
        if children is None:
            _not_found(
                ref.inside(ref.path), f"{ref.inside(ref.path)}: no such file or folder in {artifact.qualified_name}"
            )
        infos = []
        for name in sorted(children):
            path = f"{ref.path}/{name}" if ref.path else name
            if children[name]:
                infos.append(_dir_info(ref.inside(path), artifact))
            else:
                infos.append(_file_info(ref, artifact, tree.files[path]))
        return infos

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        """Projects of an entity, collections of a project, versions of a collection, or the files and
        folders of a version.

        The root cannot be listed (the W&B API has no listing of entities): `NotImplementedError`
        says what to name instead.
        """
        if not self._strip_protocol(path):
            raise NotImplementedError(
                f"wandb:// cannot list entities; name an entity: 'wandb://ENTITY' or 'wandb://ENTITY/PROJECT' "
                f"({PATH_FORM})"
            )
        ref = parse_path(path)
        with _translated(path):
            if ref.project is None:
                infos = [
                    {**_dir_info(project.path_str), "description": project.description}
                    for project in self.api.projects(ref.entity)
                ]
                infos.sort(key=lambda i: i["name"])
            elif ref.collection is None:
                infos = self._collections(ref)
            elif ref.alias is None:
                if ref.path:
                    _no_version(path)
                infos = self._versions_of(ref)
            else:
                version = self._resolve(ref)
                infos = self._children(ref, version, self._tree(version))
        return infos if detail else [info["name"] for info in infos]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """Details of a file or folder; inside a version they include the `version` an alias resolved to."""
        if not self._strip_protocol(path):
            return _dir_info("")  # the root: a folder, though it cannot be listed
        ref = parse_path(path)
        with _translated(path):
            if ref.project is None:
                return _dir_info(ref.entity)
            if ref.collection is None:
                next(iter(self.api.artifact_types(f"{ref.entity}/{ref.project}", per_page=1)), None)
                return _dir_info(f"{ref.entity}/{ref.project}")
            if ref.alias is None:
                if ref.path:
                    _no_version(path)
                info = _dir_info(ref.collection_path)
                info["artifact_type"] = self._collection_type(ref)
                return info
            version = self._resolve(ref)
            artifact = version.artifact
            if not ref.path:
                info = _dir_info(ref.version_root, artifact, artifact.size)
                info.update(aliases=list(artifact.aliases), digest=artifact.digest, file_count=artifact.file_count)
                return info
            tree = self._tree(version)
            if ref.path in tree.dirs:
                return _dir_info(ref.inside(ref.path), artifact)
            entry = tree.files.get(ref.path)
            if entry is None:
                _not_found(path, f"{ref.inside(ref.path)}: no such file or folder in {artifact.qualified_name}")
            return _file_info(ref, artifact, entry)

    def exists(self, path: str, **kwargs: Any) -> bool:
        """Whether `path` exists. A refused key or an unreachable server raises (fsspec's default
        answers False to every error, which reads as "not there")."""
        try:
            self.info(path)
        except (FileNotFoundError, ValueError):  # missing, or a name that cannot exist
            return False
        return True

    def isdir(self, path: str) -> bool:
        """Whether `path` is a folder (a version, or a folder in one); errors other than "missing" raise."""
        try:
            return bool(self.info(path)["type"] == "directory")
        except (FileNotFoundError, ValueError):
            return False

    def isfile(self, path: str) -> bool:
        """Whether `path` is a file of a version; errors other than "missing" raise."""
        try:
            return bool(self.info(path)["type"] == "file")
        except (FileNotFoundError, ValueError):
            return False

    def find(
        self, path: str, maxdepth: int | None = None, withdirs: bool = False, detail: bool = False, **kwargs: Any
    ) -> Any:
        """Every file under `path`; inside a version from its manifest alone (no request per file).

        As in fsspec, a path that does not exist has no files (`[]`, so `glob` finds nothing);
        a refused key still raises.
        """
        ref = parse_path(path)
        if ref.alias is None:
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)
        if maxdepth is not None and maxdepth < 1:
            raise ValueError("maxdepth must be at least 1")
        try:
            with _translated(path):
                version = self._resolve(ref)
                tree = self._tree(version)
        except FileNotFoundError:
            return {} if detail else []
        artifact = version.artifact
        out: dict[str, dict[str, Any]] = {}
        if ref.path in tree.files and ref.path not in tree.dirs:
            out[ref.inside(ref.path)] = _file_info(ref, artifact, tree.files[ref.path])
        elif ref.path in tree.dirs:
            prefix = f"{ref.path}/" if ref.path else ""
            base_depth = prefix.count("/")
            if withdirs:
                if ref.path:
                    out[ref.inside(ref.path)] = _dir_info(ref.inside(ref.path), artifact)
                for folder in tree.dirs:
                    deep = maxdepth is not None and folder.count("/") - base_depth >= maxdepth
                    if folder and folder.startswith(prefix) and not deep:
                        out[ref.inside(folder)] = _dir_info(ref.inside(folder), artifact)
            for file_path, entry in tree.files.items():
                if not file_path.startswith(prefix) or file_path in tree.dirs:
                    continue
                if maxdepth is not None and file_path.count("/") - base_depth >= maxdepth:
                    continue
                out[ref.inside(file_path)] = _file_info(ref, artifact, entry)
        names = sorted(out)
        return {name: out[name] for name in names} if detail else names

    def glob(self, path: str, maxdepth: int | None = None, **kwargs: Any) -> Any:
        """fsspec's glob, plus patterns in the version part: `ENTITY/PROJECT/COLLECTION:v*/...`.

        A version pattern matches the versions a collection lists (`v0`, `v1`, ...; aliases are
        not listed), and the rest of the pattern is matched inside each of them.
        """
        parts = self._strip_protocol(path).split("/")
        if len(parts) < 3 or not _MAGIC.search(parts[2].partition(":")[2]) or _MAGIC.search("/".join(parts[:2])):
            return super().glob(path, maxdepth=maxdepth, **kwargs)
        name, _, pattern = parts[2].partition(":")
        if _MAGIC.search(name):
            return super().glob(path, maxdepth=maxdepth, **kwargs)
        try:
            versions = self.ls("/".join([*parts[:2], name]), detail=True)
        except FileNotFoundError:
            versions = []
        matched = sorted(
            (v for v in versions if fnmatch.fnmatchcase(v["name"].rsplit(":", 1)[1], pattern)), key=lambda v: v["name"]
        )
        detail = kwargs.get("detail", False)
        rest = "/".join(parts[3:])
        if not rest:
            return {v["name"]: v for v in matched} if detail else [v["name"] for v in matched]
        found: dict[str, Any] = {}
        for version in matched:
            inside = self.glob(f"{version['name']}/{rest}", maxdepth=maxdepth, **{**kwargs, "detail": True})
            found.update(inside)
        return found if detail else list(found)

    # -- reading ------------------------------------------------------------------------------------

    def _version_by_id(self, artifact_id: str) -> _Version:
        """A version named by its GraphQL ID (what `wandb-artifact://` references carry), looked up once."""
        with self._lock:
            known = self._versions_by_id.get(artifact_id)
        if known is not None:
            return known
        found = self.api.client.operations.artifact_by_id(artifact_id, f"looking up artifact {artifact_id}")
        if found is None:
            raise NotFoundError(f"no artifact version has the ID {artifact_id!r}", kind="version", path=artifact_id)
        artifact = Artifact._from_source(self.api.client, found, ("", ""))
        version = _Version(artifact, None)
        with self._lock:
            self._versions_by_id[artifact_id] = version
        return version

    def _follow(self, version: _Version, entry: ManifestEntry) -> tuple[_Version, ManifestEntry]:
        """The version and stored entry a `wandb-artifact://` entry points at (chains followed, as the SDK does)."""

        def lookup(artifact_id: str, path: str) -> tuple[_Version, ManifestEntry]:
            target = self._version_by_id(artifact_id)
            found = self._tree(target).files.get(path)
            if found is None:
                raise NotFoundError(
                    f"{entry.path} references {path!r} of {target.artifact.qualified_name}, which has no such file",
                    kind="file",
                    path=entry.path,
                )
            return target, found

        return follow(entry, version, lookup)

    def _byte_source(self, version: _Version, entry: ManifestEntry) -> tuple[_ByteSource, _Spool | None]:
        version, entry = self._follow(version, entry)
        where = f"{version.artifact.qualified_name}/{entry.path}"
        if entry.ref is not None:
            if entry.ref.startswith(("http://", "https://")):
                hit = self.cache.lookup("etag", etag_key(entry.ref, entry.digest), entry.size or None)
                return (_LocalBytes(hit) if hit is not None else _ReferenceBytes(self, entry)), None
            from .transfer.plan import check_reference

            check_reference(entry)  # raises UnsupportedReferenceError
        hit = self.cache.lookup("md5", entry.md5_hex, entry.size)
        if hit is not None:
            return _LocalBytes(hit), None
        spool = None
        if self.cache_reads and entry.size:
            self._remove_abandoned_temps()
            spool = _Spool(self.cache, entry, where)
        return _SignedUrlBytes(self, version, entry.path, entry.size), spool

    def _remove_abandoned_temps(self) -> None:
        """Once per filesystem, before its first spool: delete what crashed readers left in the cache."""
        with self._lock:
            if self._swept:
                return
            self._swept = True
        try:
            removed = self.cache.abandoned_temps(remove=True)
        except OSError as exc:  # a read-only cache still reads
            logger.debug("could not look for abandoned temp files in %s: %s", self.cache.partial, exc)
            return
        if removed:
            logger.info("removed %d abandoned temp files from %s", len(removed), self.cache.partial)

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> AbstractBufferedFile:
        if mode != "rb":
            return self._open_for_writing(path, mode)
        with _translated(path):
            ref = parse_path(path)
            _, version = self._version_of(path, fresh=True, files=[ref.path] if ref.path else [])
            tree = self._tree(version)
            entry = tree.files.get(ref.path)
            if entry is None or ref.path in tree.dirs:
                if ref.path in tree.dirs:
                    raise IsADirectoryError(errno.EISDIR, "is a folder of the artifact", path)
                _not_found(path, f"{ref.inside(ref.path)}: no such file in {version.artifact.qualified_name}")
            source, spool = self._byte_source(version, entry)
            info = _file_info(ref, version.artifact, entry)
            if entry.is_artifact_reference:  # its size and MD5 are those of the file it points at
                target = self._follow(version, entry)[1]
                info.update(size=target.size, md5=target.md5_hex)
        return ArtifactFile(
            self,
            path,
            info,
            source,
            spool,
            block_size=block_size or self.blocksize,
            cache_type=kwargs.get("cache_type", "readahead"),
            cache_options=cache_options,
        )

    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        """The bytes of a file, or of [start, end) (negative: from the end), in one request."""
        with self._open(path, cache_type="none") as f:
            size = f.size
            begin = 0 if start is None else (max(0, size + start) if start < 0 else min(start, size))
            stop = size if end is None else (max(0, size + end) if end < 0 else min(end, size))
            if stop <= begin:
                return b""
            f.seek(begin)
            data: bytes = f.read(stop - begin)
            return data

    def cat(self, path: Any, recursive: bool = False, on_error: str = "raise", **kwargs: Any) -> Any:
        """The bytes of many files (`path`: a list, a glob or a folder with `recursive`), as fsspec's `cat`.

        Each alias named is resolved once for the whole call, so every file comes from the same
        version, and the download URLs are asked for in batches of 100: one lookup, the manifest
        and one URL request per 100 files, then one GET per file (none for files in the cache).
        """
        with self._pinned(path):
            with _translated(str(path)):
                paths = self.expand_path(path, recursive=recursive)
                self._fetch_urls(paths)
            # fsspec's own rule for the answer's shape; the files are expanded once, above.
            if len(paths) > 1 or isinstance(path, list) or paths[0] != self._strip_protocol(path):
                return super().cat(paths, on_error=on_error, **kwargs)
            return self.cat_file(paths[0], **kwargs)

    def cat_ranges(
        self,
        paths: list[str],
        starts: int | list[int],
        ends: int | list[int],
        max_gap: Any = None,
        on_error: str = "return",
        **kwargs: Any,
    ) -> list[Any]:
        """Byte ranges of files (fsspec's `cat_ranges`), each alias resolved once for the whole call."""
        with self._pinned(paths):
            with _translated(str(paths)):
                self._fetch_urls(list(dict.fromkeys(paths)))
            return super().cat_ranges(paths, starts, ends, max_gap=max_gap, on_error=on_error, **kwargs)  # type: ignore[no-any-return]

    @contextlib.contextmanager
    def _pinned(self, paths: Any) -> Iterator[None]:
        """Resolve each alias among `paths` now (asking the server) and keep that version for the block."""
        if getattr(self._batch, "pinned", None) is not None:  # nested: the outer block pinned already
            yield
            return
        pinned: dict[tuple[str, str, str, str], _Version] = {}
        for raw in [paths] if isinstance(paths, str) else list(paths):
            ref = parse_path(raw)
            if ref.project is None or ref.collection is None or ref.alias is None or _MAGIC.search(ref.alias):
                continue  # a pattern over versions (`ds:v*`) pins each version it matches, by number
            key = (ref.entity, ref.project, ref.collection, ref.alias)
            if key not in pinned:
                try:
                    with _translated(raw):
                        pinned[key] = self._resolve(ref, fresh=True)
                except FileNotFoundError:
                    continue  # reported per file, as `on_error` asks
        self._batch.pinned = pinned
        try:
            yield
        finally:
            self._batch.pinned = None

    def _fetch_urls(self, paths: list[str]) -> None:
        """Ask for the download URLs of the stored files among `paths` that need one, 100 per request."""
        wanted: dict[int, tuple[_Version, list[str]]] = {}
        for raw in paths:
            ref = parse_path(raw)
            if ref.alias is None or not ref.path:
                continue
            try:
                version = self._resolve(ref)
            except NotFoundError:
                continue
            entry = self._tree(version).files.get(ref.path)
            if entry is None or entry.ref is not None or ref.path in version.file_urls:
                continue
            if self.cache.lookup("md5", entry.md5_hex, entry.size, touch=False) is None:
                wanted.setdefault(id(version), (version, []))[1].append(ref.path)
        for version, names in wanted.values():
            for first in range(0, len(names), _URL_BATCH):
                chunk = names[first : first + _URL_BATCH]
                for file in version.artifact.files(names=chunk, per_page=_URL_BATCH):
                    version.file_urls[file.name] = file.direct_url

    # -- downloading -----------------------------------------------------------------------------------

    def get(self, rpath: Any, lpath: Any, recursive: bool = False, **kwargs: Any) -> None:
        """Download files (a folder with `recursive=True`) through the download engine: verified,
        cached and resumable; one batch of URL requests per version rather than one per file.

        Each alias named is asked for once when the call starts (as `open` and `cat` do), so the
        files all come from the version it names now, not from one an earlier listing saw.
        """
        pairs: list[tuple[str, str]] = []
        with self._pinned(rpath):
            self._collecting.pairs = pairs
            try:
                super().get(rpath, lpath, recursive=recursive, **kwargs)
            finally:
                self._collecting.pairs = None
            self._download(pairs, os.fspath(lpath) if isinstance(lpath, (str, os.PathLike)) else None)

    def get_file(self, rpath: str, lpath: str, callback: Any = None, outfile: Any = None, **kwargs: Any) -> None:
        pairs = getattr(self._collecting, "pairs", None)
        if pairs is not None:
            pairs.append((rpath, lpath))
        else:
            self._download([(rpath, lpath)])

    def _download(self, pairs: list[tuple[str, str]], root: str | None = None) -> None:
        """Download (rpath, lpath) pairs; `root` is the destination the caller named (None: each lpath's folder).

        Every destination is checked before anything is written: a folder under `root` that
        resolves outside it (a symlink) is refused with `ValueError` (cause `UnsafePathError`).
        """
        groups: dict[int, tuple[_Version, _Tree, list[tuple[str, str]]]] = {}
        folders: list[str] = []
        for rpath, lpath in pairs:
            with _translated(rpath):
                _check_destination(lpath, root)
                ref = parse_path(rpath)
                if ref.alias is None:
                    folders.append(lpath)
                    continue
                version = self._resolve(ref)
                tree = self._tree(version)
            if ref.path in tree.dirs:
                folders.append(lpath)
            elif ref.path in tree.files:
                groups.setdefault(id(version), (version, tree, []))[2].append((ref.path, lpath))
            else:
                _not_found(rpath, f"{rpath}: no such file or folder in {version.artifact.qualified_name}")
        for folder in folders:
            os.makedirs(folder, exist_ok=True)
        for version, tree, items in groups.values():
            with _translated(version.artifact.qualified_name):
                self._download_version(version, tree, items)

    def _download_version(self, version: _Version, tree: _Tree, items: list[tuple[str, str]]) -> None:
        """Download the files of one version into a staging folder beside the destinations, then move them."""
        targets = [os.path.abspath(lpath) for _, lpath in items]
        base = os.path.commonpath([os.path.dirname(t) for t in targets])
        os.makedirs(base, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".artifactkit-get-", dir=base))
        try:
            wanted = sorted({path for path, _ in items})
            prefix = os.path.commonprefix(wanted)
            everything_under = sum(1 for p in tree.files if p.startswith(prefix)) == len(wanted)
            include = None if everything_under else [glob.escape(p) for p in wanted]
            version.artifact.download(staging, path_prefix=prefix or None, include=include, progress=False)
            placed: dict[str, str] = {}
            for (path, _), target in zip(items, targets, strict=True):
                os.makedirs(os.path.dirname(target), exist_ok=True)
                if path in placed:
                    if os.path.islink(target):
                        os.unlink(target)  # replaced like the others, never written through
                    shutil.copyfile(placed[path], target)
                else:
                    os.replace(staging / path, target)
                    placed[path] = target
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    # -- writing ------------------------------------------------------------------------------------------

    def _refuse_write(self, path: str, what: str) -> NoReturn:
        raise PermissionError(
            errno.EROFS,
            f"wandb:// is read-only outside a transaction ({what}); write inside `with fs.transaction:`, "
            "which creates one new version per collection when the block ends",
            path,
        )

    def _open_for_writing(self, path: str, mode: str) -> AbstractBufferedFile:
        if mode not in ("wb", "xb"):
            raise NotImplementedError(f"mode {mode!r} is not supported: artifact versions are written whole ('wb')")
        if not self._intrans:
            self._refuse_write(path, f"open(mode={mode!r})")
        ref = parse_path(path)
        if ref.collection is None or ref.alias is not None or not ref.path:
            raise InvalidNameError(
                f"cannot write {path!r}: versions are immutable; write into the next version of a collection",
                expected="'wandb://ENTITY/PROJECT/COLLECTION/path/in/artifact' (no version)",
            )
        return _StagedFile(self, path, ref, self.transaction)

    def _commit_version(self, entity: str, project: str, collection: str, files: dict[str, Path]) -> Artifact:
        ref = WandbPath(entity, project, collection)
        try:
            type_name = self._collection_type(ref)
        except NotFoundError:
            type_name = self.artifact_type
        with _translated(ref.collection_path):
            artifact = self.api.upload(
                {path: str(temp) for path, temp in files.items()}, ref.collection_path, type_name
            )
        self.invalidate_cache(ref.collection_path)
        logger.info("committed %s (%d files)", artifact.qualified_name, len(files))
        return artifact

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """Folders exist by holding files: a no-op inside a transaction."""
        if not self._intrans:
            self._refuse_write(path, "makedirs")

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        self.makedirs(path, exist_ok=True)

    def _rm(self, path: str) -> None:
        raise PermissionError(errno.EROFS, "artifact versions are immutable; files cannot be removed", path)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        self._rm(path if isinstance(path, str) else str(path))

    def rmdir(self, path: str) -> None:
        self._rm(path)

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        if not self._intrans:
            self._refuse_write(path2, "copy")
        with self.open(path1, "rb") as source, self.open(path2, "wb") as target:
            shutil.copyfileobj(source, target, self.blocksize)

    def mv(self, path1: Any, path2: Any, recursive: bool = False, maxdepth: int | None = None, **kwargs: Any) -> None:
        self._rm(str(path1))

    def created(self, path: str) -> datetime:
        """When the version holding `path` was created (timezone-aware UTC)."""
        created = self.info(path).get("created")
        if created is None:
            raise NotImplementedError(f"{path!r} is above a version: only versions and their files have a time")
        return created  # type: ignore[no-any-return]

    def modified(self, path: str) -> datetime:
        """The same as `created`: the files of a version never change once it exists."""
        return self.created(path)

    def ukey(self, path: str) -> str:
        """A key that changes when the content does: a file's digest, a version's digest, a folder's version ID."""
        info = self.info(path)
        return str(info.get("digest") or info.get("artifact_id") or info["name"])

    def checksum(self, path: str) -> int:
        """An integer from `ukey`: the same for the same content, however aliases and listings change."""
        return int(hashlib.md5(self.ukey(path).encode(), usedforsecurity=False).hexdigest(), 16)
