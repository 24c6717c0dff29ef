"""One generic paginator under every plural class (`ArtifactTypes`, `Artifacts`, `ArtifactFiles`, ...).

A subclass says only how to fetch one page. Iterating starts from the paginator's start cursor
every time (re-iterable), costs one request per page, and stops with `PaginationError` if the
server hands back a cursor that does not advance. `len()` answers from the server's
`totalCount`, fetching the first page if nothing was fetched yet; where the server does not count
(`counted = False`), `len()` raises `TypeError` without a request, so `list()` still works.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar, overload

from .errors import PaginationError

T = TypeVar("T")

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 1000
PROJECTS_PER_PAGE = 200
"""wandb's page size for `projects()`."""
DEFAULT_REGISTRY_PER_PAGE = 100
"""wandb's page size for registry listings."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One fetched page: its items, where the next page starts, and the total if counted."""

    items: Sequence[T]
    end_cursor: str | None
    has_next: bool
    total_count: int | None = None

    @classmethod
    def of(cls, connection: Connection, items: Sequence[T], total_count: int | None = None) -> Page[T]:
        """The page a Relay connection of the generated client holds (`items` already converted)."""
        info = connection.page_info
        return cls(items, info.end_cursor, info.has_next_page, total_count)


class PageInfo(Protocol):
    """What every generated `pageInfo` model offers."""

    @property
    def end_cursor(self) -> str | None: ...
    @property
    def has_next_page(self) -> bool: ...


class Connection(Protocol):
    """What every generated connection model offers."""

    @property
    def page_info(self) -> PageInfo: ...


def check_per_page(per_page: int) -> int:
    """`per_page` itself if it is an int from 1 to `MAX_PER_PAGE`; otherwise raise before any request."""
    if isinstance(per_page, bool) or not isinstance(per_page, int):
        raise TypeError(f"per_page must be an int, not {type(per_page).__name__}")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}, got {per_page}")
    return per_page


class Paginator(ABC, Generic[T]):
    """Iterate the items of a listing, page by page, with a cursor a user can keep.

    `cursor` is where the page after the last one fetched starts; a new listing created with
    `start=cursor` continues from there. Indexing (`listing[3]`, `listing[:10]`) fetches only the
    pages it needs and keeps the items it fetched, so repeated indexing costs no more requests.
    """

    counted: ClassVar[bool] = True
    """Whether the server reports a `totalCount` for this listing."""

    def __init__(self, per_page: int = DEFAULT_PER_PAGE, *, start: str | None = None) -> None:
        self.per_page = check_per_page(per_page)
        self.start_cursor = start
        self._cursor = start
        self._last_page: Page[T] | None = None
        self._unread_first_page: Page[T] | None = None  # fetched to count; the next walk starts with it
        self._indexed: list[T] = []
        self._index_walk: Iterator[Page[T]] | None = None
        self._index_done = False
        self._next_index = 0  # where `next(listing)` is

    @abstractmethod
    def _fetch_page(self, cursor: str | None) -> Page[T]:
        """Fetch the page that starts after `cursor` (the first page for None)."""

    # -- walking the pages -------------------------------------------------------------------

    def _load(self, cursor: str | None) -> Page[T]:
        last = self._last_page
        if last is not None:  # keep where it ended, but not its items, while the next page is parsed
            self._last_page = Page((), last.end_cursor, last.has_next, last.total_count)
            del last
        page = self._fetch_page(cursor)
        self._last_page = page
        self._cursor = page.end_cursor if page.end_cursor is not None else self._cursor
        return page

    def _first_page(self) -> Page[T]:
        """The page at the start cursor, kept so that the next walk does not fetch it again."""
        if self._unread_first_page is None:
            self._unread_first_page = self._load(self.start_cursor)
        return self._unread_first_page

    def _walk(self) -> Iterator[Page[T]]:
        cursor = self.start_cursor
        seen: set[str | None] = {cursor}
        page, self._unread_first_page = self._unread_first_page or self._load(cursor), None
        while True:
            yield page
            if not page.has_next:
                return
            if page.end_cursor is None or page.end_cursor in seen:
                raise PaginationError(
                    f"{type(self).__name__}: the server said there are more pages but returned "
                    f"{'no cursor' if page.end_cursor is None else f'cursor {page.end_cursor!r} again'}; "
                    "stopping instead of looping forever"
                )
            cursor = page.end_cursor
            seen.add(cursor)
            # Let go of the page before the next one is fetched: items the caller did not keep
            # are freed now instead of living on through the next request and its parsing.
            del page
            page = self._load(cursor)

    def pages(self) -> Iterator[Page[T]]:
        """Iterate page by page; each page's `end_cursor` can later resume a listing via `start=`."""
        return self._walk()

    def __iter__(self) -> Iterator[T]:
        walk = self._walk()
        while (page := next(walk, None)) is not None:
            items = page.items
            del page
            yield from items
            del items  # see _walk: nothing of this page is held while the next one is fetched

    # -- counting --------------------------------------------------------------------------

    def _counted_total(self) -> int | None:
        if not self.counted:
            return None
        page = self._last_page if self._last_page is not None else self._first_page()
        return page.total_count

    def __len__(self) -> int:
        total = self._counted_total()
        if total is None:
            raise TypeError(f"{type(self).__name__} has no length: the server does not count these items")
        return total

    def __bool__(self) -> bool:
        """True when the listing has at least one item (one request at most)."""
        total = self._counted_total()
        if total is not None:
            return total > 0
        return bool(self._first_page().items)

    # -- indexing ----------------------------------------------------------------------------

    def _fill(self, count: int | None) -> None:
        """Fetch pages until `count` items are indexed (all of them for None)."""
        if self._index_walk is None:
            self._index_walk = self._walk()
        while not self._index_done and (count is None or len(self._indexed) < count):
            page = next(self._index_walk, None)
            if page is None:
                self._index_done = True
            else:
                self._indexed.extend(page.items)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        """The item at `index`, or the items of a slice, fetching only the pages needed."""
        if isinstance(index, slice):
            bounds = (index.start, index.stop)
            if any(b is not None and b < 0 for b in bounds) or (index.step is not None and index.step < 1):
                raise IndexError("negative slice bounds and steps are not supported; use list(...) first")
            self._fill(index.stop)
            return self._indexed[index]
        if index < 0:
            raise IndexError("negative indexes are not supported; use list(...) first")
        self._fill(index + 1)
        if index >= len(self._indexed):
            raise IndexError(f"{type(self).__name__} index {index} out of range")
        return self._indexed[index]

    def __next__(self) -> T:
        """The listing's next item, as wandb's paginators give it (`next(listing)`, `listing.next()`).

        This walk is the listing's own and keeps its place between calls; `for` loops and `list()`
        always start from the beginning and do not move it. Items come through the same kept pages
        as indexing, so no page is fetched twice.
        """
        self._fill(self._next_index + 1)
        if self._next_index >= len(self._indexed):
            raise StopIteration
        item = self._indexed[self._next_index]
        self._next_index += 1
        return item

    next = __next__

    # -- the members the W&B public API documents -----------------------------------------

    @property
    def length(self) -> int | None:
        """The server's count of all items (fetches the first page if needed); None if uncounted."""
        return self._counted_total()

    @property
    def cursor(self) -> str | None:
        """Where the page after the last one fetched starts: pass it as `start=` to resume there."""
        return self._cursor

    @property
    def more(self) -> bool:
        """True until a fetched page said it was the last one."""
        return True if self._last_page is None else self._last_page.has_next

    @property
    def variables(self) -> dict[str, Any]:
        """The paging variables the next request will send."""
        return {"cursor": self._cursor, "perPage": self.per_page}

    def update_variables(self) -> None:
        """Kept for W&B compatibility: the cursor advances by itself after each page."""

    def convert_objects(self) -> list[T]:
        """The objects of the most recently fetched page."""
        return [] if self._last_page is None else list(self._last_page.items)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} per_page={self.per_page}>"


class PageFetcher(Paginator[T]):
    """A paginator over any page-fetching function, for listings internal to an entity."""

    def __init__(self, fetch: Callable[[str | None, int], Page[T]], per_page: int = MAX_PER_PAGE) -> None:
        super().__init__(per_page)
        self._fetch = fetch

    def _fetch_page(self, cursor: str | None) -> Page[T]:
        return self._fetch(cursor, self.per_page)
