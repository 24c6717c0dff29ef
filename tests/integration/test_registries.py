"""Registry end to end over HTTP: publish from a team project, promote by linking, consume by alias
as another user, search across registries, members and visibility, and the organization decision
(typed errors before any link request, never an ordinary `wandb-registry-*` project)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from artifactkit import Api, ArtifactCollection, MemberRole, Registry, TeamMember, UserMember
from artifactkit.errors import (
    AmbiguousOrganizationError,
    BadRequestError,
    ConflictError,
    InvalidNameError,
    NotFoundError,
    OrganizationNotFoundError,
    PermissionDeniedError,
    UnsupportedError,
)
from artifactkit.server.embedded import EmbeddedEmulator
from tests.integration.support import (
    join_organization,
    leave_home_organization,
    operation_names,
    registry_projects_outside_organizations,
    team,
    upload,
    user_key,
)

_names = itertools.count()
ORG, ORG_ENTITY = "local-org", "local-org-entity"


@dataclass
class World:
    emu: EmbeddedEmulator
    root: Path
    api: Api  # `local`: the organization's admin, a member of the team `ml`
    bob: Api  # a member of the organization, not of the team
    carol: Api  # a member of the organization, of no registry
    opened: list[Api]

    def connect(self, key: str, **options: str) -> Api:
        api = Api(api_key=key, base_url=self.emu.url, cache_dir=self.root / f"cache-{next(_names)}", **options)  # type: ignore[arg-type]
        self.opened.append(api)
        return api


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("registries")
    with EmbeddedEmulator(root / "emulator") as emu:
        team(emu, "ml", "local")
        bob, carol = user_key(emu, "bob"), user_key(emu, "carol")
        world = World(emu, root, None, None, None, [])  # type: ignore[arg-type]
        world.api, world.bob, world.carol = world.connect(emu.api_key), world.connect(bob), world.connect(carol)
        yield world
        for api in world.opened:
            api.close()


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


def model(world: World, name: str, **options: object) -> str:
    """A new version of `ml/training/<name>` (type model); returns its qualified name."""
    return upload(world.api, world.root, f"ml/training/{name}", "model", **options).qualified_name  # type: ignore[arg-type]


def test_publish_promote_and_consume_as_another_user(world: World, tmp_path: Path) -> None:
    name = unique("promote")
    registry = world.api.create_registry(name, "organization", description="models that passed review")
    assert (registry.name, registry.full_name, registry.organization, registry.entity) == (
        name,
        f"wandb-registry-{name}",
        ORG,
        ORG_ENTITY,
    )
    assert registry.visibility == "organization" and registry.allow_all_artifact_types
    assert isinstance(registry.created_at, str) and registry.created_at_datetime.tzinfo is not None
    source = upload(world.api, world.root, "ml/training/classifier", "model", files={"weights.bin": "w1"})

    linked = source.link(f"wandb-registry-{name}/classifier", aliases=["production"])

    assert linked.qualified_name == f"{ORG_ENTITY}/wandb-registry-{name}/classifier:v0"
    assert linked.is_link and linked.linked_at is not None and linked.linked_at_datetime is not None
    assert set(linked.aliases) == {"latest", "production"}
    assert linked.source_qualified_name == source.qualified_name and linked.digest == source.digest
    assert not source.is_link and source.linked_at is None and source.source_artifact is source
    assert linked.url == (
        f"{world.api.client.app_url}/orgs/{ORG}/registry/{name}"
        f"?selectionPath={ORG_ENTITY}%2Fwandb-registry-{name}%2Fclassifier&view=membership&version=v0"
    )

    production = world.bob.artifact(f"wandb-registry-{name}/classifier:production")
    assert production.qualified_name == linked.qualified_name and production.is_link
    assert production.linked_at == linked.linked_at
    root = Path(production.download(tmp_path / "bob"))
    assert (root / "weights.bin").read_text() == "w1"
    # The organization named in the path, by its name or its entity's, reads the same link.
    for prefix in (ORG, ORG_ENTITY):
        assert world.bob.artifact(f"{prefix}/wandb-registry-{name}/classifier:v0").id == source.id
    assert [a.qualified_name for a in source.linked_artifacts] == [linked.qualified_name]
    assert linked.linked_artifacts == []
    assert world.api.artifact(linked.qualified_name).source_artifact.qualified_name == source.qualified_name

    # A run records that it used the production model, named by its registry path.
    world.api.use_artifact(f"wandb-registry-{name}/classifier:production", "ml/training/serving")
    assert [run.name for run in source.used_by()] == ["serving"]
    # The seed's ArtifactCollection(..., organization=) finds the registry's collection by the organization.
    collection = ArtifactCollection(world.api.client, "local", f"wandb-registry-{name}", "classifier", "model", ORG)
    assert (collection.entity, collection.organization, collection.is_sequence()) == (ORG_ENTITY, ORG, False)
    assert [v.version for v in collection.artifacts()] == ["v0"]


def test_a_reader_outside_the_team_sees_the_link_but_not_its_source(world: World) -> None:
    name = unique("hidden")
    world.api.create_registry(name, "organization")
    source = upload(world.api, world.root, "ml/training/hidden", "model")
    source.link(f"wandb-registry-{name}/hidden", aliases=["production"])
    production = world.bob.artifact(f"wandb-registry-{name}/hidden:production")
    assert production.digest == source.digest
    with pytest.raises(NotFoundError):
        world.bob.artifact(source.qualified_name)
    with pytest.raises(NotFoundError):
        production.source_artifact  # noqa: B018 - the property asks the server


def test_linking_again_adds_only_the_missing_aliases(world: World) -> None:
    name = unique("again")
    world.api.create_registry(name, "organization")
    source = world.api.artifact(model(world, "again"))
    first = source.link(f"wandb-registry-{name}/again")
    target = source.link_target(f"wandb-registry-{name}/again")
    assert target.path == f"{ORG_ENTITY}/wandb-registry-{name}/again"
    assert target.existing is not None and target.existing.version == first.version == "v0"
    second = source.link(f"wandb-registry-{name}/again", aliases=["staging"])
    assert second.version == "v0" and set(second.aliases) == {"latest", "staging"}
    other = world.api.artifact(model(world, "again"))
    assert other.link_target(f"wandb-registry-{name}/again").existing is None
    assert other.link(f"wandb-registry-{name}/again").version == "v1"


def test_search_across_registries_by_name_type_tag_and_alias(world: World) -> None:
    models, data = unique("search-models"), unique("search-data")
    world.api.create_registry(models, "organization", artifact_types=["model"])
    world.api.create_registry(data, "organization", artifact_types=["dataset"])
    clf = world.api.artifact(model(world, "clf", tags=["checked"]))
    clf.link(f"wandb-registry-{models}/clf", aliases=["production"])
    world.api.artifact(model(world, "ranker")).link(f"wandb-registry-{models}/ranker", aliases=["staging"])
    corpus = upload(world.api, world.root, "ml/training/corpus", "dataset")
    corpus.link(f"wandb-registry-{data}/corpus", aliases=["production"])
    ranker = world.api.artifact_collection("model", f"wandb-registry-{models}/ranker")
    ranker.tags = ["prod"]
    ranker.save()

    by_name = world.bob.registries(filter={"name": {"$in": [models, data]}}, order="name")
    assert [r.name for r in by_name] == sorted([models, data])
    assert [r.name for r in world.bob.registries(filter={"name": {"$regex": "^wandb-registry-search-data"}})] == [data]

    in_both = world.bob.registries(filter={"name": {"$in": [models, data]}})
    types = {(c.name, c.type, c.organization) for c in in_both.collections()}
    assert types == {("clf", "model", ORG), ("ranker", "model", ORG), ("corpus", "dataset", ORG)}
    assert [
        r.name for r in world.bob.registries(filter={"name": {"$in": [models, data]}}) if "dataset" in r.artifact_types
    ] == [data]
    datasets = world.bob.artifact_collections(f"wandb-registry-{data}", "dataset")
    assert [c.name for c in datasets] == ["corpus"]

    tagged = in_both.collections(filter={"tag": "prod"})
    assert [c.name for c in tagged] == ["ranker"] and len(tagged) == 1

    production = in_both.versions(filter={"alias": "production"})
    assert sorted(v.qualified_name for v in production) == sorted(
        [f"{ORG_ENTITY}/wandb-registry-{models}/clf:v0", f"{ORG_ENTITY}/wandb-registry-{data}/corpus:v0"]
    )
    assert [v.collection_name for v in in_both.versions(filter={"tag": "checked"})] == ["clf"]
    registry = world.bob.registry(models)
    assert [v.collection_name for v in registry.versions(filter={"alias": "staging"})] == ["ranker"]
    assert sorted(c.name for c in registry.collections()) == ["clf", "ranker"]
    assert [v.collection_name for v in registry.versions(order="-linked_at")] == ["ranker", "clf"]
    assert [c.name for c in registry.collections(order="-name")] == ["ranker", "clf"]
    ordered = world.bob.registries(filter={"name": {"$in": [models, data]}}, order="-name").versions()
    # Descending by name: the models registry first, one query per registry in that order.
    assert [v.collection_name for v in ordered][-1] == "corpus" and len(list(ordered)) == 3
    with pytest.raises(InvalidNameError, match="'colour'"):
        in_both.versions(filter={"colour": "red"})


def test_unlink_and_delete(world: World) -> None:
    name = unique("unlink")
    registry = world.api.create_registry(name, "organization")
    source = world.api.artifact(model(world, "gone"))
    linked = source.link(f"wandb-registry-{name}/gone", aliases=["production"])
    linked.unlink()
    with pytest.raises(NotFoundError):
        world.bob.artifact(f"wandb-registry-{name}/gone:production")
    assert world.api.artifact(source.qualified_name).digest == source.digest  # the source stays
    assert source.linked_artifacts == []
    with pytest.raises(UnsupportedError, match="not a link"):
        source.unlink()

    registry.delete()
    with pytest.raises(NotFoundError, match=name):
        world.api.registry(name)
    with pytest.raises(NotFoundError):
        registry.delete()
    with pytest.raises(NotFoundError):
        source.link(f"wandb-registry-{name}/gone")  # a link never creates a registry
    assert registry_projects_outside_organizations(world.emu) == []


def test_a_restricted_registry_refuses_a_non_member(world: World) -> None:
    name = unique("restricted")
    world.api.create_registry(name, "restricted")
    world.api.artifact(model(world, "secret")).link(f"wandb-registry-{name}/secret", aliases=["production"])
    with pytest.raises(NotFoundError):
        world.carol.registry(name)
    with pytest.raises(NotFoundError):
        world.carol.artifact(f"wandb-registry-{name}/secret:production")
    assert name not in [r.name for r in world.carol.registries()]
    assert name not in [r.name for r in world.bob.registries()]  # bob is no member either

    carol = world.carol.user("carol")
    assert carol is not None
    world.api.registry(name).add_members(carol)
    assert world.carol.artifact(f"wandb-registry-{name}/secret:production").collection_name == "secret"
    team(world.emu, "carols-team", "carol")
    mine = upload(world.carol, world.root, "carols-team/work/secret", "model")
    with pytest.raises(PermissionDeniedError):
        mine.link(f"wandb-registry-{name}/secret")  # a viewer reads; linking needs `member`


def test_members_and_roles(world: World) -> None:
    name = unique("members")
    registry = world.api.create_registry(name, "restricted")
    bob = world.api.user("bob")
    assert bob is not None and bob.username == "bob"
    assert world.api.user("nobody-of-that-name") is None
    ml = world.api.team("ml")
    assert [(m.user.username, m.role) for m in registry.user_members()] == [("local", MemberRole.ADMIN)]

    assert registry.add_members(bob, ml) is registry
    members = registry.members()
    assert {(m.user.username, m.role) for m in members if isinstance(m, UserMember)} == {
        ("local", MemberRole.ADMIN),
        ("bob", MemberRole.VIEWER),
    }
    assert [(m.team.name, m.role) for m in members if isinstance(m, TeamMember)] == [("ml", MemberRole.VIEWER)]
    registry.update_member(bob, MemberRole.MEMBER).update_member(ml, "admin")
    assert {m.role for m in registry.team_members()} == {MemberRole.ADMIN}
    assert ("bob", MemberRole.MEMBER) in {(m.user.username, m.role) for m in registry.user_members()}
    registry.remove_members(bob, ml)
    assert [m.user.username for m in registry.members() if isinstance(m, UserMember)] == ["local"]
    with pytest.raises(NotFoundError):
        world.api.team("bob")  # a personal entity is no team
    with pytest.raises(PermissionDeniedError):
        world.bob.registry("model").add_members(bob)  # only admins change members


def test_settings_save_rename_and_allowed_types(world: World) -> None:
    name = unique("settings")
    registry = Registry.create(world.api, ORG, name, "organization", artifact_types=["model"])  # wandb's classmethod
    assert not registry.allow_all_artifact_types and list(registry.artifact_types) == ["model"]
    with pytest.raises(ConflictError, match="already exists"):
        world.api.create_registry(name, "restricted")
    registry.description = "reviewed"
    registry.visibility = "restricted"
    registry.artifact_types.append("dataset")
    registry.save()
    again = world.api.registry(name)
    assert (again.description, again.visibility, list(again.artifact_types)) == (
        "reviewed",
        "restricted",
        ["model", "dataset"],
    )
    with pytest.raises(ValueError, match="saved"):
        again.artifact_types.remove("model")
    corpus = upload(world.api, world.root, "ml/training/notes", "text")
    with pytest.raises(BadRequestError, match="'text' is not one of them"):
        corpus.link(f"wandb-registry-{name}/notes")

    registry.name = f"{name}-renamed"
    registry.save()
    assert registry.full_name == f"wandb-registry-{name}-renamed" and registry.id == again.id
    with pytest.raises(NotFoundError):
        world.api.registry(name)
    assert world.api.registry(f"{name}-renamed").description == "reviewed"
    registry.allow_all_artifact_types = True
    registry.artifact_types.append("text")
    with pytest.raises(InvalidNameError, match="allows every type"):
        registry.save()
    registry.load()
    assert registry.artifact_types.draft == ()


def test_bad_arguments_are_refused_before_any_request(world: World) -> None:
    world.api.registries()  # the capability probes, once per Api
    world.emu.stats.reset()
    with pytest.raises(InvalidNameError, match="visibility"):
        world.api.create_registry("x", "public")  # type: ignore[arg-type]
    with pytest.raises(InvalidNameError, match="registry name"):
        world.api.create_registry("no spaces", "organization")
    with pytest.raises(InvalidNameError, match="artifact type"):
        world.api.create_registry("x", "organization", artifact_types=["a/b"])
    with pytest.raises(InvalidNameError, match="cannot be ordered"):
        world.api.registries(order="size")
    with pytest.raises(InvalidNameError):
        world.api.artifact("wandb-registry-model/bad name:v0")
    assert operation_names(world.emu) == []


def test_the_configured_organization_and_api_organization(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    organization = world.api.organization()
    assert (organization.name, organization.org_entity.name, organization.org_entity.entity_type) == (
        ORG,
        ORG_ENTITY,
        "organization",
    )
    with pytest.raises(OrganizationNotFoundError, match="'no-such-org' not found"):
        world.api.organization("no-such-org")
    monkeypatch.setenv("WANDB_ORGANIZATION", "no-such-org")
    configured = world.connect(world.emu.api_key)
    with pytest.raises(OrganizationNotFoundError, match="no-such-org"):
        configured.registry("model")
    with pytest.raises(OrganizationNotFoundError, match="no-such-org"):
        configured.artifact("wandb-registry-model/anything:v0")
    # An argument wins over WANDB_ORGANIZATION: in the Api, or in the call.
    assert world.connect(world.emu.api_key, organization=ORG).registry("model").organization == ORG
    assert world.connect(world.emu.api_key).registry("model", organization=ORG).full_name == "wandb-registry-model"


def test_no_organization_and_two_organizations_are_typed_errors_before_any_link(world: World) -> None:
    """The bug of issue 19: a registry path must never become a project of the user's own entity."""
    lone_key, twice_key = user_key(world.emu, "lone"), user_key(world.emu, "twice")
    leave_home_organization(world.emu, "lone")
    join_organization(world.emu, "twice", "initech", "initech-org")
    lone, twice = world.connect(lone_key), world.connect(twice_key)
    lone_version = upload(lone, world.root, "lone/mine/weights", "model")
    twice_version = upload(twice, world.root, "twice/mine/weights", "model")

    world.emu.stats.reset()
    with pytest.raises(OrganizationNotFoundError, match="Unable to find organization for entity 'lone'"):
        lone_version.link("wandb-registry-model/weights", aliases=["production"])
    with pytest.raises(AmbiguousOrganizationError, match="multiple organizations"):
        twice_version.link("wandb-registry-model/weights", aliases=["production"])
    with pytest.raises(OrganizationNotFoundError):
        lone.artifact("wandb-registry-model/weights:production")
    with pytest.raises(AmbiguousOrganizationError):
        twice.artifact("wandb-registry-model/weights:production")
    with pytest.raises(OrganizationNotFoundError, match="No organizations"):
        lone.registries()
    with pytest.raises(AmbiguousOrganizationError, match="initech"):
        twice.registry("model")
    assert "LinkArtifact" not in operation_names(world.emu)
    assert [p.name for p in lone.projects("lone")] == ["mine"]
    assert registry_projects_outside_organizations(world.emu) == []

    # Named, the organization decides: the registry exists, and the server's rules apply to the link.
    assert twice.registry("model", organization=ORG).organization == ORG
    assert twice.registry("model", organization="initech").entity == "initech-org"
    with pytest.raises(PermissionDeniedError, match="initech-org/wandb-registry-model"):
        twice_version.link("initech/wandb-registry-model/weights")
    assert registry_projects_outside_organizations(world.emu) == []


def test_request_counts(world: World) -> None:
    """One request per page of each listing; the organization and its search mode asked once per Api."""
    name = unique("counted")
    world.api.create_registry(name, "organization")
    for n in range(3):
        world.api.artifact(model(world, f"counted{n}")).link(
            f"wandb-registry-{name}/counted{n}", aliases=["production"]
        )
    api = world.connect(world.emu.api_key)
    list(api.registries())  # the probes
    world.emu.stats.reset()
    registries = list(api.registries(per_page=1))
    assert operation_names(world.emu).count("OrganizationRegistries") == len(registries)
    world.emu.stats.reset()
    versions = list(api.registry(name).versions(filter={"alias": "production"}, per_page=2))
    versions_again = list(api.registries(filter={"name": name}).versions(filter={"alias": "production"}, per_page=2))
    assert len(versions) == len(versions_again) == 3
    sent = operation_names(world.emu)
    assert sent.count("SearchRegistryVersions") == 4 and sent.count("OrganizationSearchFeatures") == 1
    assert sent.count("EntityOrganizations") == 0 and sent.count("ServerFeatures") == 0  # asked before, once
    world.emu.stats.reset()
    collections = api.registries(filter={"name": name}).collections(per_page=2)
    assert len(collections) == 3 and len(list(collections)) == 3
    assert operation_names(world.emu).count("SearchRegistryCollections") == 2


def test_a_server_without_registries_refuses_before_any_request(
    legacy_emulator: EmbeddedEmulator, tmp_path: Path
) -> None:
    with Api(api_key=legacy_emulator.api_key, base_url=legacy_emulator.url, cache_dir=tmp_path) as api:
        version = upload(api, tmp_path, f"local/{unique('legacy')}/data")
        legacy_emulator.stats.reset()
        calls = [
            lambda: api.registries(),
            lambda: api.registry("model"),
            lambda: api.create_registry("x", "organization"),
            lambda: api.artifact("wandb-registry-model/x:v0"),
            lambda: version.link("wandb-registry-model/x"),
            lambda: api.organization(),
        ]
        for call in calls:
            with pytest.raises(UnsupportedError):
                call()
        assert operation_names(legacy_emulator) == []


def test_registry_repr_and_path(world: World) -> None:
    registry = world.api.registry("model")
    assert isinstance(registry, Registry)
    assert repr(registry) == "<Registry local-org/model (organization)>"
    assert registry.path == [ORG_ENTITY, "wandb-registry-model"]
    assert list(registry.artifact_types) == ["model"]
