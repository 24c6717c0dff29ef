"""Verified, resumable, parallel downloads of artifact versions.

How a download goes (see `docs/transfers.md` for the guarantees in full):

1. The manifest is fetched once per `Artifact` (and kept in the cache for committed versions).
2. `plan()` checks every selected path before anything is written (absolute paths, `..`,
   directories that resolve outside the root through symlinks, references we cannot fetch) and
   classifies each file: already in the root with the right MD5 (left alone), in the shared cache
   (copied), or to be fetched.
3. Download URLs are asked for only for files to fetch, in a few batched requests that run while
   the first files already stream (`urls.FileUrls`).
4. Files are fetched in parallel over the Api's one HTTP client (`fetch.Fetcher`): hashed while
   they stream, retried when short or corrupt, resumed with `Range` after an interruption, large
   ones in ranged parts. Each distinct content is fetched once and copied to every path holding it.
5. A file reaches its destination only by an atomic rename of a verified copy.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from .._graphql import Session
from ..errors import (
    ArtifactkitError,
    DigestMismatchError,
    DownloadError,
    NotFoundError,
    ResponseValidationError,
    TransportError,
)
from ..manifest import Manifest, ManifestError
from .cache import Cache, manifest_key
from .fetch import ATTEMPTS, EXPIRED_STATUSES, Cancelled, Fetcher, Source
from .plan import Action, DownloadRoot, PlannedFile, expected_size, md5_of, plan
from .progress import Progress
from .urls import FileUrls

if TYPE_CHECKING:
    from ..artifacts import Artifact
    from ..files import File


def default_workers() -> int:
    """Parallel transfers when `max_workers` is not given: 4 per CPU, between 8 and 32."""
    return max(8, min(32, (os.cpu_count() or 2) * 4))


def default_root(artifact: Artifact) -> Path:
    """`$WANDB_ARTIFACT_DIR/<name>-<version>`, by default under `./artifacts`."""
    base = Path(os.environ.get("WANDB_ARTIFACT_DIR") or "artifacts")
    return base / artifact.name.replace(":", "-")


@dataclass
class DownloadResult:
    """What a download did (or, for a dry run, would do) with each selected file."""

    root: Path
    files: list[PlannedFile]
    dry_run: bool = False
    bytes_fetched: int = 0
    url_requests: int = 0
    failures: list[tuple[str, BaseException]] = field(default_factory=list)

    def paths(self, action: Action) -> list[str]:
        return [f.path for f in self.files if f.action == action]


# ----------------------------------------------------------------------------- manifest


def fetch_manifest(artifact: Artifact, *, cache: Cache | None = None) -> Manifest:
    """The manifest of `artifact`: from the cache for a committed version seen before, else fetched.

    A manifest is cached only when its own digest equals the version's digest, i.e. when the
    server vouches for exactly these entries; anything else is fetched every time.
    """
    client = artifact.client
    what = f"fetching the manifest of {artifact.qualified_name}"
    cache = cache or Cache(client.cache_root)
    key = manifest_key(client.transport.base_url, artifact.id, artifact.digest)
    cacheable = artifact.state == "COMMITTED"
    if cacheable:
        hit = cache.lookup("manifest", key, None)
        if hit is not None:
            try:
                manifest = Manifest.from_json(hit.read_bytes(), check_paths=False)
                if manifest.digest() == artifact.digest:
                    return manifest
            except (OSError, ManifestError):
                pass  # unreadable: fetch it again
    body = _manifest_bytes(client, artifact.id, what)
    try:
        manifest = Manifest.from_json(body, check_paths=False)
    except ManifestError as exc:
        raise ResponseValidationError(f"invalid manifest while {what}: {exc}") from exc
    if cacheable and manifest.digest() == artifact.digest:
        with contextlib.suppress(OSError):  # a read-only cache still downloads
            cache.store_bytes("manifest", key, body)
    return manifest


def _manifest_bytes(client: Session, artifact_id: str, what: str) -> bytes:
    """The manifest document: one URL lookup and one GET, retried if the body breaks off."""
    url: str | None = None
    refreshed = False
    problem = ""
    for _attempt in range(ATTEMPTS):
        if url is None:
            result = client.call(lambda c: c.artifact_manifest_url(artifact_id), what)
            artifact = result.artifact
            if artifact is None or artifact.current_manifest is None:
                raise NotFoundError(f"no manifest while {what}", kind="manifest")
            url = artifact.current_manifest.file.direct_url
        with client.transport.stream("GET", url) as response:
            status = response.status_code
            if status == 200:
                try:
                    return response.read()
                except (httpx.TransportError, httpx.StreamError) as exc:
                    problem = f"the connection broke ({type(exc).__name__})"
                    continue
            if status in EXPIRED_STATUSES and not refreshed:
                url, refreshed = None, True  # an expired URL: ask for a fresh one, once
                continue
            if status >= 500:
                problem = f"HTTP {status}"
                continue
            raise DownloadError(f"HTTP {status} while {what}")
    raise TransportError(f"{what} failed: {problem} ({ATTEMPTS} attempts)")


# ----------------------------------------------------------------------------- placing files


def place(source: Source, dest: Path, target: DownloadRoot, *, move: bool = False) -> None:
    """Put verified bytes at `dest` atomically: a complete temp file next to it, then a rename."""
    target.prepare_parent(dest)
    if move and source.path is not None:
        os.replace(source.path, dest)
        return
    tmp = dest.parent / f".{dest.name[:200]}.artifactkit-{secrets.token_hex(6)}.tmp"
    try:
        if source.data is not None:
            with tmp.open("xb") as out:
                out.write(source.data)
        else:
            assert source.path is not None
            shutil.copyfile(source.path, tmp)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
    if max_workers is not None and max_workers < 1:
        raise ValueError("max_workers must be at least 1")
    workers = max_workers or default_workers()
    own_cache = cache is None
    cache = cache or Cache(artifact.client.cache_root)
    try:
        manifest = artifact.manifest
        planned = plan(
            manifest,
            root,
            cache,
            path_prefix=path_prefix,
            include=include,
            skip_cache=skip_cache,
            workers=workers,
        )
        result = DownloadResult(root=root, files=planned, dry_run=dry_run)
        if not dry_run:
            _run_download(artifact, root, planned, result, cache, workers, skip_cache, progress)
        return result
    finally:
        if own_cache:
            cache.close()
        else:
            cache.flush()


def _run_download(
    artifact: Artifact,
    root: Path,
    planned: list[PlannedFile],
    result: DownloadResult,
    cache: Cache,
    workers: int,
    skip_cache: bool,
    show_progress: bool | None,
) -> None:
    root.mkdir(parents=True, exist_ok=True)
    target = DownloadRoot(root)
    todo = [p for p in planned if p.action != "keep"]
    if not todo:
        return
    groups: dict[str, list[PlannedFile]] = {}  # one fetch per distinct content
    for item in todo:
        groups.setdefault(item.content_key, []).append(item)
    to_fetch = [items for items in groups.values() if items[0].action == "fetch"]
    bar = Progress(sum(expected_size(i[0].entry) or 0 for i in to_fetch), len(todo), show_progress)
    cancel = threading.Event()
    fetcher = Fetcher(artifact.client.transport, cache, bar, workers, cancel)
    urls = FileUrls(artifact)
    stored = [items[0].path for items in to_fetch if not items[0].entry.is_reference]
    stored_total = sum(1 for entry in artifact.manifest if not entry.is_reference)
    urls.start(stored, whole_listing=len(stored) * 2 >= stored_total)

    def run(items: list[PlannedFile]) -> None:
        first = items[0]
        for attempt in range(2):
            source = _obtain(fetcher, urls, first, skip_cache)
            try:
                for index, item in enumerate(items):
                    place(source, item.destination, target, move=source.owned and index == len(items) - 1)
                    if not item.entry.is_reference:
                        cache.remember_md5(item.destination, item.entry.md5_hex)
                    bar.file_done()
                return
            except FileNotFoundError:
                if source.path is None or source.owned or attempt:
                    raise
                # `cleanup` evicted the cache object between lookup and copy: fetch it again.
            finally:
                if source.owned and source.path is not None:
                    source.path.unlink(missing_ok=True)
                urls.done(first.path)

    # Cache copies first: they need no URLs, and finish while the URL batches arrive.
    ordered = sorted(groups.values(), key=lambda items: items[0].action != "cache")
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="artifactkit-download")
    futures: dict[Future[None], str] = {}
    try:
        futures = {pool.submit(run, items): items[0].path for items in ordered}
        wait(futures)
    except BaseException:  # Ctrl-C: stop streaming, keep partial bytes for a resume
        cancel.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
        urls.close()
        bar.close()
        result.bytes_fetched = fetcher.bytes_fetched
        result.url_requests = urls.requests
    failures = sorted(
        (path, error)
        for future, path in futures.items()
        if (error := future.exception()) is not None and not isinstance(error, Cancelled)
    )
    result.failures = failures
    if failures:
        _raise_failures(artifact, failures)


def _obtain(fetcher: Fetcher, urls: FileUrls, item: PlannedFile, skip_cache: bool) -> Source:
    entry = item.entry
    temp_dir = item.destination.parent
    if skip_cache:
        temp_dir.mkdir(parents=True, exist_ok=True)
    if entry.is_reference:
        return fetcher.fetch_reference(entry, skip_cache=skip_cache, temp_dir=temp_dir)
    return fetcher.fetch_object(
        entry.path,
        entry.md5_hex,
        expected_size(entry),
        urls.url_for(entry.path),
        skip_cache=skip_cache,
        temp_dir=temp_dir,
    )


def _raise_failures(artifact: Artifact, failures: list[tuple[str, BaseException]]) -> None:
    path, first = failures[0]
    kinds = {type(error) for _, error in failures}
    if isinstance(first, ArtifactkitError) and (
        len(failures) == 1 or (len(kinds) == 1 and not isinstance(first, DownloadError))
    ):
        raise first  # one cause (the server unreachable, the version gone): say it as it is
    names = ", ".join(p for p, _ in failures[:5]) + (", ..." if len(failures) > 5 else "")
    if all(isinstance(error, DigestMismatchError) for _, error in failures):
        cls: type[DownloadError] = DigestMismatchError
    else:
        cls = DownloadError
    raise cls(
        f"{len(failures)} file(s) of {artifact.qualified_name} failed ({names}); first: {first}", path=path
    ) from first


# ----------------------------------------------------------------------------- one file


def download_single_file(file: File, root: Path, *, replace: bool = False) -> Path:
    """Download one file of a version to `root/<name>`, verified, through the shared cache.

    An identical file already there is left alone; a different one is replaced only with
    `replace=True`.
    """
    artifact = file.artifact
    entry = artifact.manifest.entries.get(file.name)
    if entry is None:
        raise DownloadError(f"{file.name} is not in the manifest of {artifact.qualified_name}", path=file.name)
    with Cache(artifact.client.cache_root) as cache:
        [item] = plan(Manifest({entry.path: entry}), root, cache)
        if item.action == "keep":
            return item.destination
        if item.destination.exists() and not replace:
            raise DownloadError(
                f"{item.destination} exists with different content; pass replace=True to overwrite it",
                path=file.name,
            )
        fetcher = Fetcher(artifact.client.transport, cache, Progress(0, 1, False), 1)
        urls = FileUrls(artifact, batch_size=1)
        item.destination.parent.mkdir(parents=True, exist_ok=True)
        if entry.is_reference:
            source = fetcher.fetch_reference(entry, skip_cache=False, temp_dir=item.destination.parent)
        else:
            source = fetcher.fetch_object(
                entry.path,
                entry.md5_hex,
                expected_size(entry),
                lambda stale: file.url if stale is None else urls.refresh(file.name, stale),
                skip_cache=False,
                temp_dir=item.destination.parent,
            )
        place(source, item.destination, DownloadRoot(root))
        if not entry.is_reference:
            cache.remember_md5(item.destination, entry.md5_hex)
    return item.destination


# ----------------------------------------------------------------------------- verification


def verify_directory(manifest: Manifest, root: Path, *, workers: int | None = None) -> None:
    """Raise `DigestMismatchError` unless `root` holds exactly the manifest's files, intact.

    Every stored file is hashed again (no memo): this is the check to run when in doubt. For
    references only presence and size can be checked.
    """
    if not root.is_dir():
        raise DownloadError(f"{root} is not a directory", path=str(root))
    problems = []
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()}
    for extra in sorted(present - set(manifest.entries)):
        problems.append(f"{extra}: not in the manifest")
    to_hash = []
    for entry in sorted(manifest, key=lambda e: e.path):
        path = root / entry.path
        size = expected_size(entry)
        if entry.path not in present:
            problems.append(f"{entry.path}: missing")
        elif path.is_symlink():
            problems.append(f"{entry.path}: is a symlink")
        elif size is not None and path.stat().st_size != size:
            problems.append(f"{entry.path}: {path.stat().st_size} bytes, the manifest says {size}")
        elif not entry.is_reference:
            to_hash.append(entry)
    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        digests = list(pool.map(lambda e: md5_of(root / e.path), to_hash))
    for entry, digest in zip(to_hash, digests, strict=True):
        if digest != entry.md5_hex:
            problems.append(f"{entry.path}: content does not match the manifest digest")
    if problems:
        problems.sort()
        shown = "; ".join(problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise DigestMismatchError(f"{root} does not match the artifact: {shown}{more}", path=str(root))
