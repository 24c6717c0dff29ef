"""Issue 17, finding 3: another user's run is visible to every key but changed only by its owner.

Before, any write key could rewrite another user's config and tags (`upsertBucket`), stop it,
set its state, add, overwrite and delete its files and delete it with `deleteArtifacts`, which
also deleted the owner's committed version. Now each is refused (403: the run is visible, so it
is not hidden behind a 404) and nothing changes; its owner and an admin key still may. The rule
is `policy.may_change_run`, written in docs/security.md.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from artifactkit.server.embedded import EmbeddedEmulator
from tests.security.support import TIMEOUT, basic
from tests.server.support import Client, Upload, team, upload

UPSERT = """mutation($input: UpsertBucketInput!) { upsertBucket(input: $input) {
  bucket { id name config tags state } inserted } }"""
RUN = """query($e: String!, $p: String!, $n: String!) { project(entityName: $e, name: $p) { run(name: $n) {
  id name config tags state stopped fileCount
  files { edges { node { id name md5 } } }
  outputArtifacts { edges { node { id state } } } inputArtifacts { edges { node { id } } } } } }"""
CREATE_RUN_FILES = """mutation($input: CreateRunFilesInput!) { createRunFiles(input: $input) {
  runID files { name uploadUrl } } }"""
DELETE_FILES = "mutation($files: [ID!]!) { deleteFiles(input: {files: $files}) { success } }"
DELETE_RUN = (
    "mutation($id: ID!, $all: Boolean) { deleteRun(input: {id: $id, deleteArtifacts: $all}) { clientMutationId } }"
)
STOP = "mutation($id: ID!) { stopRun(input: {id: $id}) { success } }"
SET_STATE = "mutation($id: ID!, $s: String!) { updateRunState(input: {id: $id, state: $s}) { success } }"
UPLOAD_URLS = """query($e: String!, $p: String!, $n: String!) { project(entityName: $e, name: $p) {
  run(name: $n) { files { edges { node { url(upload: true) } } } } } }"""
USE = "mutation($input: UseArtifactInput!) { useArtifact(input: $input) { artifact { id } } }"
ARTIFACT = "query($id: ID!) { artifact(id: $id) { id state } }"


@pytest.fixture(scope="module")
def crew(emu: EmbeddedEmulator, alice: Client, mallory: Client) -> str:
    """The team alice's runs are in; mallory is a member too, so what refuses her is the run's
    owner, not the entity (writing into another user's personal entity is refused before that)."""
    return team(emu, "crew", "alice", "mallory")


@dataclass
class AliceRun:
    """Alice's run with a config, tags, a file and a committed version it logged."""

    client: Client
    project: str
    name: str
    id: str = ""
    version_id: str = ""

    def state(self) -> dict[str, Any]:
        entity, project = self.project.split("/")
        found: dict[str, Any] = self.client.data(RUN, e=entity, p=project, n=self.name)["project"]["run"]
        return found

    def create_files(self, client: Client, names: list[str]) -> httpx.Response:
        entity, project = self.project.split("/")
        variables = {"entityName": entity, "projectName": project, "runName": self.name, "files": names}
        return client.post(CREATE_RUN_FILES, {"input": variables})


_counter = iter(range(1_000_000))


@pytest.fixture
def run(alice: Client, crew: str) -> AliceRun:
    made = AliceRun(alice, "crew/f3", f"train-{next(_counter)}")
    created = alice.data(
        UPSERT,
        input={"entityName": "crew", "modelName": "f3", "name": made.name, "config": '{"lr": 1}', "tags": ["mine"]},
    )
    made.id = created["upsertBucket"]["bucket"]["id"]
    answer = made.create_files(alice, ["config.yaml"]).json()["data"]["createRunFiles"]
    assert httpx.put(answer["files"][0]["uploadUrl"], content=b"lr: 1\n", timeout=TIMEOUT).status_code == 200
    made.version_id = upload(alice, "crew/f3", "model", {"w.bin": made.name.encode()}, run=made.name)["id"]
    return made


def upsert(client: Client, run: AliceRun, **fields: Any) -> httpx.Response:
    return client.post(UPSERT, {"input": {"entityName": "crew", "modelName": "f3", "name": run.name, **fields}})


def file_ids(run: AliceRun) -> list[str]:
    return [edge["node"]["id"] for edge in run.state()["files"]["edges"]]


# Each change another user might try: (what it sends, given the client and alice's run).
CHANGES: dict[str, Callable[[Client, AliceRun], httpx.Response]] = {
    "upsertBucket config": lambda c, r: upsert(c, r, config='{"lr": 666}'),
    "upsertBucket tags": lambda c, r: upsert(c, r, tags=["pwned"]),
    "upsertBucket by id": lambda c, r: c.post(UPSERT, {"input": {"id": r.id, "notes": "pwned", "state": "crashed"}}),
    "stopRun": lambda c, r: c.post(STOP, {"id": r.id}),
    "updateRunState": lambda c, r: c.post(SET_STATE, {"id": r.id, "s": "failed"}),
    "createRunFiles": lambda c, r: r.create_files(c, ["config.yaml", "evil.py"]),
    "deleteFiles": lambda c, r: c.post(DELETE_FILES, {"files": file_ids(r)}),
    "deleteRun": lambda c, r: c.post(DELETE_RUN, {"id": r.id, "all": False}),
    "deleteRun(deleteArtifacts)": lambda c, r: c.post(DELETE_RUN, {"id": r.id, "all": True}),
    "createArtifact with its runName": lambda c, r: create_in_run(c, r),
    "useArtifact with its runName": lambda c, r: c.post(
        USE, {"input": {"entityName": "crew", "projectName": "f3", "runName": r.name, "artifactID": r.version_id}}
    ),
}


def create_in_run(client: Client, run: AliceRun) -> httpx.Response:
    """`createArtifact` as a run logs a version: with the run's name."""
    pending = Upload(client, run.project, "injected", {"x": b"injected"}, run=run.name)
    variables = {
        "entityName": "crew",
        "projectName": "f3",
        "artifactTypeName": "dataset",
        "artifactCollectionName": "injected",
        "digest": pending.digest,
        "digestAlgorithm": "MANIFEST_MD5",
        "runName": run.name,
    }
    return client.post(
        "mutation($input: CreateArtifactInput!) { createArtifact(input: $input) { artifact { id } } }",
        {"input": variables},
    )


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_another_users_write_key_cannot_change_a_run(
    alice: Client, mallory: Client, run: AliceRun, change: str
) -> None:
    before = run.state()
    response = CHANGES[change](mallory, run)
    body = response.json()
    assert response.status_code == 403, body
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    assert "another user" in body["errors"][0]["message"]
    assert run.state() == before  # config, tags, state, stop flag, files, outputs, inputs: all as they were
    assert alice.data(ARTIFACT, id=run.version_id)["artifact"]["state"] == "COMMITTED"


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_the_owner_may(alice: Client, run: AliceRun, change: str) -> None:
    response = CHANGES[change](alice, run)
    assert response.status_code == 200 and "errors" not in response.json(), response.text


def test_an_admin_key_may_manage_anyones_run(emu: EmbeddedEmulator, run: AliceRun) -> None:
    with Client(emu) as admin:  # the key `serve` prints is an admin key
        assert admin.data(STOP, id=run.id) == {"stopRun": {"success": True}}
        assert run.state()["stopped"] is True
        admin.data(DELETE_RUN, id=run.id, all=True)
    assert run.client.data(ARTIFACT, id=run.version_id) == {"artifact": None}  # the owner's version went with it


def test_no_upload_url_of_another_users_run_file_is_handed_out(alice: Client, mallory: Client, run: AliceRun) -> None:
    entity, project = run.project.split("/")
    seen = mallory.data(UPLOAD_URLS, e=entity, p=project, n=run.name)["project"]["run"]["files"]["edges"]
    assert [edge["node"]["url"] for edge in seen] == [None]
    own = alice.data(UPLOAD_URLS, e=entity, p=project, n=run.name)["project"]["run"]["files"]["edges"]
    url = own[0]["node"]["url"]
    assert url and httpx.put(url, content=b"lr: 2\n", timeout=TIMEOUT).status_code == 200


def test_the_file_stream_of_another_users_run_is_refused(emu: EmbeddedEmulator, mallory: Client, run: AliceRun) -> None:
    stream = f"{emu.url}/files/crew/f3/{run.name}/file_stream"
    key = emu.create_key("mallory")
    response = httpx.post(stream, json={"complete": True, "exitcode": 1}, headers=basic(key), timeout=TIMEOUT)
    assert response.status_code == 403
    assert run.state()["state"] == "running"


def test_delete_artifacts_never_deletes_another_users_version(
    emu: EmbeddedEmulator, alice: Client, mallory: Client, run: AliceRun
) -> None:
    # A version another user created with this run's name: refused today, but a database of an
    # older emulator can hold one (it recorded no creator for versions logged by a run).
    theirs = upload(mallory, "crew/f3", "theirs", {"t.txt": b"mallory's own work"})
    pk = int(base64.b64decode(theirs["id"]).decode().split(":")[1])
    run_pk = int(base64.b64decode(run.id).decode().split(":")[1])
    store = emu.store
    with store.write() as conn:
        conn.execute("UPDATE artifacts SET created_by_run_id = ? WHERE id = ?", (run_pk, pk))
    alice.data(DELETE_RUN, id=run.id, all=True)
    assert alice.data(ARTIFACT, id=run.version_id) == {"artifact": None}  # alice's own went
    assert mallory.data(ARTIFACT, id=theirs["id"]) == {"artifact": {"id": theirs["id"], "state": "COMMITTED"}}
