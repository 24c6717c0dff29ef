"""Who may see and change what: every permission decision of the emulator, by object and verb.

Resolvers and routes ask these functions and never compare user ids themselves, so the rules
live in one place (and are written out per object in docs/security.md). Each takes the `Caller`
and what it needs of the object (a row, an owner's user id) and answers yes or no; the caller of
the check decides how a "no" reads (404 for what the caller may not even see, 403 for what they
see but may not change).

Entities are of three kinds. A user's personal entity is written by that user only; a team by
its members; an organization's entity holds the organization's registries, which follow the
registry rules (visibility, roles). What a user holds (organizations, teams, registry roles) is
read once per request, the first time a rule needs it (`Caller.grants`). An `admin` key (the
operator's, printed by `serve`) may see and change everything but another user's pending
version.

Listings cannot ask row by row: `records.visible_projects_sql` is the SQL form of
`may_see_project`, built from the same `Grants`, and the tests hold the two to the same answers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

Row = sqlite3.Row

ROLES = ("anonymous", "read", "write", "admin")
REGISTRY_PREFIX = "wandb-registry-"
# Registry roles from most to least; a user's role in a registry is the highest they hold, directly
# or through a team that is a member.
REGISTRY_ROLE_ORDER = ("admin", "member", "viewer", "restricted_viewer")
REGISTRY_WRITERS = ("admin", "member")


def is_registry_name(project: str) -> bool:
    """Whether a project name is a registry's (`wandb-registry-<name>`)."""
    return project.startswith(REGISTRY_PREFIX) and project != REGISTRY_PREFIX


@dataclass(frozen=True)
class Grants:
    """What a user holds: their role in each organization and team, and in each registry."""

    organizations: Mapping[int, str] = field(default_factory=dict)
    teams: Mapping[int, str] = field(default_factory=dict)
    registries: Mapping[int, str] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: list[Row]) -> Grants:
        """From `Store.caller_grants` rows (`kind`, `id`, `role`)."""
        organizations: dict[int, str] = {}
        teams: dict[int, str] = {}
        registries: dict[int, str] = {}
        for row in rows:
            kind, key, role = str(row["kind"]), int(row["id"]), str(row["role"])
            if kind == "organization":
                organizations[key] = role
            elif kind == "team":
                teams[key] = role
            else:
                registries[key] = higher_role(registries.get(key), role)
        return cls(organizations, teams, registries)

    @cached_property
    def admin_organizations(self) -> frozenset[int]:
        return frozenset(org for org, role in self.organizations.items() if role == "admin")


def higher_role(first: str | None, second: str) -> str:
    if first is None:
        return second
    return min(first, second, key=REGISTRY_ROLE_ORDER.index)


NO_GRANTS = Grants()


@dataclass(frozen=True)
class Caller:
    """Who is asking: a user (None when anonymous), the role of the key they sent, and (loaded
    on first use) what the user holds."""

    user_id: int | None
    role: str = "anonymous"
    load_grants: Callable[[], Grants] | None = field(default=None, compare=False, repr=False)

    @property
    def can_write(self) -> bool:
        return self.user_id is not None and self.role in ("write", "admin")

    @property
    def is_admin(self) -> bool:
        return self.user_id is not None and self.role == "admin"

    @cached_property
    def grants(self) -> Grants:
        return NO_GRANTS if self.load_grants is None or self.user_id is None else self.load_grants()


ANONYMOUS = Caller(None)


# ---------------------------------------------------------------- users and keys


def may_see_api_keys(caller: Caller, user_id: int) -> bool:
    """A user's API keys (their ids and roles, never the keys): the user themselves, or an admin."""
    return caller.user_id == user_id or caller.is_admin


def may_see_organization(caller: Caller, organization_id: int) -> bool:
    """An organization (by name, as a team's or org entity's `organization`, in a user's list):
    its members and admin keys. To anyone else it does not exist."""
    return caller.is_admin or organization_id in caller.grants.organizations


def user_search_scope(caller: Caller) -> tuple[int, list[int]] | None:
    """Whom `users(query:)` (how `Api.user()` finds someone to add to a registry) may find: the
    caller and the users of the caller's organizations (`(user id, organization ids)`), or
    everyone (None) for an admin key."""
    if caller.is_admin or caller.user_id is None:
        return None if caller.is_admin else (-1, [])
    return caller.user_id, sorted(caller.grants.organizations)


def may_see_team_members(caller: Caller, entity: Row) -> bool:
    """A team's member list: its members, its organization's members, admin keys."""
    if caller.is_admin or int(entity["id"]) in caller.grants.teams:
        return True
    organization = entity["organization_id"]
    return organization is not None and int(organization) in caller.grants.organizations


# ---------------------------------------------------------------- entities and projects
#
# A project row carries its entity's `entity_kind`, `entity_user_id` and `organization_id`
# (records.PROJECT_COLUMNS); an entity row has `kind`, `user_id` and `organization_id`.


def may_see_project(caller: Caller, project: Row) -> bool:
    """A project and everything in it (runs, types, collections, the versions born there):

    * a personal entity's: every key (as before teams existed; W&B's open projects);
    * a team's: its members, its organization's admins;
    * a registry: the organization's members unless it is RESTRICTED, its members (users and
      the members of member teams, any role), the organization's admins.

    Admin keys see everything. `records.visible_projects_sql` is this rule in SQL.
    """
    if caller.is_admin:
        return True
    kind = project["entity_kind"]
    if kind == "user":
        return True
    grants = caller.grants
    organization = project["organization_id"]
    if organization is not None and int(organization) in grants.admin_organizations:
        return True
    if kind == "team":
        return int(project["entity_id"]) in grants.teams
    if int(project["id"]) in grants.registries:
        return True
    return project["access"] != "RESTRICTED" and organization is not None and int(organization) in grants.organizations


def registry_role(caller: Caller, project: Row) -> str | None:
    """The caller's role in a registry: their own or a member team's (the higher), `admin` for the
    organization's admins and admin keys; None for no role."""
    if caller.is_admin:
        return "admin"
    organization = project["organization_id"]
    if organization is not None and int(organization) in caller.grants.admin_organizations:
        return "admin"
    return caller.grants.registries.get(int(project["id"]))


def may_write_in_entity(caller: Caller, entity: Row | None) -> bool:
    """Create projects, runs, types, collections and versions in an entity, and change what it
    holds: a personal entity's user, a team's members, admin keys. An entity that does not exist
    yet is created by the write, as a team with the writer as its admin (`records.ensure_entity`).
    An organization's entity holds registries only: they are created with `may_create_registry`
    and written with `may_write_in_project`."""
    if not caller.can_write:
        return False
    if entity is None or caller.is_admin:
        return True
    kind = entity["kind"]
    if kind == "user":
        return entity["user_id"] is not None and int(entity["user_id"]) == caller.user_id
    if kind == "team":
        return int(entity["id"]) in caller.grants.teams
    return False


def may_write_in_project(caller: Caller, project: Row) -> bool:
    """Change what a project holds (types, collections, their names, descriptions, tags and
    aliases, links into its portfolios): as `may_write_in_entity` for its entity; in a registry,
    the `member` and `admin` roles."""
    if not caller.can_write:
        return False
    kind = project["entity_kind"]
    if kind == "organization":
        return registry_role(caller, project) in REGISTRY_WRITERS
    if caller.is_admin:
        return True
    if kind == "user":
        return project["entity_user_id"] is not None and int(project["entity_user_id"]) == caller.user_id
    return int(project["entity_id"]) in caller.grants.teams


def may_change_collection(caller: Caller, project: Row) -> bool:
    """Rename, describe, retype, tag or delete a sequence or portfolio of `project`, link versions
    into a portfolio, set aliases in it: `may_write_in_project`."""
    return may_write_in_project(caller, project)


def may_create_registry(caller: Caller, organization_id: int) -> bool:
    """Create a registry in an organization: its admins and members (not its viewers), admin keys."""
    if not caller.can_write:
        return False
    return caller.is_admin or caller.grants.organizations.get(organization_id) in ("admin", "member")


def may_manage_registry(caller: Caller, project: Row) -> bool:
    """Change a registry's settings (description, visibility, accepted types, name), its members
    and their roles, or delete it: the registry's admins (the organization's admins and admin
    keys among them)."""
    return caller.can_write and registry_role(caller, project) == "admin"


# ---------------------------------------------------------------- runs and their files


def may_change_run(caller: Caller, owner_id: int | None) -> bool:
    """Change a run whose user is `owner_id`: its config, tags, state, files, file stream,
    outputs and inputs, stop or delete it. Its owner's write key, or an admin key. A run with
    no recorded user (none is made today) is changed by admins only."""
    if not caller.can_write:
        return False
    return caller.is_admin or (owner_id is not None and owner_id == caller.user_id)


# ---------------------------------------------------------------- versions, manifests, files


def may_see_version(caller: Caller, version: Row) -> bool:
    """A committed version: whoever reached it (through a project, collection or run they may
    see; `artifact(id:)` checks `may_see_project` for one of its projects first). A pending one
    (and its manifest, files and upload URLs): only the user whose key created it; nobody else,
    admins included, because an upload in flight is worth nothing to anyone else and taking it
    over is the attack."""
    if version["state"] != "PENDING":
        return True
    creator = version["created_by_user_id"]
    return creator is not None and creator == caller.user_id


def may_change_version(caller: Caller, version: Row, project: Row) -> bool:
    """A pending version: its creator's write key (files, manifest, commit, description, delete).
    A committed one: whoever may write in the project it was logged to (`project`; metadata,
    description, tags, TTL, delete); its files and manifest never change. Aliases and links are
    changes of the collection they are set in (`may_change_collection`)."""
    if not (caller.can_write and may_see_version(caller, version)):
        return False
    return version["state"] == "PENDING" or may_write_in_project(caller, project)


def may_upload_to_version(caller: Caller, version: Row) -> bool:
    """Be handed upload URLs for a version's files and manifest: its creator, while it is pending."""
    return version["state"] == "PENDING" and caller.can_write and may_see_version(caller, version)
