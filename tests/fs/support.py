"""Seeding for the filesystem tests: versions whose manifests and blobs are put in place directly.

A 256 MiB file or a 100,000-entry manifest through the upload path would cost seconds each; here
the blob is hard-linked into the emulator's blob store (the server then holds the bytes, as after
an upload) and the version is created, given its manifest and committed over GraphQL, as any
client may do.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import httpx

from artifactkit.manifest import Manifest, ManifestEntry, md5_hex_to_b64
from artifactkit.server.embedded import EmbeddedEmulator

BIG_SIZE = 256 << 20
MARK = 64 << 10  # bytes of random data at the start, the middle and the end of the big file


def md5_of(path: Path) -> str:
    hasher = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(8 << 20):
            hasher.update(chunk)
    return hasher.hexdigest()


def write_big_file(path: Path) -> dict[int, bytes]:
    """A sparse 256 MiB file: random marks at its start, middle and end, zeros between."""
    marks = {0: os.urandom(MARK), BIG_SIZE // 2 - MARK // 2: os.urandom(MARK), BIG_SIZE - MARK: os.urandom(MARK)}
    with path.open("wb") as f:
        f.truncate(BIG_SIZE)
        for offset, data in marks.items():
            f.seek(offset)
            f.write(data)
    return marks


def expected_bytes(marks: dict[int, bytes], start: int, end: int) -> bytes:
    """What the big file holds in [start, end)."""
    out = bytearray(end - start)
    for offset, data in marks.items():
        lo, hi = max(start, offset), min(end, offset + len(data))
        if lo < hi:
            out[lo - start : hi - start] = data[lo - offset : hi - offset]
    return bytes(out)


def place_blob(emu: EmbeddedEmulator, source: Path, md5_hex: str) -> None:
    """Give the emulator the bytes of `source` (a hard link where possible)."""
    target: Path = emu.settings.blob_dir / md5_hex[:2] / md5_hex
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def stored_entry(path: str, md5_hex: str, size: int) -> ManifestEntry:
    return ManifestEntry(path, md5_hex_to_b64(md5_hex), size)


def seed_version(emu: EmbeddedEmulator, collection_path: str, type_name: str, manifest: Manifest) -> str:
    """Commit a version of `entity/project/collection` holding `manifest` (its blobs must be in place)."""
    entity, project, name = collection_path.split("/")
    with httpx.Client(auth=("api", emu.api_key), timeout=120) as client:

        def call(document: str) -> dict[str, Any]:
            response = client.post(f"{emu.url}/graphql", json={"query": document})
            body = response.json()
            assert response.status_code == 200 and "errors" not in body, str(body)[:2000]
            data: dict[str, Any] = body["data"]
            return data

        call(
            f'mutation {{ createArtifactType(input: {{entityName: "{entity}", projectName: "{project}", '
            f'name: "{type_name}"}}) {{ artifactType {{ id }} }} }}'
        )
        created = call(
            f'mutation {{ createArtifact(input: {{entityName: "{entity}", projectName: "{project}", '
            f'artifactTypeName: "{type_name}", artifactCollectionName: "{name}", '
            f'digest: "{manifest.digest()}", digestAlgorithm: MANIFEST_MD5}}) {{ artifact {{ id }} }} }}'
        )
        artifact_id = created["createArtifact"]["artifact"]["id"]
        registered = call(
            f'mutation {{ createArtifactManifest(input: {{artifactID: "{artifact_id}", name: "wandb_manifest.json", '
            f'digest: "{manifest.digest()}", entityName: "{entity}", projectName: "{project}", runName: ""}}) '
            "{ artifactManifest { file { uploadUrl } } } }"
        )
        url = registered["createArtifactManifest"]["artifactManifest"]["file"]["uploadUrl"]
        assert client.put(url, content=manifest.to_bytes()).status_code == 200
        call(f'mutation {{ commitArtifact(input: {{artifactID: "{artifact_id}"}}) {{ artifact {{ id }} }} }}')
    return str(artifact_id)


class ShortAnswerProxy:
    """An HTTP proxy in front of the emulator whose ranged answers (206) hold fewer bytes than they should.

    `mode="short"`: a well-formed answer, its Content-Length honest about the half it carries.
    `mode="drop"`: the full Content-Length, half the bytes, then the connection closes.
    `mode="empty"`: the full Content-Length, no bytes, then the connection closes.
    Everything else is passed through. The emulator signs URLs for the Host it is asked on, so
    a client using `url` as its base URL reads every byte through the proxy. `cut` counts the
    answers shortened.
    """

    _HOP_BY_HOP = frozenset(
        {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "accept-encoding"}
    )

    def __init__(self, upstream: str, mode: str) -> None:
        self.upstream = upstream
        self.mode = mode
        self.cut = 0
        self._client = httpx.Client(base_url=upstream, timeout=60)
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy._forward(self)

            do_POST = do_PUT = do_HEAD = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _forward(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in self._HOP_BY_HOP}
        answer = self._client.request(handler.command, handler.path, headers=headers, content=body)
        data = answer.content
        shorten = answer.status_code == 206 and len(data) > 1
        sent = data[: 0 if self.mode == "empty" else len(data) // 2] if shorten else data
        handler.send_response(answer.status_code)
        for name, value in answer.headers.multi_items():
            if name.lower() not in self._HOP_BY_HOP:
                handler.send_header(name, value)
        dropped = shorten and self.mode in ("drop", "empty")
        handler.send_header("Content-Length", str(len(data) if dropped else len(sent)))
        if dropped:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(sent)
        if shorten:
            self.cut += 1

    def __enter__(self) -> ShortAnswerProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()
