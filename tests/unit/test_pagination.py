"""The one generic paginator, driven by a fake server that records every page it is asked for."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Sequence

import pytest

from artifactkit._pagination import MAX_PER_PAGE, Page, Paginator
from artifactkit.errors import PaginationError


class FakeListing(Paginator[int]):
    """Items 0..total-1 (or `items`), `per_page` at a time; cursors are the index of the last item."""

    def __init__(
        self,
        total: int = 0,
        per_page: int = 3,
        *,
        items: Sequence[int] | None = None,
        count: int | None = None,
        start: str | None = None,
        stuck_after: int | None = None,
        drop_cursor_after: int | None = None,
        counted: bool = True,
    ) -> None:
        super().__init__(per_page, start=start)
        self.items = list(range(total)) if items is None else list(items)
        self.count = len(self.items) if count is None else count
        self.stuck_after = stuck_after
        self.drop_cursor_after = drop_cursor_after
        self.counted = counted  # type: ignore[misc]  # per instance, for the tests
        self.requests: list[str | None] = []

    def _fetch_page(self, cursor: str | None) -> Page[int]:
        self.requests.append(cursor)
        page_number = len(self.requests)
        offset = 0 if cursor is None else int(cursor) + 1
        chunk = self.items[offset : offset + self.per_page]
        has_next = offset + self.per_page < len(self.items)
        end = None if not chunk else str(offset + len(chunk) - 1)
        if self.stuck_after is not None and page_number > self.stuck_after:
            end = cursor  # the server keeps handing back the cursor it was given
        if self.drop_cursor_after is not None and page_number > self.drop_cursor_after:
            end = None
        return Page(chunk, end, has_next, self.count if self.counted else None)


def test_empty_listing_has_length_zero_and_yields_nothing() -> None:
    listing = FakeListing(0)
    assert len(listing) == 0
    assert list(listing) == []
    assert not listing
    assert listing.requests == [None]  # len() fetched the first page; iteration reused it
    assert listing.more is False and listing.cursor is None


def test_one_page_costs_one_request() -> None:
    listing = FakeListing(2, per_page=3)
    assert list(listing) == [0, 1]
    assert listing.requests == [None]
    assert listing.more is False
    assert listing.convert_objects() == [0, 1]


def test_many_pages_cost_one_request_each() -> None:
    listing = FakeListing(10, per_page=3)
    assert list(listing) == list(range(10))
    assert listing.requests == [None, "2", "5", "8"]
    assert listing.cursor == "9"  # where a later listing would continue (nothing left)


def test_exactly_full_pages_need_no_extra_request() -> None:
    listing = FakeListing(6, per_page=3)
    assert list(listing) == list(range(6))
    assert listing.requests == [None, "2"]


def test_len_fetches_the_first_page_once_and_iteration_reuses_it() -> None:
    listing = FakeListing(7, per_page=3)
    assert len(listing) == 7
    assert listing.length == 7
    assert listing.requests == [None]
    assert list(listing) == list(range(7))
    assert listing.requests == [None, "2", "5"]


def test_len_counts_what_the_server_counts_after_filtering() -> None:
    # The server filtered 100 items down to these 4 and says so in totalCount.
    listing = FakeListing(items=[3, 17, 42, 99], count=4, per_page=2)
    assert len(listing) == 4
    assert list(listing) == [3, 17, 42, 99]


def test_uncounted_listing_has_no_length_and_sends_nothing_to_say_so() -> None:
    listing = FakeListing(5, counted=False)
    assert listing.length is None
    with pytest.raises(TypeError, match="FakeListing has no length"):
        len(listing)
    assert listing.requests == []
    assert list(listing) == [0, 1, 2, 3, 4]  # list() does not need len()
    assert bool(FakeListing(0, counted=False)) is False
    assert bool(FakeListing(1, counted=False)) is True


def test_iterating_again_starts_again_from_the_first_page() -> None:
    listing = FakeListing(5, per_page=2)
    assert list(listing) == list(listing) == [0, 1, 2, 3, 4]
    assert listing.requests == [None, "1", "3", None, "1", "3"]
    first, second = iter(listing), iter(listing)
    assert (next(first), next(first), next(second)) == (0, 1, 0)  # independent iterators


def test_a_kept_cursor_resumes_after_the_pages_already_read() -> None:
    listing = FakeListing(8, per_page=3)
    pages = listing.pages()
    assert list(next(pages).items) == [0, 1, 2]
    kept = listing.cursor
    assert kept == "2"
    resumed = FakeListing(8, per_page=3, start=kept)
    assert resumed.cursor == kept  # before any request, the cursor is where it will start
    assert list(resumed) == [3, 4, 5, 6, 7]
    assert resumed.requests == ["2", "5"]
    assert list(resumed) == [3, 4, 5, 6, 7]  # re-iterating a resumed listing restarts at its start


def test_pages_expose_their_end_cursors() -> None:
    pages = list(FakeListing(5, per_page=2).pages())
    assert [(list(p.items), p.end_cursor, p.has_next) for p in pages] == [
        ([0, 1], "1", True),
        ([2, 3], "3", True),
        ([4], "4", False),
    ]


def test_a_stuck_cursor_stops_with_an_error_instead_of_looping() -> None:
    listing = FakeListing(30, per_page=3, stuck_after=2)
    seen = []
    with pytest.raises(PaginationError, match="returned cursor '5' again") as caught:
        for item in listing:
            seen.append(item)
    assert seen == [0, 1, 2, 3, 4, 5, 6, 7, 8]
    assert len(listing.requests) == 3
    assert "stopping instead of looping forever" in str(caught.value)


def test_a_cursor_going_back_to_an_earlier_page_is_also_caught() -> None:
    class Cycling(FakeListing):
        def _fetch_page(self, cursor: str | None) -> Page[int]:
            page = super()._fetch_page(cursor)
            return Page(page.items, "2" if cursor == "5" else page.end_cursor, True, None)

    with pytest.raises(PaginationError):
        list(Cycling(30, per_page=3))


def test_a_missing_cursor_while_more_pages_are_promised_is_an_error() -> None:
    listing = FakeListing(10, per_page=3, drop_cursor_after=1)
    with pytest.raises(PaginationError, match="returned no cursor"):
        list(listing)
    assert listing.requests == [None, "2"]
    with pytest.raises(PaginationError):
        list(FakeListing(10, per_page=3, drop_cursor_after=1).pages())


def test_more_and_cursor_follow_the_pages_fetched() -> None:
    listing = FakeListing(5, per_page=2)
    assert (listing.more, listing.cursor) == (True, None)
    pages = listing.pages()
    next(pages)
    assert (listing.more, listing.cursor, listing.convert_objects()) == (True, "1", [0, 1])
    list(pages)
    assert (listing.more, listing.cursor, listing.convert_objects()) == (False, "4", [4])
    listing.update_variables()  # a no-op kept for W&B compatibility
    assert listing.variables == {"cursor": "4", "perPage": 2}


def test_indexing_fetches_only_the_pages_needed_and_keeps_them() -> None:
    listing = FakeListing(10, per_page=3)
    assert listing[4] == 4
    assert listing.requests == [None, "2"]
    assert listing[0] == 0 and listing[5] == 5
    assert listing.requests == [None, "2"]
    assert listing[2:7] == [2, 3, 4, 5, 6]
    assert listing.requests == [None, "2", "5"]
    assert listing[8:] == [8, 9]
    with pytest.raises(IndexError, match="out of range"):
        listing[10]
    with pytest.raises(IndexError, match="negative"):
        listing[-1]
    assert listing.requests == [None, "2", "5", "8"]


@pytest.mark.parametrize("per_page", [1, 50, MAX_PER_PAGE])
def test_per_page_within_bounds_is_accepted(per_page: int) -> None:
    assert FakeListing(per_page=per_page).per_page == per_page


@pytest.mark.parametrize(
    ("per_page", "error", "message"),
    [
        (0, ValueError, "between 1 and 1000, got 0"),
        (-5, ValueError, "between 1 and 1000, got -5"),
        (MAX_PER_PAGE + 1, ValueError, "between 1 and 1000, got 1001"),
        (2.5, TypeError, "must be an int, not float"),
        ("50", TypeError, "must be an int, not str"),
        (True, TypeError, "must be an int, not bool"),
    ],
)
def test_per_page_is_validated_before_any_request(per_page: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        FakeListing(per_page=per_page)  # type: ignore[arg-type]


class Item:
    """A listed object whose lifetime a test can watch."""


class ObjectListing(Paginator[Item]):
    """Pages of fresh objects; records which earlier objects are still alive when a page is fetched."""

    def __init__(self, pages: int, per_page: int = 4) -> None:
        super().__init__(per_page)
        self.pages_left = pages
        self.made: list[weakref.ref[Item]] = []
        self.alive_at_fetch: list[int] = []

    def _fetch_page(self, cursor: str | None) -> Page[Item]:
        gc.collect()
        self.alive_at_fetch.append(sum(1 for ref in self.made if ref() is not None))
        items = [Item() for _ in range(self.per_page)]
        self.made += [weakref.ref(i) for i in items]
        self.pages_left -= 1
        return Page(items, str(len(self.made)), self.pages_left > 0)


def test_a_walk_holds_no_earlier_page_while_the_next_one_is_fetched() -> None:
    """Iterating a long listing keeps one page in memory, not every page seen (nor two at once)."""
    listing = ObjectListing(pages=5)
    assert sum(1 for _ in listing) == 20
    # Only the item the caller's loop variable still names survives into the next fetch.
    assert listing.alive_at_fetch == [0, 1, 1, 1, 1]
    assert len(listing.convert_objects()) == 4  # the last page is still at hand, as W&B's paginator has it


def test_items_the_caller_keeps_stay_alive() -> None:
    listing = ObjectListing(pages=3)
    kept = list(listing)
    assert listing.alive_at_fetch == [0, 4, 8] and all(isinstance(i, Item) for i in kept)
