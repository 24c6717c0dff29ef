"""W&B Registry: creating, changing and deleting registries, their members, and the rules of
linking a version into one.

A registry is a project named `wandb-registry-<name>` of an organization's entity. Its collections
are portfolios of links to versions logged in the organization's teams' projects. Nothing
creates a registry but `upsertModel` on the org entity (`Api.create_registry()`); a link never
does, and a `wandb-registry-*` project under any other entity is refused everywhere.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from . import ids, policy
from .context import Context
from .errors import BadInput, Conflict, NotFound, PermissionDenied
from .nodes import ProjectNode
from .organizations import (
    CORE_REGISTRY_NAMES,
    add_registry_types,
    check_access,
    check_registry_name,
    check_registry_role,
    create_registry,
)
from .policy import is_registry_name
from .records import collection_by_id, find_project, find_type, project_by_id
from .transactions import mutation

Row = sqlite3.Row

# What W&B answers a link it does not allow (wandb/server#157); the emulator says it first, then why.
LINK_SCOPE = "linking is only allowed within the same team or to a collection in your organization's registry"


def reserved_name(entity: str, project: str) -> BadInput:
    """A `wandb-registry-*` project anywhere but an organization's entity."""
    return BadInput(
        f"{entity}/{project}: project names starting with {policy.REGISTRY_PREFIX} are an organization's "
        f"registries, and {entity} is not an organization's entity; use the registry's path "
        f"({project}/<collection>, or <organization>/{project}/<collection>)"
    )


# ------------------------------------------------------------------ create and change


def upsert_registry(ctx: Context, entity: Row, input: dict[str, Any]) -> dict[str, Any]:
    """`upsertModel` on an org entity: create the registry (any member of the organization) or
    change its settings (its admins). `artifactTypes` are added to the accepted ones, never
    removed; `access`, `description` and `allowAllArtifactTypesInRegistry` replace theirs."""
    name = str(input.get("name") or "")
    if not is_registry_name(name):
        raise BadInput(
            f"{entity['name']} is an organization's entity: it holds only registries, projects named "
            f"{policy.REGISTRY_PREFIX}<name> (not {name!r})"
        )
    types = [str(t["name"]) for t in input.get("artifactTypes") or []]
    access = input.get("access")
    if access is not None:
        check_access(access)
    existing = find_project(ctx.store, entity["name"], name)
    if existing is None:
        check_registry_name(name)
        organization = int(entity["organization_id"])
        if not policy.may_create_registry(ctx.caller, organization):
            raise PermissionDenied(
                f"creating a registry in organization entity {entity['name']} needs the member or admin role "
                "in the organization"
            )
        allow_all = input.get("allowAllArtifactTypesInRegistry")
        project = create_registry(
            ctx.store,
            entity["name"],
            name,
            creator=ctx.user_id,
            access=access or "PRIVATE",
            allow_all_types=True if allow_all is None else bool(allow_all),
            artifact_types=types,
            description=input.get("description"),
        )
        node = ProjectNode(ctx, project)
        return {"model": node, "project": node, "inserted": True}
    require_visible(ctx, existing)
    require_admin(ctx, existing, "change the settings of")
    updates: dict[str, object] = {}
    if access is not None and access != (existing["access"] or "PRIVATE"):
        if existing["name"] in CORE_REGISTRY_NAMES:
            raise BadInput(f"{existing['name']} is a core registry: it is visible to the whole organization, always")
        updates["access"] = access
    if input.get("description") is not None:
        updates["description"] = input["description"]
    if input.get("allowAllArtifactTypesInRegistry") is not None:
        updates["allow_all_types"] = int(bool(input["allowAllArtifactTypesInRegistry"]))
    if updates:
        ctx.store.update_project(existing["id"], updates)
    add_registry_types(ctx.store, int(existing["id"]), types)
    updated = project_by_id(ctx.store, existing["id"])
    assert updated is not None
    node = ProjectNode(ctx, updated)
    return {"model": node, "project": node, "inserted": False}


def require_visible(ctx: Context, project: Row) -> None:
    if not ctx.may_see_project(project):
        raise NotFound(f"registry {project['name']} not found in {project['entity_name']}")


def require_admin(ctx: Context, project: Row, verb: str) -> None:
    if not policy.may_manage_registry(ctx.caller, project):
        role = policy.registry_role(ctx.caller, project)
        raise PermissionDenied(
            f"to {verb} registry {project['name']} you need its admin role; you have "
            + ("no role" if role is None else f"the {role} role")
        )


def _registry(ctx: Context, global_id: str, verb: str) -> Row:
    """The registry named by a `Project` ID, which the caller administers."""
    project = ctx.project(ids.decode(global_id, "Project", "ProjectInternalId"))
    if project is None or not ctx.may_see_project(project):
        raise NotFound(f"project {global_id} not found")
    if project["entity_kind"] != "organization":
        raise BadInput(f"{project['entity_name']}/{project['name']} is not a registry")
    require_admin(ctx, project, verb)
    return project


@mutation("renameProject")
def rename_project(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    """Rename a registry (its admins; core registries keep their names). The ID stays."""
    entity, old, new = input["entityName"], input["oldProjectName"], input["newProjectName"]
    project = find_project(ctx.store, entity, old)
    if project is None or not ctx.may_see_project(project):
        raise NotFound(f"project {entity}/{old} not found")
    if project["entity_kind"] != "organization":
        raise BadInput("only registries can be renamed on this server")
    require_admin(ctx, project, "rename")
    if old in CORE_REGISTRY_NAMES and new != old:
        raise BadInput(f"{old} is a core registry; its name cannot change")
    check_registry_name(new)
    if new != old:
        if find_project(ctx.store, entity, new) is not None:
            raise Conflict(f"a registry named {new!r} already exists in {entity}")
        ctx.store.update_project(project["id"], {"name": new})
    renamed = project_by_id(ctx.store, project["id"])
    assert renamed is not None
    return {"inserted": False, "project": ProjectNode(ctx, renamed), "clientMutationId": input.get("clientMutationId")}


@mutation("deleteModel")
def delete_model(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    """Delete a registry (its admins): its collections and links go; the linked versions stay in
    their projects. Core registries and other projects cannot be deleted."""
    project = _registry(ctx, input["id"], "delete")
    if project["name"] in CORE_REGISTRY_NAMES:
        raise BadInput(f"{project['name']} is a core registry; it cannot be deleted")
    if ctx.store.versions_logged_in(project["id"]):  # only links live in a registry; never expected
        raise Conflict(f"registry {project['name']} holds versions logged into it; it cannot be deleted")
    ctx.store.delete_registry(project["id"])
    return {"success": True, "clientMutationId": input.get("clientMutationId")}


# ------------------------------------------------------------------ members


def _user_id(ctx: Context, global_id: str, project: Row) -> int:
    user = ctx.store.user_by_id(ids.decode(global_id, "User"))
    if user is None:
        raise NotFound(f"user {global_id} not found")
    if ctx.store.organization_role(int(project["organization_id"]), int(user["id"])) is None:
        raise BadInput(f"user {user['username']} is not a member of the registry's organization")
    return int(user["id"])


def _team_id(ctx: Context, global_id: str, project: Row) -> int:
    team = ctx.store.entity_by_id(ids.decode(global_id, "Entity"))
    if team is None or team["kind"] != "team":
        raise NotFound(f"team {global_id} not found")
    if team["organization_id"] != project["organization_id"]:
        raise BadInput(f"team {team['name']} does not belong to the registry's organization")
    return int(team["id"])


@mutation("createProjectMembers")
def create_project_members(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    """Add users and teams to a registry (its admins). A new member is a viewer (an organization
    admin: an admin); someone already a member keeps their role."""
    project = _registry(ctx, input["projectId"], "add members to")
    pid = int(project["id"])
    for global_id in input.get("userIds") or []:
        user_id = _user_id(ctx, global_id, project)
        if ctx.store.registry_user_role(pid, user_id) is None:
            admin = ctx.store.organization_role(int(project["organization_id"]), user_id) == "admin"
            ctx.store.put_registry_user(pid, user_id, "admin" if admin else "viewer")
    for global_id in input.get("teamIds") or []:
        team_id = _team_id(ctx, global_id, project)
        if ctx.store.registry_team_role(pid, team_id) is None:
            ctx.store.put_registry_team(pid, team_id, "viewer")
    return {"success": True}


@mutation("deleteProjectMembers")
def delete_project_members(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    """Remove users and teams from a registry (its admins); removing a non-member is a no-op."""
    project = _registry(ctx, input["projectId"], "remove members from")
    for global_id in input.get("userIds") or []:
        ctx.store.remove_registry_user(project["id"], ids.decode(global_id, "User"))
    for global_id in input.get("teamIds") or []:
        ctx.store.remove_registry_team(project["id"], ids.decode(global_id, "Entity"))
    return {"success": True}


@mutation("updateProjectMember")
def update_project_member(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    return _change_role(ctx, input, "user", "User", ctx.store.registry_user_role, ctx.store.put_registry_user)


@mutation("updateProjectTeamMember")
def update_project_team_member(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    return _change_role(ctx, input, "team", "Entity", ctx.store.registry_team_role, ctx.store.put_registry_team)


def _change_role(
    ctx: Context,
    input: dict[str, Any],
    kind: str,
    id_type: str,
    current: Callable[[int, int], str | None],
    put: Callable[[int, int, str], None],
) -> dict[str, Any]:
    """A member's new role in a registry (its admins); the member is named by `<kind>Id`, the role by
    `<kind>ProjectRole`, and must be a member already."""
    project = _registry(ctx, input["projectId"], "change roles in")
    role = check_registry_role(input[f"{kind}ProjectRole"])
    global_id = input[f"{kind}Id"]
    member_id = ids.decode(global_id, id_type)
    if current(project["id"], member_id) is None:
        raise NotFound(f"{kind} {global_id} is not a member of registry {project['name']}")
    put(project["id"], member_id, role)
    return {"success": True, "clientMutationId": input.get("clientMutationId")}


# ------------------------------------------------------------------ linking


def link_target(ctx: Context, entity_name: str, project_name: str) -> Row:
    """The registry a `linkArtifact` by names points into. It must exist: a link never creates a
    project. Under any entity but an organization's, a `wandb-registry-*` target is refused."""
    entity = ctx.store.entity_by_name(entity_name)
    if entity is None or entity["kind"] != "organization":
        raise BadInput(
            f"{LINK_SCOPE}: {entity_name}/{project_name} is not a registry (registries are projects of an "
            f"organization's entity; {entity_name!r} is "
            + ("no entity" if entity is None else f"a {entity['kind']} entity")
            + "); give the registry's path, <organization>/wandb-registry-<name>/<collection>"
        )
    project = find_project(ctx.store, entity_name, project_name)
    if project is None or not ctx.may_see_project(project):
        raise NotFound(f"registry {project_name} not found in organization entity {entity_name}")
    return project


def check_link(ctx: Context, project: Row, artifact: Row) -> None:
    """A version may be linked into a registry by its members and admins, when it was logged in a
    team of the registry's organization and the registry accepts its type."""
    ctx.require_project_write(project)
    sequence = collection_by_id(ctx.store, artifact["sequence_id"], include_deleted=True)
    source = None if sequence is None else project_by_id(ctx.store, sequence["project_id"])
    assert source is not None
    if source["entity_kind"] != "team" or source["organization_id"] != project["organization_id"]:
        owner = (
            "a personal entity"
            if source["entity_kind"] == "user"
            else ("a team of another organization" if source["entity_kind"] == "team" else "not a team")
        )
        raise BadInput(
            f"{LINK_SCOPE}: the version was logged in {source['entity_name']}/{source['name']}, and "
            f"{source['entity_name']} is {owner}; log it to a team of the registry's organization first"
        )
    artifact_type = ctx.store.artifact_type_by_id(artifact["type_id"])
    assert artifact_type is not None
    if not project["allow_all_types"]:
        accepted = find_type(ctx.store, project["id"], artifact_type["name"])
        if accepted is None or not accepted["registry_allowed"]:
            allowed = [row["name"] for row in ctx.store.registry_types(project["id"])]
            raise BadInput(
                f"registry {project['name']} accepts artifact types {allowed}; "
                f"{artifact_type['name']!r} is not one of them (its admins can add it)"
            )
