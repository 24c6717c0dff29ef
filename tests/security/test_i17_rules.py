"""The rows of docs/security.md's "who may see and change what" that findings 1-4 did not change.

Pinned so that changing one is a decision, not an accident: a user's API keys are theirs (and an
admin's) to list; committed versions and collections are changed by whoever may write in their
entity: a personal entity's user, a team's members (issue 19 made entity membership real; before,
any write key changed them in any entity).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from artifactkit.server.embedded import EmbeddedEmulator
from tests.server.support import Client, team, upload

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


def test_a_users_api_keys_are_listed_to_them_and_to_admins_only(
    emu: EmbeddedEmulator, alice: Client, mallory: Client
) -> None:
    assert alice.data(VIEWER_KEYS)["viewer"]["apiKeys"]["edges"] == [{"node": {"name": "write"}}]
    assert alice.data(KEYS_OF_RUN_USER)["project"]["run"]["user"]["apiKeys"]["edges"]
    seen_by_other = mallory.data(KEYS_OF_RUN_USER)["project"]["run"]["user"]
    assert seen_by_other == {"name": "alice", "apiKeys": None}
    with Client(emu) as admin:
        assert admin.data(KEYS_OF_RUN_USER)["project"]["run"]["user"]["apiKeys"]["edges"]


UPDATE_VERSION = (
    'mutation($id: ID!) { updateArtifact(input: {artifactID: $id, description: "reviewed"}) '
    "{ artifact { description } } }"
)
UPDATE_SEQUENCE = (
    'mutation($id: ID!) { updateArtifactSequence(input: {artifactSequenceID: $id, description: "shared"}) '
    "{ artifactCollection { description } } }"
)


def add_alias(entity: str) -> str:
    return (
        'mutation($id: ID!) { addAliases(input: {artifactID: $id, aliases: [{artifactCollectionName: "shared", '
        f'alias: "blessed", entityName: "{entity}", projectName: "rules"}}]}}) {{ success }} }}'
    )


def sequence_id(client: Client, entity: str) -> str:
    found = client.data(
        f'{{ project(entityName: "{entity}", name: "rules") {{ artifactCollection(name: "shared") {{ id }} }} }}'
    )
    return str(found["project"]["artifactCollection"]["id"])


def test_committed_versions_and_collections_of_a_personal_entity_are_its_users(alice: Client, mallory: Client) -> None:
    version = upload(alice, "alice/rules", "shared", {"s.txt": b"committed"})
    sequence = sequence_id(alice, "alice")
    for document, variables in (
        (UPDATE_VERSION, {"id": version["id"]}),
        (add_alias("alice"), {"id": version["id"]}),
        (UPDATE_SEQUENCE, {"id": sequence}),
    ):
        status, errors = mallory.error(document, **variables)
        assert (status, errors[0]["extensions"]["code"]) == (403, "PERMISSION_DENIED"), document[:40]
    # Seen by every key (a personal entity's projects are open), changed by nobody else.
    assert mallory.data("query($id: ID!) { artifact(id: $id) { description } }", id=version["id"]) == {
        "artifact": {"description": None}
    }
    assert alice.data(UPDATE_VERSION, id=version["id"]) == {"updateArtifact": {"artifact": {"description": "reviewed"}}}


def test_committed_versions_and_collections_of_a_team_are_its_members(
    emu: EmbeddedEmulator, alice: Client, mallory: Client
) -> None:
    team(emu, "rules-team", "alice", "mallory")
    version = upload(alice, "rules-team/rules", "shared", {"s.txt": b"committed in a team"})
    changed = mallory.data(UPDATE_VERSION, id=version["id"])
    assert changed == {"updateArtifact": {"artifact": {"description": "reviewed"}}}
    mallory.data(add_alias("rules-team"), id=version["id"])
    renamed = mallory.data(UPDATE_SEQUENCE, id=sequence_id(alice, "rules-team"))
    assert renamed == {"updateArtifactSequence": {"artifactCollection": {"description": "shared"}}}
