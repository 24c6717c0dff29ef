"""Bounds on the work one request can cause, checked before the work starts.

* `document_cost`: depth, widest selection set, total selections, aliases and introspection
  fields of a GraphQL document. Each fragment is measured once and its measure reused at every
  spread, so a document whose fragments spread each other 2^40 times costs 40 steps to measure
  (and is then refused for its 2^40 selections).
* `json_depth`: the nesting of a decoded JSON value, without recursion.
* `DocumentCache`: parsed and checked documents, bounded by the bytes of their source.
* `RequestLog`: the GraphQL request log of `/_emulator/stats?log=1`, bounded in bytes.
* `Lanes`: how many worker threads one caller's requests may occupy at once.
* `TimeBudget`: a per-request deadline that SQLite enforces through its progress handler, and a
  budget of rows the request's pages may load in all (`charge_rows`, called by every page), since
  nested connections multiply (`first: 10000` inside `first: 10000`).
* `charge_work`: the same deadline and slice for work SQLite cannot see: one call of a SQL function
  (`regexp`) is a single step to SQLite, and its progress handler does not run inside it. The
  function states its cost before it starts; `refuse` stops its statement with a client error.
* Text budgets: the characters of stored text a request's rows bring in (counted row by row as
  SQLite hands them over, so a page of large values stops at the row that outgrows it) and the
  size of its answer (counted value by value as it is built, `answer_allowance`). Past either the
  request stops at once (`TooMuchText`); on the event loop, past a much smaller slice of them, it
  is run again in a worker thread (`OutOfSlice`).
* `check_stored_values`: caps on the text a mutation may store (metadata, descriptions, configs,
  summaries, tags), checked before it changes anything.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from operator import itemgetter, length_hint
from typing import Any, Generic, NoReturn, TypeVar

import anyio
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from .errors import BadInput
from .settings import Settings

_INTROSPECTION = {"__schema", "__type"}
_request = threading.local()  # the budgets of the request this thread is executing


class StopStatement(Exception):
    """Raised inside a SQL function to stop the statement that called it.

    SQLite reports it as `sqlite3.OperationalError` ("user-defined function raised exception");
    why it was raised is in the request's state: past the deadline (`TimeBudget.exceeded`), past
    the slice (`TimeBudget.sliced`) or refused (`raise_refusal` re-raises the refusal).
    """


class TooMuchText(BaseException):
    """A request read, or would answer, more text than its budget: it stops at once and is refused.

    A BaseException, so that graphql-core does not turn it into one field's error and go on
    building the rest of an answer nobody will get.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class OutOfSlice(BaseException):
    """A request run on the event loop outgrew its slice; it is run again in a worker thread.

    A BaseException, so that graphql-core does not turn it into a field error: the inline run
    stops at once.
    """


def charge_rows(count: int) -> None:
    """Count rows a page loaded against the request's row budget; past it, the request is refused."""
    left: int | None = getattr(_request, "rows_left", None)
    if left is None:  # not inside a GraphQL request (a mutation's own lookups, tests)
        return
    _request.rows_left = left - count
    if left - count < 0:
        raise BadInput(
            f"the request loads more than {_request.rows_limit} rows in all (nested pages multiply); "
            "ask for smaller pages"
        )
    slice_left: int | None = getattr(_request, "slice_rows_left", None)
    if slice_left is not None:
        _request.slice_rows_left = slice_left - count
        if slice_left - count < 0 or _past_slice():
            raise OutOfSlice


def charge_work(units: int) -> None:
    """Before a SQL function does `units` of work SQLite cannot interrupt: stop its statement
    (`StopStatement`) if the request is past its deadline, or if that work would take it past the
    slice of the event loop (the run is then dropped and starts again in a worker thread)."""
    if getattr(_request, "deadline", None) is None:  # not inside a GraphQL request
        return
    if _request.exceeded or _request.sliced:  # stopped already; a statement of another field calls again
        raise StopStatement
    if time.monotonic() > _request.deadline:
        _request.exceeded = True
        raise StopStatement
    slice_left: int | None = _request.slice_work_left
    if slice_left is not None:
        _request.slice_work_left = slice_left - units
        if slice_left - units < 0 or _past_slice():
            _request.sliced = True
            raise StopStatement


def refuse(error: BadInput) -> NoReturn:
    """Stop the running statement from inside a SQL function and answer the request with `error`."""
    _request.refusal = error
    raise StopStatement


def raise_refusal() -> None:
    """After a statement failed: raise the refusal a SQL function made (`refuse`), if it made one."""
    refusal: BadInput | None = getattr(_request, "refusal", None)
    if refusal is not None:
        _request.refusal = None
        raise refusal


def _past_slice() -> bool:
    """Whether this thread's request has used up the CPU time of its slice (none: never).

    A thread's CPU time grows no faster than the clock, so the clock (cheap to read) is looked at
    first and the CPU time (a system call) only once the clock is past the slice.
    """
    if time.perf_counter() <= getattr(_request, "slice_clock", float("inf")):
        return False
    return time.thread_time() > getattr(_request, "slice_deadline", float("inf"))


# Besides its text, every value of a loaded row or of an answer counts this much: a row or an
# answer of many small values costs what its structure costs.
VALUE_OVERHEAD = 8
_UNLIMITED = 1 << 62

# The columns whose text a client writes freely (bounded only by `check_stored_values` today, and
# by the 8 MiB body in older data directories); the others hold names, digests, states and times,
# bounded by their rules. Only these are measured as rows arrive: looking at every value of every
# row cost 5% of a page's time.
LARGE_COLUMNS = frozenset(
    {
        "metadata",
        "description",
        "config",
        "summary_metrics",
        "notes",
        "tags",
        "attributes",
        "display_name",
        "group_name",
        "job_type",
        "host",
        "commit_hash",
        "sweep_name",
        "client_id",
        "used_as",
        "ref",
        "pending_aliases",
        "digest",
        "email",
    }
)


class _TextBudget:
    """What one request may still read and answer (`TimeBudget.start`), and the row factory that
    counts its rows as SQLite hands them over."""

    __slots__ = (
        "answer_left",
        "answer_rest",
        "answer_start",
        "described",
        "inline",
        "limit",
        "pick",
        "read_left",
        "single",
    )

    def __init__(self, limit: int, allowance: int, inline: bool) -> None:
        self.limit = limit
        self.inline = inline
        self.read_left = self.answer_left = self.answer_start = self.answer_rest = allowance
        self.described: Any = None
        self.pick: Callable[[tuple[Any, ...]], Any] | None = None
        self.single = False

    def row(self, cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> sqlite3.Row:
        """Each row's `LARGE_COLUMNS` (plus `VALUE_OVERHEAD` a value) are counted as it arrives, so a
        page of large stored values stops at the row that outgrows the budget, not after all of
        them are in memory."""
        described = cursor.description  # one object per statement
        if described is not self.described:
            self.described = described
            columns = [i for i, column in enumerate(described) if column[0] in LARGE_COLUMNS]
            self.pick = itemgetter(*columns) if columns else None
            self.single = len(columns) == 1  # then `pick` answers the value, else a tuple of them
        size = VALUE_OVERHEAD * len(values)
        pick = self.pick
        if pick is not None:  # text and blobs count their length; NULL and numbers nothing
            size += length_hint(pick(values)) if self.single else sum(map(length_hint, pick(values)))
        left = self.read_left - size
        self.read_left = left
        if left < 0:
            self.exhausted("read")
        return sqlite3.Row(cursor, values)

    def exhausted(self, kind: str) -> NoReturn:
        if self.inline:  # on the event loop: the slice ran out, not the budget
            _request.sliced = True
            raise OutOfSlice
        if kind == "read":
            raise TooMuchText(
                f"the request reads more than {self.limit:,} characters of stored values (large "
                "metadata, descriptions or configs); ask for smaller pages (`first:`)"
            )
        raise TooMuchText(
            f"the answer would hold more than {self.limit:,} characters; ask for smaller pages "
            "(`first:`), fewer fields or fewer aliases"
        )


def _text() -> _TextBudget | None:
    found: _TextBudget | None = getattr(_request, "text", None)
    return found


def answer_allowance() -> int:
    """How much the running request's answer may hold: text characters plus `VALUE_OVERHEAD` per
    value (effectively unlimited outside a request). The executor counts down from it and calls
    `answer_exhausted` below zero."""
    budget = _text()
    return _UNLIMITED if budget is None else budget.answer_left


def settle_answer(left: int) -> None:
    """Called by the executor once the answer is complete, with what remained of its allowance."""
    budget = _text()
    if budget is not None:
        budget.answer_rest = left


def answer_used() -> int:
    """The measure of the running (or last) request's complete answer (as `answer_allowance` counts)."""
    budget = _text()
    return 0 if budget is None else budget.answer_start - budget.answer_rest


def answer_exhausted() -> NoReturn:
    budget = _text()
    assert budget is not None  # an allowance below zero is a request's
    budget.exhausted("answer")


def leave_the_loop() -> None:
    """Before work whose cost grows with the stored values and that neither SQLite's progress
    handler nor `charge_work` can see in time (a JSON path over every candidate row's metadata is
    one instruction per row, each as long as the row's JSON): a request on the event loop is run
    again in a worker thread. Elsewhere, nothing."""
    budget = _text()
    if budget is not None and budget.inline and getattr(_request, "deadline", None) is not None:
        _request.sliced = True
        raise OutOfSlice


# Input fields holding a JSON document, and which cap is theirs.
_JSON_FIELDS = {
    "metadata": "max_metadata_chars",
    "config": "max_run_json_chars",
    "summaryMetrics": "max_run_json_chars",
}
_TAG_LISTS = frozenset({"tags", "tagsToAdd", "tagsToDelete"})


def check_stored_values(input: dict[str, Any], settings: Settings) -> None:
    """Refuse a mutation's input (`BadInput`, before anything changes) that would store more text
    than `settings` allow (`max_metadata_chars` and the fields after it). Every text value anywhere
    in the input counts, so a field added later is bounded too; values stored elsewhere (files,
    manifests) never pass through here."""
    stack: list[tuple[str, Any]] = [(name, value) for name, value in input.items()]
    while stack:
        name, value = stack.pop()
        if isinstance(value, str):
            cap_name = _JSON_FIELDS.get(name, "max_text_chars")
            limit: int = getattr(settings, cap_name)
            if len(value) > limit:
                what = f"`{name}`" if cap_name != "max_text_chars" else f"the text value `{name}`"
                raise BadInput(
                    f"{what} holds {len(value):,} characters; at most {limit:,} may be stored"
                    + ("; keep large data in the version's files" if name == "metadata" else "")
                )
            if name == "metadata":
                _check_metadata_keys(value, settings.max_metadata_keys)
        elif isinstance(value, dict):
            stack.extend(value.items())
        elif isinstance(value, list):
            if name in _TAG_LISTS:
                most = settings.max_tags_per_list
                if len(value) > most:
                    raise BadInput(f"`{name}` lists {len(value):,} tags; at most {most:,} may be sent at once")
                for tag in value:
                    if isinstance(tag, str) and len(tag) > settings.max_run_tag_chars:
                        raise BadInput(
                            f"a run's tag may hold at most {settings.max_run_tag_chars} characters, "
                            f"not {len(tag):,}: {tag[:40]!r}..."
                        )
            stack.extend((name, item) for item in value)


def _check_metadata_keys(text: str, limit: int) -> None:
    """W&B's rule for a version's metadata: at most `limit` (100) keys at its top level."""
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return  # not JSON: the mutation says so itself
    if isinstance(document, dict) and len(document) > limit:
        raise BadInput(f"`metadata` has {len(document):,} top-level keys; a version may have at most {limit}")


@dataclass(frozen=True)
class Cost:
    """What executing a document may touch; counts multiply through repeated fragment spreads."""

    depth: int = 0
    breadth: int = 0
    selections: int = 0
    aliases: int = 0
    introspection: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            depth=max(self.depth, other.depth),
            breadth=max(self.breadth, other.breadth),
            selections=self.selections + other.selections,
            aliases=self.aliases + other.aliases,
            introspection=self.introspection + other.introspection,
        )

    def nested(self) -> Cost:
        """The cost seen from one level up (under a field)."""
        return Cost(self.depth + 1, self.breadth, self.selections, self.aliases, self.introspection)


def document_cost(document: DocumentNode, operation_name: str | None = None) -> Cost:
    """The cost of the operations of `document` (only `operation_name` when given).

    Linear in the size of the document: every fragment's cost is computed once. A fragment
    that spreads itself (directly or not) counts as empty here; validation refuses it later.
    """
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    memo: dict[str, Cost] = {}
    in_progress: set[str] = set()

    def fragment(name: str) -> Cost:
        known = memo.get(name)
        if known is not None:
            return known
        definition = fragments.get(name)
        if definition is None or name in in_progress:
            return Cost()
        in_progress.add(name)
        cost = selection_set(definition.selection_set)
        in_progress.discard(name)
        memo[name] = cost
        return cost

    def selection_set(node: SelectionSetNode | None) -> Cost:
        if node is None:
            return Cost()
        total = Cost(breadth=len(node.selections))
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                inner = selection_set(selection.selection_set).nested()
                total = (
                    total
                    + inner
                    + Cost(
                        selections=1,
                        aliases=1 if selection.alias is not None else 0,
                        introspection=1 if selection.name.value in _INTROSPECTION else 0,
                    )
                )
            elif isinstance(selection, InlineFragmentNode):
                total = total + selection_set(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total = total + fragment(selection.name.value)
        return total

    cost = Cost()
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if operation_name and (definition.name is None or definition.name.value != operation_name):
            continue
        cost = cost + selection_set(definition.selection_set)
    return cost


@dataclass(frozen=True)
class CostLimits:
    depth: int
    breadth: int
    selections: int
    aliases: int
    introspection: int

    def violation(self, cost: Cost) -> str | None:
        """Why `cost` is over the limits, or None."""
        checks = (
            (cost.depth, self.depth, "is nested deeper than {limit} levels"),
            (cost.breadth, self.breadth, "selects more than {limit} fields in one selection set"),
            (cost.selections, self.selections, "selects more than {limit} fields in all (fragments counted per use)"),
            (cost.aliases, self.aliases, "uses more than {limit} aliases"),
            (cost.introspection, self.introspection, "asks for __schema or __type more than {limit} times"),
        )
        for value, limit, message in checks:
            if value > limit:
                return "query " + message.format(limit=limit)
        return None


def json_depth(value: Any, limit: int) -> bool:
    """Whether `value` (decoded JSON) nests no deeper than `limit` arrays and objects."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= limit:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


class Lanes:
    """At most `per_caller` requests of one caller in worker threads at once; more wait their turn.

    A caller is a user (whatever key they use), and every caller without a valid key is one.
    Worker threads running Python (parsing, validating, resolving) take turns holding the GIL,
    and the event loop is one of the takers: with n of them busy it waits up to n switch
    intervals (5 ms each) each time it wants the GIL back. So no caller may keep more than a few
    busy. Used only from the event loop: no lock.
    """

    def __init__(self, per_caller: int) -> None:
        self.per_caller = per_caller
        self._lanes: dict[int | None, tuple[anyio.Semaphore, list[int]]] = {}

    @asynccontextmanager
    async def lane(self, caller: int | None) -> AsyncIterator[None]:
        semaphore, users = self._lanes.setdefault(caller, (anyio.Semaphore(self.per_caller), [0]))
        users[0] += 1
        try:
            async with semaphore:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._lanes[caller]

    def __len__(self) -> int:
        return len(self._lanes)


K = TypeVar("K")
V = TypeVar("V")


class DocumentCache(Generic[V]):
    """A least-recently-used map from query text to a checked document, bounded in bytes.

    The weight of an entry is the length of its query text (the parsed form grows with it);
    texts over `max_entry_bytes` are not kept at all.
    """

    def __init__(self, max_bytes: int, max_entry_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self.bytes = 0
        self._entries: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> V | None:
        """The entry for `key` (marked as recently used), or None; computes nothing."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def get_or_compute(self, key: str, compute: Callable[[], V], *, store: bool = True) -> V:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        value = compute()
        if store and len(key) <= self.max_entry_bytes:
            with self._lock:
                if key not in self._entries:
                    self._entries[key] = value
                    self.bytes += len(key)
                while self.bytes > self.max_bytes and self._entries:
                    old, _ = self._entries.popitem(last=False)
                    self.bytes -= len(old)
        return value

    def __len__(self) -> int:
        return len(self._entries)


class RequestLog:
    """The last GraphQL requests (operation, query, variables, status), at most `max_bytes` of them.

    Requests without a valid key are logged by their metadata only: nobody's query text or
    variables are kept for an unauthenticated caller. An entry bigger than `max_entry_bytes`
    keeps its metadata and the sizes of what was dropped.
    """

    def __init__(self, max_bytes: int, max_entry_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self.bytes = 0
        self._entries: deque[tuple[dict[str, Any], int]] = deque()

    def append(self, entry: dict[str, Any], size: int) -> None:
        if size > self.max_entry_bytes:
            entry = {k: v for k, v in entry.items() if k not in ("query", "variables")}
            entry["dropped_bytes"] = size
            size = 256
        self._entries.append((entry, size))
        self.bytes += size
        while self.bytes > self.max_bytes and self._entries:
            _, old = self._entries.popleft()
            self.bytes -= old

    def __iter__(self) -> Any:
        return iter([entry for entry, _ in self._entries])

    def __len__(self) -> int:
        return len(self._entries)


class BudgetExceeded(Exception):
    """A request ran past its time budget (SQLite interrupted its statement)."""


class TimeBudget:
    """A deadline per request thread, enforced inside SQLite statements by the progress handler.

    Its state is the thread's request state (`_request`), which `charge_rows` shares.

    The handler runs every few thousand SQLite instructions; past the deadline it makes the
    running statement fail with "interrupted", which rolls back any write in progress.
    """

    def _check(self) -> int:
        deadline: float | None = getattr(_request, "deadline", None)
        if deadline is None:
            return 0
        now = time.monotonic()
        if now > deadline:
            _request.exceeded = True
            return 1
        if _request.sliced or _past_slice():
            _request.sliced = True
            return 1
        return 0

    def start(
        self,
        conn: sqlite3.Connection,
        seconds: float,
        rows: int | None = None,
        *,
        text: int | None = None,
        slice_seconds: float | None = None,
        slice_rows: int | None = None,
        slice_work: int | None = None,
        slice_text: int | None = None,
    ) -> None:
        """Start a request's budget: `seconds` of time, `rows` loaded, `text` characters read from
        the database and as many in its answer. With a slice, also stop it (`sliced`) past that
        many seconds of this thread's CPU time (not wall time: a process waiting for a core uses
        none), rows, units of work of SQL functions (`charge_work`), or characters read or
        answered."""
        _request.deadline = time.monotonic() + seconds
        _request.exceeded = False
        _request.sliced = False
        _request.refusal = None
        _request.slice_work_left = slice_work
        if slice_seconds is not None:
            _request.slice_deadline = time.thread_time() + slice_seconds
            _request.slice_clock = time.perf_counter() + slice_seconds
        else:
            _request.slice_deadline = _request.slice_clock = float("inf")
        conn.set_progress_handler(self._check, 10_000)
        _request.rows_left = rows
        _request.rows_limit = rows
        _request.slice_rows_left = slice_rows
        limit = _UNLIMITED if text is None else text
        budget = _TextBudget(limit, limit if slice_text is None else min(slice_text, limit), slice_seconds is not None)
        _request.text = budget
        _request.conn = conn
        conn.row_factory = budget.row

    def stop(self) -> None:
        _request.deadline = None
        _request.rows_left = None
        _request.slice_rows_left = None
        _request.slice_work_left = None
        _request.refusal = None
        budget = _text()
        if budget is not None:  # its measures stay readable (`answer_used`); outside a request, no limit
            budget.answer_left = _UNLIMITED
        conn: sqlite3.Connection | None = getattr(_request, "conn", None)
        if conn is not None:
            conn.row_factory = sqlite3.Row
            _request.conn = None

    @property
    def sliced(self) -> bool:
        """Whether the run outgrew its slice (a statement was stopped for it)."""
        return bool(getattr(_request, "sliced", False))

    @property
    def exceeded(self) -> bool:
        deadline: float | None = getattr(_request, "deadline", None)
        return bool(getattr(_request, "exceeded", False)) or (deadline is not None and time.monotonic() > deadline)
