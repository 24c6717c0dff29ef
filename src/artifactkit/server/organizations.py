"""Organizations, their teams and registries, and who belongs to them.

An organization has a display name (`local-org`) and its own entity (`local-org-entity`), which
holds its registries: projects named `wandb-registry-<name>`. Every organization starts with the
two core registries W&B makes, `model` and `dataset`, each accepting its one artifact type and
visible to the whole organization. Teams are entities that belong to one organization; their
members are users of that organization.

Like a W&B Server, an emulator has a home organization: the first user creates it (as its admin)
and every later user joins it as a member, so registry paths resolve with no set-up. More
organizations, teams and memberships come from `artifactkit admin` (these functions). Everything
here runs inside one `Store.write()` transaction of its caller, or opens its own.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from .errors import BadInput, Conflict, NotFound
from .policy import REGISTRY_PREFIX, REGISTRY_ROLE_ORDER, is_registry_name
from .records import check_name, ensure_type, find_project
from .store import ORGANIZATION_ROLES, TEAM_ROLES, Store

Row = sqlite3.Row

HOME_ORGANIZATION = "local-org"
HOME_ORGANIZATION_ENTITY = "local-org-entity"
_HOME_KEY = "home_organization"


@dataclass(frozen=True)
class CoreRegistry:
    name: str
    artifact_type: str
    description: str


CORE_REGISTRIES = (
    CoreRegistry("model", "model", "The organization's models, linked from its teams' projects."),
    CoreRegistry("dataset", "dataset", "The organization's datasets, linked from its teams' projects."),
)
CORE_REGISTRY_NAMES = frozenset(REGISTRY_PREFIX + r.name for r in CORE_REGISTRIES)
ACCESS_VALUES = ("PRIVATE", "RESTRICTED")


def registry_full_name(name: str) -> str:
    return name if name.startswith(REGISTRY_PREFIX) else REGISTRY_PREFIX + name


def check_registry_name(full_name: str) -> str:
    """A registry's project name: `wandb-registry-` and a project name (the shared name rules)."""
    if not is_registry_name(full_name):
        raise BadInput(f"invalid registry name {full_name!r}: registries are named wandb-registry-<name>")
    check_name("registry", full_name)
    return full_name


# ------------------------------------------------------------------ organizations


def create_organization(store: Store, name: str, entity_name: str, *, admin: int | None = None) -> Row:
    """A new organization with its entity and the core registries; `admin` (a user id) becomes
    its admin and the core registries' admin."""
    check_name("organization", name)
    check_name("entity", entity_name)
    with store.write():
        if store.organization_by_name(name) is not None:
            raise Conflict(f"an organization named {name!r} already exists")
        if store.entity_by_name(entity_name) is not None:
            raise Conflict(f"an entity named {entity_name!r} already exists; choose another name for the org entity")
        entity_id = store.insert_entity(entity_name, "organization", None, None)
        organization_id = store.insert_organization(name, entity_id)
        store.set_entity_organization(entity_id, organization_id)
        if admin is not None:
            store.put_organization_member(organization_id, admin, "admin")
        for core in CORE_REGISTRIES:
            create_registry(
                store,
                entity_name,
                REGISTRY_PREFIX + core.name,
                creator=admin,
                access="PRIVATE",
                allow_all_types=False,
                artifact_types=[core.artifact_type],
                description=core.description,
            )
        row = store.organization_by_id(organization_id)
        assert row is not None
        return row


def require_organization(store: Store, name: str) -> Row:
    row = store.organization_by_name(name)
    if row is None:
        raise NotFound(f"organization {name!r} not found")
    return row


def set_organization_member(store: Store, organization_id: int, user_id: int, role: str) -> None:
    if role not in ORGANIZATION_ROLES:
        raise BadInput(f"unknown organization role {role!r}; one of {', '.join(ORGANIZATION_ROLES)}")
    with store.write():
        store.put_organization_member(organization_id, user_id, role)


def remove_organization_member(store: Store, organization_id: int, user_id: int) -> None:
    """The user leaves the organization, its teams and its registries."""
    with store.write():
        if store.organization_role(organization_id, user_id) is None:
            raise NotFound("the user is not a member of that organization")
        store.remove_organization_member(organization_id, user_id)


def home_organization(store: Store) -> Row | None:
    value = store.meta_value(_HOME_KEY)
    return None if value is None else store.organization_by_id(int(value))


def ensure_home_organization(store: Store) -> None:
    """Give a data directory its home organization once it has users (at start, after a
    migration from before organizations existed): the oldest user becomes its admin, every other
    user a member, and every team without an organization joins it. Idempotent."""
    with store.write():
        if store.meta_value(_HOME_KEY) is not None:
            return
        users = store.user_ids()
        if not users:
            return
        home = _create_home(store, users[0])
        for user_id in users[1:]:
            store.put_organization_member(int(home["id"]), user_id, "member")
        for team_id in store.teams_without_organization():
            store.set_entity_organization(team_id, int(home["id"]))


def join_home_organization(store: Store, user_id: int) -> None:
    """A new user joins the home organization; the first user of a data directory creates it."""
    with store.write():
        home = home_organization(store)
        if home is None:
            _create_home(store, user_id)
        elif store.organization_role(int(home["id"]), user_id) is None:
            store.put_organization_member(int(home["id"]), user_id, "member")


def _create_home(store: Store, admin: int) -> Row:
    entity_name = HOME_ORGANIZATION_ENTITY
    suffix = 1
    while store.entity_by_name(entity_name) is not None:  # a user or team took the name already
        suffix += 1
        entity_name = f"{HOME_ORGANIZATION_ENTITY}-{suffix}"
    home = store.organization_by_name(HOME_ORGANIZATION) or create_organization(
        store, HOME_ORGANIZATION, entity_name, admin=admin
    )
    store.set_meta_value(_HOME_KEY, str(home["id"]))
    return home


# ------------------------------------------------------------------ teams


def create_team(store: Store, name: str, organization_id: int, *, admin: int | None = None) -> Row:
    check_name("team", name)
    with store.write():
        if store.entity_by_name(name) is not None:
            raise Conflict(f"an entity named {name!r} already exists")
        entity_id = store.insert_entity(name, "team", None, organization_id)
        if admin is not None:
            _put_team_member(store, entity_id, organization_id, admin, "admin")
        row = store.entity_by_id(entity_id)
        assert row is not None
        return row


def require_team(store: Store, name: str) -> Row:
    row = store.entity_by_name(name)
    if row is None or row["kind"] != "team":
        raise NotFound(f"team {name!r} not found")
    return row


def set_team_member(store: Store, team: Row, user_id: int, role: str) -> None:
    """Add a user to a team (or change their role); they join the team's organization as a member
    if they are not in it yet."""
    if role not in TEAM_ROLES:
        raise BadInput(f"unknown team role {role!r}; one of {', '.join(TEAM_ROLES)}")
    with store.write():
        organization = team["organization_id"]
        _put_team_member(store, int(team["id"]), None if organization is None else int(organization), user_id, role)


def _put_team_member(store: Store, entity_id: int, organization_id: int | None, user_id: int, role: str) -> None:
    if organization_id is not None and store.organization_role(organization_id, user_id) is None:
        store.put_organization_member(organization_id, user_id, "member")
    store.put_team_member(entity_id, user_id, role)


def remove_team_member(store: Store, team: Row, user_id: int) -> None:
    with store.write():
        store.remove_team_member(int(team["id"]), user_id)


# ------------------------------------------------------------------ registries


def create_registry(
    store: Store,
    entity_name: str,
    full_name: str,
    *,
    creator: int | None,
    access: str = "PRIVATE",
    allow_all_types: bool = True,
    artifact_types: list[str] | tuple[str, ...] = (),
    description: str | None = None,
) -> Row:
    """A registry (a project of an org entity); its creator becomes its admin."""
    check_registry_name(full_name)
    check_access(access)
    with store.write():
        entity = store.entity_by_name(entity_name)
        if entity is None or entity["kind"] != "organization":
            raise NotFound(f"organization entity {entity_name!r} not found")
        if find_project(store, entity_name, full_name) is not None:
            raise Conflict(f"registry {full_name!r} already exists in organization entity {entity_name!r}")
        store.insert_project(int(entity["id"]), full_name, description, access, allow_all_types)
        project = find_project(store, entity_name, full_name)
        assert project is not None
        add_registry_types(store, int(project["id"]), artifact_types)
        if creator is not None:
            store.put_registry_user(int(project["id"]), creator, "admin")
        return project


def check_access(access: str) -> str:
    if access not in ACCESS_VALUES:
        raise BadInput(f"invalid registry access {access!r}; one of {', '.join(ACCESS_VALUES)}")
    return access


def check_registry_role(role: str) -> str:
    if role not in REGISTRY_ROLE_ORDER:
        raise BadInput(f"invalid registry role {role!r}; one of {', '.join(REGISTRY_ROLE_ORDER)}")
    return role


def add_registry_types(store: Store, project_id: int, artifact_types: list[str] | tuple[str, ...]) -> None:
    """Add types to those a registry accepts (types are added, never removed)."""
    for type_name in artifact_types:
        check_name("artifact type", type_name)
        store.allow_artifact_type(int(ensure_type(store, project_id, type_name)["id"]))
