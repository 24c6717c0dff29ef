"""Digests as W&B computes them (wandb-wire.md §6.2), and the bytes behind every URL the emulator hands out."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from artifactkit.server.embedded import EmbeddedEmulator
from tests.server.support import Client, Upload, artifact_digest, md5_b64, md5_hex

FILES = {"a.txt": b"alpha\n", "dir/b.bin": bytes(range(256)) * 4}
REFERENCE = {"ext/ref.csv": "https://example.test/data.csv"}

VERSION = """
query($e: String!, $p: String!, $n: String!) {
  project(entityName: $e, name: $p) {
    artifactCollectionMembership(name: $n) {
      artifact {
        id digest size fileCount
        currentManifest { digest file { directUrl md5 sizeBytes } }
      }
      files { totalCount edges { node { name md5 digest sizeBytes directUrl isReference } } }
    }
  }
}
"""


def committed(client: Client, project: str) -> dict[str, Any]:
    pending = Upload(client, project, "seq", FILES, references=REFERENCE)
    pending.run_all()
    entity, name = project.split("/")
    membership: dict[str, Any] = client.data(VERSION, e=entity, p=name, n="seq:v0")["project"][
        "artifactCollectionMembership"
    ]
    return membership


def test_the_artifact_digest_is_the_manifest_hash(client: Client, project: str) -> None:
    artifact = committed(client, project)["artifact"]
    expected = artifact_digest(
        {
            "a.txt": md5_b64(FILES["a.txt"]),
            "dir/b.bin": md5_b64(FILES["dir/b.bin"]),
            "ext/ref.csv": md5_hex(REFERENCE["ext/ref.csv"].encode()),
        }
    )
    assert artifact["digest"] == expected
    assert artifact["size"] == sum(len(b) for b in FILES.values())
    assert artifact["fileCount"] == 3


def test_the_manifest_is_served_byte_for_byte(client: Client, project: str) -> None:
    pending = Upload(client, project, "seq", FILES, references=REFERENCE)
    manifest = committed(client, project)["artifact"]["currentManifest"]
    served = httpx.get(manifest["file"]["directUrl"])  # no API key: a signed URL
    assert served.status_code == 200
    assert served.content == pending.manifest
    assert manifest["digest"] == manifest["file"]["md5"] == md5_b64(pending.manifest)
    assert manifest["file"]["sizeBytes"] == len(pending.manifest)


def test_files_carry_their_md5_and_serve_their_bytes(client: Client, project: str) -> None:
    files = committed(client, project)["files"]
    assert files["totalCount"] == 3
    nodes = {e["node"]["name"]: e["node"] for e in files["edges"]}
    for path, body in FILES.items():
        node = nodes[path]
        assert (node["md5"], node["digest"], node["sizeBytes"], node["isReference"]) == (
            md5_b64(body),
            md5_b64(body),
            len(body),
            False,
        )
        assert httpx.get(node["directUrl"]).content == body
    ranged = httpx.get(nodes["dir/b.bin"]["directUrl"], headers={"Range": "bytes=10-19"})
    assert ranged.status_code == 206
    assert ranged.content == FILES["dir/b.bin"][10:20]
    assert httpx.get(nodes["dir/b.bin"]["directUrl"], headers={"Range": "bytes=0-"}).content == FILES["dir/b.bin"]
    reference = nodes["ext/ref.csv"]
    assert (reference["directUrl"], reference["isReference"], reference["md5"]) == (
        REFERENCE["ext/ref.csv"],
        True,
        None,
    )


def test_fallback_routes_serve_by_content_with_a_key(emulator: EmbeddedEmulator, client: Client, project: str) -> None:
    artifact_id = committed(client, project)["artifact"]["id"]
    entity, name = project.split("/")
    body = FILES["dir/b.bin"]
    routes = [
        f"/artifacts/{entity}/{md5_hex(body)}",
        f"/artifactsV2/default/{entity}/{name}/seq/{quote(artifact_id)}/{quote(artifact_id)}/{md5_hex(body)}/b.bin",
        f"/artifactsV2/default/{entity}/{quote(artifact_id)}/{md5_hex(body)}",
    ]
    for route in routes:
        assert httpx.get(emulator.url + route, auth=("api", emulator.api_key)).content == body, route
        assert httpx.get(emulator.url + route).status_code == 401, route
    other_entity = f"/artifacts/somebody-else/{md5_hex(body)}"
    assert httpx.get(emulator.url + other_entity, auth=("api", emulator.api_key)).status_code == 404


def test_commit_refuses_a_declared_digest_the_manifest_does_not_have(client: Client, project: str) -> None:
    pending = Upload(client, project, "seq", FILES)
    pending.create(digest="0" * 32)
    pending.register_manifest()
    pending.register_files()
    pending.put_files()
    assert pending.put_manifest().status_code == 200
    response = pending.commit()
    assert response.status_code == 400
    assert f"is not the digest of its manifest ({pending.digest})" in response.json()["errors"][0]["message"]


def test_commit_refuses_a_manifest_other_than_the_one_declared(client: Client, project: str) -> None:
    pending = Upload(client, project, "seq", FILES)
    pending.create()
    pending.register_manifest(digest=md5_b64(b"some other manifest"))
    pending.register_files()
    pending.put_files()
    assert pending.put_manifest().status_code == 200
    response = pending.commit()
    assert response.status_code == 400
    assert "but createArtifactManifest declared" in response.json()["errors"][0]["message"]
