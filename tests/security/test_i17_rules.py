"""The rows of docs/security.md's "who may see and change what" that findings 1-4 did not change.

Pinned so that changing one is a decision, not an accident: a user's API keys are theirs (and an
admin's) to list; committed versions and collections are any write key's to change, in any
entity (there are no per-entity permissions yet).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from artifactkit.server.embedded import EmbeddedEmulator
from tests.server.support import Client, upload

KEYS_OF_RUN_USER = """query { project(entityName: "alice", name: "rules") { run(name: "r") {
  user { name apiKeys { edges { node { id name } } } } } } }"""
VIEWER_KEYS = "{ viewer { name apiKeys { edges { node { name } } } } }"


@pytest.fixture(scope="module")
def alice(emu: EmbeddedEmulator) -> Iterator[Client]:
    with Client(emu, emu.create_key("alice")) as client:
        client.data(
            'mutation { upsertBucket(input: {entityName: "alice", modelName: "rules", name: "r"}) { bucket { id } } }'
        )
        yield client


@pytest.fixture(scope="module")
def mallory(emu: EmbeddedEmulator) -> Iterator[Client]:
    with Client(emu, emu.create_key("mallory")) as client:
        yield client


def test_a_users_api_keys_are_listed_to_them_and_to_admins_only(
    emu: EmbeddedEmulator, alice: Client, mallory: Client
) -> None:
    assert alice.data(VIEWER_KEYS)["viewer"]["apiKeys"]["edges"] == [{"node": {"name": "write"}}]
    assert alice.data(KEYS_OF_RUN_USER)["project"]["run"]["user"]["apiKeys"]["edges"]
    seen_by_other = mallory.data(KEYS_OF_RUN_USER)["project"]["run"]["user"]
    assert seen_by_other == {"name": "alice", "apiKeys": None}
    with Client(emu) as admin:
        assert admin.data(KEYS_OF_RUN_USER)["project"]["run"]["user"]["apiKeys"]["edges"]


def test_any_write_key_changes_committed_versions_and_collections_in_any_entity(alice: Client, mallory: Client) -> None:
    version = upload(alice, "alice/rules", "shared", {"s.txt": b"committed"})
    changed = mallory.data(
        'mutation($id: ID!) { updateArtifact(input: {artifactID: $id, description: "reviewed"}) '
        "{ artifact { description } } }",
        id=version["id"],
    )
    assert changed == {"updateArtifact": {"artifact": {"description": "reviewed"}}}
    mallory.data(
        'mutation($id: ID!) { addAliases(input: {artifactID: $id, aliases: [{artifactCollectionName: "shared", '
        'alias: "blessed", entityName: "alice", projectName: "rules"}]}) { success } }',
        id=version["id"],
    )
    sequence = alice.data(
        '{ project(entityName: "alice", name: "rules") { artifactCollection(name: "shared") { id } } }'
    )
    renamed = mallory.data(
        'mutation($id: ID!) { updateArtifactSequence(input: {artifactSequenceID: $id, description: "shared"}) '
        "{ artifactCollection { description } } }",
        id=sequence["project"]["artifactCollection"]["id"],
    )
    assert renamed == {"updateArtifactSequence": {"artifactCollection": {"description": "shared"}}}
