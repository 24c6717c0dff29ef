"""Blob downloads and uploads, manifest uploads, run files and the run file stream.

Downloads and uploads go through URLs the emulator signed (HMAC, expiring), like W&B's signed
storage URLs; they are handed out only to callers allowed to use them. The file stream and the
fallback download routes authenticate with an API key.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import mimetypes
import os
import re
from email.utils import formatdate
from stat import S_ISREG
from typing import TYPE_CHECKING

import anyio
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from .. import names
from ..manifest import Manifest, ManifestError
from . import policy
from .auth import authenticate
from .blobs import DigestMismatch
from .context import identity
from .graphql_route import error_response
from .limits import json_depth
from .records import caller_with_grants, readable_versions_sql

if TYPE_CHECKING:
    from .app import Emulator

_MD5_HEX = re.compile(r"[0-9a-f]{32}")


@functools.cache
def _mime_types() -> mimetypes.MimeTypes:
    """Python's own table only, never the host's mime.types: a run file's mimetype is the same
    everywhere. Made when the first run file arrives, not when the emulator starts."""
    return mimetypes.MimeTypes()


_SIGNATURE_REFUSED = "the URL signature is missing, wrong or expired, or what it was signed for is gone"
_DIGITS = re.compile(r"[0-9]{1,18}")
# A blob this small is read and answered on the event loop in one piece: FileResponse's three
# thread hand-offs (open, read, close) cost more than the read itself (py-spy, 2,000 x 4 KiB).
_INLINE_BLOB = 64 << 10


class FileRoutes:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def _blob_response(self, md5_hex: str, request: Request) -> Response:
        if not _MD5_HEX.fullmatch(md5_hex):
            return error_response("no such blob", "NOT_FOUND", 404)
        path = self.emulator.blobs.path_for(md5_hex)
        try:
            stat = os.stat(path)
        except OSError:
            return error_response("no such blob", "NOT_FOUND", 404)
        if not S_ISREG(stat.st_mode):
            return error_response("no such blob", "NOT_FOUND", 404)
        etag = f'"{md5_hex}"'
        if stat.st_size <= _INLINE_BLOB and "range" not in request.headers:
            try:
                with open(path, "rb") as blob:
                    body = blob.read()
            except OSError:
                return error_response("no such blob", "NOT_FOUND", 404)
            headers = {
                "ETag": etag,
                "Last-Modified": formatdate(stat.st_mtime, usegmt=True),
                "Accept-Ranges": "bytes",
            }
            return Response(body, media_type="application/octet-stream", headers=headers)
        return FileResponse(path, media_type="application/octet-stream", headers={"ETag": etag}, stat_result=stat)

    def _signed(self, request: Request, purpose: str, subject: str) -> bool:
        """Whether the request's `exp`/`sig` query parameters sign `purpose` of `subject`, unexpired."""
        query = request.query_params
        return self.emulator.signer(request).verify(purpose, subject, query.get("exp"), query.get("sig"))

    async def get_blob(self, request: Request) -> Response:
        md5_hex = request.path_params["md5"]
        if not self._signed(request, "get", md5_hex):
            return error_response(_SIGNATURE_REFUSED, "FORBIDDEN", 403)
        return self._blob_response(md5_hex, request)

    async def get_fallback_blob(self, request: Request) -> Response:
        """`/artifacts/{entity}/{md5}` and `/artifactsV2/...`: authenticated downloads by content, of a
        version of `entity` the caller may see (404 otherwise: as if there were none)."""
        principal = authenticate(self.emulator.store, request)
        if principal is None:
            return error_response("authentication required", "UNAUTHENTICATED", 401)
        segments = request.url.path.split("/")
        entity = segments[2] if segments[1] == "artifacts" else (segments[3] if len(segments) > 3 else "")
        md5_hex = next((s for s in reversed(segments) if _MD5_HEX.fullmatch(s)), None)
        if md5_hex is None:
            return error_response("no content digest in the path", "NOT_FOUND", 404)
        store = self.emulator.store
        if not store.entity_owns_blob(
            md5_hex, entity, readable_versions_sql(caller_with_grants(store, principal.user_id, principal.role))
        ):
            return error_response("no such file in this entity", "NOT_FOUND", 404)
        return self._blob_response(md5_hex, request)

    async def _receive_blob(self, request: Request, expected_md5: str | None) -> tuple[str, int]:
        """Stream the request body into the blob store; returns (md5 hex, size)."""
        writer = self.emulator.blobs.writer()
        try:
            async for chunk in request.stream():
                await anyio.to_thread.run_sync(writer.write, chunk)
            md5_hex, size = await anyio.to_thread.run_sync(writer.finish, expected_md5)
        except BaseException:
            writer.abort()
            raise
        self._register_blob(md5_hex, size)
        return md5_hex, size

    def _register_blob(self, md5_hex: str, size: int) -> None:
        store = self.emulator.store
        with store.write():
            store.register_blob(md5_hex, size)

    @staticmethod
    def _check_content_md5(request: Request, md5_hex: str) -> Response | None:
        declared = request.headers.get("content-md5")
        if declared is None:
            return None
        try:
            if base64.b64decode(declared, validate=True).hex() != md5_hex:
                return error_response("Content-MD5 does not match the upload", "BAD_DIGEST", 400)
        except (binascii.Error, ValueError):
            return error_response("Content-MD5 is not base64", "BAD_DIGEST", 400)
        return None

    def _pending_version(self, request: Request, md5_hex: str) -> Response | None:
        """Refuse a file upload unless its URL was signed for this blob of this version, and the
        version is still pending (a committed version's files never change)."""
        version_id = request.query_params.get("version", "")
        version = self.emulator.store.version_access(int(version_id)) if _DIGITS.fullmatch(version_id) else None
        if version is None or not self._signed(request, "put", f"{md5_hex}/{identity(version)}"):
            return error_response(_SIGNATURE_REFUSED, "FORBIDDEN", 403)
        return _unless_pending(version["state"], "files")

    async def put_blob(self, request: Request) -> Response:
        md5_hex = request.path_params["md5"]
        refused = self._pending_version(request, md5_hex)
        if refused is not None:
            return refused
        bad = self._check_content_md5(request, md5_hex)
        if bad is not None:
            return bad
        try:
            await self._receive_blob(request, md5_hex)
        except DigestMismatch as exc:
            return error_response(exc.message, "BAD_DIGEST", 400)
        return Response(status_code=200)

    async def put_manifest(self, request: Request) -> Response:
        """A version's manifest: size-limited, parsed and checked before anything is stored."""
        manifest_id = request.path_params["manifest_id"]
        store = self.emulator.store
        manifest = store.manifest_with_version(manifest_id)
        if manifest is None or not self._signed(request, "put-manifest", identity(manifest)):
            return error_response(_SIGNATURE_REFUSED, "FORBIDDEN", 403)
        refused = _unless_pending(manifest["state"], "manifest")
        if refused is not None:
            return refused
        limit = self.emulator.settings.max_manifest_bytes
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                return error_response(f"the manifest is larger than {limit} bytes", "PAYLOAD_TOO_LARGE", 413)
        data = bytes(body)
        md5_hex = hashlib.md5(data, usedforsecurity=False).hexdigest()
        bad = self._check_content_md5(request, md5_hex)
        if bad is not None:
            return bad
        problem = await anyio.to_thread.run_sync(_manifest_problem, data)
        if problem is not None:
            return error_response(f"invalid manifest: {problem}", "BAD_MANIFEST", 400)
        writer = self.emulator.blobs.writer()
        try:
            await anyio.to_thread.run_sync(writer.write, data)
            await anyio.to_thread.run_sync(writer.finish, md5_hex)
        except BaseException:
            writer.abort()
            raise
        self._register_blob(md5_hex, len(data))
        with store.write():  # checked again: the version may have changed while the body arrived
            current = store.manifest_with_version(manifest_id)
            if current is None or identity(current) != identity(manifest):
                return error_response(_SIGNATURE_REFUSED, "FORBIDDEN", 403)
            refused = _unless_pending(current["state"], "manifest")
            if refused is not None:
                return refused
            store.set_manifest_blob(manifest_id, md5_hex)
        return Response(status_code=200)

    async def put_run_file(self, request: Request) -> Response:
        """A run's file, through the URL `createRunFiles` signed for that run (by `identity`) and name."""
        run_id, name = request.path_params["run_id"], request.path_params["name"]
        store = self.emulator.store
        run = store.run_by_id(run_id)
        if run is None or not self._signed(request, "put-run-file", f"{identity(run)}/{name}"):
            return error_response(_SIGNATURE_REFUSED, "FORBIDDEN", 403)
        stamp = identity(run)
        try:  # signed names passed this rule already; checked again before anything is stored
            names.check_path("run file name", name)
        except names.InvalidName as exc:
            return error_response(exc.message, "BAD_USER_INPUT", 400)
        md5_hex, size = await self._receive_blob(request, None)
        with store.write():
            current = store.run_by_id(run_id)
            if current is None or identity(current) != stamp:  # deleted since the URL was signed
                return error_response(_SIGNATURE_REFUSED, "FORBIDDEN", 403)
            store.put_run_file(run_id, name, md5_hex, size, _mime_types().guess_type(name)[0])
        return Response(status_code=200)

    async def file_stream(self, request: Request) -> Response:
        """A run's heartbeat and history stream; the emulator keeps only the run's state.

        History, logs and summaries are accepted and dropped. The final request of a run carries
        `complete: true` and the exit code, which make the run `finished` (0) or `failed`. Only
        those who may change the run stream to it (`policy.may_change_run`: its owner, an admin).
        """
        emulator = self.emulator
        principal = authenticate(emulator.store, request)
        if principal is None:
            return error_response("authentication required", "UNAUTHENTICATED", 401)
        if not principal.can_write:
            return error_response("this API key is read-only", "PERMISSION_DENIED", 403)
        body = await emulator.graphql.bounded_body(request)
        if body is None:
            return error_response("request body too large", "PAYLOAD_TOO_LARGE", 413)
        try:
            payload = json.loads(body or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            return error_response("the file stream body must be JSON", "BAD_REQUEST", 400)
        if not isinstance(payload, dict) or not json_depth(payload, emulator.settings.max_json_depth):
            return error_response("the file stream body must be a JSON object", "BAD_REQUEST", 400)
        params = request.path_params
        state = None
        if payload.get("complete") is True:
            state = "finished" if payload.get("exitcode") in (0, None) else "failed"
        store = emulator.store
        with store.write():
            run = store.run_by_path(params["entity"], params["project"], params["run"])
            if run is None:
                return error_response("no such run", "NOT_FOUND", 404)
            if not policy.may_change_run(principal.caller, run["user_id"]):
                return error_response("this run belongs to another user", "PERMISSION_DENIED", 403)
            store.heartbeat_run(int(run["id"]), state)
        return JSONResponse({"exitcode": None, "limits": {}})

    async def ignore(self, request: Request) -> Response:
        async for _ in request.stream():
            pass
        return Response(status_code=204)


def _unless_pending(state: str, what: str) -> Response | None:
    """The answer to an upload into a version that is no longer pending, or None while it is."""
    if state == "DELETED":
        return error_response("the version this URL was signed for was deleted", "NOT_FOUND", 404)
    if state != "PENDING":
        return error_response(f"the version is committed; its {what} cannot change", "CONFLICT", 409)
    return None


def _manifest_problem(data: bytes) -> str | None:
    """Why `data` is not a manifest the emulator can serve, or None."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return "not JSON"
    if not json_depth(document, 64):
        return "nests too deeply"
    try:
        Manifest.from_json(document)
    except ManifestError as exc:
        return str(exc)
    return None
