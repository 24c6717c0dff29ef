"""Registry rules checked before anything is sent: filter and order vocabulary, registry paths and
names, member IDs, the allowed types' add-only list."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from artifactkit import AddOnlyArtifactTypesList, MemberKind, Team, TeamMember, User, UserMember
from artifactkit._paths import ArtifactPath, ProjectPath, parse_artifact_path, parse_project_path, registry_project
from artifactkit._registry_search import (
    ADVANCED_REGISTRY_FILTER,
    ADVANCED_VERSION_FILTER,
    COLLECTION_FILTER,
    REGISTRY_FILTER,
    REGISTRY_ORDER,
    VERSION_FILTER,
    VERSION_ORDER,
    check_filter,
    check_order,
    prefix_registry_names,
    project_number,
)
from artifactkit.errors import InvalidNameError
from artifactkit.members import MemberId, member_ids

# -- filters ---------------------------------------------------------------------------------------


def test_registry_names_get_the_prefix_except_under_regex_and_unknown_operators() -> None:
    # The operands wandb 0.31.0 prefixes (checked against its prefix_registry_name).
    given = {"$contains": "x", "$regex": "y", "$in": ["a", "wandb-registry-b"], "$not": {"$eq": "m"}, "$like": "z"}
    assert prefix_registry_names(given) == {
        "$contains": "wandb-registry-x",
        "$regex": "y",
        "$in": ["wandb-registry-a", "wandb-registry-b"],
        "$not": {"$eq": "wandb-registry-m"},
        "$like": "z",
    }


def test_a_registry_filter_is_prefixed_at_every_level() -> None:
    sent = check_filter(
        {"$or": [{"name": "model"}, {"name": {"$regex": "^data"}}], "description": "x"},
        REGISTRY_FILTER,
        "registries",
        registry_names=True,
    )
    assert sent == {"$or": [{"name": "wandb-registry-model"}, {"name": {"$regex": "^data"}}], "description": "x"}


def test_collection_and_version_names_are_not_prefixed() -> None:
    assert check_filter({"name": "classifier"}, COLLECTION_FILTER, "collections") == {"name": "classifier"}


@pytest.mark.parametrize(
    ("given", "vocabulary", "sent"),
    [
        ({"id": 3}, ADVANCED_REGISTRY_FILTER, {"project_id": 3}),
        ({"collection_id": "Q29s"}, COLLECTION_FILTER, {"artifact_collection_id": "Q29s"}),
        ({"linked_at": {"$gt": "2025-01-01"}}, ADVANCED_VERSION_FILTER, {"acm_created_at": {"$gt": "2025-01-01"}}),
        (
            {"$and": [{"aliases": "prod"}, {"tags": "x"}]},
            ADVANCED_VERSION_FILTER,
            {"$and": [{"alias": "prod"}, {"tag": "x"}]},
        ),
        ({"metadata.accuracy": {"$gte": 0.9}}, VERSION_FILTER, {"metadata.accuracy": {"$gte": 0.9}}),
        ({"$not": {"alias": "old"}}, VERSION_FILTER, {"$not": {"alias": "old"}}),
    ],
)
def test_aliases_are_sent_under_their_canonical_name(
    given: dict[str, Any], vocabulary: dict[str, str], sent: dict[str, Any]
) -> None:
    assert check_filter(given, vocabulary, "versions") == sent


@pytest.mark.parametrize(
    ("given", "vocabulary", "named"),
    [
        ({"bogus": 1}, REGISTRY_FILTER, "'bogus'"),
        ({"$or": [{"name": "a"}, {"tag": "b"}]}, REGISTRY_FILTER, "'tag'"),  # tags belong to collections
        ({"artifact_size": 1}, VERSION_FILTER, "'artifact_size'"),  # advanced search only
        ({"$not": {"colour.red": 1}}, VERSION_FILTER, "'colour'"),
    ],
)
def test_unknown_fields_are_refused_naming_them_and_what_is_allowed(
    given: dict[str, Any], vocabulary: dict[str, str], named: str
) -> None:
    with pytest.raises(InvalidNameError) as error:
        check_filter(given, vocabulary, "registries")
    assert named in str(error.value)
    assert "'created_at'" in str(error.value) or "'id'" in str(error.value)


def test_two_aliases_of_one_field_in_one_object_are_refused() -> None:
    with pytest.raises(InvalidNameError, match="'alias' twice"):
        check_filter({"alias": "a", "aliases": "b"}, ADVANCED_VERSION_FILTER, "versions")


def test_a_filter_must_be_a_dict() -> None:
    with pytest.raises(InvalidNameError, match="must be a dict"):
        check_filter(["name"], REGISTRY_FILTER, "registries")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("order", "vocabulary", "sent"),
    [
        ("name", REGISTRY_ORDER, "+name"),
        ("-created_at", REGISTRY_ORDER, "-created_at"),
        ("-linked_at", VERSION_ORDER, "-acm_created_at"),
    ],
)
def test_orders_get_a_sign_and_their_canonical_name(order: str, vocabulary: dict[str, str], sent: str) -> None:
    assert check_order(order, vocabulary, "registries") == sent


@pytest.mark.parametrize("order", ["size", "+-name", "name desc", "", "1name"])
def test_bad_orders_are_refused(order: str) -> None:
    with pytest.raises(InvalidNameError, match="cannot be ordered by"):
        check_order(order, REGISTRY_ORDER, "registries")


def test_project_numbers_from_internal_ids() -> None:
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    assert project_number(b64("ProjectInternalId:20")) == 20
    assert project_number(b64("Project:7")) == 7
    assert project_number(b64("Run:7")) is None
    assert project_number("not base64!") is None


# -- paths and names -------------------------------------------------------------------------------


class Organizations:
    """A registry_entity callback that records which organization each path named."""

    def __init__(self) -> None:
        self.named: list[str | None] = []

    def __call__(self, organization: str | None) -> str:
        self.named.append(organization)
        return "acme-org"


def never() -> str | None:
    raise AssertionError("a registry path never asks for the default entity")


@pytest.mark.parametrize(
    ("path", "named", "expected"),
    [
        (
            "wandb-registry-model/classifier:production",
            None,
            ArtifactPath("acme-org", "wandb-registry-model", "classifier", "production"),
        ),
        (
            "acme/wandb-registry-model/classifier:v2",
            "acme",
            ArtifactPath("acme-org", "wandb-registry-model", "classifier", "v2"),
        ),
        (
            "acme-org/wandb-registry-model/classifier",
            "acme-org",
            ArtifactPath("acme-org", "wandb-registry-model", "classifier", None),
        ),
    ],
)
def test_registry_paths_take_their_entity_from_the_organization(
    path: str, named: str | None, expected: ArtifactPath
) -> None:
    organizations = Organizations()
    assert parse_artifact_path(path, never, None, registry_entity=organizations) == expected
    assert organizations.named == [named]


def test_a_registry_project_path_and_a_plain_one() -> None:
    organizations = Organizations()
    assert parse_project_path("wandb-registry-data", never, registry_entity=organizations) == ProjectPath(
        "acme-org", "wandb-registry-data"
    )
    assert parse_project_path("me/wandb-registryish", lambda: "me", registry_entity=organizations) == ProjectPath(
        "me", "wandb-registryish"
    )
    assert organizations.named == [None]


def test_a_malformed_registry_path_is_refused_before_any_organization_is_asked_for() -> None:
    organizations = Organizations()
    for path in ("wandb-registry-model/bad name:v1", "ac me/wandb-registry-model/c", "a/b/wandb-registry-model/c"):
        with pytest.raises(InvalidNameError):
            parse_artifact_path(path, never, None, registry_entity=organizations)
    assert organizations.named == []


@pytest.mark.parametrize(
    ("name", "full"), [("model", "wandb-registry-model"), ("wandb-registry-x", "wandb-registry-x")]
)
def test_registry_names(name: str, full: str) -> None:
    assert registry_project(name) == full


@pytest.mark.parametrize("name", ["", "my model", "a/b", "x" * 114])
def test_bad_registry_names(name: str) -> None:
    with pytest.raises(InvalidNameError, match="registry"):
        registry_project(name)


# -- members -------------------------------------------------------------------------------------


def gid(kind: str, number: int) -> str:
    return base64.b64encode(f"{kind}:{number}".encode()).decode()


def test_members_by_object_or_id_each_once_sorted() -> None:
    user = User(gid("User", 2), "Bob", "bob", "bob@x", "bob")
    team = Team(gid("Entity", 11), "ml")
    users, teams = member_ids(
        (user, UserMember(user, "viewer"), gid("User", 1), TeamMember(team, "member"), team), "add_members()"
    )
    assert users == sorted([gid("User", 1), gid("User", 2)])
    assert teams == [gid("Entity", 11)]
    assert MemberId.of(team).kind is MemberKind.TEAM is MemberKind.ENTITY


@pytest.mark.parametrize("member", ["bob", gid("Run", 3), gid("User", "x"), 42])  # type: ignore[arg-type]
def test_anything_else_is_no_member(member: Any) -> None:
    with pytest.raises(InvalidNameError, match=r"ID|registry member"):
        MemberId.of(member)


def test_a_member_call_needs_a_member() -> None:
    with pytest.raises(TypeError, match="at least one member"):
        member_ids((), "add_members()")


# -- the allowed types ---------------------------------------------------------------------------


def test_saved_types_stay_and_new_ones_are_a_draft() -> None:
    types = AddOnlyArtifactTypesList(["model"])
    types.append("dataset")
    types.append("model")  # there already: nothing
    assert list(types) == ["model", "dataset"] and types.draft == ("dataset",)
    types.remove("dataset")
    assert types.draft == ()
    with pytest.raises(ValueError, match="saved"):
        types.remove("model")
    with pytest.raises(ValueError, match="saved"):
        del types[0]
    with pytest.raises(TypeError):
        types[0] = "other"
    assert types == ["model"]
