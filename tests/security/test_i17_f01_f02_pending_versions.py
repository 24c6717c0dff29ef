"""Issue 17, findings 1 and 2: a version in flight belongs to the user whose key created it.

Finding 1: a version created with `runName` (the official clients always send one) recorded no
creator, and a version without a creator was visible to every key: a second user saw it
pending, uploaded a manifest whose entry pointed at their own host, and committed it; the owner's
commit still answered 200. Finding 2: `updateArtifactManifest` checked neither owner nor state.
Each test plays the second user with their own write key, over HTTP.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from artifactkit.server.embedded import EmbeddedEmulator
from tests.security.support import TIMEOUT
from tests.server.support import Client, Upload, md5_b64, team

UPSERT_RUN = "mutation($input: UpsertBucketInput!) { upsertBucket(input: $input) { bucket { id name } } }"
ARTIFACT = """query($id: ID!) { artifact(id: $id) {
  id state digest currentManifest { id file { uploadUrl directUrl } }
  files { edges { node { name digest directUrl uploadUrl } } } } }"""
CREATE = """mutation($input: CreateArtifactInput!) { createArtifact(input: $input) {
  artifact { id state currentManifest { file { uploadUrl } } } } }"""
CLIENT_ID_MAPPING = "query($c: ID!) { clientIDMapping(clientID: $c) { serverID } }"
UPDATE_MANIFEST = """mutation($input: UpdateArtifactManifestInput!) { updateArtifactManifest(input: $input) {
  artifactManifest { id digest artifact { id state files { edges { node { name directUrl } } } } } } }"""


def create_input(upload: Upload, client_id: str) -> dict[str, Any]:
    """What the official clients send to `createArtifact` from a run: `runName` and a `clientID`."""
    return {
        "entityName": upload.entity_name,
        "projectName": upload.project_name,
        "artifactTypeName": upload.type,
        "artifactCollectionName": upload.name,
        "digest": upload.digest,
        "digestAlgorithm": "MANIFEST_MD5",
        "aliases": [{"artifactCollectionName": upload.name, "alias": "latest"}],
        "enableDigestDeduplication": True,
        "runName": upload.run,
        "clientID": client_id,
    }


def in_flight(alice: Client, project: str, run: str, files: dict[str, bytes], client_id: str) -> Upload:
    """A version alice's run logs, stopped before its commit: files and manifest uploaded."""
    entity, name = project.split("/")
    alice.data(UPSERT_RUN, input={"name": run, "modelName": name, "entityName": entity})
    pending = Upload(alice, project, "data", files, run=run)
    pending.artifact_id = alice.data(CREATE, input=create_input(pending, client_id))["createArtifact"]["artifact"]["id"]
    pending.register_manifest()
    pending.register_files()
    pending.put_files()
    assert pending.put_manifest().status_code == 200
    return pending


def refused(client: Client, document: str, **variables: Any) -> tuple[int, str]:
    status, errors = client.error(document, **variables)
    return status, str(errors[0]["extensions"]["code"])


@pytest.fixture(scope="module")
def crew(emu: EmbeddedEmulator, alice: Client, mallory: Client) -> str:
    """A team both users belong to: each may write into it, and each pending version and run in
    it is still its creator's alone."""
    return team(emu, "crew", "alice", "mallory")


def test_a_version_a_run_logs_is_its_creators_alone_until_committed(alice: Client, mallory: Client, crew: str) -> None:
    files = {"a.txt": b"alice's bytes", "b.txt": b"more of alice's bytes"}
    pending = in_flight(alice, "crew/f1", "train", files, client_id="client-f1")
    own = alice.data(ARTIFACT, id=pending.artifact_id)["artifact"]
    assert own["state"] == "PENDING" and own["currentManifest"]["file"]["uploadUrl"]

    # Every way the other user's key had to the pending version finds nothing.
    assert mallory.data(ARTIFACT, id=pending.artifact_id) == {"artifact": None}
    assert mallory.data(CLIENT_ID_MAPPING, c="client-f1") == {"clientIDMapping": None}
    manifest_id = own["currentManifest"]["id"]
    not_found = [
        (UPDATE_MANIFEST, {"input": {"artifactManifestID": manifest_id}}),
        (
            "mutation($input: CreateArtifactManifestInput!) { createArtifactManifest(input: $input) "
            "{ artifactManifest { id file { uploadUrl } } } }",
            {
                "input": {
                    "artifactID": pending.artifact_id,
                    "name": "wandb_manifest.json",
                    "digest": md5_b64(b"{}"),
                    "entityName": "crew",
                    "projectName": "f1",
                    "runName": "train",
                }
            },
        ),
        (
            "mutation($input: CreateArtifactFilesInput!) { createArtifactFiles(input: $input) "
            "{ files { edges { node { uploadUrl } } } } }",
            {
                "input": {
                    "storageLayout": "V2",
                    "artifactFiles": [{"artifactID": pending.artifact_id, "name": "c.txt", "md5": md5_b64(b"c")}],
                }
            },
        ),
        (
            "mutation($id: ID!) { commitArtifact(input: {artifactID: $id}) { artifact { id } } }",
            {"id": pending.artifact_id},
        ),
        (
            'mutation($id: ID!) { updateArtifact(input: {artifactID: $id, description: "mine"}) { artifact { id } } }',
            {"id": pending.artifact_id},
        ),
        (
            "mutation($id: ID!) { deleteArtifact(input: {artifactID: $id}) { artifact { id } } }",
            {"id": pending.artifact_id},
        ),
        (
            'mutation($id: ID!) { addAliases(input: {artifactID: $id, aliases: [{artifactCollectionName: "data", '
            'alias: "best", entityName: "crew", projectName: "f1"}]}) { success } }',
            {"id": pending.artifact_id},
        ),
        (
            'mutation($id: ID!) { linkArtifact(input: {artifactID: $id, artifactPortfolioName: "grabbed", '
            'entityName: "mallory", projectName: "loot"}) { versionIndex } }',
            {"id": pending.artifact_id},
        ),
    ]
    for document, variables in not_found:
        assert refused(mallory, document, **variables) == (404, "NOT_FOUND"), document[:60]
    # Logging into alice's run is changing it: refused, as the run is visible (403, not 404).
    hijack = create_input(pending, "client-f1") | {"artifactCollectionName": "data"}
    assert refused(mallory, CREATE, input=hijack) == (403, "PERMISSION_DENIED")
    # The same content and client id from mallory's own run make mallory's own version, never alice's.
    mallory.data(UPSERT_RUN, input={"name": "mine", "modelName": "f1", "entityName": "crew"})
    twin = mallory.data(CREATE, input=hijack | {"runName": "mine"})["createArtifact"]["artifact"]
    assert twin["id"] != pending.artifact_id and twin["state"] == "PENDING"

    # Alice's commit is the one that counts, and the version holds her bytes, not a reference.
    committed = pending.commit()
    assert committed.status_code == 200, committed.text
    assert committed.json()["data"]["commitArtifact"]["artifact"]["state"] == "COMMITTED"
    listed = alice.data(ARTIFACT, id=pending.artifact_id)["artifact"]["files"]["edges"]
    assert {e["node"]["name"]: e["node"]["digest"] for e in listed} == {p: md5_b64(b) for p, b in files.items()}
    for edge in listed:
        body = httpx.get(edge["node"]["directUrl"], timeout=TIMEOUT).content
        assert body == files[edge["node"]["name"]]
    # Committed, it is everyone's to see.
    assert mallory.data(ARTIFACT, id=pending.artifact_id)["artifact"]["state"] == "COMMITTED"


def test_the_owners_read_key_sees_the_version_but_gets_no_upload_url(emu: EmbeddedEmulator, alice: Client) -> None:
    pending = in_flight(alice, "alice/f1r", "train", {"r.txt": b"read key"}, client_id="client-f1r")
    with Client(emu, emu.create_key("alice", read_only=True)) as reader:
        seen = reader.data(ARTIFACT, id=pending.artifact_id)["artifact"]
    assert seen["state"] == "PENDING" and seen["currentManifest"]["file"]["uploadUrl"] is None


def test_update_artifact_manifest_checks_the_owner_and_the_state(alice: Client, mallory: Client, crew: str) -> None:
    files = {"secret.txt": b"alice's private pending bytes"}
    pending = in_flight(alice, "crew/f2", "train", files, client_id="client-f2")
    manifest_id = alice.data(ARTIFACT, id=pending.artifact_id)["artifact"]["currentManifest"]["id"]

    # Another user reads nothing through it and changes nothing with it: 404, as for the version.
    for update in ({}, {"digest": "AAAAAAAAAAAAAAAAAAAAAA=="}):
        status, errors = mallory.error(UPDATE_MANIFEST, input={"artifactManifestID": manifest_id, **update})
        assert (status, errors[0]["extensions"]["code"]) == (404, "NOT_FOUND")
        assert "secret.txt" not in json.dumps(errors)
    # The owner may change the declared digest while the version is pending...
    wrong = alice.data(UPDATE_MANIFEST, input={"artifactManifestID": manifest_id, "digest": "AAAAAAAAAAAAAAAAAAAAAA=="})
    assert wrong["updateArtifactManifest"]["artifactManifest"]["digest"] == "AAAAAAAAAAAAAAAAAAAAAA=="
    right = md5_b64(pending.manifest)
    alice.data(UPDATE_MANIFEST, input={"artifactManifestID": manifest_id, "digest": right})
    # ...and her commit is untouched by the other user's attempt.
    committed = pending.commit()
    assert committed.status_code == 200, committed.text
    # A committed version's manifest never changes, whoever asks.
    for client in (alice, mallory):
        status, errors = client.error(UPDATE_MANIFEST, input={"artifactManifestID": manifest_id, "digest": right})
        assert (status, errors[0]["extensions"]["code"]) == (409, "CONFLICT")


def test_no_manifest_id_leads_to_another_users_pending_version(alice: Client, mallory: Client) -> None:
    pending = in_flight(alice, "alice/f2b", "train", {"x.txt": b"guess me"}, client_id="client-f2b")
    own = alice.data(ARTIFACT, id=pending.artifact_id)["artifact"]["currentManifest"]["id"]
    number = int(base64.b64decode(own).decode().split(":")[1])
    for guess in range(1, number + 5):
        manifest_id = base64.b64encode(f"ArtifactManifest:{guess}".encode()).decode()
        response = mallory.post(UPDATE_MANIFEST, {"input": {"artifactManifestID": manifest_id}})
        assert pending.artifact_id not in response.text
