"""Mutation resolvers of projects, runs, collections, versions and uploads. Each runs in one SQLite
transaction (`Store.write()`): all or nothing. Registries and their members: `registries.py`."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .. import names
from ..manifest import Manifest, ManifestError, md5_b64_to_hex, md5_hex_to_b64
from . import ids, policy, registries
from .context import Context
from .errors import BadInput, Conflict, NotFound, PermissionDenied
from .nodes import (
    ArtifactNode,
    ArtifactTypeNode,
    CollectionNode,
    FileNode,
    ManifestNode,
    MembershipNode,
    ProjectNode,
    RunNode,
    TagNode,
    collection_aliases,
)
from .records import (
    artifact_by_id,
    check_alias,
    check_name,
    collection_by_id,
    create_collection,
    ensure_project,
    ensure_run,
    ensure_tag,
    ensure_type,
    find_collection,
    find_project,
    find_run,
    membership_for,
    membership_of,
    project_by_id,
    require_project,
)
from .store import utcnow
from .transactions import mutation

Row = sqlite3.Row


def _artifact(ctx: Context, global_id: str, *, include_pending: bool = True, change: bool = True) -> Row:
    """A version the caller may see (`change`: and change, `policy.may_change_version`); one they
    may not see (another user's pending version, a version only in projects hidden from them) is
    not found (404)."""
    row = artifact_by_id(ctx.store, ids.decode(global_id, "Artifact"))
    if row is None or (not include_pending and row["state"] != "COMMITTED") or not ctx.may_read_version(row):
        raise NotFound(f"artifact {global_id} not found")
    if change and not policy.may_change_version(ctx.caller, row, _source_project(ctx, row)):
        raise PermissionDenied(f"this API key may not change artifact {global_id}")
    return row


def _source_project(ctx: Context, version: Row) -> Row:
    """The project a version was logged to."""
    sequence = collection_by_id(ctx.store, version["sequence_id"], include_deleted=True)
    project = None if sequence is None else ctx.project(sequence["project_id"])
    assert project is not None
    return project


def _collection(ctx: Context, global_id: str, kind: str) -> Row:
    """A sequence or portfolio the caller may change; one they may not see is not found."""
    row = collection_by_id(ctx.store, ids.decode(global_id, "ArtifactCollection"))
    project = None if row is None else ctx.project(row["project_id"])
    if row is None or row["kind"] != kind or project is None or not ctx.may_see_project(project):
        label = "artifact sequence" if kind == "SEQUENCE" else "artifact portfolio"
        raise NotFound(f"{label} {global_id} not found")
    if not policy.may_change_collection(ctx.caller, project):
        ctx.require_project_write(project)
    return row


def _project(
    ctx: Context,
    entity: str,
    name: str,
    *,
    create: bool = True,
    description: str | None = None,
    registry: bool = False,
) -> Row:
    """The project to write into, created (with its entity) on first use unless `create` is false.

    An existing project must be one the caller may see (else 404); with `create`, one they may
    write in (403). Registries take no runs and no logged versions (only `registry` callers get
    one), and a `wandb-registry-*` project is never created here.
    """
    found = find_project(ctx.store, entity, name)
    if found is not None and not ctx.may_see_project(found):
        raise NotFound(f"project {entity}/{name} not found")
    if found is not None and found["entity_kind"] == "organization" and not registry:
        raise BadInput(
            f"{entity}/{name} is a registry: it holds links to versions, not runs or logged versions; "
            "log to a team's project and link the version into the registry"
        )
    if not create:
        if found is None:
            raise NotFound(f"project {entity}/{name} not found")
        return found
    if found is not None:
        ctx.require_project_write(found)
        return found
    ctx.require_entity_write(entity)
    if policy.is_registry_name(name):
        raise registries.reserved_name(entity, name)
    return ensure_project(ctx.store, entity, name, description, creator=ctx.user_id)


def _writable_run(ctx: Context, project_id: int, name: str) -> Row:
    """The run to log into: the caller's own (or, for an admin, anyone's), created on first use."""
    found = find_run(ctx.store, project_id, name)
    if found is not None:
        ctx.require_run_change(found)
        return found
    return ensure_run(ctx.store, project_id, name, ctx.user_id)


def _file_path(kind: str, path: Any) -> str:
    """A run file's name or a version's entry path, by the shared rule (`names.check_path`)."""
    try:
        return names.check_path(kind, path)
    except names.InvalidName as exc:
        raise BadInput(exc.message) from None


def _tags(raw: Any) -> list[tuple[str, str | None, str | None]]:
    """Validate `[TagInput!]` values: name and category patterns as in W&B's constraints."""
    result = []
    for tag in raw or []:
        name, category = tag.get("tagName"), tag.get("tagCategoryName")
        try:
            names.check_tag("tag name", name)
            if category is not None:
                names.check_tag("tag category", category)
        except names.InvalidName as exc:
            raise BadInput(exc.message) from None
        result.append((name, category, tag.get("attributes")))
    return result


def _json_string(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput(f"{what} must be a JSON string")
    try:
        json.loads(value)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{what} is not valid JSON: {exc}") from None
    return value


# ------------------------------------------------------------------ projects and runs


@mutation("upsertModel")
def upsert_model(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    """Create a project or change its description; on an organization's entity, a registry
    (`registries.upsert_registry`)."""
    entity = input.get("entityName") or ctx.default_entity
    name = input.get("name")
    if not entity or not name:
        raise BadInput("upsertModel needs a project name and an entity")
    entity_row = ctx.store.entity_by_name(entity)
    if entity_row is not None and entity_row["kind"] == "organization":
        return registries.upsert_registry(ctx, entity_row, input)
    inserted = find_project(ctx.store, entity, name) is None
    project = _project(ctx, entity, name, description=input.get("description"))
    if not inserted and input.get("description") is not None:
        ctx.store.update_project(project["id"], {"description": input["description"]})
        project = require_project(ctx.store, entity, name)
    node = ProjectNode(ctx, project)
    return {"model": node, "project": node, "inserted": inserted}


_RUN_COLUMNS = {
    "displayName": "display_name",
    "state": "state",
    "config": "config",
    "summaryMetrics": "summary_metrics",
    "groupName": "group_name",
    "jobType": "job_type",
    "commit": "commit_hash",
    "host": "host",
    "description": "description",
    "notes": "notes",
    "sweep": "sweep_name",
}


@mutation("upsertBucket")
def upsert_bucket(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    entity = input.get("entityName") or ctx.default_entity
    project_name = input.get("modelName") or "uncategorized"
    name = input.get("name")
    if input.get("id") and not name:
        run_pk = ids.decode(input["id"], "Run")
        found = ctx.store.run_by_id(run_pk)
        if found is None:
            raise NotFound(f"run {input['id']} not found")
        ctx.require_run_change(found)
        run = found
        inserted = False
    else:
        if not entity or not name:
            raise BadInput("upsertBucket needs a run name and an entity")
        project = _project(ctx, entity, project_name)
        inserted = find_run(ctx.store, project["id"], name) is None
        run = _writable_run(ctx, project["id"], name)
    updates = {col: input[key] for key, col in _RUN_COLUMNS.items() if input.get(key) is not None}
    if input.get("tags") is not None:
        updates["tags"] = json.dumps(input["tags"])
    for key in ("config", "summaryMetrics"):
        if input.get(key) is not None:
            _json_string(input[key], key)
    if updates:
        ctx.store.update_run(run["id"], updates)
    row = ctx.store.run_by_id(run["id"])
    return {
        "bucket": RunNode(ctx, row),  # type: ignore[arg-type]
        "inserted": inserted,
        "updateAvailable": False,
        "serverSettings": {"serverMessages": []},
    }


@mutation("createRunFiles")
def create_run_files(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    project = _project(ctx, input["entityName"], input["projectName"], create=False)
    run = find_run(ctx.store, project["id"], input["runName"])
    if run is None:
        raise NotFound(f"run {input['runName']} not found")
    ctx.require_run_change(run)
    files = [_file_path("run file name", name) for name in input["files"]]
    return {
        "runID": ids.encode("Run", run["id"]),
        "uploadHeaders": [],
        "files": [{"name": name, "uploadUrl": ctx.urls.run_file_upload_url(run, name)} for name in files],
    }


def _run(ctx: Context, global_id: str) -> Row:
    """A run the caller may change (see `policy.may_change_run`)."""
    row = ctx.store.run_by_id(ids.decode(global_id, "Run"))
    if row is None:
        raise NotFound(f"run {global_id} not found")
    ctx.require_run_change(row)
    return row


@mutation("deleteRun")
def delete_run(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    """The run goes and its name stays taken; the versions it logged go too with `deleteArtifacts`
    (those its owner created: never another user's), else they stay, `createdBy` null. Versions it
    used stay, without it among their users."""
    run = _run(ctx, input["id"])
    if input.get("deleteArtifacts"):
        now = utcnow()
        for artifact_id in ctx.store.live_versions_logged_by(run["id"], run["user_id"]):
            ctx.store.mark_version_deleted(artifact_id, now)
    ctx.store.delete_run(run["id"])
    return {"clientMutationId": input.get("clientMutationId")}


@mutation("stopRun")
def stop_run(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    """Ask a run to stop: `Run.stopped` turns true, which the run's own process polls. Idempotent."""
    run = _run(ctx, input["id"])
    ctx.store.request_run_stop(run["id"])
    return {"success": True, "clientMutationId": input.get("clientMutationId")}


@mutation("deleteFiles")
def delete_files(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    """Delete run files by their IDs; all of them or, when one is missing or outside `projectId`, none."""
    for global_id in input["files"]:
        row = ctx.store.run_file_by_id(ids.decode(global_id, "RunFile"))
        if row is None:
            raise NotFound(f"file {global_id} not found")
        if input.get("projectId") is not None and row["project_id"] != input["projectId"]:
            raise NotFound(f"file {global_id} is not in project {input['projectId']}")
        if not ctx.may_change_run(row["run_user_id"]):
            raise PermissionDenied(f"file {global_id} belongs to another user's run; only its owner may delete it")
        ctx.store.delete_run_file(row["id"])
    return {"success": True, "clientMutationId": input.get("clientMutationId")}


# The transitions `updateRunState` allows (target: allowed sources), as wandb 0.31.0 documents them.
_RUN_STATE_TRANSITIONS = {
    "pending": {"running", "failed", "crashed", "preempted"},
    "failed": {"pending", "running"},
}


@mutation("updateRunState")
def update_run_state(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    run = _run(ctx, input["id"])
    target, current = input["state"], run["state"]
    if target not in _RUN_STATE_TRANSITIONS:
        raise BadInput(
            f"a run's state can only be set to {' or '.join(sorted(_RUN_STATE_TRANSITIONS))}, not {target!r}"
        )
    if run["sweep_name"]:
        raise BadInput("the state of a sweep's run cannot be changed")
    if current not in _RUN_STATE_TRANSITIONS[target]:
        raise BadInput(f"a {current} run cannot become {target}")
    ctx.store.update_run(run["id"], {"state": target})
    return {"success": True, "clientMutationId": input.get("clientMutationId")}


# ------------------------------------------------------------------ types and collections


@mutation("createArtifactType")
def create_artifact_type(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    project = _project(ctx, input["entityName"], input["projectName"], registry=True)
    row = ensure_type(ctx.store, project["id"], input["name"], input.get("description"))
    return {"artifactType": ArtifactTypeNode(ctx, row)}


def _create_collection(ctx: Context, input: dict[str, Any], kind: str) -> dict[str, Any]:
    project = _project(ctx, input["entityName"], input["projectName"], create=False, registry=kind == "PORTFOLIO")
    ctx.require_project_write(project)
    type_row = ctx.store.artifact_type_in_project(ids.decode(input["artifactTypeID"], "ArtifactType"), project["id"])
    if type_row is None:
        raise NotFound(f"artifact type {input['artifactTypeID']} not found in this project")
    row = create_collection(ctx.store, project["id"], type_row["id"], kind, input["name"], input.get("description"))
    return {"artifactCollection": CollectionNode(ctx, row)}


@mutation("createArtifactSequence")
def create_artifact_sequence(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    return _create_collection(ctx, input, "SEQUENCE")


@mutation("createArtifactPortfolio")
def create_artifact_portfolio(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    return _create_collection(ctx, input, "PORTFOLIO")


def _update_collection(ctx: Context, row: Row, input: dict[str, Any]) -> dict[str, Any]:
    name = input.get("name")
    updates: dict[str, object] = {}
    if name is not None and name != row["name"]:
        check_name("collection", name)
        if find_collection(ctx.store, row["project_id"], name) is not None:
            raise Conflict(f"a collection named {name!r} already exists in this project")
        updates["name"] = name
    if "description" in input:
        updates["description"] = input["description"]
    ctx.store.update_collection(row["id"], updates)
    updated = collection_by_id(ctx.store, row["id"])
    return {"artifactCollection": CollectionNode(ctx, updated)}  # type: ignore[arg-type]


@mutation("updateArtifactSequence")
def update_artifact_sequence(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    return _update_collection(ctx, _collection(ctx, input["artifactSequenceID"], "SEQUENCE"), input)


@mutation("updateArtifactPortfolio")
def update_artifact_portfolio(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    return _update_collection(ctx, _collection(ctx, input["artifactPortfolioID"], "PORTFOLIO"), input)


@mutation("moveArtifactSequence")
def move_artifact_sequence(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    row = _collection(ctx, input["artifactSequenceID"], "SEQUENCE")
    destination = ensure_type(ctx.store, row["project_id"], input["destinationArtifactTypeName"])
    ctx.store.retype_sequence(row["id"], destination["id"])
    return {"artifactCollection": CollectionNode(ctx, collection_by_id(ctx.store, row["id"]))}  # type: ignore[arg-type]


def _delete_collection(ctx: Context, row: Row) -> dict[str, Any]:
    now = utcnow()
    ctx.store.mark_collection_deleted(row["id"])
    if row["kind"] == "SEQUENCE":
        # Versions born in the sequence go with it, and leave every portfolio they were linked into.
        for artifact_id in ctx.store.versions_born_in(row["id"]):
            ctx.store.mark_version_deleted(artifact_id, now)
    else:
        ctx.store.drop_memberships_of(row["id"])
    deleted = collection_by_id(ctx.store, row["id"], include_deleted=True)
    return {"artifactCollection": CollectionNode(ctx, deleted)}  # type: ignore[arg-type]


@mutation("deleteArtifactSequence")
def delete_artifact_sequence(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    return _delete_collection(ctx, _collection(ctx, input["artifactSequenceID"], "SEQUENCE"))


@mutation("deleteArtifactPortfolio")
def delete_artifact_portfolio(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    return _delete_collection(ctx, _collection(ctx, input["artifactPortfolioID"], "PORTFOLIO"))


def _tag_target(ctx: Context, input: dict[str, Any]) -> Row:
    project = _project(ctx, input["entityName"], input["projectName"], create=False, registry=True)
    row = find_collection(ctx.store, project["id"], input["artifactCollectionName"])
    if row is None:
        raise NotFound(f"collection {input['artifactCollectionName']!r} not found")
    if not policy.may_change_collection(ctx.caller, project):
        ctx.require_project_write(project)
    if len(input["tags"]) > 20:
        raise BadInput("at most 20 tags per request")
    return row


@mutation("createArtifactCollectionTagAssignments")
def create_collection_tags(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    row = _tag_target(ctx, input)
    tags = []
    for name, category, attributes in _tags(input["tags"]):
        tag_id = ensure_tag(ctx.store, name, category, attributes)
        ctx.store.tag_collection(row["id"], tag_id)
        tag = ctx.store.tag_by_id(tag_id)
        assert tag is not None
        tags.append(TagNode(ctx, tag))
    return {"tags": tags}


@mutation("deleteArtifactCollectionTagAssignments")
def delete_collection_tags(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    row = _tag_target(ctx, input)
    for name, category, _ in _tags(input["tags"]):
        ctx.store.untag_collection(row["id"], name, category or "")
    return {"success": True}


# ------------------------------------------------------------------ aliases


def _set_alias(ctx: Context, collection: Row, artifact_id: int, alias: str) -> None:
    """Point `alias` at a version; an alias is unique within its collection, so it moves."""
    if membership_of(ctx.store, collection["id"], artifact_id) is None:
        raise BadInput(f"the version is not in collection {collection['name']!r}")
    ctx.store.point_alias(collection["id"], artifact_id, alias)


def _alias_collection(ctx: Context, spec: dict[str, Any]) -> Row:
    """The collection an alias is set in, which the caller may change (a registry: its members)."""
    project = _project(ctx, spec["entityName"], spec["projectName"], create=False, registry=True)
    row = find_collection(ctx.store, project["id"], spec["artifactCollectionName"])
    if row is None:
        raise NotFound(f"collection {spec['artifactCollectionName']!r} not found")
    if not policy.may_change_collection(ctx.caller, project):
        ctx.require_project_write(project)
    return row


@mutation("addAliases")
def add_aliases(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    """Aliases are changes of the collection they are set in: a registry member may alias a
    linked version without any right on the project it was logged to."""
    artifact = _artifact(ctx, input["artifactID"], include_pending=False, change=False)
    for spec in input["aliases"]:
        _set_alias(ctx, _alias_collection(ctx, spec), artifact["id"], check_alias(spec["alias"]))
    return {"success": True}


@mutation("deleteAliases")
def delete_aliases(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    artifact = _artifact(ctx, input["artifactID"], include_pending=False, change=False)
    for spec in input["aliases"]:
        collection = _alias_collection(ctx, spec)
        ctx.store.remove_alias(collection["id"], artifact["id"], spec["alias"])
    return {"success": True}


# ------------------------------------------------------------------ versions


@mutation("updateArtifact")
def update_artifact(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    artifact = _artifact(ctx, input["artifactID"])
    updates: dict[str, Any] = {}
    if "description" in input:
        updates["description"] = input["description"]
    if "metadata" in input:
        updates["metadata"] = _json_string(input["metadata"], "metadata")
    if input.get("ttlDurationSeconds") is not None:
        ttl = int(input["ttlDurationSeconds"])
        updates["ttl_duration_seconds"] = ttl
        updates["ttl_is_inherited"] = int(ttl == -1)
    if updates:
        ctx.store.update_artifact(artifact["id"], updates)
    for name, category, attributes in _tags(input.get("tagsToAdd")):
        ctx.store.tag_artifact(artifact["id"], ensure_tag(ctx.store, name, category, attributes))
    for name, category, _ in _tags(input.get("tagsToDelete")):
        ctx.store.untag_artifact(artifact["id"], name, category or "")
    if input.get("aliases") is not None:
        _replace_aliases(ctx, artifact, input["aliases"])
    return {"artifact": ArtifactNode(ctx, artifact_by_id(ctx.store, artifact["id"]))}  # type: ignore[arg-type]


def _replace_aliases(ctx: Context, artifact: Row, aliases: list[dict[str, Any]]) -> None:
    """Older clients send the full alias list of the version; make it exactly that list."""
    by_collection: dict[str, list[str]] = {}
    for spec in aliases:
        by_collection.setdefault(spec["artifactCollectionName"], []).append(check_alias(spec["alias"]))
    sequence = collection_by_id(ctx.store, artifact["sequence_id"], include_deleted=True)
    assert sequence is not None
    by_collection.setdefault(sequence["name"], [])
    for collection_name, wanted in by_collection.items():
        collection = find_collection(ctx.store, sequence["project_id"], collection_name)
        if collection is None:
            raise NotFound(f"collection {collection_name!r} not found")
        ctx.store.clear_aliases(collection["id"], artifact["id"])
        for alias in wanted:
            _set_alias(ctx, collection, artifact["id"], alias)


@mutation("deleteArtifact")
def delete_artifact(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    artifact = _artifact(ctx, input["artifactID"])
    aliases = ctx.store.alias_names_of(artifact["id"])
    if aliases and not input.get("deleteAliases"):
        raise Conflict(f"the version still has aliases {sorted(aliases)}; delete them first or pass deleteAliases")
    ctx.store.mark_version_deleted(artifact["id"], utcnow())
    row = artifact_by_id(ctx.store, artifact["id"], include_deleted=True)
    return {"artifact": ArtifactNode(ctx, row)}  # type: ignore[arg-type]


@mutation("linkArtifact")
def link_artifact(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    """Link a committed version into a portfolio, created on the first link.

    Into a registry (`wandb-registry-*` of an organization's entity): it must exist, and
    `registries.check_link` decides (role, source team, accepted type). Anywhere else: the
    portfolio must be in the entity the version was logged in (W&B's rule), and a
    `wandb-registry-*` target under another entity is refused; no registry project is ever
    created by a link.
    """
    if input.get("artifactID"):
        artifact = _artifact(ctx, input["artifactID"], include_pending=False, change=False)
    elif input.get("clientID"):
        found = ctx.store.committed_artifact_by_client_id(input["clientID"])
        if found is None or not ctx.may_read_version(found):
            raise NotFound(f"no committed artifact with client ID {input['clientID']}")
        artifact = found
    else:
        raise BadInput("linkArtifact needs artifactID or clientID")
    source = _source_project(ctx, artifact)
    type_row = ctx.store.artifact_type_by_id(artifact["type_id"])
    assert type_row is not None
    if input.get("artifactPortfolioID"):
        portfolio = _collection(ctx, input["artifactPortfolioID"], "PORTFOLIO")
        project = ctx.project(portfolio["project_id"])
        assert project is not None
        if project["entity_kind"] == "organization":
            registries.check_link(ctx, project, artifact)
        else:
            _check_same_entity(source, project)
    else:
        name = input.get("artifactPortfolioName")
        entity, project_name = input.get("entityName"), input.get("projectName")
        if not name or not entity or not project_name:
            raise BadInput("linkArtifact needs artifactPortfolioID or artifactPortfolioName, entityName, projectName")
        target_entity = ctx.store.entity_by_name(entity)
        if policy.is_registry_name(project_name) or (
            target_entity is not None and target_entity["kind"] == "organization"
        ):
            project = registries.link_target(ctx, entity, project_name)
            registries.check_link(ctx, project, artifact)
        else:
            if entity != source["entity_name"]:
                raise BadInput(
                    f"{registries.LINK_SCOPE}: the version was logged in entity {source['entity_name']}, "
                    f"the portfolio {entity}/{project_name}/{name} is in another entity"
                )
            project = _project(ctx, entity, project_name)
        found = find_collection(ctx.store, project["id"], name)
        if found is not None:
            ctx.require_project_write(project)
        if found is not None and found["kind"] != "PORTFOLIO":
            raise Conflict(f"{name!r} is a sequence; versions can only be linked into portfolios")
        if found is None:
            ctx.require_project_write(project)
            check_name("collection", name)
            link_type = ensure_type(ctx.store, project["id"], type_row["name"])
            found = create_collection(ctx.store, project["id"], link_type["id"], "PORTFOLIO", name, None)
        portfolio = found
    if project["entity_kind"] == "organization":
        held = ctx.store.artifact_type_by_id(portfolio["type_id"])
        if held is not None and held["name"] != type_row["name"]:
            raise BadInput(
                f"collection {portfolio['name']} of registry {project['name']} holds {held['name']!r} versions; "
                f"a {type_row['name']!r} version cannot be linked into it"
            )
    membership = membership_of(ctx.store, portfolio["id"], artifact["id"])
    if membership is None:
        membership = ctx.store.add_membership(portfolio["id"], artifact["id"], utcnow())
        _set_alias(ctx, portfolio, artifact["id"], "latest")
    assert membership is not None
    for spec in input.get("aliases") or []:
        if spec["artifactCollectionName"] not in (portfolio["name"], None):
            continue
        _set_alias(ctx, portfolio, artifact["id"], check_alias(spec["alias"]))
    owner = project_by_id(ctx.store, portfolio["project_id"])
    assert owner is not None
    return {
        "artifactCollectionID": ids.encode("ArtifactCollection", portfolio["id"]),
        "artifactID": ids.encode("Artifact", artifact["id"]),
        "createdAt": membership["created_at"],
        "versionIndex": membership["version_index"],
        "aliases": [
            {
                "alias": a.row["alias"],
                "artifactCollectionName": portfolio["name"],
                "entityName": owner["entity_name"],
                "projectName": owner["name"],
            }
            for a in collection_aliases(ctx, membership)
        ],
        "artifactMembership": MembershipNode(ctx, membership),
    }


def _check_same_entity(source: Row, target: Row) -> None:
    if source["entity_id"] != target["entity_id"]:
        raise BadInput(
            f"{registries.LINK_SCOPE}: the version was logged in entity {source['entity_name']}, "
            f"the portfolio is in {target['entity_name']}"
        )


@mutation("unlinkArtifact")
def unlink_artifact(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    """Remove a link (whoever may change the portfolio: in a registry, its members); the version
    stays where it was logged."""
    artifact = _artifact(ctx, input["artifactID"], change=False)
    portfolio = _collection(ctx, input["artifactPortfolioID"], "PORTFOLIO")
    if membership_of(ctx.store, portfolio["id"], artifact["id"]) is None:
        raise NotFound("the version is not linked into that portfolio")
    ctx.store.remove_membership(portfolio["id"], artifact["id"])
    return {"artifactID": input["artifactID"], "success": True}


# ------------------------------------------------------------------ the upload path


def _require_md5(algorithm: str | None) -> None:
    if algorithm not in (None, "MANIFEST_MD5"):
        raise BadInput(f"digest algorithm {algorithm} is not supported by this server; use MANIFEST_MD5")


@mutation("createArtifact")
def create_artifact(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    _require_md5(input.get("digestAlgorithm"))
    names = input.get("artifactCollectionNames") or []
    name = input.get("artifactCollectionName") or (names[0] if names else None)
    if not name:
        raise BadInput("createArtifact needs artifactCollectionName")
    check_name("artifact", name)
    project = _project(ctx, input["entityName"], input["projectName"])
    type_row = ensure_type(ctx.store, project["id"], input["artifactTypeName"])
    sequence = find_collection(ctx.store, project["id"], name)
    if sequence is not None and sequence["kind"] != "SEQUENCE":
        raise Conflict(f"{name!r} is a portfolio; new versions are logged to sequences")
    if sequence is not None and sequence["type_id"] != type_row["id"]:
        current = ctx.store.artifact_type_by_id(sequence["type_id"])
        assert current is not None
        raise Conflict(f"artifact {name!r} has type {current['name']!r}, not {input['artifactTypeName']!r}")
    if sequence is None:
        sequence = create_collection(ctx.store, project["id"], type_row["id"], "SEQUENCE", name, None)
    if input.get("enableDigestDeduplication"):
        # Same content as the latest version: hand that version back instead of making a new one.
        # (Content equal to an older version makes a new version, which then becomes `latest`.)
        latest = membership_for(ctx.store, sequence, None)
        if latest is not None:
            same = artifact_by_id(ctx.store, latest["artifact_id"])
            if same is not None and same["digest"] == input["digest"]:
                return {"artifact": ArtifactNode(ctx, same)}
    run_id = None
    if input.get("runName"):  # logging into a run changes it: the caller's own run only
        run_id = _writable_run(ctx, project["id"], input["runName"])["id"]
    pending = ctx.store.pending_artifact(sequence["id"], input["digest"], input.get("clientID"), ctx.user_id)
    if pending is not None:  # a retried createArtifact resumes the same pending version
        return {"artifact": ArtifactNode(ctx, pending)}
    aliases = [check_alias(a["alias"]) for a in input.get("aliases") or [] if a["alias"] != "latest"]
    ttl = input.get("ttlDurationSeconds")
    artifact_id = ctx.store.create_pending_artifact(
        {
            "sequence_id": sequence["id"],
            "type_id": type_row["id"],
            "digest": input["digest"],
            "description": input.get("description"),
            "metadata": _json_string(input.get("metadata"), "metadata"),
            "history_step": input.get("historyStep"),
            "ttl_duration_seconds": -2 if ttl is None else int(ttl),
            "ttl_is_inherited": 1 if ttl is None or int(ttl) == -1 else 0,
            "created_by_run_id": run_id,
            "created_by_user_id": ctx.user_id,  # the key's user, also when a run logs it
            "logged_by_run": int(run_id is not None),
            "client_id": input.get("clientID"),
            "pending_aliases": json.dumps(aliases),
        }
    )
    for tag_name, category, attributes in _tags(input.get("tags")):
        ctx.store.tag_artifact(artifact_id, ensure_tag(ctx.store, tag_name, category, attributes))
    return {"artifact": ArtifactNode(ctx, artifact_by_id(ctx.store, artifact_id))}  # type: ignore[arg-type]


@mutation("createArtifactManifest")
def create_artifact_manifest(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    artifact = _artifact(ctx, input["artifactID"])
    if artifact["state"] != "PENDING":
        raise Conflict("the manifest of a committed version cannot change")
    kind = input.get("type") or "FULL"
    if kind != "FULL":
        raise BadInput(f"manifest type {kind} is not supported by this server; send FULL manifests")
    existing = ctx.store.latest_manifest(artifact["id"])
    if existing is not None:
        ctx.store.set_manifest_digest(existing["id"], input["digest"])
        manifest_id = int(existing["id"])
    else:
        manifest_id = ctx.store.add_manifest(artifact["id"], kind, input["digest"])
    row = ctx.store.manifest_by_id(manifest_id)
    return {"artifactManifest": ManifestNode(ctx, row)}  # type: ignore[arg-type]


@mutation("updateArtifactManifest")
def update_artifact_manifest(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    """Change the declared digest of a pending version's manifest: the same checks as
    `createArtifactManifest` (another user's pending version is not found; a committed one's
    manifest never changes)."""
    row = ctx.store.manifest_by_id(ids.decode(input["artifactManifestID"], "ArtifactManifest"))
    if row is None:
        raise NotFound(f"manifest {input['artifactManifestID']} not found")
    try:
        artifact = _artifact(ctx, ids.encode("Artifact", row["artifact_id"]))
    except NotFound:
        raise NotFound(f"manifest {input['artifactManifestID']} not found") from None
    if artifact["state"] != "PENDING":
        raise Conflict("the manifest of a committed version cannot change")
    if input.get("digest") is not None:
        ctx.store.set_manifest_digest(row["id"], input["digest"])
    row = ctx.store.manifest_by_id(row["id"])
    return {"artifactManifest": ManifestNode(ctx, row)}  # type: ignore[arg-type]


@mutation("createArtifactFiles")
def create_artifact_files(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    """Hand out upload URLs; a file whose bytes the server already holds gets none."""
    _require_md5(input.get("digestAlgorithm"))
    staged: list[int] = []
    seen_artifacts: dict[str, Row] = {}
    for spec in input["artifactFiles"]:
        if spec.get("digest") is not None and spec["digest"] != spec["md5"]:
            raise BadInput(f"file {spec['name']!r}: with MANIFEST_MD5 the digest must equal the md5")
        artifact = seen_artifacts.get(spec["artifactID"])
        if artifact is None:
            artifact = _artifact(ctx, spec["artifactID"])
            if artifact["state"] != "PENDING":
                raise Conflict("files can only be added to a pending version")
            seen_artifacts[spec["artifactID"]] = artifact
        md5_hex = md5_b64_to_hex_checked(spec["md5"])
        path = _file_path("entry path", spec["name"])
        staged.append(ctx.store.stage_file(artifact["id"], path, spec["md5"], md5_hex, spec.get("mimetype")))

    def files(**page: Any) -> StagedFiles:
        rows = [ctx.store.file_by_id(pk) for pk in staged]
        return StagedFiles([FileNode(ctx, r) for r in rows if r is not None])

    return {"files": files}


class StagedFiles:
    """The (unpaged) connection `createArtifactFiles` answers with."""

    def __init__(self, nodes: list[FileNode]) -> None:
        self._nodes = nodes

    def edges(self) -> list[dict[str, Any]]:
        return [{"node": n, "cursor": str(i)} for i, n in enumerate(self._nodes)]

    def page_info(self) -> dict[str, Any]:
        return {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None, "endCursor": None}

    def total_count(self) -> int:
        return len(self._nodes)

    upload_headers: list[str] = []  # noqa: RUF012


def md5_b64_to_hex_checked(value: Any) -> str:
    try:
        return md5_b64_to_hex(value)
    except ManifestError as exc:
        raise BadInput(str(exc)) from None


@mutation("completeMultipartUploadArtifact")
def complete_multipart_upload(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    raise BadInput("multipart uploads are not offered by this server; upload files in one PUT")


@mutation("commitArtifact")
def commit_artifact(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    """Make a pending version visible: check its manifest and bytes, number it, move `latest`."""
    artifact = _artifact(ctx, input["artifactID"])
    if artifact["state"] == "COMMITTED":
        return {"artifact": ArtifactNode(ctx, artifact)}
    manifest_row = ctx.store.latest_manifest(artifact["id"])
    if manifest_row is None or manifest_row["blob_md5"] is None:
        raise BadInput("the version has no uploaded manifest; upload it before committing")
    try:
        manifest = Manifest.from_json(ctx.blobs.read(manifest_row["blob_md5"]))
    except ManifestError as exc:
        raise BadInput(f"the uploaded manifest is invalid: {exc}") from None
    _check_digests(artifact, manifest_row, manifest)
    missing = [entry.path for entry in manifest if not entry.is_reference and not ctx.blobs.exists(entry.md5_hex)]
    if missing:
        shown = ", ".join(sorted(missing)[:5])
        raise BadInput(f"{len(missing)} file(s) of the manifest were never uploaded: {shown}")
    own_id = ids.encode("Artifact", artifact["id"])
    ctx.store.replace_files(
        artifact["id"],
        [
            (
                entry.path,
                entry.digest,
                None if entry.is_reference else entry.md5_hex,
                entry.size,
                entry.ref,
                entry.birth_artifact_id or own_id,
            )
            for entry in manifest
        ],
    )
    sequence = collection_by_id(ctx.store, artifact["sequence_id"], include_deleted=True)
    assert sequence is not None
    now = utcnow()
    ctx.store.add_membership(sequence["id"], artifact["id"], now)
    layout = str(manifest.storage_policy_config.get("storageLayout", "V1"))
    ctx.store.mark_committed(artifact["id"], manifest.total_size, len(manifest), layout, now)
    _set_alias(ctx, sequence, artifact["id"], "latest")
    for alias in json.loads(artifact["pending_aliases"] or "[]"):
        _set_alias(ctx, sequence, artifact["id"], alias)
    return {"artifact": ArtifactNode(ctx, artifact_by_id(ctx.store, artifact["id"]))}  # type: ignore[arg-type]


def _check_digests(artifact: Row, manifest_row: Row, manifest: Manifest) -> None:
    """The two digests W&B derives from a manifest must match what the uploader declared.

    The manifest digest (createArtifactManifest) is the base64 MD5 of the manifest file; the
    artifact digest (createArtifact) is the MD5 over the manifest's sorted `path:digest` lines.
    """
    declared = manifest_row["digest"]
    try:
        declared_hex = md5_b64_to_hex(declared)
    except ManifestError:
        declared_hex = None
    if declared_hex is not None and declared_hex != manifest_row["blob_md5"]:
        raise BadInput(
            f"the uploaded manifest has MD5 {md5_hex_to_b64(manifest_row['blob_md5'])}, "
            f"but createArtifactManifest declared {declared}"
        )
    computed = manifest.digest()
    if artifact["digest"] != computed:
        raise BadInput(
            f"the artifact digest {artifact['digest']} declared in createArtifact is not the digest of its "
            f"manifest ({computed})"
        )


@mutation("useArtifact")
def use_artifact(ctx: Context, input: dict[str, Any]) -> dict[str, Any]:
    """Record that a run used a version the caller may see (a registry reader uses a linked
    version without any right on the project it was logged to)."""
    artifact = _artifact(ctx, input["artifactID"], include_pending=False, change=False)
    project = _project(ctx, input["entityName"], input["projectName"])
    run = _writable_run(ctx, project["id"], input["runName"])
    ctx.store.record_usage(run["id"], artifact["id"], input.get("usedAs"))
    return {"run": RunNode(ctx, run), "artifact": ArtifactNode(ctx, artifact)}
