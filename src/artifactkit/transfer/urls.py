"""Download URLs of one artifact version: asked for in few, bounded batches, refreshed on expiry.

A download needs a signed URL per file it fetches (never for files it finds in place or in the
cache). `FileUrls` asks for them on a background thread while the first files already stream:
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
from typing import TYPE_CHECKING

from ..errors import APITimeoutError, ArtifactkitError, BadRequestError, DownloadError, NotFoundError, ServerError

if TYPE_CHECKING:
    from ..artifacts import Artifact

DEFAULT_BATCH = 1000
MAX_BATCH = 10_000
MIN_BATCH = 10


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


Page = tuple[list[tuple[str, str]], str | None, bool]


class FileUrls:
    """URLs for the files of one version, fetched ahead of the download that needs them."""

    def __init__(self, artifact: Artifact, *, batch_size: int | None = None) -> None:
        self.artifact = artifact
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

    def _query(self, names: list[str] | None, cursor: str | None, per_page: int) -> Page:
        a = self.artifact
        with self._cond:
            self.requests += 1
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
        return urls, info.end_cursor, info.has_next_page

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
        raise DownloadError(f"the server lists no file {name!r} in {self.artifact.qualified_name}", path=name)

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
