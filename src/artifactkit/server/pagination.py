"""Relay pagination over SQL: keyset cursors that stay valid while rows are added or removed.

A cursor encodes the sort-key values of the last row a client saw, so "the rows after this
cursor" is a plain `WHERE` clause and never shifts when earlier rows change.
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import orjson

from .errors import BadInput
from .limits import charge_rows, raise_refusal
from .store import Store

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 10_000


@dataclass(frozen=True)
class SortKey:
    """One `ORDER BY` term: a SQL expression (never NULL) and its direction."""

    expr: str
    descending: bool = False


@dataclass
class Query:
    """A row set to page through: `SELECT columns FROM source WHERE where`, in `order`.

    The last sort key must be unique (an id) so that the order, and every cursor, is total.
    """

    columns: str
    source: str
    where: str = "1=1"
    params: tuple[Any, ...] = ()
    order: Sequence[SortKey] = field(default_factory=tuple)


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).decode("ascii")


def decode_cursor(cursor: str, width: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeError, RecursionError):
        raise BadInput(f"invalid cursor {cursor[:100]!r}") from None
    if not isinstance(values, list) or len(values) != width or not all(map(_cursor_value, values)):
        raise BadInput(f"cursor {cursor[:100]!r} does not belong to this listing")
    return values


def _cursor_value(value: Any) -> bool:
    """A sort-key value as `encode_cursor` writes them: a string, a 64-bit integer, a float or null."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return value is None or isinstance(value, (str, float))


def _after_clause(order: Sequence[SortKey], values: Sequence[Any]) -> tuple[str, list[Any]]:
    """`k1 >= v1 AND ((k1 > v1) OR (k1 = v1 AND k2 > v2) OR ...)`, with `<` for descending keys.

    The leading `k1 >= v1` is implied by the rest, but SQLite only turns a plain range into an
    index search: without it a page deep into a listing sorted every row before the cursor.
    """
    terms: list[str] = []
    params: list[Any] = [values[0]]
    for i, key in enumerate(order):
        parts = [f"({order[j].expr}) = ?" for j in range(i)]
        parts.append(f"({key.expr}) {'<' if key.descending else '>'} ?")
        params.extend(values[: i + 1])
        terms.append("(" + " AND ".join(parts) + ")")
    first = order[0]
    return f"({first.expr}) {'<=' if first.descending else '>='} ? AND (" + " OR ".join(terms) + ")", params


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0:
        raise BadInput("`first` must not be negative")
    return min(first, MAX_PAGE_SIZE)


def page_statement(query: Query, after: str | None, limit: int) -> tuple[str, tuple[Any, ...]]:
    """The SQL and parameters of one page: at most `limit` rows of `query` after the cursor `after`.

    Columns `_k0`, `_k1`, ... hold each row's sort-key values, the makings of its cursor.
    """
    where, params = query.where, list(query.params)
    keys = list(query.order)
    if after:
        clause, extra = _after_clause(keys, decode_cursor(after, len(keys)))
        where, params = f"({where}) AND {clause}", params + extra
    key_columns = ", ".join(f"({k.expr}) AS _k{i}" for i, k in enumerate(keys))
    order_by = ", ".join(f"({k.expr}) {'DESC' if k.descending else 'ASC'}" for k in keys)
    sql = f"SELECT {query.columns}, {key_columns} FROM {query.source} WHERE {where} ORDER BY {order_by} LIMIT ?"
    return sql, (*params, limit)


@contextmanager
def _refusals() -> Iterator[None]:
    """A statement a SQL function stopped to refuse the request (`limits.refuse`) raises that refusal."""
    try:
        yield
    except sqlite3.OperationalError:
        raise_refusal()
        raise


def count_rows(store: Store, query: Query) -> int:
    """How many rows `query` holds, across all its pages."""
    with _refusals():
        return store.counted(f"SELECT COUNT(*) FROM {query.source} WHERE {query.where}", tuple(query.params))


class Connection(Generic[T]):
    """A Relay connection: `edges`, `pageInfo` and (computed only when asked) `totalCount`."""

    def __init__(
        self,
        store: Store,
        query: Query,
        wrap: Callable[[Any], T],
        *,
        after: str | None = None,
        first: int | None = None,
        before: str | None = None,
        last: int | None = None,
        edge_fields: Callable[[Any], dict[str, Any]] | None = None,
    ) -> None:
        if before is not None or last is not None:
            raise BadInput("backward pagination (`before`/`last`) is not supported; use `after`")
        self._store = store
        self._query = query
        self._wrap = wrap
        self._edge_fields = edge_fields
        limit = page_size(first)
        keys = list(query.order)
        with _refusals():
            rows = store.all(*page_statement(query, after, limit + 1))
        charge_rows(len(rows))
        self._has_next = len(rows) > limit
        self.rows = rows[:limit]
        self._cursors = [encode_cursor([row[f"_k{i}"] for i in range(len(keys))]) for row in self.rows]

    def total_count(self) -> int:
        return count_rows(self._store, self._query)

    def page_info(self) -> dict[str, Any]:
        return {
            "hasNextPage": self._has_next,
            "hasPreviousPage": False,
            "startCursor": self._cursors[0] if self._cursors else None,
            "endCursor": self._cursors[-1] if self._cursors else None,
        }

    def edges(self) -> list[dict[str, Any]]:
        result = []
        for row, cursor in zip(self.rows, self._cursors, strict=True):
            edge = {"node": self._wrap(row), "cursor": cursor}
            if self._edge_fields is not None:
                edge.update(self._edge_fields(row))
            result.append(edge)
        return result

    def upload_headers(self) -> list[str]:
        return []
