"""Finding 5: read-only keys change nothing; admin routes need the admin key; pending versions are private."""

from __future__ import annotations

import json

import httpx
import pytest

from artifactkit.server.embedded import EmbeddedEmulator
from tests.security.support import TIMEOUT, basic, gql
from tests.server.support import Client, Upload, manifest_bytes, upload

UPSERT_RUN = """mutation($input: UpsertBucketInput!) { upsertBucket(input: $input) { bucket { name state } } }"""


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/_emulator/faults", {"rate": 1}),
        ("DELETE", "/_emulator/stats", None),
        ("GET", "/_emulator/stats?log=1", None),
        ("GET", "/_emulator/faults", None),
    ],
)
def test_emulator_routes_need_the_admin_key(emu: EmbeddedEmulator, method: str, path: str, body: object) -> None:
    for key in (emu.create_key(read_only=True), emu.create_key("bob")):
        response = httpx.request(method, f"{emu.url}{path}", json=body, headers=basic(key), timeout=TIMEOUT)
        assert response.status_code == 403, (key, response.text)
    plan = httpx.get(f"{emu.url}/_emulator/faults", headers=basic(emu.api_key), timeout=TIMEOUT)
    assert plan.status_code == 200 and plan.json()["plan"]["rate"] == 0


def run_state(emu: EmbeddedEmulator, name: str) -> str:
    query = f'{{ project(entityName: "local", name: "runs") {{ run(name: "{name}") {{ state }} }} }}'
    return str(gql(emu, query, emu.api_key).json()["data"]["project"]["run"]["state"])


def test_the_file_stream_takes_a_write_key_of_the_runs_owner(emu: EmbeddedEmulator) -> None:
    created = gql(emu, UPSERT_RUN, emu.api_key, input={"name": "r1", "modelName": "runs", "entityName": "local"})
    assert created.status_code == 200, created.text
    stream = f"{emu.url}/files/local/runs/r1/file_stream"
    failed = {"complete": True, "exitcode": 1}
    for key in (emu.create_key(read_only=True), emu.create_key("mallory")):
        response = httpx.post(stream, json=failed, headers=basic(key), timeout=TIMEOUT)
        assert response.status_code == 403, response.text
        assert run_state(emu, "r1") == "running"
    done = httpx.post(stream, json={"complete": True, "exitcode": 0}, headers=basic(emu.api_key), timeout=TIMEOUT)
    assert done.status_code == 200
    assert run_state(emu, "r1") == "finished"


ARTIFACT = "query($id: ID!) { artifact(id: $id) { id state currentManifest { file { uploadUrl directUrl } } } }"


def test_pending_versions_and_their_upload_urls_belong_to_their_creator(emu: EmbeddedEmulator) -> None:
    with Client(emu) as owner:
        pending = Upload(owner, "local/pend", "seq", {"a.txt": b"mine"})
        pending.create()
        pending.register_manifest()
        seen = owner.data(ARTIFACT, id=pending.artifact_id)["artifact"]
        assert seen["currentManifest"]["file"]["uploadUrl"] == pending.manifest_url
    other = emu.create_key("eve")
    assert gql(emu, ARTIFACT, other, id=pending.artifact_id).json() == {"data": {"artifact": None}}
    # The owner's own read-only key sees the version but gets no URL to upload through.
    reader = gql(emu, ARTIFACT, emu.create_key(read_only=True), id=pending.artifact_id).json()["data"]["artifact"]
    assert reader["state"] == "PENDING"
    assert reader["currentManifest"]["file"]["uploadUrl"] is None
    assert "sig=" not in reader["currentManifest"]["file"]["directUrl"]
    # Others cannot register files or a manifest on it, nor commit it.
    register = gql(
        emu,
        "mutation($input: CreateArtifactManifestInput!) { createArtifactManifest(input: $input) "
        "{ artifactManifest { id file { uploadUrl } } } }",
        other,
        input={
            "artifactID": pending.artifact_id,
            "name": "wandb_manifest.json",
            "digest": "x",
            "entityName": "local",
            "projectName": "pend",
            "runName": "",
        },
    )
    assert register.status_code == 404, register.text
    commit = gql(
        emu,
        "mutation($id: ID!) { commitArtifact(input: {artifactID: $id}) { artifact { id } } }",
        other,
        id=pending.artifact_id,
    )
    assert commit.status_code == 404


def blob_files(emu: EmbeddedEmulator) -> set[str]:
    return {p.name for p in emu.settings.blob_dir.rglob("*") if p.is_file()}


def test_a_manifest_is_checked_before_anything_is_stored(emu: EmbeddedEmulator) -> None:
    with Client(emu) as owner:
        pending = Upload(owner, "local/junk", "seq", {"a.txt": b"junk test"})
        pending.create()
        pending.register_manifest()
        before = blob_files(emu)
        for junk in (b"\x00" * (1 << 20), b'{"version": 1, "contents": {"../x": {"digest": "a", "size": 1}}}'):
            response = pending.put_manifest(junk)
            assert response.status_code == 400, response.text
            assert response.json()["errors"][0]["extensions"]["code"] == "BAD_MANIFEST"
        assert blob_files(emu) == before
        assert pending.put_manifest().status_code == 200


def test_a_manifest_over_the_size_limit_is_refused_unread(tmp_path_factory: pytest.TempPathFactory) -> None:
    with (
        EmbeddedEmulator(tmp_path_factory.mktemp("small"), max_manifest_bytes=64 * 1024) as small,
        Client(small) as owner,
    ):
        pending = Upload(owner, "local/big", "seq", {f"f{i}": b"x" for i in range(2000)})
        pending.create()
        pending.register_manifest()
        assert len(manifest_bytes(pending.files)) > 64 * 1024
        response = pending.put_manifest()
        assert response.status_code == 413
        assert json.loads(response.content)["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
        upload(owner, "local/big", "ok", {"a": b"small is fine"})
