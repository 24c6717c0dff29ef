"""W&B Registry on the emulator, over HTTP: organizations, registries, linking, search, members.

One emulator for the module. `local` (the key `serve` prints, an admin key) created it and so
administers its home organization `local-org`; alice works in the team `ml-team`; bob is a member
of the organization and of no team; carol belongs to no organization; dave to two. Each test
builds what it needs under names of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from artifactkit.server import organizations
from artifactkit.server.accounts import ensure_user
from artifactkit.server.embedded import EmbeddedEmulator
from tests.server.support import Client, team, upload

ORG, ORG_ENTITY = "local-org", "local-org-entity"

ORG_INFO = """query($entity: String!) { entity(name: $entity) {
  organization { name orgEntity { name } }
  user { organizations { name orgEntity { name } } } } }"""
ORGANIZATION = """query($org: String!) { organization(name: $org) {
  id name coreWeaveOrganizationId advancedRegistryFeatures { advancedSearch }
  featureFlags(rampIDType: OrgName) { rampKey }
  orgEntity { id name entityType isTeam organization { name } } } }"""
REGISTRY_FIELDS = """id internalId name description access allowAllArtifactTypesInRegistry
  entity { name organization { name } }
  artifactTypes(includeAll: true) { edges { node { name } } }"""
REGISTRIES = f"""query($org: String!, $filters: JSONString, $order: String, $first: Int, $after: String) {{
  organization(name: $org) {{ orgEntity {{
    projects(filters: $filters, order: $order, first: $first, after: $after) {{
      pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {REGISTRY_FIELDS} }} }} }} }} }} }}"""
REGISTRY = f"""query($entity: String, $name: String) {{ entity(name: $entity) {{
  project(name: $name) {{ {REGISTRY_FIELDS} }} }} }}"""
UPSERT = f"""mutation($input: UpsertModelInput!) {{ upsertModel(input: $input) {{
  inserted project {{ {REGISTRY_FIELDS} }} }} }}"""
RENAME = (
    """mutation($input: RenameProjectInput!) { renameProject(input: $input) { project { id name description } } }"""
)
DELETE = "mutation($id: String!) { deleteModel(input: {id: $id}) { success } }"
MEMBERS = """query($entity: String!, $project: String!) { project(name: $project, entityName: $entity) {
  members { id username role { name } } teamMembers { team { id name } role { name } } } }"""
ADD_MEMBERS = """mutation($input: CreateProjectMembersInput!) { createProjectMembers(input: $input) { success } }"""
REMOVE_MEMBERS = """mutation($input: DeleteProjectMembersInput!) { deleteProjectMembers(input: $input) { success } }"""
USER_ROLE = """mutation($input: UpdateProjectMemberInput!) { updateProjectMember(input: $input) { success } }"""
TEAM_ROLE = """mutation($input: UpdateProjectTeamMemberInput!) { updateProjectTeamMember(input: $input) { success } }"""
SEARCH_USERS = "query($q: String) { users(query: $q) { edges { node { id username } } } }"
TEAM = """query($name: String!) { entity(name: $name) {
  id name isTeam entityType readOnlyAdmin privateOnly storageBytes codeSavingEnabled defaultAccess
  organization { name } members { id admin role username name apiKey } } }"""
LINK = """mutation($input: LinkArtifactInput!) { linkArtifact(input: $input) {
  versionIndex
  artifactMembership { id versionIndex aliases { alias }
    artifactCollection { __typename name project { name entity { name } } }
    artifact { id artifactSequence { name project { name entity { name } } } } } } }"""
UNLINK = """mutation($input: UnlinkArtifactInput!) { unlinkArtifact(input: $input) { success } }"""
MEMBERSHIP = """query($entity: String!, $project: String!, $name: String!) {
  project(name: $project, entityName: $entity) { artifactCollectionMembership(name: $name) {
    versionIndex aliases { alias } artifactCollection { id name }
    artifact { id aliases { alias artifactCollection { name } }
      artifactSequence { name project { name entity { name } } }
      createdBy { __typename } } } } }"""
COLLECTIONS = """query($org: String!, $registries: JSONString, $collections: JSONString, $order: String) {
  organization(name: $org) { orgEntity { artifactCollections(projectFilters: $registries, filters: $collections,
    collectionTypes: [PORTFOLIO], order: $order) {
      totalCount edges { node { __typename name project { name } defaultArtifactType { name }
        tags { edges { node { name } } } } } } } } }"""
VERSIONS = """query($org: String!, $registries: JSONString, $collections: JSONString, $versions: JSONString,
    $order: String) {
  organization(name: $org) { orgEntity { artifactMemberships(projectFilters: $registries,
    collectionFilters: $collections, filters: $versions, order: $order) {
      edges { node { versionIndex aliases { alias } artifactCollection { name project { name } }
        artifact { id } } } } } } }"""
ARTIFACT = """query($id: ID!) { artifact(id: $id) { id
  artifactMemberships { edges { node { versionIndex artifactCollection { __typename name project { name } } } } } } }"""
USE = "mutation($input: UseArtifactInput!) { useArtifact(input: $input) { artifact { id } } }"
UPSERT_RUN = "mutation($input: UpsertBucketInput!) { upsertBucket(input: $input) { bucket { id } } }"
TAG_COLLECTION = """mutation($input: CreateArtifactCollectionTagAssignmentsInput!) {
  createArtifactCollectionTagAssignments(input: $input) { tags { name } } }"""


@pytest.fixture(scope="module")
def reg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEmulator]:
    with EmbeddedEmulator(tmp_path_factory.mktemp("registries")) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def admin(reg: EmbeddedEmulator) -> Iterator[Client]:
    with Client(reg) as client:
        yield client


@pytest.fixture(scope="module")
def alice(reg: EmbeddedEmulator) -> Iterator[Client]:
    with Client(reg, reg.create_key("alice")) as client:
        team(reg, "ml-team", "alice")
        yield client


@pytest.fixture(scope="module")
def bob(reg: EmbeddedEmulator) -> Iterator[Client]:
    with Client(reg, reg.create_key("bob")) as client:
        yield client


@pytest.fixture(scope="module")
def carol(reg: EmbeddedEmulator) -> Iterator[Client]:
    """A user of no organization."""
    key = reg.create_key("carol")
    home = organizations.home_organization(reg.store)
    assert home is not None
    organizations.remove_organization_member(reg.store, int(home["id"]), ensure_user(reg.store, "carol"))
    with Client(reg, key) as client:
        yield client


def registry_input(name: str, **fields: Any) -> dict[str, Any]:
    return {"entityName": ORG_ENTITY, "name": f"wandb-registry-{name}", **fields}


def create_registry(client: Client, name: str, **fields: Any) -> dict[str, Any]:
    answer = client.data(UPSERT, input=registry_input(name, **fields))["upsertModel"]
    assert answer["inserted"] is True
    project: dict[str, Any] = answer["project"]
    return project


def model_version(client: Client, project: str, name: str, content: bytes, kind: str = "model") -> dict[str, Any]:
    return upload(client, project, name, {"weights.bin": content}, type=kind)


def link(client: Client, artifact_id: str, target: str, aliases: tuple[str, ...] = ()) -> dict[str, Any]:
    entity, project, collection = target.split("/")
    result: dict[str, Any] = client.data(
        LINK,
        input={
            "artifactID": artifact_id,
            "artifactPortfolioName": collection,
            "entityName": entity,
            "projectName": project,
            "aliases": [{"alias": a, "artifactCollectionName": collection} for a in aliases],
        },
    )["linkArtifact"]
    return result


def link_error(client: Client, artifact_id: str, target: str) -> tuple[int, str, str]:
    entity, project, collection = target.split("/")
    status, errors = client.error(
        LINK,
        input={
            "artifactID": artifact_id,
            "artifactPortfolioName": collection,
            "entityName": entity,
            "projectName": project,
        },
    )
    return status, str(errors[0]["extensions"]["code"]), str(errors[0]["message"])


def registry_names(client: Client, **variables: Any) -> list[str]:
    edges = client.data(REGISTRIES, org=ORG, **variables)["organization"]["orgEntity"]["projects"]["edges"]
    return [e["node"]["name"] for e in edges]


def user_id(client: Client, username: str) -> str:
    edges = client.data(SEARCH_USERS, q=username)["users"]["edges"]
    return str(next(e["node"]["id"] for e in edges if e["node"]["username"] == username))


def team_id(client: Client, name: str) -> str:
    return str(client.data(TEAM, name=name)["entity"]["id"])


def registry_projects_outside_org_entities(reg: EmbeddedEmulator) -> list[str]:
    rows = reg.store.all(
        "SELECT e.name AS entity, p.name AS project FROM projects p JOIN entities e ON e.id = p.entity_id"
        " WHERE p.name LIKE 'wandb-registry-%' AND e.kind != 'organization'"
    )
    return [f"{r['entity']}/{r['project']}" for r in rows]


# ------------------------------------------------------------------ out of the box


def test_the_first_user_belongs_to_the_home_organization_with_its_core_registries(admin: Client) -> None:
    info = admin.data(ORG_INFO, entity="local")["entity"]
    assert info == {
        "organization": None,  # a personal entity belongs to no organization; its user does
        "user": {"organizations": [{"name": ORG, "orgEntity": {"name": ORG_ENTITY}}]},
    }
    organization = admin.data(ORGANIZATION, org=ORG)["organization"]
    assert organization["orgEntity"]["name"] == ORG_ENTITY
    assert organization["orgEntity"]["entityType"] == "organization"
    assert organization["orgEntity"]["organization"] == {"name": ORG}  # the org entity points back
    assert organization["coreWeaveOrganizationId"] is None  # what wandb-core asks at every run start
    assert organization["advancedRegistryFeatures"] == {"advancedSearch": True}
    assert organization["featureFlags"] == []
    model = admin.data(REGISTRY, entity=ORG_ENTITY, name="wandb-registry-model")["entity"]["project"]
    assert (model["access"], model["allowAllArtifactTypesInRegistry"]) == ("PRIVATE", False)
    assert [e["node"]["name"] for e in model["artifactTypes"]["edges"]] == ["model"]
    assert model["entity"] == {"name": ORG_ENTITY, "organization": {"name": ORG}}
    members = admin.data(MEMBERS, entity=ORG_ENTITY, project="wandb-registry-model")["project"]
    assert [(m["username"], m["role"]["name"]) for m in members["members"]] == [("local", "admin")]
    assert {"wandb-registry-model", "wandb-registry-dataset"} <= set(registry_names(admin))


def test_every_new_user_joins_the_home_organization_and_its_team_entities_belong_to_it(
    alice: Client, bob: Client
) -> None:
    assert bob.data(ORG_INFO, entity="bob")["entity"]["user"]["organizations"] == [
        {"name": ORG, "orgEntity": {"name": ORG_ENTITY}}
    ]
    assert alice.data(ORG_INFO, entity="ml-team")["entity"]["organization"] == {
        "name": ORG,
        "orgEntity": {"name": ORG_ENTITY},
    }
    # A team made by a first write joins its creator's only organization, with the creator its admin.
    alice.data(UPSERT_RUN, input={"entityName": "alice-new-team", "modelName": "p", "name": "r"})
    made = alice.data(TEAM, name="alice-new-team")["entity"]
    assert (made["entityType"], made["isTeam"], made["organization"]) == ("team", True, {"name": ORG})
    assert [(m["username"], m["admin"], m["apiKey"]) for m in made["members"]] == [("alice", True, None)]


def test_an_organization_and_its_teams_members_are_hidden_from_outsiders(carol: Client, alice: Client) -> None:
    assert carol.data(ORG_INFO, entity="carol")["entity"]["user"]["organizations"] == []
    assert carol.data(ORGANIZATION, org=ORG) == {"organization": None}
    assert carol.data(ORG_INFO, entity="ml-team")["entity"]["organization"] is None
    assert carol.data(TEAM, name="ml-team")["entity"]["members"] == []
    assert carol.data(REGISTRY, entity=ORG_ENTITY, name="wandb-registry-model") == {"entity": {"project": None}}
    # users(query:) finds oneself and the users of one's organizations only.
    assert [e["node"]["username"] for e in carol.data(SEARCH_USERS, q="")["users"]["edges"]] == ["carol"]
    assert "carol" not in [e["node"]["username"] for e in alice.data(SEARCH_USERS, q="")["users"]["edges"]]


def test_a_user_in_two_organizations_lists_both(reg: EmbeddedEmulator, admin: Client) -> None:
    dave = ensure_user(reg.store, "dave")
    other = organizations.create_organization(reg.store, "other-org", "other-org-entity", admin=dave)
    with Client(reg, reg.create_key("dave")) as client:
        listed = client.data(ORG_INFO, entity="dave")["entity"]["user"]["organizations"]
    assert listed == [
        {"name": ORG, "orgEntity": {"name": ORG_ENTITY}},
        {"name": "other-org", "orgEntity": {"name": "other-org-entity"}},
    ]
    # Each organization starts with its own core registries; local is not in the other one.
    assert admin.data(ORGANIZATION, org="other-org")["organization"]["orgEntity"]["name"] == "other-org-entity"
    assert other["entity_name"] == "other-org-entity"


# ------------------------------------------------------------------ creating and changing registries


def test_create_change_rename_and_delete_a_registry(alice: Client, bob: Client) -> None:
    created = create_registry(
        alice,
        "lifecycle",
        access="RESTRICTED",
        allowAllArtifactTypesInRegistry=False,
        artifactTypes=[{"name": "model"}],
        description="first",
    )
    assert created["name"] == "wandb-registry-lifecycle" and created["access"] == "RESTRICTED"
    assert created["entity"] == {"name": ORG_ENTITY, "organization": {"name": ORG}}
    again = alice.data(
        UPSERT, input=registry_input("lifecycle", description="second", artifactTypes=[{"name": "code"}])
    )
    assert again["upsertModel"]["inserted"] is False
    saved = again["upsertModel"]["project"]
    assert saved["description"] == "second" and saved["id"] == created["id"]
    assert [e["node"]["name"] for e in saved["artifactTypes"]["edges"]] == ["model", "code"]  # added, never removed
    members = alice.data(MEMBERS, entity=ORG_ENTITY, project="wandb-registry-lifecycle")["project"]["members"]
    assert [(m["username"], m["role"]["name"]) for m in members] == [("alice", "admin")]  # the creator

    # Settings are the registry admins'. bob is in the organization but has no role in it: he does
    # not even see this restricted registry, and may read but not change the model registry.
    status, errors = bob.error(UPSERT, input=registry_input("lifecycle", description="bob's"))
    assert (status, errors[0]["extensions"]["code"]) == (404, "NOT_FOUND")
    status, errors = bob.error(UPSERT, input=registry_input("model", description="bob's"))
    assert status == 403 and "admin role" in errors[0]["message"]

    renamed = alice.data(
        RENAME,
        input={
            "entityName": ORG_ENTITY,
            "oldProjectName": "wandb-registry-lifecycle",
            "newProjectName": "wandb-registry-renamed",
        },
    )["renameProject"]["project"]
    assert renamed == {"id": created["id"], "name": "wandb-registry-renamed", "description": "second"}
    assert alice.data(REGISTRY, entity=ORG_ENTITY, name="wandb-registry-lifecycle") == {"entity": {"project": None}}

    assert alice.data(DELETE, id=created["id"]) == {"deleteModel": {"success": True}}
    assert alice.data(REGISTRY, entity=ORG_ENTITY, name="wandb-registry-renamed") == {"entity": {"project": None}}
    status, errors = alice.error(DELETE, id=created["id"])  # a second delete fails
    assert (status, errors[0]["extensions"]["code"]) == (404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("entity", "name", "message"),
    [
        (ORG_ENTITY, "plain-project", "holds only registries"),
        ("alice", "wandb-registry-mine", "not an organization's entity"),
        (ORG_ENTITY, "wandb-registry-bad/name", "invalid registry name"),
    ],
)
def test_registries_live_only_in_org_entities_and_by_the_name_rules(
    reg: EmbeddedEmulator, alice: Client, entity: str, name: str, message: str
) -> None:
    status, errors = alice.error(UPSERT, input={"entityName": entity, "name": name})
    assert status == 400 and message in errors[0]["message"]
    assert registry_projects_outside_org_entities(reg) == []


def test_core_registries_keep_their_visibility_name_and_existence(admin: Client) -> None:
    model = admin.data(REGISTRY, entity=ORG_ENTITY, name="wandb-registry-model")["entity"]["project"]
    for document, variables in (
        (UPSERT, {"input": registry_input("model", access="RESTRICTED")}),
        (
            RENAME,
            {
                "input": {
                    "entityName": ORG_ENTITY,
                    "oldProjectName": "wandb-registry-model",
                    "newProjectName": "wandb-registry-m2",
                }
            },
        ),
        (DELETE, {"id": model["id"]}),
    ):
        status, errors = admin.error(document, **variables)
        assert status == 400 and "core registry" in errors[0]["message"]


def test_an_organization_viewer_and_an_outsider_cannot_create_registries(reg: EmbeddedEmulator, carol: Client) -> None:
    status, errors = carol.error(UPSERT, input=registry_input("carols"))
    assert status == 403 and "member or admin role in the organization" in errors[0]["message"]
    home = organizations.home_organization(reg.store)
    assert home is not None
    organizations.set_organization_member(reg.store, int(home["id"]), ensure_user(reg.store, "victor"), "viewer")
    with Client(reg, reg.create_key("victor")) as victor:
        assert victor.error(UPSERT, input=registry_input("victors"))[0] == 403
        assert "wandb-registry-model" in registry_names(victor)  # viewers read the organization's registries


# ------------------------------------------------------------------ linking, resolving, unlinking


def make_member(admin: Client, registry: str, username: str) -> None:
    """Give a user the member role in a registry, as its admin would."""
    found = admin.data(REGISTRY, entity=ORG_ENTITY, name=registry)["entity"]["project"]
    who = user_id(admin, username)
    admin.data(ADD_MEMBERS, input={"projectId": found["id"], "userIds": [who], "teamIds": []})
    admin.data(USER_ROLE, input={"projectId": found["id"], "userId": who, "userProjectRole": "member"})


def test_link_from_a_team_project_resolve_from_a_second_user_and_unlink(
    reg: EmbeddedEmulator, admin: Client, alice: Client, bob: Client
) -> None:
    make_member(admin, "wandb-registry-model", "alice")
    alice.data(UPSERT_RUN, input={"entityName": "ml-team", "modelName": "train", "name": "trainer"})
    source = upload(alice, "ml-team/train", "clf", {"weights.bin": b"weights v0"}, type="model", run="trainer")
    answer = link(alice, source["id"], f"{ORG_ENTITY}/wandb-registry-model/classifier", aliases=("production",))
    assert answer["versionIndex"] == 0
    membership = answer["artifactMembership"]
    assert membership["artifactCollection"] == {
        "__typename": "ArtifactPortfolio",
        "name": "classifier",
        "project": {"name": "wandb-registry-model", "entity": {"name": ORG_ENTITY}},
    }
    assert sorted(a["alias"] for a in membership["aliases"]) == ["latest", "production", "v0"]
    assert membership["artifact"]["artifactSequence"]["project"] == {"name": "train", "entity": {"name": "ml-team"}}

    # bob is in the organization, not in ml-team: he reads the registry's version, not its team project.
    found = bob.data(MEMBERSHIP, entity=ORG_ENTITY, project="wandb-registry-model", name="classifier:production")
    seen = found["project"]["artifactCollectionMembership"]
    assert seen["versionIndex"] == 0 and seen["artifact"]["id"] == source["id"]
    assert seen["artifact"]["artifactSequence"] == {"name": "clf", "project": None}
    assert seen["artifact"]["createdBy"] is None  # the run that logged it is in a project hidden from him
    assert {a["artifactCollection"]["name"] for a in seen["artifact"]["aliases"]} == {"classifier"}
    assert bob.data(MEMBERSHIP, entity="ml-team", project="train", name="clf:v0") == {"project": None}
    # He may use it in a run of his own (what run.use_artifact() sends after resolving the path).
    bob.data(UPSERT_RUN, input={"entityName": "bob", "modelName": "consume", "name": "c1"})
    used = bob.data(
        USE,
        input={
            "entityName": "bob",
            "projectName": "consume",
            "runName": "c1",
            "artifactID": source["id"],
            "artifactEntityName": ORG_ENTITY,
            "artifactProjectName": "wandb-registry-model",
        },
    )
    assert used == {"useArtifact": {"artifact": {"id": source["id"]}}}

    # The source lists its own membership and the link (as wandb's linked_artifacts reads them).
    edges = alice.data(ARTIFACT, id=source["id"])["artifact"]["artifactMemberships"]["edges"]
    assert [
        (e["node"]["artifactCollection"]["__typename"], e["node"]["artifactCollection"]["project"]["name"])
        for e in edges
    ] == [
        ("ArtifactSequence", "train"),
        ("ArtifactPortfolio", "wandb-registry-model"),
    ]

    # bob has no role in the model registry: he may read it, not unlink from it.
    portfolio = seen["artifactCollection"]["id"]
    refused = bob.error(UNLINK, input={"artifactID": source["id"], "artifactPortfolioID": portfolio})
    assert refused[0] == 403 and "member or admin role" in refused[1][0]["message"]
    admin_key = reg.api_key
    with Client(reg, admin_key) as admin:
        assert admin.data(UNLINK, input={"artifactID": source["id"], "artifactPortfolioID": portfolio}) == {
            "unlinkArtifact": {"success": True}
        }
    assert (
        bob.data(MEMBERSHIP, entity=ORG_ENTITY, project="wandb-registry-model", name="classifier:production")[
            "project"
        ]["artifactCollectionMembership"]
        is None
    )
    assert (
        alice.data(MEMBERSHIP, entity="ml-team", project="train", name="clf:v0")["project"][
            "artifactCollectionMembership"
        ]["artifact"]["id"]
        == source["id"]
    )  # the source stays


def test_links_number_within_the_collection_and_latest_moves(alice: Client) -> None:
    create_registry(alice, "numbering")
    first = model_version(alice, "ml-team/numbering", "m", b"n0")
    second = model_version(alice, "ml-team/numbering", "m", b"n1")
    target = f"{ORG_ENTITY}/wandb-registry-numbering/numbered"
    assert link(alice, first["id"], target, ("staging",))["versionIndex"] == 0
    assert link(alice, second["id"], target, ("staging",))["versionIndex"] == 1
    assert link(alice, first["id"], target)["versionIndex"] == 0  # linking again adds nothing
    latest = alice.data(MEMBERSHIP, entity=ORG_ENTITY, project="wandb-registry-numbering", name="numbered:latest")
    assert latest["project"]["artifactCollectionMembership"]["artifact"]["id"] == second["id"]
    staging = alice.data(MEMBERSHIP, entity=ORG_ENTITY, project="wandb-registry-numbering", name="numbered:staging")
    assert staging["project"]["artifactCollectionMembership"]["versionIndex"] == 1  # an alias moves


def test_links_the_registry_rules_refuse(
    reg: EmbeddedEmulator, admin: Client, alice: Client, bob: Client, carol: Client
) -> None:
    make_member(admin, "wandb-registry-model", "alice")
    personal = model_version(alice, "alice/own", "mine", b"from a personal entity")
    teamed = model_version(alice, "ml-team/rules", "model", b"from the team")
    dataset = model_version(alice, "ml-team/rules", "data", b"a dataset", kind="dataset")

    # A personal entity's version cannot go into a registry (W&B: log it to a team first).
    status, code, message = link_error(alice, personal["id"], f"{ORG_ENTITY}/wandb-registry-model/c")
    assert (status, code) == (400, "BAD_USER_INPUT")
    assert "linking is only allowed within the same team or to a collection in your organization's registry" in message
    assert "personal entity" in message
    # The model registry accepts models only.
    status, _, message = link_error(alice, dataset["id"], f"{ORG_ENTITY}/wandb-registry-model/c")
    assert status == 400 and "accepts artifact types ['model']" in message
    # A registry that does not exist is not created by a link.
    assert link_error(alice, teamed["id"], f"{ORG_ENTITY}/wandb-registry-nowhere/c")[:2] == (404, "NOT_FOUND")
    # wandb-registry-* under a personal or team entity is not a registry: refused, nothing created.
    for entity in ("alice", "ml-team", "no-such-entity"):
        status, _, message = link_error(alice, teamed["id"], f"{entity}/wandb-registry-model/c")
        assert status == 400 and "is not a registry" in message, entity
    assert registry_projects_outside_org_entities(reg) == []
    # A portfolio of another entity than the version's is refused too (W&B's rule).
    status, _, message = link_error(alice, teamed["id"], "alice/elsewhere/portfolio")
    assert status == 400 and "within the same team" in message
    # Registry members may link; carol (no organization) sees no registry (nor the team's version).
    assert link(alice, teamed["id"], f"{ORG_ENTITY}/wandb-registry-model/c")["versionIndex"] == 0
    assert link_error(carol, teamed["id"], f"{ORG_ENTITY}/wandb-registry-model/d")[:2] == (404, "NOT_FOUND")
    # bob sees the linked version through the registry, but has no role in it to link with.
    status, code, message = link_error(bob, teamed["id"], f"{ORG_ENTITY}/wandb-registry-model/d")
    assert (status, code) == (403, "PERMISSION_DENIED") and "you have no role" in message


def test_no_run_or_logged_version_goes_into_a_registry(reg: EmbeddedEmulator, admin: Client) -> None:
    status, errors = admin.error(
        UPSERT_RUN, input={"entityName": ORG_ENTITY, "modelName": "wandb-registry-model", "name": "r"}
    )
    assert status == 400 and "registry" in errors[0]["message"]
    status, errors = admin.error(
        UPSERT_RUN, input={"entityName": "local", "modelName": "wandb-registry-model", "name": "r"}
    )
    assert status == 400 and "not an organization's entity" in errors[0]["message"]
    assert registry_projects_outside_org_entities(reg) == []


# ------------------------------------------------------------------ visibility and roles


def test_a_restricted_registry_is_invisible_to_non_members_until_they_get_a_role(alice: Client, bob: Client) -> None:
    restricted = create_registry(alice, "secret", access="RESTRICTED")
    source = model_version(alice, "ml-team/secret", "s", b"secret weights")
    link(alice, source["id"], f"{ORG_ENTITY}/wandb-registry-secret/hidden", aliases=("prod",))

    assert bob.data(REGISTRY, entity=ORG_ENTITY, name="wandb-registry-secret") == {"entity": {"project": None}}
    assert "wandb-registry-secret" not in registry_names(bob)
    assert bob.data(MEMBERSHIP, entity=ORG_ENTITY, project="wandb-registry-secret", name="hidden:prod") == {
        "project": None
    }
    assert (
        bob.data(COLLECTIONS, org=ORG, registries=json.dumps({"name": "wandb-registry-secret"}))["organization"][
            "orgEntity"
        ]["artifactCollections"]["totalCount"]
        == 0
    )
    assert link_error(bob, source["id"], f"{ORG_ENTITY}/wandb-registry-secret/hidden")[:2] == (404, "NOT_FOUND")
    # The link is not listed among the version's memberships to someone who may not see the registry.
    assert bob.data(ARTIFACT, id=source["id"]) == {"artifact": None}

    alice.data(ADD_MEMBERS, input={"projectId": restricted["id"], "userIds": [user_id(alice, "bob")], "teamIds": []})
    assert "wandb-registry-secret" in registry_names(bob)  # a viewer now
    found = bob.data(MEMBERSHIP, entity=ORG_ENTITY, project="wandb-registry-secret", name="hidden:prod")
    assert found["project"]["artifactCollectionMembership"]["artifact"]["id"] == source["id"]
    assert link_error(bob, source["id"], f"{ORG_ENTITY}/wandb-registry-secret/other")[:2] == (403, "PERMISSION_DENIED")
    alice.data(
        USER_ROLE, input={"projectId": restricted["id"], "userId": user_id(alice, "bob"), "userProjectRole": "member"}
    )
    assert link(bob, source["id"], f"{ORG_ENTITY}/wandb-registry-secret/other")["versionIndex"] == 0


def test_members_add_change_roles_and_remove(alice: Client, bob: Client) -> None:
    registry = create_registry(alice, "people")
    bob_id, ml_team = user_id(alice, "bob"), team_id(alice, "ml-team")
    assert alice.data(ADD_MEMBERS, input={"projectId": registry["id"], "userIds": [bob_id], "teamIds": [ml_team]}) == {
        "createProjectMembers": {"success": True}
    }

    def members() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        found = alice.data(MEMBERS, entity=ORG_ENTITY, project="wandb-registry-people")["project"]
        return (
            [(m["username"], m["role"]["name"]) for m in found["members"]],
            [(m["team"]["name"], m["role"]["name"]) for m in found["teamMembers"]],
        )

    assert members() == ([("alice", "admin"), ("bob", "viewer")], [("ml-team", "viewer")])
    for role in ("admin", "member", "viewer", "restricted_viewer"):
        alice.data(USER_ROLE, input={"projectId": registry["id"], "userId": bob_id, "userProjectRole": role})
        alice.data(TEAM_ROLE, input={"projectId": registry["id"], "teamId": ml_team, "teamProjectRole": role})
        assert members() == ([("alice", "admin"), ("bob", role)], [("ml-team", role)])
    status, errors = alice.error(
        USER_ROLE, input={"projectId": registry["id"], "userId": bob_id, "userProjectRole": "owner"}
    )
    assert status == 400 and "invalid registry role" in errors[0]["message"]
    # Only admins manage members; bob (restricted_viewer now) may not.
    assert bob.error(REMOVE_MEMBERS, input={"projectId": registry["id"], "userIds": [], "teamIds": [ml_team]})[0] == 403
    alice.data(REMOVE_MEMBERS, input={"projectId": registry["id"], "userIds": [bob_id], "teamIds": [ml_team]})
    assert members() == ([("alice", "admin")], [])


def test_a_team_role_reaches_the_teams_members(reg: EmbeddedEmulator, alice: Client) -> None:
    registry = create_registry(alice, "by-team", access="RESTRICTED")
    team(reg, "readers", "erin")
    with Client(reg, reg.create_key("erin")) as erin:
        assert "wandb-registry-by-team" not in registry_names(erin)
        alice.data(
            ADD_MEMBERS, input={"projectId": registry["id"], "userIds": [], "teamIds": [team_id(alice, "readers")]}
        )
        assert "wandb-registry-by-team" in registry_names(erin)


def test_adding_someone_outside_the_organization_is_refused(
    reg: EmbeddedEmulator, alice: Client, carol: Client
) -> None:
    registry = create_registry(alice, "insiders")
    with Client(reg) as admin:  # an admin key finds every user
        carol_id = user_id(admin, "carol")
    status, errors = alice.error(ADD_MEMBERS, input={"projectId": registry["id"], "userIds": [carol_id], "teamIds": []})
    assert status == 400 and "not a member of the registry's organization" in errors[0]["message"]


# ------------------------------------------------------------------ search across registries


@pytest.fixture(scope="module")
def searchable(alice: Client) -> dict[str, str]:
    """Two registries with collections and versions to search: tagged, aliased, of two types."""
    create_registry(alice, "search-models")
    create_registry(alice, "search-data")
    m0 = model_version(alice, "ml-team/search", "m", b"search m0")
    m1 = model_version(alice, "ml-team/search", "m", b"search m1")
    d0 = model_version(alice, "ml-team/search", "d", b"search d0", kind="dataset")
    link(alice, m0["id"], f"{ORG_ENTITY}/wandb-registry-search-models/detector", ("candidate",))
    link(alice, m1["id"], f"{ORG_ENTITY}/wandb-registry-search-models/detector", ("production",))
    link(alice, m1["id"], f"{ORG_ENTITY}/wandb-registry-search-models/segmenter")
    link(alice, d0["id"], f"{ORG_ENTITY}/wandb-registry-search-data/corpus", ("production",))
    alice.data(
        TAG_COLLECTION,
        input={
            "entityName": ORG_ENTITY,
            "projectName": "wandb-registry-search-models",
            "artifactCollectionName": "detector",
            "tags": [{"tagName": "vision"}],
        },
    )
    return {"m0": m0["id"], "m1": m1["id"], "d0": d0["id"]}


def collections(client: Client, registries: dict[str, Any] | None = None, **variables: Any) -> list[str]:
    found = client.data(
        COLLECTIONS,
        org=ORG,
        registries=None if registries is None else json.dumps(registries),
        **{k: json.dumps(v) if isinstance(v, dict) else v for k, v in variables.items()},
    )
    return [e["node"]["name"] for e in found["organization"]["orgEntity"]["artifactCollections"]["edges"]]


def versions(client: Client, registries: dict[str, Any] | None = None, **filters: Any) -> list[tuple[str, int]]:
    found = client.data(
        VERSIONS,
        org=ORG,
        registries=None if registries is None else json.dumps(registries),
        **{k: json.dumps(v) if isinstance(v, dict) else v for k, v in filters.items()},
    )
    edges = found["organization"]["orgEntity"]["artifactMemberships"]["edges"]
    return [(e["node"]["artifactCollection"]["name"], e["node"]["versionIndex"]) for e in edges]


def test_search_registries_by_name(alice: Client, searchable: dict[str, str]) -> None:
    assert registry_names(alice, filters=json.dumps({"name": {"$regex": "search-"}}), order="+name") == [
        "wandb-registry-search-data",
        "wandb-registry-search-models",
    ]
    assert registry_names(alice, filters=json.dumps({"name": {"$contains": "search-mod"}})) == [
        "wandb-registry-search-models"
    ]
    both = {"name": {"$in": ["wandb-registry-search-data", "wandb-registry-model"]}}
    assert sorted(registry_names(alice, filters=json.dumps(both))) == [
        "wandb-registry-model",
        "wandb-registry-search-data",
    ]
    assert registry_names(alice, filters="{}") == registry_names(alice)  # 0.19.9 sends "{}" for no filter


def test_search_collections_by_registry_name_type_and_tag(alice: Client, searchable: dict[str, str]) -> None:
    models = {"name": "wandb-registry-search-models"}
    assert collections(alice, models, order="+name") == ["detector", "segmenter"]
    assert collections(alice, models, order="-name") == ["segmenter", "detector"]
    assert collections(alice, {"name": {"$regex": "search"}}, collections={"tag": "vision"}) == ["detector"]
    assert collections(alice, {"name": {"$regex": "search"}}, collections={"type": "dataset"}) == ["corpus"]
    registry = alice.data(REGISTRY, entity=ORG_ENTITY, name="wandb-registry-search-data")["entity"]["project"]
    number = int(__import__("base64").b64decode(registry["internalId"]).decode().split(":")[1])
    assert collections(alice, {"id": number}) == ["corpus"]  # what Registry.collections() sends
    assert collections(alice, {"project_id": registry["id"]}) == ["corpus"]


def test_search_versions_by_alias_tag_version_and_order(alice: Client, searchable: dict[str, str]) -> None:
    models = {"name": "wandb-registry-search-models"}
    every = {"name": {"$regex": "^wandb-registry-search-"}}
    assert sorted(versions(alice, every, versions={"alias": "production"})) == [("corpus", 0), ("detector", 1)]
    assert versions(alice, models, collections={"name": "detector"}, versions={"version": "v0"}) == [("detector", 0)]
    assert versions(alice, models, collections={"name": {"$regex": "seg"}}) == [("segmenter", 0)]
    ordered = versions(alice, models, order="+acm_created_at")  # linked_at, oldest link first
    assert ordered == [("detector", 0), ("detector", 1), ("segmenter", 0)]
    assert versions(alice, models, order="-linked_at") == ordered[::-1]
    assert versions(alice, None, versions={"$or": [{"alias": "candidate"}, {"tag": "no-such-tag"}]}) == [
        ("detector", 0)
    ]


def test_search_refuses_what_it_cannot_answer(alice: Client, searchable: dict[str, str]) -> None:
    status, errors = alice.error(REGISTRIES, org=ORG, filters=json.dumps({"colour": "red"}))
    assert status == 400 and "cannot filter on 'colour'" in errors[0]["message"]
    status, errors = alice.error(VERSIONS, org=ORG, order="-popularity")
    assert status == 400 and "cannot order by 'popularity'" in errors[0]["message"]


# ------------------------------------------------------------------ entity membership


def test_a_personal_entity_is_written_by_its_user_a_team_by_its_members(
    reg: EmbeddedEmulator, alice: Client, bob: Client
) -> None:
    for entity, message in (("alice", "another user's personal entity"), ("ml-team", "not a member of team ml-team")):
        status, errors = bob.error(UPSERT_RUN, input={"entityName": entity, "modelName": "intrude", "name": "r"})
        assert (status, errors[0]["extensions"]["code"]) == (403, "PERMISSION_DENIED") and message in errors[0][
            "message"
        ]
    team(reg, "ml-team", "bob")
    bob.data(UPSERT_RUN, input={"entityName": "ml-team", "modelName": "joined", "name": "r"})
    # A team's projects are its members' to see.
    found = 'query { project(entityName: "ml-team", name: "joined") { name } }'
    assert bob.data(found) == {"project": {"name": "joined"}}
    with Client(reg, reg.create_key("frank")) as frank:
        assert frank.data(found) == {"project": None}


def test_team_projects_are_listed_to_members_only(reg: EmbeddedEmulator, alice: Client) -> None:
    alice.data(UPSERT_RUN, input={"entityName": "ml-team", "modelName": "listed", "name": "r"})
    listing = 'query { models(entityName: "ml-team") { edges { node { name } } } }'
    assert "listed" in [e["node"]["name"] for e in alice.data(listing)["models"]["edges"]]
    with Client(reg, reg.create_key("gina")) as gina:
        assert gina.data(listing) == {"models": {"edges": []}}


def test_the_model_of_the_data_directory_survives_a_restart(tmp_path: Path) -> None:
    with EmbeddedEmulator(tmp_path / "data") as emu, Client(emu) as admin:
        create_registry(admin, "kept", access="RESTRICTED")
    with EmbeddedEmulator(tmp_path / "data") as emu, Client(emu) as admin:
        kept = admin.data(REGISTRY, entity=ORG_ENTITY, name="wandb-registry-kept")["entity"]["project"]
        assert kept["access"] == "RESTRICTED"
        assert len(emu.store.organizations()) == 1  # the home organization is made once
