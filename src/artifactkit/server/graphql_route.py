"""`POST /graphql`: read the body, authenticate, bound the cost, then validate and execute.

The order is what keeps the work of a hostile request small: the body is read up to a limit,
JSON nesting is checked, the key is looked up, the document is parsed (token-limited), a caller
without a valid key is refused unless it asks for anonymous fields only, the document's cost is
measured in linear time, and only then is it validated and executed, within a time budget.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    validate,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .answers import PiecesResponse, encode
from .auth import Principal, authenticate, is_anonymous_operation
from .context import Context, UrlSigner
from .errors import EmulatorError
from .execution import PlannedExecutionContext
from .limits import (
    Cost,
    CostLimits,
    DocumentCache,
    Lanes,
    OutOfSlice,
    TooMuchText,
    answer_used,
    document_cost,
    json_depth,
)
from .schema import field_resolver
from .settings import LEGACY_REMOVED_FIELDS
from .transactions import APPLIED

if TYPE_CHECKING:
    from .app import Emulator

log = logging.getLogger("artifactkit.server")

MAX_TOKENS = 50_000

# A query whose document is already checked runs first on the event loop, without a hop to a
# worker thread (the hop and the GIL hand-offs around it cost more CPU than a page of 50
# versions). It may use this much CPU time in SQLite and load this many rows; past either,
# it stops and runs again, from the start, in a worker thread under the full budgets. Mutations
# and documents not yet checked always go to a worker thread.
INLINE_SECONDS = 0.02
INLINE_ROWS = 1_000
# ... and SQL functions may do this much work (`$regex`: bytes x RE2 instructions, about 4 ms at
# worst), which SQLite's progress handler cannot see: one call of a function is one step to it.
INLINE_WORK = 1_000_000
# ... and its rows may bring in this many characters of stored text, and its answer hold as many
# (`Settings.max_answer_chars` counts the same way): converting, completing and encoding them
# takes about a millisecond.
INLINE_TEXT = 1024 * 1024

# The measure of the answer `execute` made last on this thread (`limits.answer_allowance` counts).
_measured = threading.local()

# A body bigger than this (or of undeclared length) is read, decoded, executed and encoded off
# the event loop, at most `Settings.max_large_bodies_per_caller` of one caller's at once.
LARGE_BODY_BYTES = 256 * 1024


def error_response(message: str, code: str, status: int) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status)


def _errors(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


_LEGACY_MISSING = tuple(f'Cannot query field "{field}" on type "{kind}".' for kind, field in LEGACY_REMOVED_FIELDS)


def _never_awaitable(value: object) -> bool:
    """Every resolver here is synchronous; skipping graphql-core's per-value awaitable check saves ~10%."""
    return False


_QUOTED_NAME = re.compile(r"'([_A-Za-z][_0-9A-Za-z]*)'")


def _validation_error(error: GraphQLError) -> dict[str, Any]:
    """Quote names the way graphql-js (and so W&B) does; clients match some messages exactly."""
    formatted: dict[str, Any] = dict(error.formatted)
    formatted["message"] = _QUOTED_NAME.sub(r'"\1"', formatted["message"])
    formatted["extensions"] = {"code": "GRAPHQL_VALIDATION_FAILED"}
    return formatted


# Errors from client input that surface below the resolvers (SQLite cannot bind the value,
# Python cannot represent it): answered as bad input, never as a crash.
_INPUT_ERRORS = (OverflowError, RecursionError, UnicodeEncodeError, sqlite3.InterfaceError)


def _unauthenticated_message(sent_credentials: bool) -> str:
    return "invalid API key" if sent_credentials else "authentication required: send HTTP Basic api:<key>"


_OVER_BUDGET = "the request ran past its time budget and was stopped"
_WAITED_PAST_BUDGET = (
    "the request waited its whole time budget for a worker thread (this user's other requests, or a "
    "busy server) and was not run; try again"
)


def _format_error(error: GraphQLError, over_budget: bool) -> tuple[dict[str, Any], int]:
    original = error.original_error
    formatted: dict[str, Any] = dict(error.formatted)
    if isinstance(original, EmulatorError):
        formatted["extensions"] = {"code": original.code}
        return formatted, original.status
    if over_budget and isinstance(original, sqlite3.OperationalError):
        formatted["message"] = _OVER_BUDGET
        formatted["extensions"] = {"code": "TIME_BUDGET_EXCEEDED"}
        return formatted, 503
    if isinstance(original, _INPUT_ERRORS):
        formatted["message"] = f"a value is out of range or not representable: {type(original).__name__}"
        formatted["extensions"] = {"code": "BAD_USER_INPUT"}
        return formatted, 400
    if original is not None and not isinstance(original, GraphQLError):
        log.error("resolver failed", exc_info=original)
        formatted["message"] = "internal error in the emulator"
        formatted["extensions"] = {"code": "INTERNAL_SERVER_ERROR"}
        return formatted, 500
    formatted.setdefault("extensions", {"code": "GRAPHQL_VALIDATION_FAILED"})
    return formatted, 400


@dataclass(frozen=True)
class Checked:
    """A parsed document with its cost and validation errors (computed once per text)."""

    document: DocumentNode
    cost: Cost
    errors: list[GraphQLError]


_OPERATION_NAME = re.compile(r"\b(?:query|mutation)\s+([_A-Za-z][_0-9A-Za-z]*)")


def first_operation_name(query: str) -> str | None:
    match = _OPERATION_NAME.search(query[:4096])
    return match.group(1) if match else None


@dataclass(frozen=True)
class Caller:
    """Who sent a request: their key's principal (None: no valid key), whether they sent any
    credentials, and the signer of the URLs their answer may hold."""

    principal: Principal | None
    sent_credentials: bool
    signer: UrlSigner

    @property
    def lane(self) -> int | None:
        """Whose share of the worker threads the request uses: its user's, or that of all callers without a key."""
        return None if self.principal is None else self.principal.user_id


@dataclass(frozen=True)
class Call:
    """A decoded GraphQL request: its document text, variables, operation and body size."""

    query: str
    variables: dict[str, Any]
    operation_name: str | None
    size: int


def _declared_length(request: Request) -> int | None:
    declared = request.headers.get("content-length", "")
    return int(declared) if declared.isascii() and declared.isdigit() else None


class GraphQLRoute:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        settings = emulator.settings
        self.large_bodies = Lanes(settings.max_large_bodies_per_caller)
        self.lanes = Lanes(settings.max_threads_per_caller)
        self.limits = CostLimits(
            depth=settings.max_query_depth,
            breadth=settings.max_query_breadth,
            selections=settings.max_query_selections,
            aliases=settings.max_query_aliases,
            introspection=settings.max_introspection_fields,
        )
        self.cache: DocumentCache[Checked | GraphQLError] = DocumentCache(
            settings.document_cache_bytes, settings.document_cache_entry_bytes
        )

    async def bounded_body(self, request: Request, limit: int | None = None) -> bytes | None:
        """The request body, or None once it exceeds `limit` (default `max_body_bytes`), declared or
        while streaming."""
        if limit is None:
            limit = self.emulator.settings.max_body_bytes
        declared = _declared_length(request)
        if declared is not None and declared > limit:
            return None
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                return None
        return b"".join(chunks)

    async def handle(self, request: Request) -> Response:
        if request.method != "POST":
            return error_response("send GraphQL requests with POST", "METHOD_NOT_ALLOWED", 405)
        # Who is calling is known from the headers: a caller without a valid key may only ask for
        # the anonymous fields, in a small body, refused before a byte more is read or parsed.
        principal = authenticate(self.emulator.store, request)
        caller = Caller(principal, request.headers.get("authorization") is not None, self.emulator.signer(request))
        settings = self.emulator.settings
        limit = settings.max_body_bytes if principal is not None else settings.max_keyless_body_bytes
        declared = _declared_length(request)
        if limit <= LARGE_BODY_BYTES or (declared is not None and declared <= LARGE_BODY_BYTES):
            body = await self.bounded_body(request, limit)
            if body is None:
                return self._too_large(caller)
            # The time budget runs from here: waiting for a worker thread counts.
            received = time.monotonic()
            call = self._decode(body)
            if isinstance(call, Response):
                return call
            answer = self._answer(call, caller, received, inline=True)
            if answer is None:
                async with self.lanes.lane(caller.lane):
                    answer = await anyio.to_thread.run_sync(self._answer, call, caller, received)
            assert answer is not None
            return answer
        # A large body (or one of unknown length) is read, decoded, run and encoded off the event
        # loop, a few of one caller's at a time: memory and CPU stay bounded however many arrive,
        # and a caller sending slowly holds up only their own requests.
        arrived = time.monotonic()
        async with self.large_bodies.lane(caller.lane):
            waited = time.monotonic() - arrived
            body = await self.bounded_body(request, limit)
            if body is None:
                return self._too_large(caller)
            received = time.monotonic() - waited  # the wait for this lane counts, the sending does not
            async with self.lanes.lane(caller.lane):
                return await anyio.to_thread.run_sync(self._decode_and_answer, body, caller, received)

    def _too_large(self, caller: Caller) -> Response:
        if caller.principal is None:
            limit = self.emulator.settings.max_keyless_body_bytes
            message = _unauthenticated_message(caller.sent_credentials)
            return error_response(
                f"{message} (without a valid key, a body may hold at most {limit:,} bytes)", "UNAUTHENTICATED", 401
            )
        return error_response("request body too large", "PAYLOAD_TOO_LARGE", 413)

    def _decode(self, body: bytes) -> Call | Response:
        """The request a body holds, or the answer to a malformed one."""
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            return error_response("the body must be a JSON object with a `query`", "BAD_REQUEST", 400)
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return error_response("the body must be a JSON object with a `query`", "BAD_REQUEST", 400)
        settings = self.emulator.settings
        if not json_depth(payload, settings.max_json_depth):
            return error_response(
                f"the JSON body nests deeper than {settings.max_json_depth} levels", "BAD_REQUEST", 400
            )
        variables = payload.get("variables") or {}
        operation_name = payload.get("operationName") or None  # "" means "no name"
        if not isinstance(variables, dict) or (operation_name is not None and not isinstance(operation_name, str)):
            return error_response("`variables` must be an object and `operationName` a string", "BAD_REQUEST", 400)
        query: str = payload["query"]
        if len(query) > settings.max_document_chars:
            return error_response(
                f"the GraphQL document is longer than {settings.max_document_chars:,} characters; "
                "send values as variables",
                "PAYLOAD_TOO_LARGE",
                413,
            )
        return Call(query, variables, operation_name, len(body))

    def _decode_and_answer(self, body: bytes, caller: Caller, received: float) -> Response:
        call = self._decode(body)
        if isinstance(call, Response):
            return call
        answer = self._answer(call, caller, received)
        assert answer is not None
        return answer

    def _answer(self, call: Call, caller: Caller, received: float, *, inline: bool = False) -> Response | None:
        """Run `call` and encode its answer; None when `inline` and it is not one to run on the loop.

        `received`: when the request arrived (`time.monotonic()`), from which its time budget runs.
        """
        principal = caller.principal
        _measured.size = 0
        outcome = self.execute(
            call.query,
            call.variables,
            call.operation_name,
            principal,
            caller.sent_credentials,
            caller.signer,
            inline=inline,
            received=received,
        )
        if outcome is None:
            return None
        status, result = outcome
        size: int = _measured.size
        self.emulator.stats.record_graphql(
            call.operation_name or first_operation_name(call.query),
            call.query,
            call.variables,
            status,
            authenticated=principal is not None,
            size=call.size,
        )
        encoded = encode(result, size)  # in one orjson call, or in pieces when large
        if isinstance(encoded, bytes):
            return Response(encoded, status_code=status, media_type="application/json")
        return PiecesResponse(encoded, status_code=status)

    def _check(self, query: str) -> Checked | GraphQLError:
        try:
            document = parse(query, max_tokens=MAX_TOKENS)
        except GraphQLError as exc:
            return exc
        except RecursionError:
            return GraphQLError("the document nests too deeply to parse")
        cost = document_cost(document)
        if self.limits.violation(cost) is not None:
            return Checked(document, cost, [])
        return Checked(document, cost, validate(self.emulator.schema, document))

    def execute(
        self,
        query: str,
        variables: dict[str, Any],
        operation_name: str | None,
        principal: Principal | None,
        sent_credentials: bool,
        signer: UrlSigner,
        *,
        inline: bool = False,
        received: float | None = None,
    ) -> tuple[int, dict[str, Any]] | None:
        """Run a request: (status, answer). `inline`: on the event loop, within `INLINE_SECONDS`,
        `INLINE_ROWS`, `INLINE_WORK` and `INLINE_TEXT`; None when the request is not one to run
        there or outgrew that slice. `received`: when the request arrived (`time.monotonic()`); its
        time budget runs from then."""
        outcome = self._execute(
            query, variables, operation_name, principal, sent_credentials, signer, inline=inline, received=received
        )
        if outcome is None:
            return None
        status, answer, _measured.size = outcome
        return status, answer

    def _execute(
        self,
        query: str,
        variables: dict[str, Any],
        operation_name: str | None,
        principal: Principal | None,
        sent_credentials: bool,
        signer: UrlSigner,
        *,
        inline: bool,
        received: float | None,
    ) -> tuple[int, dict[str, Any], int] | None:
        """`execute`, and the answer's measure as `limits.answer_allowance` counts it (0: small)."""
        if inline:  # only a document checked before: parsing and validating stay off the loop
            cached = self.cache.get(query)
            if cached is None or isinstance(cached, GraphQLError):
                return None
            checked: Checked | GraphQLError = cached
        else:
            # Only authenticated callers' documents are kept: a stranger cannot fill the cache.
            checked = self.cache.get_or_compute(query, lambda: self._check(query), store=principal is not None)
        if isinstance(checked, GraphQLError):
            return 400, {"errors": [checked.formatted | {"extensions": {"code": "GRAPHQL_PARSE_FAILED"}}]}, 0
        if principal is None and not is_anonymous_operation(checked.document, operation_name):
            return 401, _errors(_unauthenticated_message(sent_credentials), "UNAUTHENTICATED"), 0
        violation = self.limits.violation(checked.cost)
        if violation is not None:
            return 400, _errors(violation, "QUERY_TOO_COMPLEX"), 0
        if checked.errors:
            formatted = [_validation_error(e) for e in checked.errors[:20]]
            return self._validation_status(formatted), {"data": None, "errors": formatted}, 0
        operation = get_operation_ast(checked.document, operation_name)
        is_query = operation is not None and operation.operation is OperationType.QUERY
        if inline and not is_query:
            return None
        emulator = self.emulator
        settings = emulator.settings
        seconds = settings.request_time_budget_seconds
        if received is not None:
            seconds -= time.monotonic() - received
            if seconds <= 0:  # waited its whole budget for a worker thread: nothing was run
                return 503, _errors(_WAITED_PAST_BUDGET, "TIME_BUDGET_EXCEEDED"), 0
        ctx = Context(
            store=emulator.store,
            blobs=emulator.blobs,
            urls=signer,
            settings=settings,
            user=None if principal is None else principal.user,
            read_only=principal is None or not principal.can_write,
        )
        budget = emulator.budget
        budget.start(
            emulator.store.conn,
            seconds,
            settings.max_rows_per_request,
            text=settings.max_answer_chars,
            slice_seconds=INLINE_SECONDS if inline else None,
            slice_rows=INLINE_ROWS if inline else None,
            slice_work=INLINE_WORK if inline else None,
            slice_text=INLINE_TEXT if inline else None,
        )
        try:
            result = execute(
                emulator.schema,
                checked.document,
                variable_values=variables,
                operation_name=operation_name,
                context_value=ctx,
                field_resolver=field_resolver,
                is_awaitable=_never_awaitable,
                execution_context_class=PlannedExecutionContext,
            )
            over_budget = budget.exceeded
            if budget.sliced:  # queries write nothing: the run is dropped and starts again
                return None
            size = answer_used()
        except OutOfSlice:
            return None
        except TooMuchText as exc:
            message = exc.message
            if ctx.cache.get(APPLIED):
                message += " (the changes of the mutations run before it was refused were made)"
            return 400, _errors(message, "ANSWER_TOO_LARGE"), 0
        except RecursionError:
            return 400, _errors("the variables nest too deeply", "BAD_USER_INPUT"), 0
        finally:
            budget.stop()
        assert isinstance(result, ExecutionResult)
        if over_budget and is_query:  # a query answered late is not answered: the budget is the contract
            return 503, _errors(_OVER_BUDGET, "TIME_BUDGET_EXCEEDED"), 0
        response: dict[str, Any] = {"data": result.data}
        status = 200
        if result.errors:
            outcomes = [_format_error(e, over_budget) for e in result.errors]
            response["errors"] = [f for f, _ in outcomes]
            status = max(s for _, s in outcomes)
            if result.data is None and status == 200:
                status = 400
        return status, response, size

    def _validation_status(self, errors: list[dict[str, Any]]) -> int:
        """400 for a document that does not validate, with one exception in the legacy personality.

        A W&B server that lacks a field answers a query for it with HTTP 200 and the error in the
        body, and the official clients (0.19.9's `_check_server_feature_with_fallback`) recognise a
        server without `ServerInfo.features` only by finding that error text in a 200 answer. So
        when every error is about a field the legacy personality removed, answer as that server.
        """
        if self.emulator.settings.legacy and all(e["message"].startswith(_LEGACY_MISSING) for e in errors):
            return 200
        return 400
