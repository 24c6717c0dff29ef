"""The emulator's HTTP surface, assembled: the shared state of one running emulator and its routes.

Routes live by concern: `graphql_route` (POST /graphql), `file_routes` (signed blob and manifest
URLs, run files, the file stream), `admin_routes` (/health, /_emulator/*); `auth` says who is
calling and `limits` bounds what one request may cost. Every answer is JSON, no path reaches
the client with a traceback, and no exception closes a keep-alive connection.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from graphql import GraphQLSchema
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from .accounts import ensure_key_schema
from .admin_routes import AdminRoutes
from .blobs import BlobStore
from .context import UrlSigner
from .errors import EmulatorError
from .faults import FaultInjector, FaultPlan, FaultState
from .file_routes import FileRoutes
from .graphql_route import GraphQLRoute, error_response
from .limits import RequestLog, TimeBudget
from .organizations import ensure_home_organization
from .schema import build_schema
from .settings import Settings
from .store import Store

log = logging.getLogger("artifactkit.server")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


class Stats:
    """Counts of what the emulator served, for tests that assert request and byte counts."""

    def __init__(self, log_bytes: int = 16 << 20, log_entry_bytes: int = 1 << 20) -> None:
        self._lock = threading.Lock()
        self._log_bytes = log_bytes
        self._log_entry_bytes = log_entry_bytes
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests: Counter[str] = Counter()
            self.operations: Counter[str] = Counter()
            self.bytes_out: Counter[str] = Counter()
            self.bytes_in: Counter[str] = Counter()
            self.statuses: Counter[str] = Counter()
            self.graphql_log = RequestLog(self._log_bytes, self._log_entry_bytes)

    def record(self, route: str, status: int | None = None, sent: int = 0, received: int = 0) -> None:
        """Count a response (when `status` is given) and body bytes; called as they happen."""
        with self._lock:
            if status is not None:
                self.requests[route] += 1
                self.statuses[str(status)] += 1
            self.bytes_out[route] += sent
            self.bytes_in[route] += received

    def record_graphql(
        self,
        operation_name: str | None,
        query: str,
        variables: dict[str, Any],
        status: int,
        *,
        authenticated: bool,
        size: int,
    ) -> None:
        """Log one GraphQL request: in full for a valid key, by its metadata only otherwise."""
        entry: dict[str, Any] = {"operationName": operation_name}
        if authenticated:
            entry["query"] = query
            entry["variables"] = variables
        else:
            entry["authenticated"] = False
        entry["status"] = status
        with self._lock:
            self.operations[operation_name or "(anonymous)"] += 1
            self.graphql_log.append(entry, size if authenticated else 128)

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


class Emulator:
    """Everything one running emulator shares: settings, database, blobs, schema, stats."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        secure_data_dir(settings)
        self.store = Store(settings.database_path)
        ensure_key_schema(self.store)
        ensure_home_organization(self.store)
        self.blobs = BlobStore(settings.blob_dir)
        self.blobs.discard_partial_uploads()  # left by a crash; nothing is uploading yet
        self.schema: GraphQLSchema = build_schema(legacy=settings.legacy)
        self.secret = self._load_secret()
        self.stats = Stats(settings.request_log_bytes, settings.request_log_entry_bytes)
        self.budget = TimeBudget()
        self.faults = FaultState(FaultPlan.parse(settings.faults) if settings.faults else FaultPlan())
        self.graphql = GraphQLRoute(self)
        self.files = FileRoutes(self)
        self.admin = AdminRoutes(self)

    def _load_secret(self) -> bytes:
        path = self.settings.data_dir / "url-signing.key"
        if not path.exists():
            _create_private(path, secrets.token_bytes(32))
        return path.read_bytes()

    def signer(self, request: Request) -> UrlSigner:
        base = str(request.base_url).rstrip("/")
        return UrlSigner(base_url=base, secret=self.secret, ttl_seconds=self.settings.url_ttl_seconds)

    def asgi(self) -> ASGIApp:
        files, admin = self.files, self.admin
        routes = [
            Route("/graphql", self.graphql.handle, methods=["POST", "GET"]),
            Route("/health", admin.health, methods=["GET"]),
            Route("/healthz", admin.health, methods=["GET"]),
            Route("/storage/blobs/{md5}", files.get_blob, methods=["GET", "HEAD"]),
            Route("/storage/blobs/{md5}/{filename:path}", files.get_blob, methods=["GET", "HEAD"]),
            Route("/storage/upload/{md5}", files.put_blob, methods=["PUT"]),
            Route("/storage/manifests/{manifest_id:int}", files.put_manifest, methods=["PUT"]),
            Route("/storage/runfiles/{run_id:int}/{name:path}", files.put_run_file, methods=["PUT"]),
            Route("/artifacts/{rest:path}", files.get_fallback_blob, methods=["GET", "HEAD"]),
            Route("/artifactsV2/{rest:path}", files.get_fallback_blob, methods=["GET", "HEAD"]),
            Route("/files/{entity}/{project}/{run}/file_stream", files.file_stream, methods=["POST"]),
            # wandb-core's OpenTelemetry export (0.31.0 sends logs and metrics during a run)
            Route("/sdk/otel/v1/logs", files.ignore, methods=["POST"]),
            Route("/sdk/otel/v1/metrics", files.ignore, methods=["POST"]),
            Route("/sdk/otel/v1/traces", files.ignore, methods=["POST"]),
            Route("/_emulator/stats", admin.stats, methods=["GET", "DELETE"]),
            Route("/_emulator/faults", admin.faults, methods=["GET", "PUT"]),
        ]
        handlers = {EmulatorError: _emulator_error, HTTPException: _http_error, Exception: _internal_error}
        app = Starlette(routes=routes, exception_handlers=handlers)
        return GuardMiddleware(StatsMiddleware(FaultInjector(app, self.faults, route_kind), self.stats))


def _create_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def secure_data_dir(settings: Settings) -> None:
    """Make the data directory 0700 and the database 0600 before SQLite opens it.

    SQLite creates the WAL and shared-memory files with the database file's permissions, so
    they are private too. Files created inside the directory are out of other users' reach
    whatever their own mode.
    """
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    data_dir.chmod(0o700)
    for path in (settings.database_path, *_sqlite_companions(settings.database_path)):
        if path == settings.database_path and not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        if path.exists():
            path.chmod(0o600)


def _sqlite_companions(database: Path) -> tuple[Path, Path]:
    return database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")


class GuardMiddleware:
    """Outermost: an exception that escaped everything else is answered (500) and not re-raised.

    Re-raising would make the server close the connection; a keep-alive client would then see
    its connection dropped. `BaseException`s (cancellation, injected connection drops) pass.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(
        self, scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
    ) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            return
        except Exception:
            log.error("request failed", exc_info=True)
            if scope["type"] == "http" and not started:
                await error_response("internal error in the emulator", "INTERNAL_SERVER_ERROR", 500)(
                    scope, receive, send
                )


async def _emulator_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, EmulatorError)
    return error_response(exc.message, exc.code, exc.status)


_HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown routes and methods answer in the same JSON shape as everything else."""
    assert isinstance(exc, HTTPException)
    response = error_response(str(exc.detail), _HTTP_CODES.get(exc.status_code, "BAD_REQUEST"), exc.status_code)
    response.headers.update(exc.headers or {})
    return response


async def _internal_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ClientDisconnect):  # the client gave up (e.g. timed out); nobody to answer
        return Response(status_code=499)
    log.error("request failed", exc_info=exc)
    return error_response("internal error in the emulator", "INTERNAL_SERVER_ERROR", 500)
