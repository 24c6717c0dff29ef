"""The emulator's HTTP surface: GraphQL at `/graphql`, blob downloads and uploads, health, stats.

Built on Starlette. GraphQL requests are executed in a worker thread (SQLite is synchronous);
every answer is JSON, and no path reaches the client with a traceback.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import re
import secrets
import threading
from collections import Counter, deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    execute,
    parse,
    validate,
)
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from .._version import __version__
from ..manifest import Manifest, ManifestError
from .blobs import BlobStore, DigestMismatch
from .context import Context, UrlSigner
from .errors import EmulatorError
from .faults import FaultInjector, FaultPlan, FaultSpecError, FaultState
from .records import find_user_by_key
from .schema import build_schema, field_resolver
from .settings import LEGACY_REMOVED_FIELDS, Settings
from .store import Store, utcnow

log = logging.getLogger("artifactkit.server")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


def _error(message: str, code: str, status: int) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status)


class Stats:
    """Counts of what the emulator served, for tests that assert request and byte counts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests: Counter[str] = Counter()
            self.operations: Counter[str] = Counter()
            self.bytes_out: Counter[str] = Counter()
            self.bytes_in: Counter[str] = Counter()
            self.statuses: Counter[str] = Counter()
            self.graphql_log: deque[dict[str, Any]] = deque(maxlen=2000)

    def record(self, route: str, status: int | None = None, sent: int = 0, received: int = 0) -> None:
        """Count a response (when `status` is given) and body bytes; called as they happen."""
        with self._lock:
            if status is not None:
                self.requests[route] += 1
                self.statuses[str(status)] += 1
            self.bytes_out[route] += sent
            self.bytes_in[route] += received

    def record_operation(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.operations[entry.get("operationName") or "(anonymous)"] += 1
            self.graphql_log.append(entry)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(self.requests),
                "operations": dict(self.operations),
                "bytes_out": dict(self.bytes_out),
                "bytes_in": dict(self.bytes_in),
                "statuses": dict(self.statuses),
            }


def route_kind(path: str) -> str:
    """A coarse name for a request path, the key under which `Stats` counts it."""
    if path == "/graphql":
        return "graphql"
    if path.startswith("/storage/blobs/"):
        return "blob"
    if path.startswith(("/artifacts/", "/artifactsV2/")):
        return "fallback_blob"
    if path.startswith("/storage/"):
        return "upload"
    return "other"


class StatsMiddleware:
    """Pure ASGI middleware: counts requests and body bytes in both directions per route kind."""

    def __init__(self, app: ASGIApp, stats: Stats) -> None:
        self.app = app
        self.stats = stats

    async def __call__(
        self, scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_emulator/"):
            await self.app(scope, receive, send)
            return
        route = route_kind(scope["path"])
        started = False

        async def counting_receive() -> Message:
            message = await receive()
            self.stats.record(route, received=len(message.get("body", b"")))
            return message

        # Counted before each message goes out, so a client that has the whole answer also sees
        # it in the stats (a test may read them right after its request returns).
        async def counting_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                self.stats.record(route, status=int(message["status"]))
            elif message["type"] == "http.response.body":
                self.stats.record(route, sent=len(message.get("body", b"")))
            await send(message)

        try:
            await self.app(scope, counting_receive, counting_send)
        finally:
            if not started:  # dropped before any answer (a fault, a crash in the app)
                self.stats.record(route, status=0)


def selection_depth(document: DocumentNode) -> int:
    """The deepest field nesting of any operation, following fragment spreads (cycle-safe)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def depth(selection_set: SelectionSetNode | None, seen: frozenset[str]) -> int:
        if selection_set is None:
            return 0
        best = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                best = max(best, 1 + depth(selection.selection_set, seen))
            elif isinstance(selection, InlineFragmentNode):
                best = max(best, depth(selection.selection_set, seen))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in seen or name not in fragments:
                    continue
                best = max(best, depth(fragments[name].selection_set, seen | {name}))
        return best

    return max(
        (depth(d.selection_set, frozenset()) for d in document.definitions if isinstance(d, OperationDefinitionNode)),
        default=0,
    )


_ANONYMOUS_FIELDS = {"serverInfo", "__typename", "__schema", "__type"}


def _is_anonymous_allowed(document: DocumentNode, operation_name: str | None) -> bool:
    """Server information and introspection stay open, like on W&B; everything else needs a key."""
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if operation_name and (definition.name is None or definition.name.value != operation_name):
            continue
        if definition.operation.value != "query":
            return False
        for selection in definition.selection_set.selections:
            if not isinstance(selection, FieldNode) or selection.name.value not in _ANONYMOUS_FIELDS:
                return False
    return True


def _credentials(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            _, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return password or None
    if scheme.lower() == "bearer":
        return value or None
    return None


_LEGACY_MISSING = tuple(f'Cannot query field "{field}" on type "{kind}".' for kind, field in LEGACY_REMOVED_FIELDS)


def _never_awaitable(value: object) -> bool:
    """Every resolver here is synchronous; skipping graphql-core's per-value awaitable check saves ~10%."""
    return False


_QUOTED_NAME = re.compile(r"'([_A-Za-z][_0-9A-Za-z]*)'")


def _validation_error(error: GraphQLError) -> dict[str, Any]:
    """Quote names the way graphql-js (and so W&B) does; clients match some messages exactly."""
    formatted: dict[str, Any] = error.formatted
    formatted["message"] = _QUOTED_NAME.sub(r'"\1"', formatted["message"])
    formatted["extensions"] = {"code": "GRAPHQL_VALIDATION_FAILED"}
    return formatted


def _format_error(error: GraphQLError) -> tuple[dict[str, Any], int]:
    original = error.original_error
    formatted: dict[str, Any] = error.formatted
    if isinstance(original, EmulatorError):
        formatted["extensions"] = {"code": original.code}
        return formatted, original.status
    if original is not None and not isinstance(original, GraphQLError):
        log.exception("resolver failed", exc_info=original)
        formatted["message"] = "internal error in the emulator"
        formatted["extensions"] = {"code": "INTERNAL_SERVER_ERROR"}
        return formatted, 500
    formatted.setdefault("extensions", {"code": "GRAPHQL_VALIDATION_FAILED"})
    return formatted, 400


class Emulator:
    """Everything one running emulator shares: settings, database, blobs, schema, stats."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(settings.database_path)
        self.blobs = BlobStore(settings.blob_dir)
        self.blobs.discard_partial_uploads()  # left by a crash; nothing is uploading yet
        self.schema: GraphQLSchema = build_schema(legacy=settings.legacy)
        self.secret = self._load_secret()
        self.stats = Stats()
        self._checked_document = functools.lru_cache(maxsize=256)(self._check_document)
        self.faults = FaultState(FaultPlan.parse(settings.faults) if settings.faults else FaultPlan())

    def _load_secret(self) -> bytes:
        path = self.settings.data_dir / "url-signing.key"
        if not path.exists():
            path.write_bytes(secrets.token_bytes(32))
            path.chmod(0o600)
        return path.read_bytes()

    def signer(self, request: Request) -> UrlSigner:
        base = str(request.base_url).rstrip("/")
        return UrlSigner(base_url=base, secret=self.secret, ttl_seconds=self.settings.url_ttl_seconds)

    def authenticate(self, request: Request) -> Any:
        key = _credentials(request)
        return None if key is None else find_user_by_key(self.store, key)

    # -------------------------------------------------------------- GraphQL

    async def _bounded_body(self, request: Request) -> bytes | None:
        """The request body, or None once it exceeds the limit (declared or while streaming)."""
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.settings.max_body_bytes:
            return None
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.settings.max_body_bytes:
                return None
        return bytes(body)

    async def graphql(self, request: Request) -> Response:
        if request.method != "POST":
            return _error("send GraphQL requests with POST", "METHOD_NOT_ALLOWED", 405)
        body = await self._bounded_body(request)
        if body is None:
            return _error("request body too large", "PAYLOAD_TOO_LARGE", 413)
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _error("the body must be a JSON object with a `query`", "BAD_REQUEST", 400)
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return _error("the body must be a JSON object with a `query`", "BAD_REQUEST", 400)
        variables = payload.get("variables") or {}
        operation_name = payload.get("operationName") or None  # "" means "no name"
        if not isinstance(variables, dict) or (operation_name is not None and not isinstance(operation_name, str)):
            return _error("`variables` must be an object and `operationName` a string", "BAD_REQUEST", 400)
        user = self.authenticate(request)
        signer = self.signer(request)
        status, result = await anyio.to_thread.run_sync(
            self._execute,
            payload["query"],
            variables,
            operation_name,
            user,
            request.headers.get("authorization") is not None,
            signer,
        )
        self.stats.record_operation(
            {
                "operationName": operation_name or _first_operation_name(payload["query"]),
                "query": payload["query"],
                "variables": variables,
                "status": status,
            }
        )
        return JSONResponse(result, status_code=status)

    def _check_document(self, query: str) -> GraphQLError | tuple[DocumentNode, int, list[GraphQLError]]:
        """Parse and validate a document once; clients send the same few documents over and over."""
        try:
            document = parse(query, max_tokens=50_000)
        except GraphQLError as exc:
            return exc
        depth = selection_depth(document)
        if depth > self.settings.max_query_depth:
            return document, depth, []
        return document, depth, validate(self.schema, document)

    def _execute(
        self,
        query: str,
        variables: dict[str, Any],
        operation_name: str | None,
        user: Any,
        sent_credentials: bool,
        signer: UrlSigner,
    ) -> tuple[int, dict[str, Any]]:
        checked = self._checked_document(query)
        if isinstance(checked, GraphQLError):
            return 400, {"errors": [checked.formatted | {"extensions": {"code": "GRAPHQL_PARSE_FAILED"}}]}
        document, depth, validation_errors = checked
        if user is None and not _is_anonymous_allowed(document, operation_name):
            message = "invalid API key" if sent_credentials else "authentication required: send HTTP Basic api:<key>"
            return 401, {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]}
        if depth > self.settings.max_query_depth:
            return 400, {
                "errors": [
                    {
                        "message": f"query is nested deeper than {self.settings.max_query_depth} levels",
                        "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
                    }
                ]
            }
        if validation_errors:
            formatted = [_validation_error(e) for e in validation_errors[:20]]
            return self._validation_status(formatted), {"data": None, "errors": formatted}
        ctx = Context(
            store=self.store,
            blobs=self.blobs,
            urls=signer,
            settings=self.settings,
            user=user,
            read_only=bool(user["key_read_only"]) if user is not None else True,
        )
        result = execute(
            self.schema,
            document,
            variable_values=variables,
            operation_name=operation_name,
            context_value=ctx,
            field_resolver=field_resolver,
            is_awaitable=_never_awaitable,
        )
        assert isinstance(result, ExecutionResult)
        response: dict[str, Any] = {"data": result.data}
        status = 200
        if result.errors:
            formatted = [_format_error(e) for e in result.errors]
            response["errors"] = [f for f, _ in formatted]
            status = max(s for _, s in formatted)
            if result.data is None and status == 200:
                status = 400
        return status, response

    def _validation_status(self, errors: list[dict[str, Any]]) -> int:
        """400 for a document that does not validate, with one exception in the legacy personality.

        A W&B server that lacks a field answers a query for it with HTTP 200 and the error in the
        body, and the official clients (0.19.9's `_check_server_feature_with_fallback`) recognise a
        server without `ServerInfo.features` only by finding that error text in a 200 answer. So
        when every error is about a field the legacy personality removed, answer as that server.
        """
        if self.settings.legacy and all(e["message"].startswith(_LEGACY_MISSING) for e in errors):
            return 200
        return 400

    # -------------------------------------------------------------- blobs

    def _blob_response(self, md5_hex: str) -> Response:
        path = self.blobs.path_for(md5_hex)
        if not path.is_file():
            return _error("no such blob", "NOT_FOUND", 404)
        return FileResponse(path, media_type="application/octet-stream", headers={"ETag": f'"{md5_hex}"'})

    def _signed(self, request: Request, purpose: str, subject: str) -> bool:
        """Whether the request's `exp`/`sig` query parameters sign `purpose` of `subject`, unexpired."""
        query = request.query_params
        return self.signer(request).verify(purpose, subject, query.get("exp"), query.get("sig"))

    async def get_blob(self, request: Request) -> Response:
        md5_hex = request.path_params["md5"]
        if not self._signed(request, "get", md5_hex):
            return _error("the URL signature is missing, wrong or expired", "FORBIDDEN", 403)
        return self._blob_response(md5_hex)

    async def get_fallback_blob(self, request: Request) -> Response:
        """`/artifacts/{entity}/{md5}` and `/artifactsV2/...`: authenticated downloads by content."""
        if self.authenticate(request) is None:
            return _error("authentication required", "UNAUTHENTICATED", 401)
        segments = request.url.path.split("/")
        entity = segments[2] if segments[1] == "artifacts" else (segments[3] if len(segments) > 3 else "")
        md5_hex = next((s for s in reversed(segments) if re.fullmatch(r"[0-9a-f]{32}", s)), None)
        if md5_hex is None:
            return _error("no content digest in the path", "NOT_FOUND", 404)
        owned = self.store.one(
            "SELECT 1 FROM artifact_files f JOIN artifacts a ON a.id = f.artifact_id "
            "JOIN collections c ON c.id = a.sequence_id JOIN projects p ON p.id = c.project_id "
            "JOIN entities e ON e.id = p.entity_id WHERE f.md5_hex = ? AND e.name = ? LIMIT 1",
            (md5_hex, entity),
        )
        if owned is None:
            return _error("no such file in this entity", "NOT_FOUND", 404)
        return self._blob_response(md5_hex)

    async def _receive_blob(self, request: Request, expected_md5: str | None) -> tuple[str, int]:
        """Stream the request body into the blob store; returns (md5 hex, size)."""
        writer = self.blobs.writer()
        try:
            async for chunk in request.stream():
                await anyio.to_thread.run_sync(writer.write, chunk)
            md5_hex, size = await anyio.to_thread.run_sync(writer.finish, expected_md5)
        except BaseException:
            writer.abort()
            raise
        with self.store.write():
            self.store.conn.execute(
                "INSERT OR IGNORE INTO blobs (md5_hex, size, created_at) VALUES (?, ?, ?)", (md5_hex, size, utcnow())
            )
        return md5_hex, size

    def _check_content_md5(self, request: Request, md5_hex: str) -> Response | None:
        declared = request.headers.get("content-md5")
        if declared is None:
            return None
        try:
            if base64.b64decode(declared, validate=True).hex() != md5_hex:
                return _error("Content-MD5 does not match the upload URL", "BAD_DIGEST", 400)
        except binascii.Error:
            return _error("Content-MD5 is not base64", "BAD_DIGEST", 400)
        return None

    async def put_blob(self, request: Request) -> Response:
        md5_hex = request.path_params["md5"]
        if not self._signed(request, "put", md5_hex):
            return _error("the upload URL signature is missing, wrong or expired", "FORBIDDEN", 403)
        bad = self._check_content_md5(request, md5_hex)
        if bad is not None:
            return bad
        try:
            await self._receive_blob(request, md5_hex)
        except DigestMismatch as exc:
            return _error(exc.message, "BAD_DIGEST", 400)
        return Response(status_code=200)

    async def put_manifest(self, request: Request) -> Response:
        manifest_id = request.path_params["manifest_id"]
        if not self._signed(request, "put-manifest", str(manifest_id)):
            return _error("the upload URL signature is missing, wrong or expired", "FORBIDDEN", 403)
        try:
            md5_hex, _ = await self._receive_blob(request, None)
        except DigestMismatch as exc:
            return _error(exc.message, "BAD_DIGEST", 400)
        bad = self._check_content_md5(request, md5_hex)
        if bad is not None:
            return bad
        try:
            Manifest.from_json(self.blobs.read(md5_hex))
        except ManifestError as exc:
            return _error(f"invalid manifest: {exc}", "BAD_MANIFEST", 400)
        with self.store.write():
            row = self.store.one(
                "SELECT a.state FROM manifests m JOIN artifacts a ON a.id = m.artifact_id WHERE m.id = ?",
                (manifest_id,),
            )
            if row is None:
                return _error("no such manifest", "NOT_FOUND", 404)
            if row["state"] != "PENDING":
                return _error("the version is committed; its manifest cannot change", "CONFLICT", 409)
            self.store.conn.execute("UPDATE manifests SET blob_md5 = ? WHERE id = ?", (md5_hex, manifest_id))
        return Response(status_code=200)

    async def put_run_file(self, request: Request) -> Response:
        run_id, name = request.path_params["run_id"], request.path_params["name"]
        if not self._signed(request, "put-run-file", f"{run_id}/{name}"):
            return _error("the upload URL signature is missing, wrong or expired", "FORBIDDEN", 403)
        await self._receive_blob(request, None)
        return Response(status_code=200)

    # -------------------------------------------------------------- run life cycle (official clients)

    async def file_stream(self, request: Request) -> Response:
        """A run's heartbeat and history stream; the emulator keeps only the run's state.

        History, logs and summaries are accepted and dropped. The final request of a run carries
        `complete: true` and the exit code, which make the run `finished` (0) or `failed`.
        """
        if self.authenticate(request) is None:
            return _error("authentication required", "UNAUTHENTICATED", 401)
        body = await self._bounded_body(request)
        if body is None:
            return _error("request body too large", "PAYLOAD_TOO_LARGE", 413)
        try:
            payload = json.loads(body or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _error("the file stream body must be JSON", "BAD_REQUEST", 400)
        if not isinstance(payload, dict):
            return _error("the file stream body must be a JSON object", "BAD_REQUEST", 400)
        params = request.path_params
        state = None
        if payload.get("complete") is True:
            state = "finished" if payload.get("exitcode") in (0, None) else "failed"
        with self.store.write():
            run = self.store.one(
                "SELECT r.id FROM runs r JOIN projects p ON p.id = r.project_id JOIN entities e ON e.id = p.entity_id"
                " WHERE e.name = ? AND p.name = ? AND r.name = ?",
                (params["entity"], params["project"], params["run"]),
            )
            if run is None:
                return _error("no such run", "NOT_FOUND", 404)
            self.store.conn.execute(
                "UPDATE runs SET heartbeat_at = ?, state = COALESCE(?, state) WHERE id = ?",
                (utcnow(), state, run["id"]),
            )
        return JSONResponse({"exitcode": None, "limits": {}})

    async def ignore(self, request: Request) -> Response:
        async for _ in request.stream():
            pass
        return Response(status_code=204)

    # -------------------------------------------------------------- operations

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__, "legacy": self.settings.legacy})

    async def stats_view(self, request: Request) -> Response:
        if self.authenticate(request) is None:
            return _error("authentication required", "UNAUTHENTICATED", 401)
        if request.method == "DELETE":
            self.stats.reset()
            return Response(status_code=204)
        data = self.stats.snapshot()
        if request.query_params.get("log"):
            data["graphql_log"] = list(self.stats.graphql_log)
        return JSONResponse(data)

    async def faults_view(self, request: Request) -> Response:
        """GET the fault plan and what was injected; PUT a JSON object to change the plan."""
        if self.authenticate(request) is None:
            return _error("authentication required", "UNAUTHENTICATED", 401)
        if request.method == "PUT":
            try:
                changes = json.loads(await request.body())
                if not isinstance(changes, dict):
                    raise FaultSpecError("send a JSON object")
                self.faults.configure(FaultPlan.from_mapping(changes, base=self.faults.plan))
            except (json.JSONDecodeError, FaultSpecError) as exc:
                return _error(f"bad fault plan: {exc}", "BAD_REQUEST", 400)
        plan = self.faults.plan
        return JSONResponse(
            {
                "plan": {
                    "rate": plan.rate,
                    "seed": plan.seed,
                    "kinds": list(plan.kinds),
                    "routes": list(plan.routes),
                    "retry_after": plan.retry_after,
                    "stall_seconds": plan.stall_seconds,
                },
                "injected": dict(self.faults.injected),
            }
        )

    def asgi(self) -> ASGIApp:
        routes = [
            Route("/graphql", self.graphql, methods=["POST", "GET"]),
            Route("/health", self.health, methods=["GET"]),
            Route("/healthz", self.health, methods=["GET"]),
            Route("/storage/blobs/{md5}", self.get_blob, methods=["GET", "HEAD"]),
            Route("/storage/blobs/{md5}/{filename:path}", self.get_blob, methods=["GET", "HEAD"]),
            Route("/storage/upload/{md5}", self.put_blob, methods=["PUT"]),
            Route("/storage/manifests/{manifest_id:int}", self.put_manifest, methods=["PUT"]),
            Route("/storage/runfiles/{run_id:int}/{name:path}", self.put_run_file, methods=["PUT"]),
            Route("/artifacts/{rest:path}", self.get_fallback_blob, methods=["GET", "HEAD"]),
            Route("/artifactsV2/{rest:path}", self.get_fallback_blob, methods=["GET", "HEAD"]),
            Route("/files/{entity}/{project}/{run}/file_stream", self.file_stream, methods=["POST"]),
            Route("/sdk/otel/v1/metrics", self.ignore, methods=["POST"]),
            Route("/_emulator/stats", self.stats_view, methods=["GET", "DELETE"]),
            Route("/_emulator/faults", self.faults_view, methods=["GET", "PUT"]),
        ]
        handlers = {EmulatorError: _emulator_error, HTTPException: _http_error, Exception: _internal_error}
        app = Starlette(routes=routes, exception_handlers=handlers)  # type: ignore[arg-type]
        return StatsMiddleware(FaultInjector(app, self.faults, route_kind), self.stats)


async def _emulator_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, EmulatorError)
    return _error(exc.message, exc.code, exc.status)


_HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown routes and methods answer in the same JSON shape as everything else."""
    assert isinstance(exc, HTTPException)
    response = _error(str(exc.detail), _HTTP_CODES.get(exc.status_code, "BAD_REQUEST"), exc.status_code)
    response.headers.update(exc.headers or {})
    return response


async def _internal_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ClientDisconnect):  # the client gave up (e.g. timed out); nobody to answer
        return Response(status_code=499)
    log.exception("request failed", exc_info=exc)
    return _error("internal error in the emulator", "INTERNAL_SERVER_ERROR", 500)


_OPERATION_NAME = re.compile(r"\b(?:query|mutation)\s+([_A-Za-z][_0-9A-Za-z]*)")


def _first_operation_name(query: str) -> str | None:
    match = _OPERATION_NAME.search(query)
    return match.group(1) if match else None
