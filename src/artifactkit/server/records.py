"""Finding and creating the emulator's records: the lookups that queries and mutations share."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from .. import names
from .errors import BadInput, Conflict, NotFound
from .policy import Caller, Grants
from .store import Store, utcnow

Row = sqlite3.Row


# A project row carries what the permission rules need of its entity (policy.may_see_project).
PROJECT_COLUMNS = ", ".join(
    (
        "p.*",
        "e.name AS entity_name",
        "e.kind AS entity_kind",
        "e.user_id AS entity_user_id",
        "e.organization_id AS organization_id",
    )
)
PROJECT_SOURCE = "projects p JOIN entities e ON e.id = p.entity_id"


def caller_with_grants(store: Store, user_id: int, role: str) -> Caller:
    """A caller whose holdings (teams, organizations, registry roles) are read from `store` the
    first time a rule asks."""
    return Caller(user_id, role, lambda: Grants.from_rows(store.caller_grants(user_id)))


def visible_projects_sql(caller: Caller) -> tuple[str, list[Any]]:
    """`policy.may_see_project` as a condition on `p` (projects) and `e` (their entities), for
    listings: personal entities' projects, the caller's teams', their organizations' registries
    unless RESTRICTED, the registries they hold a role in, everything in an organization they
    administer. Everything for an admin key."""
    if caller.is_admin:
        return "1=1", []
    grants = caller.grants
    member_of = _json_ids(grants.organizations)
    return (
        "(e.kind = 'user'"
        f" OR p.entity_id IN {_JSON_LIST}"
        f" OR e.organization_id IN {_JSON_LIST}"
        f" OR (e.kind = 'organization' AND (p.id IN {_JSON_LIST}"
        f" OR (COALESCE(p.access, 'PRIVATE') != 'RESTRICTED' AND e.organization_id IN {_JSON_LIST}))))",
        [_json_ids(grants.teams), _json_ids(grants.admin_organizations), _json_ids(grants.registries), member_of],
    )


def readable_versions_sql(caller: Caller) -> tuple[str, list[Any]]:
    """`Context.may_read_version` as a condition on `a` (artifacts): a committed version (or a
    pending one of the caller's) in a project the caller may see, the one it was logged to or one
    whose live collection links it (`Store.projects_of_version`)."""
    visible, params = visible_projects_sql(caller)
    return (
        "((a.state != 'PENDING' OR a.created_by_user_id = ?) AND EXISTS (SELECT 1 FROM memberships vm"
        " JOIN collections vc ON vc.id = vm.collection_id JOIN projects p ON p.id = vc.project_id"
        " JOIN entities e ON e.id = p.entity_id"
        f" WHERE vm.artifact_id = a.id AND (vc.state = 'READY' OR vc.id = a.sequence_id) AND {visible}))",
        [caller.user_id, *params],
    )


_JSON_LIST = "(SELECT value FROM json_each(?))"


def _json_ids(ids: Any) -> str:
    return "[" + ",".join(str(int(i)) for i in ids) + "]"


def check_name(kind: str, name: Any) -> str:
    """The shared rule of `artifactkit.names`, answered as a 400."""
    try:
        return names.check_name(kind, name)
    except names.InvalidName as exc:
        raise BadInput(exc.message) from None


def check_alias(alias: Any) -> str:
    try:
        names.check_alias(alias)
    except names.InvalidName as exc:
        raise BadInput(exc.message) from None
    if names.version_index(alias) is not None:
        raise BadInput(f"alias {alias!r} is reserved: version aliases are assigned by the server")
    return str(alias)


def version_of(alias: str) -> int | None:
    return names.version_index(alias)


# ---------------------------------------------------------------- entities and projects


def find_project(store: Store, entity: str | None, name: str | None) -> Row | None:
    if not entity or not name:
        return None
    return store.one(
        f"SELECT {PROJECT_COLUMNS} FROM {PROJECT_SOURCE} WHERE e.name = ? AND p.name = ?",
        (entity, name),
    )


def project_by_id(store: Store, project_id: int) -> Row | None:
    return store.one(f"SELECT {PROJECT_COLUMNS} FROM {PROJECT_SOURCE} WHERE p.id = ?", (project_id,))


def ensure_entity(store: Store, name: str, creator: int | None = None) -> int:
    """The entity named `name`, created as a team on first write: `creator` becomes its admin and
    the team joins the creator's organization when they belong to exactly one."""
    check_name("entity", name)
    row = store.entity_by_name(name)
    if row is not None:
        return int(row["id"])
    organizations = [] if creator is None else store.organizations_of_user(creator)
    organization = int(organizations[0]["id"]) if len(organizations) == 1 else None
    entity_id = store.insert_entity(name, "team", None, organization)
    if creator is not None:
        store.put_team_member(entity_id, creator, "admin")
    return entity_id


def ensure_project(
    store: Store, entity: str, name: str, description: str | None = None, *, creator: int | None = None
) -> Row:
    """Return the project, creating it (and its entity) the way W&B does on first write."""
    found = find_project(store, entity, name)
    if found is not None:
        return found
    check_name("project", name)
    entity_id = ensure_entity(store, entity, creator)
    store.conn.execute(
        "INSERT INTO projects (entity_id, name, description, created_at) VALUES (?, ?, ?, ?)",
        (entity_id, name, description, utcnow()),
    )
    created = find_project(store, entity, name)
    assert created is not None
    return created


def require_project(store: Store, entity: str, name: str) -> Row:
    project = find_project(store, entity, name)
    if project is None:
        raise NotFound(f"project {entity}/{name} not found")
    return project


# ---------------------------------------------------------------- types and collections


def find_type(store: Store, project_id: int, name: str) -> Row | None:
    return store.one("SELECT * FROM artifact_types WHERE project_id = ? AND name = ?", (project_id, name))


def ensure_type(store: Store, project_id: int, name: str, description: str | None = None) -> Row:
    found = find_type(store, project_id, name)
    if found is not None:
        return found
    check_name("artifact type", name)
    store.conn.execute(
        "INSERT INTO artifact_types (project_id, name, description, created_at) VALUES (?, ?, ?, ?)",
        (project_id, name, description, utcnow()),
    )
    created = find_type(store, project_id, name)
    assert created is not None
    return created


def find_collection(
    store: Store,
    project_id: int,
    name: str,
    *,
    type_id: int | None = None,
    kind: str | None = None,
) -> Row | None:
    sql = "SELECT * FROM collections WHERE project_id = ? AND name = ? AND state = 'READY'"
    params: list[Any] = [project_id, name]
    if type_id is not None:
        sql += " AND type_id = ?"
        params.append(type_id)
    if kind is not None:
        sql += " AND kind = ?"
        params.append(kind)
    return store.one(sql, tuple(params))


def collection_by_id(store: Store, collection_id: int, *, include_deleted: bool = False) -> Row | None:
    sql = "SELECT * FROM collections WHERE id = ?"
    if not include_deleted:
        sql += " AND state = 'READY'"
    return store.one(sql, (collection_id,))


def create_collection(
    store: Store, project_id: int, type_id: int, kind: str, name: str, description: str | None
) -> Row:
    check_name("collection", name)
    if find_collection(store, project_id, name) is not None:
        raise Conflict(f"a collection named {name!r} already exists in this project")
    now = utcnow()
    cur = store.conn.execute(
        "INSERT INTO collections (project_id, type_id, kind, name, description, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (project_id, type_id, kind, name, description, now, now),
    )
    row = collection_by_id(store, int(cur.lastrowid or 0))
    assert row is not None
    return row


# ---------------------------------------------------------------- versions


def artifact_by_id(store: Store, artifact_id: int, *, include_deleted: bool = False) -> Row | None:
    sql = "SELECT * FROM artifacts WHERE id = ?"
    if not include_deleted:
        sql += " AND state != 'DELETED'"
    return store.one(sql, (artifact_id,))


def membership_for(store: Store, collection: Row, selector: str | None) -> Row | None:
    """Resolve `selector` inside a collection: `vN`, an alias, a digest or commit hash.

    `None` (a bare collection name) means the version the `latest` alias points at, or the
    newest version when nobody set `latest`.
    """
    base = (
        "SELECT m.* FROM memberships m JOIN artifacts a ON a.id = m.artifact_id "
        "WHERE m.collection_id = ? AND a.state = 'COMMITTED'"
    )
    cid = collection["id"]
    if selector is None:
        row = store.one(
            base
            + " AND m.artifact_id = (SELECT artifact_id FROM aliases WHERE collection_id = ? AND alias = 'latest')",
            (cid, cid),
        )
        return row or store.one(base + " ORDER BY m.version_index DESC LIMIT 1", (cid,))
    index = version_of(selector)
    if index is not None:
        return store.one(base + " AND m.version_index = ?", (cid, index))
    row = store.one(
        base + " AND m.artifact_id = (SELECT artifact_id FROM aliases WHERE collection_id = ? AND alias = ?)",
        (cid, cid, selector),
    )
    if row is not None:
        return row
    if re.fullmatch(r"[0-9a-f]{12}|[0-9a-f]{32}", selector):
        return store.one(
            base + " AND (a.digest = ? OR substr(a.digest, 1, 12) = ?) ORDER BY m.version_index DESC LIMIT 1",
            (cid, selector, selector),
        )
    return None


def split_artifact_name(name: str) -> tuple[str, str | None]:
    """`coll:alias` -> (`coll`, `alias`); a bare `coll` -> (`coll`, None)."""
    collection, sep, selector = name.partition(":")
    return collection, (selector if sep else None)


def lookup_membership(store: Store, project_id: int, name: str, *, type_id: int | None = None) -> Row | None:
    collection_name, selector = split_artifact_name(name)
    collection = find_collection(store, project_id, collection_name, type_id=type_id)
    if collection is None:
        return None
    return membership_for(store, collection, selector)


def membership_of(store: Store, collection_id: int, artifact_id: int) -> Row | None:
    return store.one(
        "SELECT * FROM memberships WHERE collection_id = ? AND artifact_id = ?",
        (collection_id, artifact_id),
    )


def ensure_tag(store: Store, name: str, category: str | None, attributes: str | None) -> int:
    category = category or ""
    row = store.one("SELECT id FROM tags WHERE name = ? AND category = ?", (name, category))
    if row is not None:
        return int(row["id"])
    cur = store.conn.execute(
        "INSERT INTO tags (name, category, attributes) VALUES (?, ?, ?)",
        (name, category, attributes or "{}"),
    )
    return int(cur.lastrowid or 0)


def find_run(store: Store, project_id: int, name: str) -> Row | None:
    return store.one("SELECT * FROM runs WHERE project_id = ? AND name = ?", (project_id, name))


def ensure_run(store: Store, project_id: int, name: str, user_id: int | None) -> Row:
    found = find_run(store, project_id, name)
    if found is not None:
        return found
    check_name("run", name)
    if store.run_name_was_deleted(project_id, name):
        raise Conflict(f"run {name} was previously created and deleted; try a new run name")
    now = utcnow()
    store.conn.execute(
        "INSERT INTO runs (project_id, name, display_name, user_id, created_at, updated_at, heartbeat_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (project_id, name, name, user_id, now, now, now),
    )
    created = find_run(store, project_id, name)
    assert created is not None
    return created
