"""Verified, resumable, parallel downloads of the files a manifest lists.

The engine knows no entity and sends no GraphQL: the facade hands it a manifest, a root, a
`UrlQuery` (one page of signed URLs), the transport and the cache. How a download goes (see
`docs/transfers.md` for the guarantees in full):

1. The facade fetches the manifest (`fetch_document`; kept in the cache for committed versions).
2. `plan()` checks every selected path before anything is written (absolute paths, `..`,
   directories that resolve outside the root through symlinks, references we cannot fetch) and
   classifies each file: already in the root with the right MD5 (left alone), in the shared cache
   (placed from there), or to be fetched. A file in the root with other bytes is replaced (as
   wandb does), and the plan says so (`PlannedFile.replaces`).
3. Download URLs are asked for only for files to fetch, in a few batched requests that run while
   the first files already stream (`urls.FileUrls`).
4. Files are fetched in parallel over the Api's one HTTP client (`fetch.Fetcher`): hashed while
   they stream, retried when short or corrupt, resumed with `Range` after an interruption, large
   ones in ranged parts. Each distinct content is fetched once and placed at every path holding it.
5. A file reaches its destination only by an atomic rename of a verified file: by default an
   independent one (a reflink where the filesystem has them, else a copy), a link into the
   cache only when the caller asks for one (`placement`; see `place.py`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from .._transport import Transport, byte_limit, read_body
from ..errors import ArtifactkitError, DigestMismatchError, DownloadError, TransportError
from ..manifest import Manifest, ManifestEntry
from .cache import Cache, md5_of
from .fetch import Cancelled, Fetcher, Source, UrlSource
from .limits import ATTEMPTS, EXPIRED_STATUSES, MAX_MANIFEST_BYTES, PIPELINE_MIN, default_workers, transfer_threads
from .place import LINKED, Placement, Placer, check_placement
from .plan import Action, DownloadRoot, PlannedFile, cache_key, expected_size, plan
from .progress import Progress
from .root_copy import RootCopy
from .slots import Slots
from .space import check_free_space, disk_full_cause, disk_full_error
from .urls import FileUrls, UrlQuery
from .wandb_cache import WandbCache

log = logging.getLogger("artifactkit")


@dataclass
class DownloadResult:
    """What a download did (or, for a dry run, would do) with each selected file."""

    root: Path
    """The download root the files went (or would go) to."""
    files: list[PlannedFile]
    """Every selected file with its `action`: `fetch` (from the server), `cache` (a cached copy), `keep` (in place)."""
    dry_run: bool = False
    """True when nothing was written (the plan of `download(dry_run=True)`)."""
    bytes_fetched: int = 0
    """Bytes received from the server or reference origins for this download (0 for a dry run)."""
    url_requests: int = 0
    """Requests made for signed download URLs."""
    failures: list[tuple[str, BaseException]] = field(default_factory=list)
    """`(path, error)` of files that could not be downloaded (the download raises after trying all)."""
    placed: dict[str, int] = field(default_factory=dict)
    """How files reached the root: `reflink` (a copy-on-write clone of the cache object), `copy`
    (where the filesystem has no reflinks), `link` (a hardlink to the cache object) or `symlink`
    (both only when asked for with `placement`), `write` (from memory), `move` (a private temp file)."""
    copied_bytes: int = 0
    """Bytes written a second time: copied from the cache into the root where no reflink could place them."""
    wandb_cache_files: int = 0
    """Files of action `fetch` whose bytes were found (and verified) in wandb's cache, so not fetched."""

    def paths(self, action: Action) -> list[str]:
        """The paths of the files with this `action` (`fetch`, `cache` or `keep`)."""
        return [f.path for f in self.files if f.action == action]


# ----------------------------------------------------------------------------- small documents


def fetch_document(transport: Transport, url_for: UrlSource, what: str) -> bytes:
    """A manifest in one GET, retried if the body breaks off or storage fails.

    `url_for(None)` gives the URL; `url_for(refused)` a fresh one, asked for once when storage
    refuses the first as expired. A body longer than `MAX_MANIFEST_BYTES`
    (`ARTIFACTKIT_MAX_MANIFEST_BYTES`) raises `ResponseTooLargeError` as soon as it passes it.
    """
    limit = byte_limit("ARTIFACTKIT_MAX_MANIFEST_BYTES", MAX_MANIFEST_BYTES)
    url = url_for(None)
    refreshed = False
    problem = ""
    for _attempt in range(ATTEMPTS):
        with transport.stream("GET", url) as response:
            status = response.status_code
            if status == 200:
                try:
                    return read_body(
                        response, limit, f"the document read while {what}", "ARTIFACTKIT_MAX_MANIFEST_BYTES"
                    )
                except (httpx.TransportError, httpx.StreamError) as exc:
                    problem = f"the connection broke ({type(exc).__name__})"
                    continue
            if status in EXPIRED_STATUSES and not refreshed:
                url, refreshed = url_for(url), True  # an expired URL: ask for a fresh one, once
                continue
            if status >= 500:
                problem = f"HTTP {status}"
                continue
            raise DownloadError(f"HTTP {status} while {what}")
    raise TransportError(f"{what} failed: {problem} ({ATTEMPTS} attempts)")


# ----------------------------------------------------------------------------- a whole manifest


def download(
    manifest: Manifest,
    root: Path,
    urls: UrlQuery,
    transport: Transport,
    cache: Cache,
    *,
    label: str = "the artifact",
    path_prefix: str | None = None,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    max_workers: int | None = None,
    skip_cache: bool = False,
    dry_run: bool = False,
    progress: bool | None = None,
    placement: Placement = "copy",
    slots: Slots | None = None,
    flush_checksums: bool = True,
) -> DownloadResult:
    """Download (part of) `manifest` into `root`; see the module docstring for the guarantees.

    `urls` pages through the version's signed URLs; `label` names the version in errors.
    `placement` is how files reach the root (`place.Placement`): independent files by default.
    `slots`: request slots shared with other downloads running at the same time (one budget for
    several versions); None: this download's own, `max_workers` of them.
    The checksums the download learns are flushed to `cache` before returning (with
    `flush_checksums=False`, left for the caller to flush once for many downloads sharing the
    cache: one transaction, not one per version); closing it is the caller's business.
    """
    if max_workers is not None and max_workers < 1:
        raise ValueError("max_workers must be at least 1")
    check_placement(placement, skip_cache=skip_cache)
    workers = max_workers or default_workers()
    bar = Progress(0, 0, progress, verb="checked", phases=True)  # one bar: checking what is in place, then fetching
    try:
        planned = plan(
            manifest,
            root,
            cache,
            path_prefix=path_prefix,
            include=include,
            exclude=exclude,
            skip_cache=skip_cache,
            workers=workers,
            progress=bar,
            placement=placement,
        )
        result = DownloadResult(root=root, files=planned, dry_run=dry_run)
        log.info(
            "%s into %s: %d file(s) to download, %d from a cache, %d already in place%s",
            label,
            root,
            len(result.paths("fetch")),
            len(result.paths("cache")),
            len(result.paths("keep")),
            " (dry run)" if dry_run else "",
        )
        replaced = [f.path for f in planned if f.replaces]
        if replaced:
            log.warning(
                "%s into %s: %s %d file(s) whose content differs from the version: %s%s",
                label,
                root,
                "would replace" if dry_run else "replacing",
                len(replaced),
                ", ".join(replaced[:5]),
                ", ..." if len(replaced) > 5 else "",
            )
        if not dry_run:
            # before the first byte
            check_free_space(root, planned, cache, skip_cache=skip_cache, label=label, placement=placement)
            file_urls = FileUrls(urls, label)
            placer = Placer(DownloadRoot(root), cache=cache, placement=placement)
            try:
                _run_download(
                    manifest,
                    file_urls,
                    label,
                    transport,
                    placer,
                    planned,
                    result,
                    cache,
                    workers,
                    skip_cache,
                    bar,
                    slots,
                )
            except OSError as exc:  # e.g. the root's directories could not be made
                full = disk_full_error(label, [(str(root), exc)])
                if full is None:
                    raise
                raise full from exc
        return result
    finally:
        bar.close()
        if flush_checksums:
            cache.flush()


def _run_download(
    manifest: Manifest,
    urls: FileUrls,
    label: str,
    transport: Transport,
    placer: Placer,
    planned: list[PlannedFile],
    result: DownloadResult,
    cache: Cache,
    workers: int,
    skip_cache: bool,
    progress: Progress,
    slots: Slots | None = None,
) -> None:
    placer.target.root.mkdir(parents=True, exist_ok=True)
    todo = [p for p in planned if p.action != "keep"]
    if not todo:
        return
    groups: dict[str, list[PlannedFile]] = {}  # one fetch per distinct content
    for item in todo:
        groups.setdefault(item.content_key, []).append(item)
    from_cache = [items for items in groups.values() if items[0].action == "cache"]
    to_fetch = [items for items in groups.values() if items[0].action == "fetch"]
    bar = progress.phase(sum(expected_size(i[0].entry) or 0 for i in to_fetch), len(todo), "downloaded")
    cancel = threading.Event()
    fetcher = Fetcher(
        transport, cache, bar, workers, cancel, wandb_cache=None if skip_cache else WandbCache(), slots=slots
    )
    failures: dict[str, BaseException] = {}
    try:
        # Cache hits need no URL and no thread: each is a copy (or clone, or link) made right here.
        for items in from_cache:
            first = items[0]
            assert first.source is not None and first.source_stat is not None
            key = cache_key(first.entry)[1]
            source = Source(first.source, key=key, stat=first.source_stat)
            try:
                _place_all(placer, source, items, cache, bar)
                cache.touch(first.source, key, first.source_stat)
            except FileNotFoundError:
                to_fetch.append(items)  # evicted between the lookup and the link
            except (ArtifactkitError, OSError) as exc:
                failures[items[0].path] = exc
        stored = [items[0].path for items in to_fetch if not items[0].entry.is_reference]
        stored_total = sum(1 for entry in manifest if not entry.is_reference)
        urls.start(stored, whole_listing=len(stored) * 2 >= stored_total)
        failures.update(_fetch_all(fetcher, urls, placer, to_fetch, cache, bar, workers, skip_cache))
    finally:
        urls.close()
        result.bytes_fetched = fetcher.bytes_fetched
        reused = fetcher.from_wandb_cache
        result.wandb_cache_files = sum(
            1 for f in result.files if f.action == "fetch" and not f.entry.is_reference and f.entry.md5_hex in reused
        )
        result.url_requests = urls.requests
        result.placed = dict(placer.counts)
        result.copied_bytes = placer.copied_bytes
    result.failures = sorted(failures.items())
    if result.failures:
        _raise_failures(label, result.failures)


def _place_all(
    placer: Placer,
    source: Source,
    items: list[PlannedFile],
    cache: Cache,
    bar: Progress,
    copy: RootCopy | None = None,
) -> None:
    """Put one content at every path that holds it (a private temp file moves to the last one).

    `copy`: the first path's copy, written while the content streamed (`Placer.root_copy_for`).
    """
    for index, item in enumerate(items):
        how = placer.place(source, item.destination, move=source.owned and index == len(items) - 1, copy=copy)
        if how not in LINKED and not item.entry.is_reference:
            cache.remember_md5(item.destination, item.entry.md5_hex)  # a link is recognised by its inode
        bar.file_done()


def _fetch_all(
    fetcher: Fetcher,
    urls: FileUrls,
    placer: Placer,
    groups: list[list[PlannedFile]],
    cache: Cache,
    bar: Progress,
    workers: int,
    skip_cache: bool,
) -> dict[str, BaseException]:
    """Fetch and place `groups` on `workers` threads, each taking the next group when it is done.

    A file waiting to retry a request gives its slot back and starts a spare thread for the next
    file (while files are left, up to `transfer_threads(workers)` threads in all), so the waits
    of some files do not idle the slots. Without waits, exactly `workers` threads run (off the
    main thread, the calling thread is one of them).

    Returns the failures by path. Ctrl-C stops the streams; partial bytes stay for a resume.
    """
    pending = deque(groups)
    failures: dict[str, BaseException] = {}
    threads: list[threading.Thread] = []
    threads_lock = threading.Lock()
    max_threads = min(transfer_threads(workers), len(groups))

    def run(items: list[PlannedFile]) -> None:
        first = items[0]
        for attempt in range(2):
            copy = _root_copy(placer, cache, first, skip_cache) if attempt == 0 else None
            try:
                source = _obtain(fetcher, urls, first, skip_cache, copy)
                try:
                    _place_all(placer, source, items, cache, bar, copy)
                    return
                except FileNotFoundError:
                    if source.path is None or source.owned or attempt:
                        raise
                    # `cleanup` evicted the cache object between the fetch and the link: fetch it again.
                finally:
                    if source.owned and source.path is not None:
                        source.path.unlink(missing_ok=True)
                    urls.done(first.path)
            finally:
                if copy is not None:
                    copy.close()  # unless it became the file, it vanishes with its descriptor

    def worker() -> None:
        while not fetcher.cancel.is_set():
            try:
                items = pending.popleft()
            except IndexError:
                return
            try:
                run(items)
            except Cancelled:
                return
            except BaseException as exc:  # reported with the others once every worker stopped
                failures[items[0].path] = exc

    def start_worker() -> None:  # with threads_lock held
        thread = threading.Thread(target=worker, name=f"artifactkit-download-{len(threads)}", daemon=True)
        thread.start()
        threads.append(thread)

    def spare() -> None:  # a thread is about to wait out a retry: another takes the next file
        with threads_lock:
            if pending and len(threads) < max_threads and not fetcher.cancel.is_set():
                with contextlib.suppress(RuntimeError):  # no thread to spare: the slot still is
                    start_worker()

    def join_all() -> None:  # threads may start more threads until the last one has stopped
        index = 0
        while True:
            with threads_lock:
                if index == len(threads):
                    return
                thread = threads[index]
            thread.join()
            index += 1

    if not groups:
        return failures
    if not fetcher.shared_slots:  # shared slots: waits are not this download's to fill with spare threads
        fetcher.slots.on_wait = spare
    # Off the main thread (a pool's thread, as in `download_many`) the calling thread takes a share
    # of the files itself: one thread fewer to start per version. The main thread only waits, so
    # that Ctrl-C reaches it rather than a worker that would count it as one file's failure.
    inline = threading.current_thread() is not threading.main_thread()
    try:
        with threads_lock:
            for _ in range(min(workers, len(groups)) - (1 if inline else 0)):
                start_worker()
        if inline:
            worker()
        join_all()
    except BaseException:  # Ctrl-C: stop streaming, keep partial bytes for a resume
        fetcher.cancel.set()
        join_all()
        raise
    finally:
        if not fetcher.shared_slots:
            fetcher.slots.on_wait = None
    return failures


def _root_copy(placer: Placer, cache: Cache, item: PlannedFile, skip_cache: bool) -> RootCopy | None:
    """The root's copy to fill while `item` streams into the cache, where that saves a second pass.

    Only for a stored file large enough to be streamed to disk (smaller ones are fetched into
    memory, and written once), placed as a copy of the cache's object.
    """
    size = expected_size(item.entry)
    if skip_cache or item.entry.is_reference or size is None or size < PIPELINE_MIN:
        return None
    try:
        return placer.root_copy_for(item.destination, cache.partial_dir())
    except OSError:
        return None  # the usual copy after the download names any real problem


def _obtain(
    fetcher: Fetcher, urls: FileUrls, item: PlannedFile, skip_cache: bool, copy: RootCopy | None = None
) -> Source:
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
        copy=copy,
    )


def _raise_failures(label: str, failures: list[tuple[str, BaseException]]) -> None:
    disk_full = disk_full_error(label, failures)
    if disk_full is not None:  # one cause for every file it stopped, however it surfaced
        raise disk_full from next(e for _, e in failures if disk_full_cause(e) is not None)
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
    raise cls(f"{len(failures)} file(s) of {label} failed ({names}); first: {first}", path=path) from first


# ----------------------------------------------------------------------------- one file


def download_file(
    entry: ManifestEntry,
    root: Path,
    url_for: UrlSource,
    transport: Transport,
    cache: Cache,
    *,
    replace: bool = False,
    placement: Placement = "copy",
) -> Path:
    """Download one manifest entry to `root/<path>`, verified, through the shared cache.

    An identical file already there is left alone; a different one is replaced only with
    `replace=True`. `url_for` gives the entry's signed URL (a fresh one when given a refused one).
    `placement`: as for `download()`.
    """
    check_placement(placement)
    [item] = plan(Manifest({entry.path: entry}), root, cache, placement=placement)
    if item.action == "keep":
        return item.destination
    if not replace and (item.replaces or (entry.is_reference and item.destination.exists())):
        raise DownloadError(
            f"{item.destination} exists with different content; pass replace=True to overwrite it",
            path=entry.path,
        )
    check_free_space(root, [item], cache, skip_cache=False, label=entry.path, placement=placement)
    fetcher = Fetcher(transport, cache, Progress(0, 1, False), 1, wandb_cache=WandbCache())
    placer = Placer(DownloadRoot(root), cache=cache, placement=placement)
    copy = None
    try:
        item.destination.parent.mkdir(parents=True, exist_ok=True)
        if entry.is_reference:
            source = fetcher.fetch_reference(entry, skip_cache=False, temp_dir=item.destination.parent)
        else:
            copy = _root_copy(placer, cache, item, skip_cache=False)
            source = fetcher.fetch_object(
                entry.path,
                entry.md5_hex,
                expected_size(entry),
                url_for,
                skip_cache=False,
                temp_dir=item.destination.parent,
                copy=copy,
            )
        how = placer.place(source, item.destination, copy=copy)
    except OSError as exc:
        full = disk_full_error(entry.path, [(entry.path, exc)])
        if full is None:
            raise
        raise full from exc
    finally:
        if copy is not None:
            copy.close()
    if how not in LINKED and not entry.is_reference:
        cache.remember_md5(item.destination, entry.md5_hex)
    cache.flush()
    return item.destination


# ----------------------------------------------------------------------------- verification


def verify_directory(
    manifest: Manifest,
    root: Path,
    *,
    workers: int | None = None,
    progress: bool | None = False,
    links_into: Path | None = None,
) -> None:
    """Raise `DigestMismatchError` unless `root` holds exactly the manifest's files, intact.

    Every stored file is hashed again (no memo): this is the check to run when in doubt. For
    references only presence and size can be checked. `progress` draws a bar while hashing
    (None: when stderr is a terminal). A file that is a symlink is a problem, unless it points
    into `links_into` (the cache's objects, as `placement="symlink"` places files): then what it
    points at is checked.
    """
    if not root.exists():
        raise DownloadError(
            f"{root} does not exist: nothing was downloaded there; download the version first, "
            "or check the root it was downloaded to",
            path=str(root),
        )
    if not root.is_dir():
        raise DownloadError(f"{root} is not a directory", path=str(root))
    problems = []
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()}
    for extra in sorted(present - set(manifest.entries)):
        problems.append(f"{extra}: not in the manifest")
    to_hash = []
    layout = DownloadRoot(root, links_into=links_into)
    for entry in sorted(manifest, key=lambda e: e.path):
        path = root / entry.path
        size = expected_size(entry)
        if entry.path not in present:
            problems.append(f"{entry.path}: missing")
        elif path.is_symlink() and not layout.points_into_cache(path):
            problems.append(f"{entry.path}: is a symlink")
        elif not path.exists():
            problems.append(f"{entry.path}: a symlink to a cache object that is gone (cache cleanup); download again")
        elif size is not None and path.stat().st_size != size:
            problems.append(f"{entry.path}: {path.stat().st_size} bytes, the manifest says {size}")
        elif not entry.is_reference:
            to_hash.append(entry)
    bar = Progress(sum(e.size for e in to_hash), len(to_hash), progress, verb="verified")
    try:
        with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
            digests = list(pool.map(lambda e: md5_of(root / e.path, bar), to_hash))
    finally:
        bar.close()
    for entry, digest in zip(to_hash, digests, strict=True):
        if digest != entry.md5_hex:
            problems.append(f"{entry.path}: content does not match the manifest digest")
    if problems:
        problems.sort()
        shown = "; ".join(problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise DigestMismatchError(f"{root} does not match the artifact: {shown}{more}", path=str(root))
