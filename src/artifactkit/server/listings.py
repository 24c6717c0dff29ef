"""The row sets the GraphQL connections page through, by name: the paged half of the store layer.

Each function returns the `Query` (columns, source, condition, order) of one listing; the
point lookups and writes are methods of `Store`. The node classes only choose a listing and
wrap its rows, so every line of SQL the emulator runs is in `store.py`, `listings.py`,
`records.py` or `filters.py` (which compiles the user's `filters`/`order`).
"""

from __future__ import annotations

import json
from typing import Any

from .filters import (
    ARTIFACT_ORDER,
    COLLECTION_ORDER,
    PROJECT_ORDER,
    REGISTRY_COLLECTION_ORDER,
    REGISTRY_VERSION_ORDER,
    RUN_ORDER,
    artifact_filters,
    collection_filters,
    compile_order,
    registry_collection_filters,
    registry_project_filters,
    registry_version_filters,
    run_filters,
)
from .pagination import Query, SortKey
from .policy import Caller
from .records import PROJECT_COLUMNS, PROJECT_SOURCE, readable_versions_sql, visible_projects_sql


def entity_projects(entity: str, caller: Caller) -> Query:
    """The projects of an entity the caller may see, newest first (what `models(entityName:)` lists)."""
    visible, params = visible_projects_sql(caller)
    return Query(
        columns=PROJECT_COLUMNS,
        source=PROJECT_SOURCE,
        where=f"e.name = ? AND {visible}",
        params=(entity, *params),
        order=(SortKey("p.id", descending=True),),
    )


def entity_project_search(
    entity_id: int, caller: Caller, *, filters: str | None = None, order: str | None = None
) -> Query:
    """`Entity.projects(filters:, order:)`: an entity's projects the caller may see (an org
    entity's are its registries), filtered and ordered; newest first by default."""
    visible, params = visible_projects_sql(caller)
    filter_sql, filter_params = registry_project_filters.compile(filters)
    return Query(
        columns=PROJECT_COLUMNS,
        source=PROJECT_SOURCE,
        where=f"p.entity_id = ? AND {visible} AND ({filter_sql})",
        params=(entity_id, *params, *filter_params),
        order=compile_order(order, PROJECT_ORDER, [SortKey("p.created_at", True)], "p.id"),
    )


def _with_project(on: str) -> str:
    """`JOIN` the project (`p`) a row belongs to, and its entity (`e`)."""
    return f"JOIN projects p ON p.id = {on} JOIN entities e ON e.id = p.entity_id"


_ENTITY_COLLECTIONS = f"collections c {_with_project('c.project_id')}"


def _registry_search(
    entity_id: int, caller: Caller, project_filters: str | None, collection_filters: str | None
) -> tuple[list[str], list[Any]]:
    """The clauses (and their values) of both registry searches: the live collections (`c`) of the
    entity's projects (`p`) that the caller may see and the filters pick."""
    visible, params = visible_projects_sql(caller)
    project_sql, project_params = registry_project_filters.compile(project_filters)
    collection_sql, collection_params = registry_collection_filters.compile(collection_filters)
    clauses = ["p.entity_id = ?", "c.state = 'READY'", visible, project_sql, collection_sql]
    return clauses, [entity_id, *params, *project_params, *collection_params]


def entity_collections(
    entity_id: int,
    caller: Caller,
    *,
    project_filters: str | None = None,
    filters: str | None = None,
    kinds: list[str] | None = None,
    order: str | None = None,
) -> Query:
    """Registry collection search: the live collections of an entity's projects (an org entity's
    registries) that the caller may see; `project_filters` picks projects, `filters` collections."""
    clauses, values = _registry_search(entity_id, caller, project_filters, filters)
    if kinds:
        clauses.append(f"c.kind IN ({', '.join('?' for _ in kinds)})")
        values.extend(kinds)
    return Query(
        columns="c.*",
        source=_ENTITY_COLLECTIONS,
        where=" AND ".join(f"({c})" for c in clauses),
        params=tuple(values),
        order=compile_order(order, REGISTRY_COLLECTION_ORDER, [SortKey("c.created_at", True)], "c.id"),
    )


def entity_memberships(
    entity_id: int,
    caller: Caller,
    *,
    project_filters: str | None = None,
    collection_filters: str | None = None,
    filters: str | None = None,
    order: str | None = None,
) -> Query:
    """Registry version search: the committed versions in the live collections of an entity's
    projects that the caller may see, as memberships (each numbered in its collection); newest
    link first by default."""
    clauses, values = _registry_search(entity_id, caller, project_filters, collection_filters)
    version_sql, version_params = registry_version_filters.compile(filters)
    clauses += ["a.state = 'COMMITTED'", version_sql]
    return Query(
        columns="m.*",
        source=f"memberships m JOIN collections c ON c.id = m.collection_id {_with_project('c.project_id')}"
        " JOIN artifacts a ON a.id = m.artifact_id",
        where=" AND ".join(f"({c})" for c in clauses),
        params=(*values, *version_params),
        order=compile_order(order, REGISTRY_VERSION_ORDER, [SortKey("m.created_at", True)], "m.id"),
    )


def artifact_types(project_id: int, *, allowed_only: bool = False) -> Query:
    """A project's types in creation order; `allowed_only`: the types a registry accepts."""
    return Query(
        columns="t.*",
        source="artifact_types t",
        where="t.project_id = ?" + (" AND t.registry_allowed = 1" if allowed_only else ""),
        params=(project_id,),
        order=(SortKey("t.id"),),
    )


# Which collections a collection listing holds: those of a project, of a type, or those a version belongs to.
_COLLECTION_SCOPES = {
    "project": "c.project_id = ?",
    "type": "c.type_id = ?",
    "artifact": "c.id IN (SELECT collection_id FROM memberships WHERE artifact_id = ?)",
}


def collections(
    scope: str,
    owner_id: int,
    *,
    filters: str | None = None,
    order: str | None = None,
    kinds: list[str] | None = None,
    caller: Caller | None = None,
) -> Query:
    """The live collections of a project, a type or a version (`scope`), filtered and ordered;
    with `caller`, only those in projects the caller may see."""
    filter_sql, filter_params = collection_filters.compile(filters)
    clauses = [_COLLECTION_SCOPES[scope], "c.state = 'READY'", filter_sql]
    params: list[Any] = [owner_id, *filter_params]
    source = "collections c"
    if caller is not None:
        visible, visible_params = visible_projects_sql(caller)
        source = _ENTITY_COLLECTIONS
        clauses.append(visible)
        params.extend(visible_params)
    if kinds:
        distinct = sorted(set(kinds))  # enum values: a list of any length holds at most two
        clauses.append(f"c.kind IN ({', '.join('?' for _ in distinct)})")
        params.extend(distinct)
    return Query(
        columns="c.*",
        source=source,
        where=" AND ".join(f"({c})" for c in clauses),
        params=tuple(params),
        order=compile_order(order, COLLECTION_ORDER, [SortKey("c.created_at", True)], "c.id"),
    )


def collection_aliases(collection_id: int) -> Query:
    """The aliases set in a collection on its committed versions."""
    return Query(
        columns="al.*",
        source="aliases al JOIN artifacts a ON a.id = al.artifact_id",
        where="al.collection_id = ? AND a.state = 'COMMITTED'",
        params=(collection_id,),
        order=(SortKey("al.id"),),
    )


def collection_memberships(collection_id: int) -> Query:
    """A collection's committed versions as memberships, newest version first."""
    return Query(
        columns="m.*",
        source="memberships m JOIN artifacts a ON a.id = m.artifact_id",
        where="m.collection_id = ? AND a.state = 'COMMITTED'",
        params=(collection_id,),
        order=(SortKey("m.version_index", True),),
    )


def collection_tags(collection_id: int, category: str | None) -> Query:
    where = "x.collection_id = ?"
    params: tuple[Any, ...] = (collection_id,)
    if category is not None:
        where += " AND t.category = ?"
        params += (category,)
    return Query(
        columns="t.*",
        source="collection_tags x JOIN tags t ON t.id = x.tag_id",
        where=where,
        params=params,
        order=(SortKey("t.id"),),
    )


def artifact_memberships(artifact_id: int, caller: Caller) -> Query:
    """A version's memberships in live collections of projects the caller may see, oldest first."""
    visible, params = visible_projects_sql(caller)
    return Query(
        columns="m.*",
        source=f"memberships m JOIN collections c ON c.id = m.collection_id {_with_project('c.project_id')}",
        where=f"m.artifact_id = ? AND c.state = 'READY' AND {visible}",
        params=(artifact_id, *params),
        order=(SortKey("m.id"),),
    )


def project_runs(project_id: int, *, filters: str | None = None, order: str | None = None) -> Query:
    """A project's runs, filtered and ordered; oldest first by default (as W&B lists them)."""
    filter_sql, filter_params = run_filters.compile(filters)
    return Query(
        columns="r.*",
        source="runs r",
        where=f"r.project_id = ? AND ({filter_sql})",
        params=(project_id, *filter_params),
        order=compile_order(order, RUN_ORDER, [SortKey("r.created_at")], "r.id"),
    )


def runs_using(artifact_id: int, caller: Caller) -> Query:
    """The runs that used a version, in projects the caller may see, in the order they used it."""
    visible, params = visible_projects_sql(caller)
    return Query(
        columns="r.*",
        source=f"artifact_usage u JOIN runs r ON r.id = u.run_id {_with_project('r.project_id')}",
        where=f"u.artifact_id = ? AND {visible}",
        params=(artifact_id, *params),
        order=(SortKey("u.created_at"), SortKey("r.id")),
    )


def files(artifact_id: int, names: list[str] | None) -> Query:
    """A version's files by path, all of them or only those named.

    The names are one JSON parameter, not one parameter each: a request may name more files than
    SQLite takes parameters (250,000).
    """
    where = "f.artifact_id = ?"
    params: tuple[Any, ...] = (artifact_id,)
    if names is not None:
        where += " AND f.path IN (SELECT value FROM json_each(?))"
        params += (json.dumps(names),)
    return Query(columns="f.*", source="artifact_files f", where=where, params=params, order=(SortKey("f.path"),))


def run_files(run_id: int, names: list[str] | None, pattern: str | None) -> Query:
    """A run's files by name: all of them (no names, as the clients send `[]`), those named, or those
    whose name matches `pattern`, a SQL LIKE pattern (`%` any run, `_` one character, `\\` escapes)."""
    where = "f.run_id = ?"
    params: tuple[Any, ...] = (run_id,)
    if names:
        where += f" AND f.name IN ({', '.join('?' for _ in names)})"
        params += tuple(names)
    if pattern is not None:
        where += " AND f.name LIKE ? ESCAPE '\\'"
        params += (pattern,)
    return Query(columns="f.*", source="run_files f", where=where, params=params, order=(SortKey("f.name"),))


# Versions are listed from `memberships m JOIN artifacts a`: `m` is the membership in the listed
# collection, or (for a run's versions) the version's membership in its own sequence.
_OWN_SEQUENCE = "JOIN memberships m ON m.artifact_id = a.id AND m.collection_id = a.sequence_id"
_VERSION_SCOPES: dict[str, tuple[str, str, str, list[SortKey]]] = {
    # scope: (source, condition, extra columns, default order)
    "collection": (
        "memberships m JOIN artifacts a ON a.id = m.artifact_id",
        "m.collection_id = ?",
        "",
        [SortKey("m.version_index", True)],
    ),
    "run_output": (f"artifacts a {_OWN_SEQUENCE}", "a.created_by_run_id = ?", "", [SortKey("a.created_at")]),
    "run_input": (
        f"artifact_usage u JOIN artifacts a ON a.id = u.artifact_id {_OWN_SEQUENCE}",
        "u.run_id = ?",
        ", u.used_as AS u_used_as",
        [SortKey("u.created_at")],
    ),
}


def versions(
    scope: str,
    owner_id: int,
    *,
    filters: str | None = None,
    order: str | None = None,
    reader: Caller | None = None,
    home_project: int | None = None,
) -> Query:
    """The versions of a collection, or those a run logged or used (`scope`), filtered and ordered.
    With a `reader`, only those logged in `home_project` or that the reader may read elsewhere
    (`records.readable_versions_sql`).

    Rows carry the version's columns, `m_version_index` (its number in the listed collection or
    its own sequence) and, for `run_input`, `u_used_as`.
    """
    source, condition, extra_columns, default_order = _VERSION_SCOPES[scope]
    filter_sql, filter_params = artifact_filters.compile(filters)
    where = f"({condition}) AND a.state != 'DELETED' AND ({filter_sql})"
    params: tuple[Any, ...] = (owner_id, *filter_params)
    if reader is not None:
        readable, readable_params = readable_versions_sql(reader)
        where += f" AND ((SELECT sc.project_id FROM collections sc WHERE sc.id = a.sequence_id) = ? OR {readable})"
        params += (home_project, *readable_params)
    return Query(
        columns="a.*, m.version_index AS m_version_index" + extra_columns,
        source=source,
        where=where,
        params=params,
        order=compile_order(order, ARTIFACT_ORDER, default_order, "a.id"),
    )
