"""Limits: request body size, query depth and size, and file routes that cannot leave the blob store."""

from __future__ import annotations

import base64
import http.client
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from artifactkit.server.embedded import EmbeddedEmulator
from tests.server.support import Client, md5_hex, upload

BODY_LIMIT = 64 * 1024
DEPTH_LIMIT = 8


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEmulator]:
    """An emulator with small limits, so exceeding them is cheap."""
    with EmbeddedEmulator(
        tmp_path_factory.mktemp("strict"), max_body_bytes=BODY_LIMIT, max_query_depth=DEPTH_LIMIT
    ) as emu:
        yield emu


def raw(
    emu: EmbeddedEmulator, method: str, path: str, *, auth: bool = True, body: bytes | None = None
) -> tuple[int, bytes]:
    """Send `path` exactly as written (no client-side normalisation of `..` or percent-escapes)."""
    host = urlsplit(emu.url)
    connection = http.client.HTTPConnection(host.hostname or "127.0.0.1", host.port, timeout=30)
    headers = {"Authorization": "Basic " + base64.b64encode(f"api:{emu.api_key}".encode()).decode()}
    try:
        connection.request(method, path, body=body, headers=headers if auth else {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_a_body_over_the_limit_is_refused(strict: EmbeddedEmulator) -> None:
    padding = "#" * BODY_LIMIT
    response = httpx.post(
        f"{strict.url}/graphql", json={"query": f"{{ viewer {{ id }} }}\n{padding}"}, auth=("api", strict.api_key)
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while reading
        yield b'{"query": "{ viewer { id } }", "pad": "'
        for _ in range(BODY_LIMIT // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    response = httpx.post(f"{strict.url}/graphql", content=chunks(), auth=("api", strict.api_key))
    assert response.status_code == 413
    small = httpx.post(f"{strict.url}/graphql", json={"query": "{ viewer { id } }"}, auth=("api", strict.api_key))
    assert small.status_code == 200


def nested(depth: int) -> str:
    """`{ viewer { teams { edges { node { user { teams ... __typename } } } } } }`: `depth` fields, then a leaf."""
    fields = ["viewer"] + ["teams", "edges", "node", "user"] * depth
    selection = "__typename"
    for field in reversed(fields[:depth]):
        selection = f"{field} {{ {selection} }}"
    return "{ " + selection + " }"


def test_queries_deeper_than_the_limit_are_refused(strict: EmbeddedEmulator) -> None:
    ok = httpx.post(f"{strict.url}/graphql", json={"query": nested(DEPTH_LIMIT - 1)}, auth=("api", strict.api_key))
    assert ok.status_code == 200, ok.text
    deep = httpx.post(f"{strict.url}/graphql", json={"query": nested(DEPTH_LIMIT + 2)}, auth=("api", strict.api_key))
    assert deep.status_code == 400
    assert deep.json()["errors"][0]["message"] == f"query is nested deeper than {DEPTH_LIMIT} levels"
    # Fragments do not hide depth, and a fragment cycle is an error, not a hang.
    hidden = (
        "{ viewer { ...A } } fragment A on User { teams { edges { node { user { ...B } } } } } "
        "fragment B on User { teams { edges { node { user { id } } } } }"
    )
    response = httpx.post(f"{strict.url}/graphql", json={"query": hidden}, auth=("api", strict.api_key))
    assert response.status_code == 400 and "nested deeper" in response.json()["errors"][0]["message"]
    cycle = "{ viewer { ...A } } fragment A on User { teams { edges { node { user { ...A } } } } }"
    response = httpx.post(f"{strict.url}/graphql", json={"query": cycle}, auth=("api", strict.api_key))
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == 'Cannot spread fragment "A" within itself.'


def test_documents_with_too_many_tokens_are_refused(emulator: EmbeddedEmulator) -> None:
    huge = "{ viewer { " + "id " * 60_000 + "} }"
    # Lexing 50,000 tokens takes graphql-core about a second on a busy 2-core machine: no 5 s client timeout here.
    response = httpx.post(f"{emulator.url}/graphql", json={"query": huge}, auth=("api", emulator.api_key), timeout=60)
    assert response.status_code == 400
    assert "more than 50000 tokens" in response.json()["errors"][0]["message"]


ESCAPES = [
    ("GET", "/storage/blobs/../../emulator.sqlite3"),
    ("GET", "/storage/blobs/..%2F..%2Femulator.sqlite3"),
    ("GET", "/storage/blobs/%2e%2e/%2e%2e/emulator.sqlite3"),
    ("GET", "/storage/blobs/%252e%252e%252f%252e%252e%252femulator.sqlite3"),
    ("GET", "/storage/blobs/..%5C..%5Cemulator.sqlite3"),
    ("GET", "/storage/blobs/not-an-md5?exp=9999999999&sig=00"),
    ("GET", "/artifacts/local/../../emulator.sqlite3"),
    ("GET", "/artifacts/local/..%2F..%2Furl-signing.key"),
    ("GET", "/artifacts/local/%2e%2e%2f%2e%2e%2femulator.sqlite3"),
    ("GET", "/artifacts/local/%00"),
    ("GET", "/artifacts/local/ABCDEF0123456789ABCDEF0123456789"),
    ("GET", "/artifacts/local/0123456789abcdef0123456789abcde"),
    ("GET", "/artifactsV2/default/local/p/c/x/y/..%2F..%2F..%2F..%2Femulator.sqlite3/z"),
    ("GET", "/artifactsV2/default/../../../../emulator.sqlite3"),
    ("PUT", "/storage/upload/..%2F..%2Fescaped"),
    ("PUT", "/storage/upload/../../escaped?exp=9999999999&sig=00"),
    ("PUT", "/storage/manifests/..%2F..%2Fescaped"),
    ("PUT", "/storage/runfiles/1/../../../../escaped"),
    ("PUT", "/storage/runfiles/1/..%2F..%2F..%2Fescaped?exp=9999999999&sig=00"),
]


@pytest.mark.parametrize(("method", "path"), ESCAPES)
def test_no_file_route_escapes_the_blob_store(emulator: EmbeddedEmulator, method: str, path: str) -> None:
    data_dir = emulator.settings.data_dir
    secret = (data_dir / "url-signing.key").read_bytes()
    status, body = raw(emulator, method, path, body=b"escaped bytes" if method == "PUT" else None)
    assert 400 <= status < 500, (status, body[:200])
    assert b"SQLite format 3" not in body and secret not in body
    assert not any(p.name == "escaped" for p in data_dir.parent.rglob("escaped"))


def test_a_signed_blob_url_serves_its_blob_whatever_name_follows(
    emulator: EmbeddedEmulator, client: Client, project: str
) -> None:
    entity, name = project.split("/")
    upload(client, project, "seq", {"f.txt": b"the blob"})
    url = client.data(
        "query($e: String!, $p: String!) { project(entityName: $e, name: $p) { "
        'artifactCollectionMembership(name: "seq:v0") { files { edges { node { directUrl } } } } } }',
        e=entity,
        p=name,
    )["project"]["artifactCollectionMembership"]["files"]["edges"][0]["node"]["directUrl"]
    parts = urlsplit(url)
    md5 = md5_hex(b"the blob")
    assert parts.path == f"/storage/blobs/{md5}/f.txt"
    for tail in ("..%2F..%2F..%2Femulator.sqlite3", "../../emulator.sqlite3", "%2e%2e/url-signing.key"):
        status, body = raw(emulator, "GET", f"/storage/blobs/{md5}/{tail}?{parts.query}", auth=False)
        assert (status, body) == (200, b"the blob") or 400 <= status < 500, (tail, status, body[:100])
        assert b"SQLite format 3" not in body


def test_blob_files_live_only_under_the_blob_store(emulator: EmbeddedEmulator) -> None:
    blobs = emulator.emulator.blobs
    with pytest.raises(Exception, match="is not an MD5 hex digest"):
        blobs.path_for("../../emulator.sqlite3")
    with pytest.raises(Exception, match="is not an MD5 hex digest"):
        blobs.path_for("0" * 31 + "/")
    assert blobs.path_for("ab" + "0" * 30) == Path(blobs.root) / "ab" / ("ab" + "0" * 30)
