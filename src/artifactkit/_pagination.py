"""One generic paginator under every plural class (`ArtifactTypes`, `Artifacts`, `ArtifactFiles`, ...).

A subclass says only how to fetch one page. Iterating starts from the paginator's start cursor
every time (re-iterable), costs one request per page, and stops with `PaginationError` if the
server hands back a cursor that does not advance. `len()` answers from the server's
`totalCount`, fetching the first page if nothing was fetched yet; where the server does not count,
`len()` raises `TypeError` (so `list()` still works).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .errors import PaginationError

T = TypeVar("T")

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 1000


@dataclass(frozen=True)
class Page(Generic[T]):
    """One fetched page: its items, where the next page starts, and the total if counted."""

    items: Sequence[T]
    end_cursor: str | None
    has_next: bool
    total_count: int | None = None


def check_per_page(per_page: int) -> int:
    if isinstance(per_page, bool) or not isinstance(per_page, int):
        raise TypeError(f"per_page must be an int, not {type(per_page).__name__}")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}, got {per_page}")
    return per_page


@dataclass
class _State(Generic[T]):
    last_page: Page[T] | None = None
    cursor: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)


class Paginator(ABC, Generic[T]):
    """Iterate the items of a listing, page by page, with a cursor a user can keep."""

    def __init__(self, per_page: int = DEFAULT_PER_PAGE, *, start: str | None = None) -> None:
        self.per_page = check_per_page(per_page)
        self.start_cursor = start
        self._state: _State[T] = _State(cursor=start)
        self._first_page: Page[T] | None = None

    @abstractmethod
    def _fetch_page(self, cursor: str | None) -> Page[T]:
        """Fetch the page that starts after `cursor` (the first page for None)."""

    # -- iteration -------------------------------------------------------------------------

    def __iter__(self) -> Iterator[T]:
        return self._iterate()

    def _iterate(self) -> Iterator[T]:
        cursor = self.start_cursor
        page = self._first_page if self._first_page is not None else self._load(cursor)
        self._first_page = None  # a later iteration asks the server again
        seen: set[str | None] = {cursor}
        while True:
            yield from page.items
            if not page.has_next:
                return
            if page.end_cursor is None or page.end_cursor in seen:
                raise PaginationError(
                    f"{type(self).__name__}: the server returned cursor {page.end_cursor!r} again; "
                    "stopping instead of looping forever"
                )
            cursor = page.end_cursor
            seen.add(cursor)
            page = self._load(cursor)

    def _load(self, cursor: str | None) -> Page[T]:
        page = self._fetch_page(cursor)
        self._state.last_page = page
        self._state.cursor = page.end_cursor
        return page

    def pages(self) -> Iterator[Page[T]]:
        """Iterate page by page; each page's `end_cursor` can later resume via `start=`."""
        cursor = self.start_cursor
        while True:
            page = self._load(cursor)
            yield page
            if not page.has_next or page.end_cursor == cursor:
                return
            cursor = page.end_cursor

    # -- counting --------------------------------------------------------------------------

    def _ensure_counted(self) -> Page[T]:
        if self._state.last_page is None:
            self._first_page = self._load(self.start_cursor)
        assert self._state.last_page is not None
        return self._state.last_page

    def __len__(self) -> int:
        total = self._ensure_counted().total_count
        if total is None:
            raise TypeError(f"{type(self).__name__} has no length: the server does not count these items")
        return total

    # -- the members the W&B public API documents -----------------------------------------

    @property
    def length(self) -> int | None:
        """The server's count of all items (fetches the first page if needed); None if uncounted."""
        return self._ensure_counted().total_count

    @property
    def cursor(self) -> str | None:
        """The cursor after the last page fetched: pass it as `start=` to resume from there."""
        return self._state.cursor

    @property
    def more(self) -> bool:
        """True until a fetched page said it was the last one."""
        page = self._state.last_page
        return True if page is None else page.has_next

    @property
    def variables(self) -> dict[str, Any]:
        """The paging variables the next request will send."""
        return {"cursor": self._state.cursor, "perPage": self.per_page}

    def update_variables(self) -> None:
        """Kept for W&B compatibility: the cursor advances by itself after each page."""

    def convert_objects(self) -> list[T]:
        """The objects of the most recently fetched page."""
        page = self._state.last_page
        return [] if page is None else list(page.items)

    def __getitem__(self, index: int) -> T:
        """The item at `index` of the listing (fetches pages up to it)."""
        if index < 0:
            raise IndexError("negative indexes are not supported; use list(...) first")
        for i, item in enumerate(self):
            if i == index:
                return item
        raise IndexError(index)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} per_page={self.per_page}>"


class PageFetcher(Paginator[T]):
    """A paginator over any page-fetching function, for listings internal to an entity."""

    def __init__(self, fetch: Callable[[str | None, int], Page[T]], per_page: int = MAX_PER_PAGE) -> None:
        super().__init__(per_page)
        self._fetch = fetch

    def _fetch_page(self, cursor: str | None) -> Page[T]:
        return self._fetch(cursor, self.per_page)
