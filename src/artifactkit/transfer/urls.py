"""Download URLs of one artifact version: asked for in few, bounded batches, refreshed on expiry.

A download needs a signed URL per file it fetches (never for files it finds in place or in the
cache). The facade supplies a `UrlQuery`, one page of the version's file listing (the files named,
or all of them), and knows nothing of batching. `FileUrls` asks for them on a background thread
while the first files already stream:
when most of the version is wanted it pages through the whole file list, otherwise it names the
files, `batch_size` per request (`ARTIFACTKIT_FILE_URL_BATCH_SIZE`, else W&B's
`WANDB_ARTIFACT_FETCH_FILE_URL_BATCH_SIZE`, default 1000). A server that fails on a large batch
gets the same request again at half the size. An expired URL is refreshed together with the URLs
of the files still waiting, in one request.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import NamedTuple

from ..errors import APITimeoutError, ArtifactkitError, BadRequestError, DownloadError, ServerError
from .limits import DEFAULT_URL_BATCH as DEFAULT_BATCH
from .limits import MAX_URL_BATCH as MAX_BATCH
from .limits import MIN_URL_BATCH as MIN_BATCH


class UrlPage(NamedTuple):
    """One page of a version's file listing: `(path, signed URL)` pairs and where the next page starts."""

    urls: list[tuple[str, str]]
    end_cursor: str | None
    has_next: bool


UrlQuery = Callable[[list[str] | None, str | None, int], UrlPage]
"""`(names, cursor, per_page) -> UrlPage`: the files named (None: every file), from `cursor` on."""


def batch_size_from_env() -> int:
    for name in ("ARTIFACTKIT_FILE_URL_BATCH_SIZE", "WANDB_ARTIFACT_FETCH_FILE_URL_BATCH_SIZE"):
        raw = os.environ.get(name)
        if raw:
            try:
                return max(1, min(MAX_BATCH, int(raw)))
            except ValueError:
                raise ValueError(f"{name}={raw!r} is not a whole number") from None
    return DEFAULT_BATCH


def _shrinkable(error: BaseException) -> bool:
    """Errors a smaller batch may avoid: timeouts, server failures, a body too large."""
    if isinstance(error, (APITimeoutError, ServerError)):
        return True
    return isinstance(error, BadRequestError) and error.status_code == 413


class FileUrls:
    """URLs for the files of one version, fetched ahead of the download that needs them."""

    def __init__(self, query: UrlQuery, label: str, *, batch_size: int | None = None) -> None:
        self._ask = query
        self.label = label
        self.batch_size = max(1, min(MAX_BATCH, batch_size or batch_size_from_env()))
        self.requests = 0
        self._urls: dict[str, str] = {}
        self._pending: set[str] = set()
        self._done = False
        self._error: BaseException | None = None
        self._stop = False
        self._cond = threading.Condition()
        self._refresh_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # -- fetching ---------------------------------------------------------------------------

    def start(self, names: Sequence[str], *, whole_listing: bool) -> None:
        """Begin fetching URLs for `names` on a background thread.

        `whole_listing` pages through every file of the version instead of naming them (fewer,
        smaller requests when most files are wanted).
        """
        with self._cond:
            self._pending.update(names)
        if not names:
            with self._cond:
                self._done = True
            return
        if isinstance(self._ask, KnownUrls) and self._ask.covers(None if whole_listing else names):
            self._run(list(names), whole_listing)  # answered from URLs at hand: no request, no thread
            return
        self._thread = threading.Thread(
            target=self._run, args=(list(names), whole_listing), name="artifactkit-file-urls", daemon=True
        )
        self._thread.start()

    def prefetch(self, names: Sequence[str], *, whole_listing: bool = False) -> None:
        """Fetch the URLs for `names` now, in this thread; raises what the server raised."""
        self.start(names, whole_listing=whole_listing)
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error

    def _run(self, names: list[str], whole_listing: bool) -> None:
        try:
            if whole_listing:
                self._page_through(None)
            else:
                for start in range(0, len(names), self.batch_size):
                    if self._stop:
                        break
                    self._page_through(names[start : start + self.batch_size])
        except BaseException as exc:  # handed to the threads waiting for URLs
            with self._cond:
                self._error = exc
        finally:
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def _page_through(self, names: list[str] | None) -> None:
        """Fetch every page of the listing (of `names`, or of the whole version)."""
        per_page = self.batch_size if names is None else len(names)
        cursor: str | None = None
        while not self._stop:
            try:
                urls, cursor_next, has_next = self._query(names, cursor, per_page)
            except ArtifactkitError as exc:
                if not _shrinkable(exc) or per_page <= MIN_BATCH:
                    raise
                per_page = max(MIN_BATCH, per_page // 2)
                if names is not None and len(names) > per_page:  # split the named batch
                    for start in range(0, len(names), per_page):
                        self._page_through(names[start : start + per_page])
                    return
                continue
            self._add(urls)
            if not has_next or cursor_next is None or cursor_next == cursor:
                return
            cursor = cursor_next

    def _query(self, names: list[str] | None, cursor: str | None, per_page: int) -> UrlPage:
        known = cursor is None and isinstance(self._ask, KnownUrls) and self._ask.covers(names)
        with self._cond:
            self.requests += 0 if known else 1  # URLs a lookup already gave cost no request
        return self._ask(names, cursor, per_page)

    def _add(self, urls: list[tuple[str, str]]) -> None:
        with self._cond:
            self._urls.update(urls)
            self._cond.notify_all()

    # -- answering ----------------------------------------------------------------------------

    def url(self, name: str) -> str:
        """The URL for `name`, waiting for the batch that brings it."""
        with self._cond:
            while name not in self._urls and not self._done:
                self._cond.wait()
            if name in self._urls:
                return self._urls[name]
            if self._error is not None:
                raise self._error
        self._add(self._query([name], None, 1)[0])  # not in the listing: ask for it by name once
        with self._cond:
            if name in self._urls:
                return self._urls[name]
        raise DownloadError(f"the server lists no file {name!r} in {self.label}", path=name)

    def refresh(self, name: str, stale: str) -> str:
        """A fresh URL for `name` after `stale` was refused; also renews the other waiting files."""
        with self._refresh_lock:
            with self._cond:
                current = self._urls.get(name)
                if current is not None and current != stale:
                    return current  # another thread refreshed it meanwhile
                others = sorted(self._pending - {name})[: self.batch_size - 1]
            self._add(self._query([name, *others], None, len(others) + 1)[0])
            with self._cond:
                if name in self._urls and self._urls[name] != stale:
                    return self._urls[name]
        raise DownloadError(f"the server gave no fresh URL for {name!r}", path=name)

    def done(self, name: str) -> None:
        """`name` is downloaded; it no longer needs refreshing."""
        with self._cond:
            self._pending.discard(name)

    def url_for(self, name: str) -> Callable[[str | None], str]:
        """A function the fetcher calls for the URL: with None first, then with the refused URL."""
        return lambda stale: self.url(name) if stale is None else self.refresh(name, stale)

    def close(self) -> None:
        self._stop = True
        if self._thread is not None:
            self._thread.join()


class KnownUrls:
    """A `UrlQuery` that answers first from URLs already at hand, then asks `fallback`.

    A lookup that also listed a version's files (`Api.download_many`'s batched lookup) hands
    their URLs over: the listing, or the files named, are answered without a request while
    every one of them is known. Each known URL is answered once: a refresh after it was refused,
    or anything it does not cover, goes to `fallback`.
    """

    def __init__(self, known: dict[str, str], complete: bool, fallback: UrlQuery) -> None:
        self._known = dict(known)
        self._complete = complete
        self._fallback = fallback
        self._lock = threading.Lock()

    def covers(self, names: Sequence[str] | None) -> bool:
        """Whether the first query for `names` (None: the whole listing) is answered without a request."""
        with self._lock:
            if names is None:
                return self._complete and bool(self._known)
            return all(name in self._known for name in names)

    def __call__(self, names: list[str] | None, cursor: str | None, per_page: int) -> UrlPage:
        with self._lock:
            if cursor is None and self._known:
                if names is None and self._complete:
                    known, self._known = self._known, {}
                    return UrlPage(list(known.items()), None, False)
                if names is not None and all(name in self._known for name in names):
                    return UrlPage([(name, self._known.pop(name)) for name in names], None, False)
        return self._fallback(names, cursor, per_page)
