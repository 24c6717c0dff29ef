"""Many versions downloaded at once (`Api.download_many`): one connection pool, one worker budget.

Every name is looked up first, up to `_batches.MAX_BATCH` names per request, each answer also
saying where the version's manifest is and, for a version whose manifest is not in the cache, the
URLs of its files (no second request per version for either); the names seen are recorded for
offline use in one transaction. Then each distinct version
is downloaded into its own directory, `max_workers` versions at a time, and every file request of
every version draws from one set of `max_workers` request slots, over the Api's one HTTP client:
a job that asks for 300 versions keeps at most `max_workers` requests in flight, not 300 times
that. Manifests and bytes come from the shared cache when it holds them.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from ._client import Client
from ._seen import Sighting
from .artifacts import Artifact, artifacts_base, default_root
from .errors import ArtifactkitError, DownloadManyError
from .transfer.cache import Cache
from .transfer.download import DownloadResult
from .transfer.fetch import Cancelled
from .transfer.limits import default_workers
from .transfer.place import Placement
from .transfer.slots import Slots


class Resolved(NamedTuple):
    """What a lookup found for one name."""

    artifact: Artifact
    manifest_url: str | None
    """Its manifest's URL, where the lookup gave it."""
    remember_as: str | None
    """The name to remember it by for offline use (None: not remembered)."""
    known_urls: tuple[dict[str, str], bool] | None = None
    """Download URLs of its files the lookup gave, and whether they are all of them."""


Resolver = Callable[[list[str], Executor], "list[Future[Resolved]]"]
"""The names (given as strings) -> one future per name, run on the pool given."""


@dataclass(frozen=True)
class ManyDownload:
    """The outcome for one of the versions given to `Api.download_many()`."""

    name: str
    """The name as given (for a version given as an `Artifact`, its `qualified_name`)."""
    artifact: Artifact | None
    """The version it resolved to; None when the name could not be resolved."""
    root: Path | None
    """The directory its files went to (`<root>/<name>:<version>`); None when it was not resolved."""
    result: DownloadResult | None
    """What the download did with each file; None when it failed."""
    error: BaseException | None
    """Why it failed (`NotFoundError`, `DownloadError`, `NotCachedError`, ...); None when it succeeded."""

    @property
    def ok(self) -> bool:
        """Whether this version was downloaded (and verified) completely."""
        return self.error is None


def download_many(
    client: Client,
    items: Iterable[str | Artifact],
    resolve: Resolver,
    root: str | os.PathLike[str] | None,
    *,
    path_prefix: str | None = None,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    max_workers: int | None = None,
    skip_cache: bool = False,
    placement: Placement = "copy",
    raise_errors: bool = True,
) -> list[ManyDownload]:
    """See `Api.download_many()`."""
    if max_workers is not None and max_workers < 1:
        raise ValueError("max_workers must be at least 1")
    given = list(items)
    workers = max_workers or default_workers()
    base = None if root is None else Path(os.path.abspath(root))
    names = [item.qualified_name if isinstance(item, Artifact) else item for item in given]
    cancel = threading.Event()
    slots = Slots(min(workers, client.transport.max_connections), cancel, Cancelled)
    outcomes: list[ManyDownload | None] = [None] * len(given)
    with Cache(client.cache_root) as cache, ThreadPoolExecutor(workers, thread_name_prefix="artifactkit-many") as pool:
        try:

            def fetch(answer: Resolved, target: Path) -> DownloadResult:
                artifact = answer.artifact
                artifact._manifest_at(answer.manifest_url)
                return artifact._download_files(
                    target,
                    path_prefix=path_prefix,
                    include=include,
                    exclude=exclude,
                    max_workers=workers,
                    skip_cache=skip_cache,
                    progress=False,
                    placement=placement,
                    cache=cache,
                    slots=slots,
                    known_urls=answer.known_urls,
                )

            # 1. every name looked up (`resolve` probes the server once, in this thread, before any
            #    lookup goes to the pool), and
            # 2. each distinct version into its own directory as soon as its lookup is answered (the
            #    first batch downloads while later ones are still being looked up), all files
            #    drawing from one budget
            asked = [item for item in given if isinstance(item, str)]
            answers = iter(resolve(asked, pool) if asked else [])
            lookups: list[Future[Resolved] | None] = [
                next(answers) if isinstance(item, str) else None for item in given
            ]
            resolved: list[Resolved | None] = []
            targets: list[Path | None] = []
            try:  # what is in the directory the versions go into, listed once rather than stat'ed per version
                present: frozenset[str] = frozenset(os.listdir(base if base is not None else artifacts_base()))
            except OSError:
                present = frozenset()
            jobs: dict[tuple[str, Path], Future[DownloadResult]] = {}
            sightings: list[Sighting] = []
            now = time.time()
            for index, (item, lookup) in enumerate(zip(given, lookups, strict=True)):
                if lookup is None:
                    assert isinstance(item, Artifact)
                    found = Resolved(item, None, None)
                else:
                    try:
                        found = lookup.result()
                    except ArtifactkitError as exc:
                        outcomes[index] = ManyDownload(names[index], None, None, None, exc)
                        resolved.append(None)
                        targets.append(None)
                        continue
                    if found.remember_as is not None:
                        sightings.append(found.artifact._sighting([found.remember_as], now))
                resolved.append(found)
                target = default_root(found.artifact, base=base, present=present)
                targets.append(target)
                key = (found.artifact.id, target)
                if key not in jobs:
                    jobs[key] = pool.submit(fetch, found, target)
            if sightings:
                client.seen.record(client.transport.base_url, sightings)
            for index, (done, where) in enumerate(zip(resolved, targets, strict=True)):
                if done is None or where is None:
                    continue
                job = jobs[(done.artifact.id, where)]
                try:
                    outcomes[index] = ManyDownload(names[index], done.artifact, where, job.result(), None)
                except (ArtifactkitError, OSError, ValueError) as exc:
                    outcomes[index] = ManyDownload(names[index], done.artifact, where, None, exc)
        except BaseException:  # Ctrl-C: start nothing more; partial bytes stay for a resume
            cancel.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    results = [outcome for outcome in outcomes if outcome is not None]
    failures = tuple((o.name, o.error) for o in results if o.error is not None)
    if failures and raise_errors:
        shown = "; ".join(f"{name}: {error}" for name, error in failures[:5])
        more = f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""
        error = DownloadManyError(
            f"{len(failures)} of {len(results)} version(s) could not be downloaded: {shown}{more}", failures=failures
        )
        error.results = results
        raise error from failures[0][1]
    return results
