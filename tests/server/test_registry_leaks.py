"""What one sees of a version is what one may see of where it lives: a teammate outside a
RESTRICTED registry learns nothing of the version's link there, and a reader of a public run
outside the organization does not get a team's version through the run's inputs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest

from artifactkit.server import organizations
from artifactkit.server.accounts import ensure_user
from artifactkit.server.embedded import EmbeddedEmulator
from tests.server.support import Client, team, upload
from tests.server.test_registries import (
    ADD_MEMBERS,
    COLLECTIONS,
    ORG,
    ORG_ENTITY,
    UPSERT_RUN,
    USE,
    VERSIONS,
    create_registry,
    link,
    make_member,
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


RUN_INPUTS = """query($entity: String!, $project: String!, $run: String!) {
  project(name: $project, entityName: $entity) { run(name: $run) {
    inputArtifacts { totalCount edges { node { id digest files { edges { node { directUrl } } } } } } } } }"""


def inputs(client: Client, entity: str, project: str, run: str) -> list[str]:
    found = client.data(RUN_INPUTS, entity=entity, project=project, run=run)["project"]["run"]["inputArtifacts"]
    ids = [edge["node"]["id"] for edge in found["edges"]]
    assert found["totalCount"] == len(ids)
    return ids


def test_a_public_run_that_used_a_registry_version_lists_it_only_to_who_may_see_it(reg: EmbeddedEmulator) -> None:
    """bob's run (in his personal project, which every key sees) used a team's version through the
    model registry: the run's inputs list it to bob and the team, not to a user outside the
    organization, who would otherwise get the version's files through it."""
    with (
        Client(reg) as admin,
        Client(reg, reg.create_key("nina")) as nina,
        Client(reg, reg.create_key("bob")) as bob,
        Client(reg, reg.create_key("carol")) as carol,
    ):
        team(reg, "nlp", "nina")
        home = organizations.home_organization(reg.store)
        assert home is not None
        organizations.remove_organization_member(reg.store, int(home["id"]), ensure_user(reg.store, "carol"))
        make_member(admin, "wandb-registry-model", "nina")
        source = model_version(nina, "nlp/models", "tagger", b"tagger weights")
        link(nina, source["id"], f"{ORG_ENTITY}/wandb-registry-model/tagger", aliases=("production",))
        bob.data(UPSERT_RUN, input={"entityName": "bob", "modelName": "consume", "name": "c1"})
        own = upload(bob, "bob/consume", "notes", {"n.txt": b"bob's own"}, run="c1")
        use = {"entityName": "bob", "projectName": "consume", "runName": "c1", "artifactID": source["id"]}
        bob.data(USE, input=use)
        bob.data(USE, input={**use, "artifactID": own["id"]})

        assert sorted(inputs(bob, "bob", "consume", "c1")) == sorted([source["id"], own["id"]])
        assert sorted(inputs(nina, "bob", "consume", "c1")) == sorted([source["id"], own["id"]])
        assert inputs(carol, "bob", "consume", "c1") == [own["id"]]  # before: both, with the tagger's file URLs


def test_downloads_by_content_serve_only_what_the_caller_may_see(reg: EmbeddedEmulator) -> None:
    """`/artifacts/<entity>/<md5>` (what the clients fall back to): a team's file goes to its members,
    to whoever sees a registry it is linked into, and to nobody else, who gets the 404 of a file
    the entity does not hold. Before, any key that named the entity and the MD5 got the bytes."""
    content = b"a team's private weights"
    md5 = hashlib.md5(content).hexdigest()
    with (
        Client(reg) as admin,
        Client(reg, reg.create_key("tara")) as tara,
        Client(reg, reg.create_key("olga")) as olga,
        Client(reg, reg.create_key("carl")) as carl,
    ):
        team(reg, "speech", "tara")
        home = organizations.home_organization(reg.store)
        assert home is not None
        organizations.remove_organization_member(reg.store, int(home["id"]), ensure_user(reg.store, "carl"))
        source = model_version(tara, "speech/models", "asr", content)

        def fetch(client: Client) -> int:
            return client.http.get(f"/artifacts/speech/{md5}").status_code

        assert (fetch(tara), fetch(olga), fetch(carl), fetch(admin)) == (200, 404, 404, 200)
        make_member(admin, "wandb-registry-model", "tara")
        link(tara, source["id"], f"{ORG_ENTITY}/wandb-registry-model/asr")
        assert (fetch(olga), fetch(carl)) == (200, 404)  # olga sees the model registry; carl is outside the org
