"""Verified, resumable, parallel downloads of artifact versions.

How a download goes:

1. The manifest is fetched once. Every entry path is checked before anything is written: an
   absolute path, a `..` component or a parent directory that resolves (through symlinks)
   outside the root is refused with `UnsafePathError`, as is a reference with a scheme we
   cannot fetch.
2. Each file is classified: already in the root with the right MD5 (left alone), in the
   shared cache (copied), or to be fetched. File URLs are asked for only for files to fetch,
   in batches.
3. Files are fetched in parallel over the API's one HTTP client. Bytes are hashed while they
   stream; a short or corrupt body is retried and never reaches the root. Interrupted
   downloads resume from the bytes already on disk with `Range` requests. Large files come in
   ranged parts, in parallel.
4. A file reaches its destination only by an atomic rename of a verified copy.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import secrets
import shutil
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx

from .._graphql import Session
from .._pagination import Page, PageFetcher
from ..errors import (
    DigestMismatchError,
    DownloadError,
    NotFoundError,
    ResponseValidationError,
    UnsafePathError,
    UnsupportedError,
)
from ..manifest import Manifest, ManifestEntry, ManifestError, check_entry_path
from .cache import Cache, etag_key

if TYPE_CHECKING:
    from ..artifacts import Artifact
    from ..files import File

CHUNK = 1 << 20
MULTIPART_THRESHOLD = 64 << 20
PART_SIZE = 16 << 20
ATTEMPTS = 4
URL_BATCH = int(os.environ.get("ARTIFACTKIT_FILE_URL_BATCH_SIZE", "1000"))


def default_workers() -> int:
    return min(32, (os.cpu_count() or 2) * 4)


Action = Literal["keep", "cache", "fetch"]


@dataclass
class PlannedFile:
    """What a download does (or, in a dry run, would do) with one manifest entry."""

    path: str
    size: int
    action: Action
    destination: Path
    entry: ManifestEntry = field(repr=False)


@dataclass
class DownloadResult:
    root: Path
    files: list[PlannedFile]
    bytes_fetched: int = 0

    def paths(self, action: Action) -> list[str]:
        return [f.path for f in self.files if f.action == action]


# ----------------------------------------------------------------------------- manifest


def fetch_manifest(client: Session, artifact_id: str, *, what: str) -> Manifest:
    result = client.call(lambda c: c.artifact_manifest_url(artifact_id), what)
    artifact = result.artifact
    if artifact is None or artifact.current_manifest is None:
        raise NotFoundError(f"no manifest while {what}", kind="manifest")
    url = artifact.current_manifest.file.direct_url
    with client.transport.stream("GET", url) as response:
        if response.status_code != 200:
            raise DownloadError(f"HTTP {response.status_code} while {what}")
        body = response.read()
    try:
        return Manifest.from_json(body, check_paths=False)
    except ManifestError as exc:
        raise ResponseValidationError(f"invalid manifest while {what}: {exc}") from exc


# ----------------------------------------------------------------------------- safety


def safe_destination(root_real: str, path: str) -> Path:
    """`root/path`, or `UnsafePathError` if writing there could land outside the root."""
    try:
        check_entry_path(path)
    except ManifestError as exc:
        raise UnsafePathError(f"refusing manifest entry {path!r}: {exc}", path=path) from None
    dest = Path(root_real, *path.split("/"))
    parent_real = os.path.realpath(dest.parent)
    if parent_real != root_real and not parent_real.startswith(root_real + os.sep):
        raise UnsafePathError(f"refusing manifest entry {path!r}: it resolves outside the download root", path=path)
    if dest.is_symlink():
        raise UnsafePathError(f"refusing manifest entry {path!r}: the destination is a symlink", path=path)
    return dest


def _check_reference(entry: ManifestEntry) -> None:
    assert entry.ref is not None
    if not entry.ref.startswith(("http://", "https://")):
        scheme = entry.ref.split("://", 1)[0] if "://" in entry.ref else entry.ref
        raise UnsupportedError(
            f"{entry.path} is a reference to {scheme}:// storage, which artifactkit does not fetch; "
            "download it with that storage's own tools"
        )


def md5_of(path: Path) -> str:
    hasher = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


# ----------------------------------------------------------------------------- progress


class Progress:
    """One aggregate bar (files and bytes) on a terminal; silent otherwise."""

    def __init__(self, total_bytes: int, total_files: int, enabled: bool | None) -> None:
        show = sys.stderr.isatty() if enabled is None else enabled
        self._bar: Any = None
        self._lock = threading.Lock()
        self._files_done = 0
        self._total_files = total_files
        if show and (total_bytes or total_files):
            from tqdm import tqdm

            self._bar = tqdm(
                total=total_bytes,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=f"0/{total_files} files",
                file=sys.stderr,
                leave=False,
            )

    def bytes(self, n: int) -> None:
        if self._bar is not None and n:
            with self._lock:
                self._bar.update(n)

    def file_done(self) -> None:
        if self._bar is not None:
            with self._lock:
                self._files_done += 1
                self._bar.set_description(f"{self._files_done}/{self._total_files} files", refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


# ----------------------------------------------------------------------------- the fetcher


class _Retryable(Exception):
    """A body came back short or corrupt; try again (resuming where sensible)."""


class _Expired(Exception):
    """The signed URL expired (403); ask for a fresh one."""


class Fetcher:
    """Fetches objects into the cache (or a private temp file) with verification and resume."""

    def __init__(self, client: Session, cache: Cache, progress: Progress, workers: int) -> None:
        self.client = client
        self.cache = cache
        self.progress = progress
        self.workers = workers
        self.bytes_fetched = 0
        self._count_lock = threading.Lock()

    def _fetched(self, n: int) -> None:
        with self._count_lock:
            self.bytes_fetched += n
        self.progress.bytes(n)

    def _get(self, url: str, headers: dict[str, str]) -> Any:
        return self.client.transport.stream("GET", url, headers=headers)

    def stream_into(self, part: Path, url: str, size: int, md5_hex: str) -> None:
        """Make `part` hold the `size` bytes behind `url` hashing to `md5_hex`, resuming if it can."""
        for _attempt in range(ATTEMPTS):
            offset = part.stat().st_size if part.exists() else 0
            if offset > size:
                part.unlink()
                offset = 0
            hasher = hashlib.md5(usedforsecurity=False)
            if offset:
                with part.open("rb") as existing:
                    while chunk := existing.read(CHUNK):
                        hasher.update(chunk)
            if offset < size or size == 0:
                try:
                    offset, hasher = self._append(part, url, offset, hasher)
                except _Retryable:
                    continue
            if offset == size and hasher.hexdigest() == md5_hex:
                return
            part.unlink(missing_ok=True)  # wrong bytes: start over, never keep them
        raise DigestMismatchError(f"{url.split('?')[0]}: bytes did not match MD5 {md5_hex} after {ATTEMPTS} attempts")

    def _append(self, part: Path, url: str, offset: int, hasher: Any) -> tuple[int, Any]:
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        with self._get(url, headers) as response:
            status = response.status_code
            if status == 403:
                raise _Expired()
            if status == 416:
                part.unlink(missing_ok=True)
                raise _Retryable()
            if status not in (200, 206):
                raise DownloadError(f"HTTP {status} for {url.split('?')[0]}")
            if offset and status == 200:  # the server ignored Range: start from scratch
                offset = 0
                hasher = hashlib.md5(usedforsecurity=False)
            mode = "ab" if offset else "wb"
            try:
                with part.open(mode) as out:
                    for chunk in response.iter_bytes(CHUNK):
                        out.write(chunk)
                        hasher.update(chunk)
                        offset += len(chunk)
                        self._fetched(len(chunk))
            except (httpx.TransportError, httpx.StreamError):
                raise _Retryable() from None
        return offset, hasher

    def ranged_into(self, part: Path, url: str, size: int, md5_hex: str) -> None:
        """Like `stream_into`, in parallel ranged parts; finished parts survive an interruption."""
        state = part.with_name(part.name + ".parts")
        count = (size + PART_SIZE - 1) // PART_SIZE
        done: set[int] = set()
        if part.exists() and part.stat().st_size == size and state.exists():
            try:
                done = {int(i) for i in json.loads(state.read_text())}
            except (ValueError, TypeError):
                done = set()
        else:
            with part.open("wb") as f:
                f.truncate(size)
            state.write_text("[]")
        state_lock = threading.Lock()

        def fetch_part(index: int) -> None:
            start = index * PART_SIZE
            end = min(size, start + PART_SIZE) - 1
            for _attempt in range(ATTEMPTS):
                position = start
                with self._get(url, {"Range": f"bytes={start}-{end}"}) as response:
                    if response.status_code == 403:
                        raise _Expired()
                    if response.status_code != 206:
                        raise DownloadError(f"HTTP {response.status_code} for a part of {url.split('?')[0]}")
                    fd = os.open(part, os.O_WRONLY)
                    try:
                        for chunk in response.iter_bytes(CHUNK):
                            os.pwrite(fd, chunk, position)
                            position += len(chunk)
                            self._fetched(len(chunk))
                    except (httpx.TransportError, httpx.StreamError):
                        continue
                    finally:
                        os.close(fd)
                if position == end + 1:
                    with state_lock:
                        done.add(index)
                        state.write_text(json.dumps(sorted(done)))
                    return
            raise DownloadError(f"part {index} of {url.split('?')[0]} kept breaking off")

        todo = [i for i in range(count) if i not in done]
        with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(todo) or 1, 8))) as pool:
            for future in as_completed([pool.submit(fetch_part, i) for i in todo]):
                future.result()
        if md5_of(part) != md5_hex:
            part.unlink(missing_ok=True)
            state.unlink(missing_ok=True)
            raise DigestMismatchError(f"{url.split('?')[0]}: bytes did not match MD5 {md5_hex}")
        state.unlink(missing_ok=True)

    def fetch_md5_object(
        self, url_for: Callable[[bool], str], size: int, md5_hex: str, *, skip_cache: bool, temp_dir: Path
    ) -> Path:
        """The verified object for `md5_hex`: from the cache, or fetched into it (or into `temp_dir`)."""
        if skip_cache:
            part = temp_dir / f".artifactkit-{secrets.token_hex(6)}.part"
            try:
                self._fetch_with_refresh(part, url_for, size, md5_hex)
            except BaseException:
                part.unlink(missing_ok=True)
                raise
            return part
        with self.cache.lock("md5", md5_hex):
            hit = self.cache.lookup("md5", md5_hex, size)
            if hit is not None:
                return hit
            part = self.cache.partial_path("md5", md5_hex)
            self._fetch_with_refresh(part, url_for, size, md5_hex)
            return self.cache.publish(part, "md5", md5_hex)

    def _fetch_with_refresh(self, part: Path, url_for: Callable[[bool], str], size: int, md5_hex: str) -> None:
        for refresh in (False, True):
            url = url_for(refresh)
            try:
                if size >= MULTIPART_THRESHOLD:
                    self.ranged_into(part, url, size, md5_hex)
                else:
                    self.stream_into(part, url, size, md5_hex)
                return
            except _Expired:
                if refresh:
                    raise DownloadError(f"the server refused a fresh download URL for MD5 {md5_hex}") from None

    def fetch_reference(self, entry: ManifestEntry, *, skip_cache: bool, temp_dir: Path) -> Path:
        """Fetch an http(s) reference and check it against the ETag recorded in the manifest."""
        assert entry.ref is not None
        key = etag_key(entry.ref, entry.digest)
        if not skip_cache:
            hit = self.cache.lookup("etag", key, entry.size or None)
            if hit is not None:
                return hit
        part = temp_dir / f".artifactkit-{secrets.token_hex(6)}.part"
        try:
            with self._get(entry.ref, {}) as response:
                if response.status_code != 200:
                    raise DownloadError(f"HTTP {response.status_code} for reference {entry.ref}", path=entry.path)
                etag = response.headers.get("etag", "").removeprefix("W/").strip('"')
                if entry.digest != entry.ref and etag != entry.digest:
                    raise DigestMismatchError(
                        f"reference {entry.path}: ETag {etag!r} does not match the recorded {entry.digest!r}",
                        path=entry.path,
                    )
                with part.open("wb") as out:
                    for chunk in response.iter_bytes(CHUNK):
                        out.write(chunk)
                        self._fetched(len(chunk))
            if entry.size and part.stat().st_size != entry.size:
                raise DigestMismatchError(
                    f"reference {entry.path}: got {part.stat().st_size} bytes, expected {entry.size}", path=entry.path
                )
            if skip_cache:
                return part
            with self.cache.lock("etag", key):
                return self.cache.publish(part, "etag", key)
        except BaseException:
            part.unlink(missing_ok=True)
            raise


def place(source: Path, dest: Path, *, move: bool) -> None:
    """Put a verified file at `dest` atomically (copy via a temp file next to it, or move)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_dir():
        raise DownloadError(f"{dest} is a directory; cannot write a file there", path=str(dest))
    if move:
        os.replace(source, dest)
        return
    tmp = dest.parent / f".{dest.name}.artifactkit-{secrets.token_hex(6)}.tmp"
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# ----------------------------------------------------------------------------- planning


def select_entries(manifest: Manifest, path_prefix: str | None, include: Sequence[str] | None) -> list[ManifestEntry]:
    entries = []
    for entry in manifest:
        if path_prefix and not entry.path.startswith(path_prefix):
            continue
        if include and not any(fnmatch.fnmatchcase(entry.path, pattern) for pattern in include):
            continue
        entries.append(entry)
    return sorted(entries, key=lambda e: e.path)


def _already_there(cache: Cache, dest: Path, entry: ManifestEntry) -> bool:
    if entry.is_reference or not dest.is_file() or dest.stat().st_size != entry.size:
        return False
    known = cache.known_md5(dest)
    actual = known if known is not None else md5_of(dest)
    if known is None:
        cache.remember_md5(dest, actual)
    return actual == entry.md5_hex


def plan(
    manifest: Manifest,
    root: Path,
    cache: Cache,
    *,
    path_prefix: str | None = None,
    include: Sequence[str] | None = None,
    skip_cache: bool = False,
) -> list[PlannedFile]:
    """Decide, without writing anything, what happens to each selected entry; refuses unsafe ones."""
    root_real = os.path.realpath(root)
    entries = select_entries(manifest, path_prefix, include)
    planned = []
    for entry in entries:  # every path is checked before anything is written
        dest = safe_destination(root_real, entry.path)
        if entry.is_reference:
            _check_reference(entry)
        planned.append(PlannedFile(entry.path, entry.size, "fetch", dest, entry))
    for item in planned:
        if _already_there(cache, item.destination, item.entry):
            item.action = "keep"
        elif (
            not skip_cache and not item.entry.is_reference and cache.lookup("md5", item.entry.md5_hex, item.entry.size)
        ):
            item.action = "cache"
    return planned


# ----------------------------------------------------------------------------- URLs


class FileUrls:
    """Download URLs of one version, asked for in batches and refreshed one by one on expiry."""

    def __init__(self, artifact: Artifact) -> None:
        self.artifact = artifact
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def prefetch(self, names: Iterable[str]) -> None:
        pending = [n for n in names if n not in self._urls]
        for start in range(0, len(pending), URL_BATCH):
            self._fetch(pending[start : start + URL_BATCH])

    def _fetch(self, names: list[str]) -> None:
        a = self.artifact

        def fetch(cursor: str | None, per_page: int) -> Page[tuple[str, str]]:
            result = a.client.call(
                lambda c: c.membership_file_urls(
                    a.entity, a.project, a.collection_name, a.version, names=names, cursor=cursor, per_page=per_page
                ),
                f"asking for download URLs of {a.qualified_name}",
            )
            collection = None if result.project is None else result.project.artifact_collection
            membership = None if collection is None else collection.artifact_membership
            if membership is None or membership.files is None:
                raise NotFoundError(f"{a.qualified_name} not found", kind="version", path=a.qualified_name)
            info = membership.files.page_info
            urls = [(e.node.name, e.node.direct_url) for e in membership.files.edges if e.node is not None]
            return Page(urls, info.end_cursor, info.has_next_page)

        found = list(PageFetcher(fetch, per_page=max(1, min(len(names), URL_BATCH))))
        with self._lock:
            self._urls.update(found)

    def url(self, name: str, *, refresh: bool = False) -> str:
        if refresh or name not in self._urls:
            self._fetch([name])
        try:
            return self._urls[name]
        except KeyError:
            raise DownloadError(
                f"the server lists no file {name!r} in {self.artifact.qualified_name}", path=name
            ) from None


# ----------------------------------------------------------------------------- the whole artifact


def download_artifact(
    artifact: Artifact,
    root: Path,
    *,
    path_prefix: str | None = None,
    include: Sequence[str] | None = None,
    max_workers: int | None = None,
    skip_cache: bool = False,
    dry_run: bool = False,
    progress: bool | None = None,
    cache: Cache | None = None,
) -> DownloadResult:
    """Download (part of) a version into `root`; see the module docstring for the guarantees."""
    workers = max_workers or default_workers()
    if workers < 1:
        raise ValueError("max_workers must be at least 1")
    cache = cache or Cache(artifact.client.cache_root)
    manifest = artifact.manifest
    planned = plan(manifest, root, cache, path_prefix=path_prefix, include=include, skip_cache=skip_cache)
    result = DownloadResult(root=root, files=planned)
    if dry_run:
        return result
    root.mkdir(parents=True, exist_ok=True)
    todo = [p for p in planned if p.action != "keep"]
    bar = Progress(sum(p.size for p in todo if p.action == "fetch"), len(todo), progress)
    fetcher = Fetcher(artifact.client, cache, bar, workers)
    urls = FileUrls(artifact)
    urls.prefetch(p.path for p in todo if p.action == "fetch" and not p.entry.is_reference)

    # One fetch per distinct content, then a copy to every path that holds it.
    groups: dict[str, list[PlannedFile]] = {}
    for item in todo:
        key = str(item.entry.ref) if item.entry.is_reference else item.entry.md5_hex
        groups.setdefault(key, []).append(item)

    def run(items: list[PlannedFile]) -> None:
        first = items[0]
        entry = first.entry
        temp_dir = first.destination.parent
        temp_dir.mkdir(parents=True, exist_ok=True)
        if entry.is_reference:
            source = fetcher.fetch_reference(entry, skip_cache=skip_cache, temp_dir=temp_dir)
        else:
            source = fetcher.fetch_md5_object(
                lambda refresh: urls.url(entry.path, refresh=refresh),
                entry.size,
                entry.md5_hex,
                skip_cache=skip_cache,
                temp_dir=temp_dir,
            )
        owned = skip_cache  # a private temp file, not a cache object
        try:
            for index, item in enumerate(items):
                place(source, item.destination, move=owned and index == len(items) - 1)
                if not item.entry.is_reference:
                    cache.remember_md5(item.destination, item.entry.md5_hex)
                bar.file_done()
        finally:
            if owned:
                source.unlink(missing_ok=True)

    failures: list[tuple[str, BaseException]] = []
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(run, items): items[0].path for items in groups.values()}
            for future in as_completed(futures):
                error = future.exception()
                if error is not None:
                    failures.append((futures[future], error))
    finally:
        bar.close()
    result.bytes_fetched = fetcher.bytes_fetched
    if failures:
        failures.sort()
        path, first_error = failures[0]
        if len(failures) == 1 and isinstance(first_error, DownloadError):
            raise first_error
        names = ", ".join(p for p, _ in failures[:5])
        raise DownloadError(
            f"{len(failures)} file(s) of {artifact.qualified_name} failed ({names}): {first_error}", path=path
        ) from first_error
    return result


def download_single_file(file: File, root: Path, *, replace: bool = False) -> Path:
    artifact = file.artifact
    entry = artifact.manifest.entries.get(file.name)
    if entry is None:
        raise DownloadError(f"{file.name} is not in the manifest of {artifact.qualified_name}", path=file.name)
    cache = Cache(artifact.client.cache_root)
    [item] = plan(Manifest({entry.path: entry}), root, cache)
    if item.action == "keep" and not replace:
        return item.destination
    bar = Progress(entry.size, 1, False)
    fetcher = Fetcher(artifact.client, cache, bar, 1)
    item.destination.parent.mkdir(parents=True, exist_ok=True)
    if entry.is_reference:
        source = fetcher.fetch_reference(entry, skip_cache=False, temp_dir=item.destination.parent)
    else:
        urls = FileUrls(artifact)
        source = fetcher.fetch_md5_object(
            lambda refresh: file.url if not refresh else urls.url(file.name, refresh=True),
            entry.size,
            entry.md5_hex,
            skip_cache=False,
            temp_dir=item.destination.parent,
        )
    place(source, item.destination, move=False)
    return item.destination


# ----------------------------------------------------------------------------- verification


def verify_directory(manifest: Manifest, root: Path) -> None:
    """Raise `DigestMismatchError` unless `root` holds exactly the manifest's files, intact."""
    if not root.is_dir():
        raise DownloadError(f"{root} is not a directory", path=str(root))
    problems = []
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()}
    for extra in sorted(present - set(manifest.entries)):
        problems.append(f"{extra}: not in the manifest")
    for entry in sorted(manifest, key=lambda e: e.path):
        if entry.is_reference:
            continue
        path = root / entry.path
        if entry.path not in present:
            problems.append(f"{entry.path}: missing")
        elif path.stat().st_size != entry.size or md5_of(path) != entry.md5_hex:
            problems.append(f"{entry.path}: content does not match the manifest digest")
    if problems:
        shown = "; ".join(problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise DigestMismatchError(f"{root} does not match the artifact: {shown}{more}", path=str(root))
