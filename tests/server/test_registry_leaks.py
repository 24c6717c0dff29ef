"""A version seen through its team project says nothing of the RESTRICTED registries it is linked
into to a teammate who is not a member of them: not through its memberships, its collections,
its aliases, nor the registry's search.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from artifactkit.server.embedded import EmbeddedEmulator
from tests.server.support import Client, team
from tests.server.test_registries import (
    ADD_MEMBERS,
    COLLECTIONS,
    ORG,
    ORG_ENTITY,
    VERSIONS,
    create_registry,
    link,
    model_version,
    user_id,
)

SEEN = """query($id: ID!) { artifact(id: $id) { id
  aliases { alias artifactCollection { __typename name project { name } } }
  artifactMemberships { edges { node { versionIndex aliases { alias }
    artifactCollection { __typename name project { name } } } } }
  artifactCollections { edges { node { __typename name project { name } } } } } }"""


@pytest.fixture(scope="module")
def reg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEmulator]:
    with EmbeddedEmulator(tmp_path_factory.mktemp("registry-leaks")) as emulator:
        yield emulator


def test_a_teammate_outside_a_restricted_registry_does_not_see_the_link(reg: EmbeddedEmulator) -> None:
    with Client(reg, reg.create_key("alice")) as alice, Client(reg, reg.create_key("erin")) as erin:
        team(reg, "vision", "alice", "erin")
        restricted = create_registry(alice, "vault", access="RESTRICTED")
        source = model_version(alice, "vision/models", "detector", b"vault weights")
        link(alice, source["id"], f"{ORG_ENTITY}/wandb-registry-vault/detector", aliases=("prod",))

        seen = erin.data(SEEN, id=source["id"])["artifact"]
        assert seen is not None  # a teammate sees the version in the team's project ...
        text = json.dumps(seen)
        assert "wandb-registry-vault" not in text and "prod" not in text, text  # ... and nothing of the vault
        assert [e["node"]["artifactCollection"]["name"] for e in seen["artifactMemberships"]["edges"]] == ["detector"]
        found = erin.data(COLLECTIONS, org=ORG, registries=None, order=None)["organization"]["orgEntity"]
        assert "vault" not in json.dumps(found)
        hits = erin.data(VERSIONS, org=ORG, registries=None, collections=None, versions=None, order=None)
        assert "wandb-registry-vault" not in json.dumps(hits)

        # Once erin is a member, the same queries show the link.
        alice.data(
            ADD_MEMBERS, input={"projectId": restricted["id"], "userIds": [user_id(alice, "erin")], "teamIds": []}
        )
        text = json.dumps(erin.data(SEEN, id=source["id"]))
        assert "wandb-registry-vault" in text and "prod" in text
