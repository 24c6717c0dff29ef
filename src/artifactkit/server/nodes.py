"""The emulator's GraphQL object types, one Python class per schema type.

The executor resolves a field `fooBar` by reading attribute `foo_bar` of the parent object and,
when that is a method, calling it with the field's arguments in snake_case (see `schema.py`).
Every node holds the request `Context` and the database row it stands for.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from ..manifest import md5_hex_to_b64
from . import ids, listings, policy
from .context import Context
from .errors import BadInput
from .pagination import Connection, count_rows
from .records import (
    artifact_by_id,
    collection_by_id,
    find_collection,
    find_project,
    find_run,
    find_type,
    lookup_membership,
    membership_for,
)
from .store import Store

Row = sqlite3.Row


class Node:
    typename = ""
    # See SharedNode; None: complete this node wherever it appears.
    completion_key: Any = None

    def __init__(self, ctx: Context, row: Row) -> None:
        self.ctx = ctx
        self.row = row

    @property
    def pk(self) -> int:
        return int(self.row["id"])

    def __getattr__(self, name: str) -> Any:
        # Plain columns (created_at, description, ...) resolve straight from the row.
        row = self.__dict__.get("row")
        if row is not None and not name.startswith("__"):
            try:
                return row[name]
            except (IndexError, KeyError):  # sqlite3.Row says IndexError for an unknown column
                pass
        raise AttributeError(name)


class SharedNode(Node):
    """A node whose every field answer depends only on its row (a user, entity, project, type or
    collection): the executor completes it once per field of a document and reuses the answer for
    every result that names it (execution.py)."""

    @property
    def completion_key(self) -> tuple[type[Node], Any]:
        return (type(self), self.row["id"])


def _blob_path(md5_hex: str) -> str:
    """Where storage keeps a blob, as `File.storagePath` names it."""
    return f"blobs/{md5_hex[:2]}/{md5_hex}"


def _json_or_none(text: str | None) -> str | None:
    return text if text else None


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)


# ------------------------------------------------------------------------- accounts


class UserNode(SharedNode):
    typename = "User"

    @property
    def id(self) -> str:
        return ids.encode("User", self.pk)

    @property
    def name(self) -> str:
        return str(self.row["username"])

    @property
    def entity(self) -> str:
        return str(self.row["username"])

    @property
    def admin(self) -> bool:
        return bool(self.row["admin"])

    flags = "{}"
    deleted_at = None

    def api_keys(self) -> dict[str, Any] | None:
        """The user's keys (ids and roles): for the user themselves or an admin, else null."""
        if not policy.may_see_api_keys(self.ctx.caller, self.pk):
            return None
        rows = self.ctx.store.api_keys_of(self.pk)
        return {
            "edges": [
                {
                    "node": {"id": ids.encode("ApiKey", r["rowid"]), "name": r["name"], "description": None},
                    "cursor": str(r["rowid"]),
                }
                for r in rows
            ]
        }

    def teams(self, **_: Any) -> dict[str, Any]:
        """The user's teams (to themselves and admin keys; to others, the teams they share)."""
        caller = self.ctx.caller
        shown = [
            row
            for row in self.ctx.store.teams_of_user(self.pk)
            if caller.is_admin or caller.user_id == self.pk or int(row["id"]) in caller.grants.teams
        ]
        return {"edges": [{"node": EntityNode(self.ctx, row), "cursor": str(row["id"])} for row in shown]}

    def organizations(self, email_domain: str | None = None) -> list[OrganizationNode]:
        """The organizations the user belongs to, as far as the caller may see them."""
        rows = self.ctx.store.organizations_of_user(self.pk)
        return [
            OrganizationNode(self.ctx, row) for row in rows if policy.may_see_organization(self.ctx.caller, row["id"])
        ]


class OrganizationNode(SharedNode):
    typename = "Organization"

    @property
    def id(self) -> str:
        return ids.encode("Organization", self.pk)

    def org_entity(self) -> EntityNode | None:
        row = self.ctx.store.entity_by_id(self.row["entity_id"])
        return None if row is None else EntityNode(self.ctx, row)

    # No CoreWeave account: wandb-core then skips its CoreWeave metadata probe at run start.
    core_weave_organization_id = None

    @property
    def advanced_registry_features(self) -> dict[str, bool]:
        """Registry version search takes `order` and the advanced filter names (it also takes the basic ones)."""
        return {"advancedSearch": True}

    def feature_flags(self, **_: Any) -> list[dict[str, Any]]:
        """No ramps: every feature a client might probe for is simply on (or absent)."""
        return []


def organization_node(ctx: Context, organization_id: int | None) -> OrganizationNode | None:
    """The organization, if the caller may see it (its members and admin keys), else None."""
    if organization_id is None or not policy.may_see_organization(ctx.caller, organization_id):
        return None
    row = ctx.store.organization_by_id(organization_id)
    return None if row is None else OrganizationNode(ctx, row)


def visible_organization(ctx: Context, name: str | None, organization_id: int | None = None) -> OrganizationNode | None:
    """`organization(name:)` / `organization(id:)`: null for an unknown one and one the caller is not in."""
    row = ctx.store.organization_by_name(name) if name is not None else ctx.store.organization_by_id(organization_id)
    return None if row is None else organization_node(ctx, int(row["id"]))


class EntityNode(SharedNode):
    """A personal entity (`kind` user), a team, or an organization's entity (which holds its registries)."""

    typename = "Entity"

    @property
    def id(self) -> str:
        return ids.encode("Entity", self.pk)

    @property
    def is_team(self) -> bool:
        return str(self.row["kind"]) != "user"

    @property
    def entity_type(self) -> str:
        return str(self.row["kind"])

    def organization(self) -> OrganizationNode | None:
        return organization_node(self.ctx, self.row["organization_id"])

    # What W&B answers for an entity with no plan limits or settings of its own.
    available = True
    photo_url = None
    read_only = False
    read_only_admin = False
    private_only = False
    storage_bytes = 0
    code_saving_enabled = True
    default_access = "PRIVATE"
    is_paid = False

    def members(self) -> list[dict[str, Any]]:
        """A team's members (to its members, its organization and admin keys); a personal
        entity's user; an org entity's users. Never an API key."""
        store, kind = self.ctx.store, self.row["kind"]
        if kind == "user":
            user = store.user_by_id(self.row["user_id"]) if self.row["user_id"] is not None else None
            rows: list[Row] = [] if user is None else [user]
            roles = ["admin"] * len(rows)
        elif not policy.may_see_team_members(self.ctx.caller, self.row):
            return []
        else:
            rows = (
                store.team_members(self.pk)
                if kind == "team"
                else store.organization_members(self.row["organization_id"])
            )
            roles = [str(r["role"]) for r in rows]
        return [
            {
                "id": ids.encode("User", r["id"]),
                "admin": role == "admin",
                "role": role,
                "pending": False,
                "email": r["email"],
                "username": r["username"],
                "name": r["username"],
                "photoUrl": None,
                "accountType": "USER",
                "apiKey": None,
            }
            for r, role in zip(rows, roles, strict=True)
        ]

    def user(self) -> UserNode | None:
        if self.row["user_id"] is None:
            return None
        row = self.ctx.store.user_by_id(self.row["user_id"])
        return None if row is None else UserNode(self.ctx, row)

    def project(self, name: str | None = None) -> ProjectNode | None:
        row = find_project(self.ctx.store, self.row["name"], name)
        return None if row is None or not self.ctx.may_see_project(row) else ProjectNode(self.ctx, row)

    def projects(self, filters: str | None = None, order: str | None = None, **page: Any) -> Connection[ProjectNode]:
        """The entity's projects the caller may see; an org entity's are its registries."""
        query = listings.entity_project_search(self.pk, self.ctx.caller, filters=filters, order=order)
        return Connection(self.ctx.store, query, lambda row: ProjectNode(self.ctx, row), **page)

    def artifact_collections(
        self,
        filters: str | None = None,
        project_filters: str | None = None,
        collection_types: list[str] | None = None,
        order: str | None = None,
        **page: Any,
    ) -> Connection[CollectionNode]:
        """Collections across the entity's projects (registry search): `projectFilters` picks the
        projects, `filters` the collections."""
        query = listings.entity_collections(
            self.pk,
            self.ctx.caller,
            project_filters=project_filters,
            filters=filters,
            kinds=list(collection_types or []),
            order=order,
        )
        return Connection(self.ctx.store, query, lambda row: CollectionNode(self.ctx, row), **page)

    def artifact_memberships(
        self,
        filters: str | None = None,
        collection_filters: str | None = None,
        project_filters: str | None = None,
        order: str | None = None,
        **page: Any,
    ) -> Connection[MembershipNode]:
        """Versions in the collections of the entity's projects (registry version search)."""
        query = listings.entity_memberships(
            self.pk,
            self.ctx.caller,
            project_filters=project_filters,
            collection_filters=collection_filters,
            filters=filters,
            order=order,
        )
        return Connection(self.ctx.store, query, lambda row: MembershipNode(self.ctx, row), **page)


# ------------------------------------------------------------------------- projects


def project_node(ctx: Context, project_id: int) -> ProjectNode | None:
    """The project, or None when it is gone or hidden from the caller (another team's project seen
    through a registry link: `artifactSequence.project` is null, as on W&B)."""
    key = ("project", project_id)
    if key not in ctx.cache:
        row = ctx.project(project_id)
        ctx.cache[key] = None if row is None or not ctx.may_see_project(row) else ProjectNode(ctx, row)
    node: ProjectNode | None = ctx.cache[key]
    return node


class ProjectNode(SharedNode):
    typename = "Project"

    @property
    def id(self) -> str:
        return ids.encode("Project", self.pk)

    @property
    def internal_id(self) -> str:
        return ids.encode("ProjectInternalId", self.pk)

    def entity(self) -> EntityNode:
        key = ("entity", self.row["entity_id"])
        if key not in self.ctx.cache:
            row = self.ctx.store.entity_by_id(self.row["entity_id"])
            assert row is not None
            self.ctx.cache[key] = EntityNode(self.ctx, row)
        node: EntityNode = self.ctx.cache[key]
        return node

    is_benchmark = False
    views = "{}"  # saved views are not emulated

    @property
    def read_only(self) -> bool:
        """Whether the caller may not change what the project holds (W&B: the project is read-only to them)."""
        return not policy.may_write_in_project(self.ctx.caller, self.row)

    @property
    def access(self) -> str:
        """PRIVATE (a registry: the whole organization) or RESTRICTED (a registry's members only)."""
        return str(self.row["access"] or "PRIVATE")

    @property
    def allow_all_artifact_types_in_registry(self) -> bool:
        return bool(self.row["allow_all_types"])

    def members(self) -> list[dict[str, Any]]:
        """A registry's user members with their roles (other projects: none)."""
        return [
            {
                "id": ids.encode("User", r["id"]),
                "name": r["username"],
                "username": r["username"],
                "email": r["email"],
                "photoUrl": None,
                "accountType": "USER",
                "role": {"name": r["role"]},
            }
            for r in self.ctx.store.registry_user_members(self.pk)
        ]

    def team_members(self) -> list[dict[str, Any]]:
        """A registry's team members with their roles."""
        return [
            {"team": EntityNode(self.ctx, r), "role": {"name": r["role"]}}
            for r in self.ctx.store.registry_team_members(self.pk)
        ]

    def user(self) -> UserNode | None:
        return self.entity().user()

    def run(self, name: str, desc: str | None = None) -> RunNode | None:
        row = find_run(self.ctx.store, self.pk, name)
        return None if row is None else RunNode(self.ctx, row)

    def runs(self, filters: str | None = None, order: str | None = None, **page: Any) -> Connection[RunNode]:
        query = listings.project_runs(self.pk, filters=filters, order=order)
        return Connection(self.ctx.store, query, lambda r: RunNode(self.ctx, r), **page)

    def run_count(self, filters: str | None = None) -> int:
        return count_rows(self.ctx.store, listings.project_runs(self.pk, filters=filters))

    def artifact_type(self, name: str) -> ArtifactTypeNode | None:
        row = find_type(self.ctx.store, self.pk, name)
        return None if row is None else ArtifactTypeNode(self.ctx, row)

    def artifact_types(
        self, after: str | None = None, first: int | None = None, include_all: bool | None = None, **page: Any
    ) -> Connection[ArtifactTypeNode]:
        """The project's types. A registry that accepts only some types lists those (with
        `includeAll`, as wandb asks for a registry's accepted types)."""
        allowed_only = (
            bool(include_all) and self.row["entity_kind"] == "organization" and not self.row["allow_all_types"]
        )
        query = listings.artifact_types(self.pk, allowed_only=allowed_only)
        return Connection(
            self.ctx.store, query, lambda r: ArtifactTypeNode(self.ctx, r), after=after, first=first, **page
        )

    def artifact(self, name: str, enable_tracking: bool | None = None) -> ArtifactNode | None:
        membership = lookup_membership(self.ctx.store, self.pk, name)
        return None if membership is None else artifact_node(self.ctx, membership["artifact_id"])

    def artifact_collection(self, name: str) -> CollectionNode | None:
        row = find_collection(self.ctx.store, self.pk, name)
        return None if row is None else CollectionNode(self.ctx, row)

    def artifact_collections(self, **args: Any) -> Connection[CollectionNode]:
        return collections_connection(self.ctx, "project", self.pk, **args)

    def artifact_collection_membership(self, name: str) -> MembershipNode | None:
        row = lookup_membership(self.ctx.store, self.pk, name)
        return None if row is None else MembershipNode(self.ctx, row)

    @property
    def total_artifact_collections(self) -> int:
        return self.ctx.store.live_collection_count(self.pk)


def collections_connection(
    ctx: Context,
    scope: str,
    owner_id: int,
    *,
    order: str | None = None,
    filters: str | None = None,
    collection_types: list[str] | None = None,
    kind: str | None = None,
    caller: policy.Caller | None = None,
    **page: Any,
) -> Connection[CollectionNode]:
    kinds = [kind] if kind else list(collection_types or [])
    query = listings.collections(scope, owner_id, filters=filters, order=order, kinds=kinds, caller=caller)
    return Connection(ctx.store, query, lambda r: CollectionNode(ctx, r), **page)


class ArtifactTypeNode(SharedNode):
    typename = "ArtifactType"

    @property
    def id(self) -> str:
        return ids.encode("ArtifactType", self.pk)

    def project(self) -> ProjectNode | None:
        return project_node(self.ctx, self.row["project_id"])

    def artifact(self, name: str) -> ArtifactNode | None:
        membership = lookup_membership(self.ctx.store, self.row["project_id"], name, type_id=self.pk)
        return None if membership is None else artifact_node(self.ctx, membership["artifact_id"])

    def artifact_collection(self, name: str) -> CollectionNode | None:
        row = find_collection(self.ctx.store, self.row["project_id"], name, type_id=self.pk)
        return None if row is None else CollectionNode(self.ctx, row)

    def artifact_collections(self, **args: Any) -> Connection[CollectionNode]:
        return collections_connection(self.ctx, "type", self.pk, **args)

    def artifact_sequence(self, name: str) -> CollectionNode | None:
        row = find_collection(self.ctx.store, self.row["project_id"], name, type_id=self.pk, kind="SEQUENCE")
        return None if row is None else CollectionNode(self.ctx, row)

    def artifact_sequences(self, **args: Any) -> Connection[CollectionNode]:
        return collections_connection(self.ctx, "type", self.pk, kind="SEQUENCE", **args)


# ------------------------------------------------------------------------- collections


class CollectionNode(SharedNode):
    @property
    def typename(self) -> str:  # type: ignore[override]
        return "ArtifactSequence" if self.row["kind"] == "SEQUENCE" else "ArtifactPortfolio"

    @property
    def id(self) -> str:
        return ids.encode("ArtifactCollection", self.pk)

    def project(self) -> ProjectNode | None:
        return project_node(self.ctx, self.row["project_id"])

    def default_artifact_type(self) -> ArtifactTypeNode:
        row = self.ctx.store.artifact_type_by_id(self.row["type_id"])
        assert row is not None
        return ArtifactTypeNode(self.ctx, row)

    def latest_artifact(self) -> ArtifactNode | None:
        membership = membership_for(self.ctx.store, self.row, None)
        return None if membership is None else artifact_node(self.ctx, membership["artifact_id"])

    def artifacts(self, order: str | None = None, filters: str | None = None, **page: Any) -> Connection[ArtifactNode]:
        return versions_connection(self.ctx, "collection", self.pk, order=order, filters=filters, **page)

    def aliases(self, **page: Any) -> Connection[AliasNode]:
        query = listings.collection_aliases(self.pk)
        return Connection(self.ctx.store, query, lambda r: AliasNode(self.ctx, r), **page)

    def artifact_memberships(self, **page: Any) -> Connection[MembershipNode]:
        query = listings.collection_memberships(self.pk)
        return Connection(self.ctx.store, query, lambda r: MembershipNode(self.ctx, r), **page)

    def artifact_membership(self, alias_name: str) -> MembershipNode | None:
        row = membership_for(self.ctx.store, self.row, alias_name)
        return None if row is None else MembershipNode(self.ctx, row)

    def tags(self, tag_category_name: str | None = None, **page: Any) -> Connection[TagNode]:
        query = listings.collection_tags(self.pk, tag_category_name)
        return Connection(self.ctx.store, query, lambda r: TagNode(self.ctx, r), **page)


def versions_connection(
    ctx: Context,
    scope: str,
    owner_id: int,
    *,
    order: str | None = None,
    filters: str | None = None,
    edge_fields: Callable[[Row], dict[str, Any]] | None = None,
    reader: policy.Caller | None = None,
    home_project: int | None = None,
    **page: Any,
) -> Connection[ArtifactNode]:
    """A connection of versions (see `listings.versions`); one `Versions` loads what the page needs."""
    query = listings.versions(scope, owner_id, filters=filters, order=order, reader=reader, home_project=home_project)
    if edge_fields is None:
        edge_fields = lambda r: {"version": f"v{r['m_version_index']}"}  # noqa: E731
    connection: Connection[ArtifactNode] = Connection(
        ctx.store, query, lambda r: ArtifactNode(ctx, r, versions), edge_fields=edge_fields, **page
    )
    versions = Versions(ctx.store, connection.rows)
    return connection


class MembershipNode(Node):
    typename = "ArtifactCollectionMembership"

    @property
    def id(self) -> str:
        return ids.encode("ArtifactCollectionMembership", self.pk)

    def artifact_collection(self) -> CollectionNode | None:
        row = collection_by_id(self.ctx.store, self.row["collection_id"])
        return None if row is None else CollectionNode(self.ctx, row)

    def artifact(self) -> ArtifactNode | None:
        return artifact_node(self.ctx, self.row["artifact_id"])

    def commit_hash(self) -> str | None:
        node = self.artifact()
        return None if node is None else node.commit_hash()

    def aliases(self) -> list[AliasNode]:
        return collection_aliases(self.ctx, self.row)

    def files(self, names: list[str] | None = None, **page: Any) -> Connection[FileNode] | None:
        return files_connection(self.ctx, self.row["artifact_id"], names, **page)


def collection_aliases(ctx: Context, membership: Row) -> list[AliasNode]:
    """The aliases of one version in one collection, its `vN` version alias first."""
    rows = ctx.store.aliases_of(membership["collection_id"], membership["artifact_id"])
    return [AliasNode.for_version(ctx, membership)] + [AliasNode(ctx, r) for r in rows]


class AliasNode(Node):
    typename = "ArtifactAlias"

    def __init__(self, ctx: Context, row: Row, versions: Versions | None = None) -> None:
        super().__init__(ctx, row)
        self.versions = versions  # set when the alias was reached through its version

    @classmethod
    def for_version(cls, ctx: Context, membership: Row, versions: Versions | None = None) -> AliasNode:
        row = {
            "id": -int(membership["id"]),
            "alias": f"v{membership['version_index']}",
            "collection_id": membership["collection_id"],
            "artifact_id": membership["artifact_id"],
        }
        return cls(ctx, row, versions)  # type: ignore[arg-type]

    @property
    def id(self) -> str:
        pk = int(self.row["id"])
        return ids.encode("ArtifactAlias", pk) if pk > 0 else ids.encode("ArtifactVersionAlias", -pk)

    def artifact(self) -> ArtifactNode | None:
        return artifact_node(self.ctx, self.row["artifact_id"])

    def _collection(self) -> Row | None:
        if self.versions is not None:
            return self.versions.collection(self.row["collection_id"])
        return self.ctx.store.collections_by_id([self.row["collection_id"]]).get(self.row["collection_id"])

    def artifact_collection(self) -> CollectionNode | None:
        row = self._collection()
        return None if row is None or row["state"] != "READY" else CollectionNode(self.ctx, row)

    def artifact_sequence(self) -> CollectionNode | None:
        """The legacy personality's `ArtifactAlias.artifactSequence`: the collection if it is a sequence."""
        row = collection_by_id(self.ctx.store, self.row["collection_id"])
        return None if row is None or row["kind"] != "SEQUENCE" else CollectionNode(self.ctx, row)

    def artifact_collection_name(self) -> str:
        row = self._collection()
        return "" if row is None else str(row["name"])


class TagNode(Node):
    typename = "Tag"

    @property
    def id(self) -> str:
        return ids.encode("Tag", self.pk)

    @property
    def tag_category_name(self) -> str:
        return str(self.row["category"])


# ------------------------------------------------------------------------- versions


def artifact_node(ctx: Context, artifact_id: int) -> ArtifactNode | None:
    row = artifact_by_id(ctx.store, artifact_id)
    return None if row is None or not ctx.may_see_version(row) else ArtifactNode(ctx, row)


class Versions:
    """The versions resolved together (one listed page, or one version alone).

    What their fields need beyond their own rows (memberships, aliases, tags, types, collections)
    is read for all of them with one query per kind, the first time any of them asks.
    """

    def __init__(self, store: Store, rows: Sequence[Row]) -> None:
        self.store = store
        self.rows = rows
        self._loaded: dict[str, Any] = {}

    def _load(self, kind: str, fetch: Callable[[], Any]) -> Any:
        if kind not in self._loaded:
            self._loaded[kind] = fetch()
        return self._loaded[kind]

    def _ids(self) -> list[int]:
        return [int(r["id"]) for r in self.rows]

    def memberships(self, artifact_id: int) -> list[Row]:
        """The version's memberships (live collections or not), oldest first."""
        by_artifact: dict[int, list[Row]] = self._load(
            "memberships", lambda: _grouped(self.store.memberships_of_artifacts(self._ids()), "artifact_id")
        )
        return by_artifact.get(artifact_id, [])

    def aliases(self, collection_id: int, artifact_id: int) -> list[Row]:
        """The alias rows of one version in one collection, oldest first."""
        by_pair: dict[tuple[int, int], list[Row]] = self._load(
            "aliases",
            lambda: _grouped(self.store.aliases_of_artifacts(self._ids()), "collection_id", "artifact_id"),
        )
        return by_pair.get((collection_id, artifact_id), [])

    def tags(self, artifact_id: int) -> list[Row]:
        by_artifact: dict[int, list[Row]] = self._load(
            "tags", lambda: _grouped(self.store.tags_of_artifacts(self._ids()), "artifact_id")
        )
        return by_artifact.get(artifact_id, [])

    def artifact_type(self, type_id: int) -> Row | None:
        types: dict[int, Row] = self._load(
            "types", lambda: self.store.artifact_types_by_id(sorted({int(r["type_id"]) for r in self.rows}))
        )
        return types.get(type_id)

    def collection(self, collection_id: int) -> Row | None:
        """A collection these versions belong to (by membership or as their sequence), any state."""

        def fetch() -> dict[int, Row]:
            wanted = {int(r["sequence_id"]) for r in self.rows}
            for artifact_id in self._ids():
                wanted.update(int(m["collection_id"]) for m in self.memberships(artifact_id))
            return self.store.collections_by_id(sorted(wanted))

        collections: dict[int, Row] = self._load("collections", fetch)
        if collection_id not in collections:  # not one of ours: ask for it alone
            return self.store.collections_by_id([collection_id]).get(collection_id)
        return collections[collection_id]


def _grouped(rows: list[Row], *keys: str) -> dict[Any, list[Row]]:
    result: dict[Any, list[Row]] = {}
    for row in rows:
        key = int(row[keys[0]]) if len(keys) == 1 else tuple(int(row[k]) for k in keys)
        result.setdefault(key, []).append(row)
    return result


class ArtifactNode(Node):
    typename = "Artifact"

    def __init__(self, ctx: Context, row: Row, versions: Versions | None = None) -> None:
        super().__init__(ctx, row)
        self.versions = versions if versions is not None else Versions(ctx.store, [row])

    @property
    def id(self) -> str:
        return ids.encode("Artifact", self.pk)

    digest_algorithm = "MANIFEST_MD5"
    labels = None

    @property
    def metadata(self) -> str | None:
        return _json_or_none(self.row["metadata"])

    @property
    def storage_bytes(self) -> int:
        return int(self.row["size"])

    @property
    def ttl_is_inherited(self) -> bool:
        return bool(self.row["ttl_is_inherited"])

    def _membership(self, collection_name: str | None) -> Row | None:
        """The membership in the named live collection, or in the version's own sequence."""
        for membership in self.versions.memberships(self.pk):
            if collection_name is None:
                if membership["collection_id"] == self.row["sequence_id"]:
                    return membership
            elif membership["collection_name"] == collection_name and membership["collection_state"] == "READY":
                return membership
        return None

    def version_index(self, artifact_collection_name: str | None = None) -> int | None:
        membership = self._membership(artifact_collection_name)
        return None if membership is None else int(membership["version_index"])

    def commit_hash(self, artifact_collection_name: str | None = None) -> str | None:
        return None if self.row["state"] != "COMMITTED" else str(self.row["digest"])[:12]

    def _visible_collection(self, collection_id: int) -> bool:
        """Whether a collection the version is in lies in a project the caller may see (a version
        reached through a registry does not show the aliases of a team project hidden from them,
        nor the other way round)."""
        collection = self.versions.collection(collection_id)
        return collection is not None and project_node(self.ctx, collection["project_id"]) is not None

    def aliases(self, artifact_collection_name: str | None = None) -> list[AliasNode]:
        result: list[AliasNode] = []
        for membership in self.versions.memberships(self.pk):
            if membership["collection_state"] != "READY":
                continue
            if artifact_collection_name is not None and membership["collection_name"] != artifact_collection_name:
                continue
            if not self._visible_collection(membership["collection_id"]):
                continue
            result.append(AliasNode.for_version(self.ctx, membership, self.versions))
            rows = self.versions.aliases(membership["collection_id"], self.pk)
            result.extend(AliasNode(self.ctx, r, self.versions) for r in rows)
        return result

    def artifact_type(self) -> ArtifactTypeNode:
        row = self.versions.artifact_type(self.row["type_id"])
        assert row is not None
        return ArtifactTypeNode(self.ctx, row)

    def artifact_collections(self, **page: Any) -> Connection[CollectionNode]:
        """The collections the version is in, in projects the caller may see."""
        return collections_connection(self.ctx, "artifact", self.pk, caller=self.ctx.caller, **page)

    def artifact_memberships(self, **page: Any) -> Connection[MembershipNode]:
        """The version's memberships (its sequence, every portfolio it is linked into) in projects
        the caller may see."""
        query = listings.artifact_memberships(self.pk, self.ctx.caller)
        return Connection(self.ctx.store, query, lambda r: MembershipNode(self.ctx, r), **page)

    def artifact_sequence(self) -> CollectionNode:
        row = self.versions.collection(self.row["sequence_id"])
        assert row is not None
        return CollectionNode(self.ctx, row)

    def created_by(self) -> RunNode | UserNode | None:
        """The run that logged the version (None once it is deleted), else the user who uploaded it."""
        if self.row["created_by_run_id"] is not None:
            row = self.ctx.store.run_by_id(self.row["created_by_run_id"])
            if row is None or project_node(self.ctx, row["project_id"]) is None:  # gone, or in a hidden project
                return None
            return RunNode(self.ctx, row)
        if self.row["logged_by_run"]:
            return None
        if self.row["created_by_user_id"] is not None:
            row = self.ctx.store.user_by_id(self.row["created_by_user_id"])
            return None if row is None else UserNode(self.ctx, row)
        return None

    @property
    def used_count(self) -> int:
        return self.ctx.store.usage_count(self.pk)

    def used_by(self, filters: str | None = None, order: str | None = None, **page: Any) -> Connection[RunNode]:
        """The runs that used the version, in projects the caller may see."""
        query = listings.runs_using(self.pk, self.ctx.caller)
        return Connection(self.ctx.store, query, lambda r: RunNode(self.ctx, r), **page)

    def current_manifest(self) -> ManifestNode | None:
        row = self.ctx.store.latest_manifest(self.pk)
        return None if row is None else ManifestNode(self.ctx, row)

    def files(
        self, names: list[str] | None = None, content_type: list[str] | None = None, **page: Any
    ) -> Connection[FileNode] | None:
        return files_connection(self.ctx, self.pk, names, **page)

    def tags(self) -> list[TagNode]:
        return [TagNode(self.ctx, r) for r in self.versions.tags(self.pk)]


class ManifestNode(Node):
    typename = "ArtifactManifest"

    @property
    def id(self) -> str:
        return ids.encode("ArtifactManifest", self.pk)

    def artifact(self) -> ArtifactNode | None:
        row = artifact_by_id(self.ctx.store, self.row["artifact_id"], include_deleted=True)
        return None if row is None or not self.ctx.may_see_version(row) else ArtifactNode(self.ctx, row)

    def file(self) -> ManifestFileNode:
        return ManifestFileNode(self.ctx, self.row)


class ManifestFileNode(Node):
    """The manifest JSON seen as a `File`: downloadable once uploaded, uploadable until then."""

    typename = "File"

    @property
    def id(self) -> str:
        return ids.encode("ManifestFile", self.pk)

    name = "wandb_manifest.json"
    display_name = "wandb_manifest.json"
    mimetype = "application/json"
    is_reference = False
    upload_multipart_urls = None
    storage_path = None

    @property
    def size_bytes(self) -> int:
        md5 = self.row["blob_md5"]
        if md5 is None:
            return 0
        return self.ctx.store.blob_size(md5)

    @property
    def md5(self) -> str | None:
        from ..manifest import md5_hex_to_b64

        return None if self.row["blob_md5"] is None else md5_hex_to_b64(self.row["blob_md5"])

    digest = md5

    @property
    def exists(self) -> bool:
        return self.row["blob_md5"] is not None

    @property
    def direct_url(self) -> str:
        md5 = self.row["blob_md5"]
        if md5 is None:  # not uploaded yet: the upload URL, signed only for whoever may upload
            return self.upload_url or f"{self.ctx.urls.base_url}/storage/manifests/{self.pk}"
        return self.ctx.urls.blob_url(md5, self.name)

    def url(self, upload: bool | None = None) -> str | None:
        return self.upload_url if upload else self.direct_url

    @property
    def upload_url(self) -> str | None:
        if not self.ctx.may_upload(self.row["artifact_id"]):
            return None
        return self.ctx.urls.manifest_upload_url(self.row)

    upload_headers: tuple[str, ...] = ()

    def artifact(self) -> ArtifactNode | None:
        return artifact_node(self.ctx, self.row["artifact_id"])

    created_at = None
    updated_at = None


def files_connection(ctx: Context, artifact_id: int, names: list[str] | None, **page: Any) -> Connection[FileNode]:
    return Connection(ctx.store, listings.files(artifact_id, names), lambda r: FileNode(ctx, r), **page)


class FileNode(Node):
    """A file of an artifact version; its `name` is the manifest path."""

    typename = "File"
    upload_multipart_urls = None

    @property
    def id(self) -> str:
        return ids.encode("File", self.pk)

    @property
    def name(self) -> str:
        return str(self.row["path"])

    display_name = name

    @property
    def size_bytes(self) -> int:
        return int(self.row["size"])

    @property
    def md5(self) -> str | None:
        return None if self.row["ref"] else str(self.row["digest"])

    @property
    def digest(self) -> str:
        return str(self.row["digest"])

    @property
    def is_reference(self) -> bool:
        return self.row["ref"] is not None

    @property
    def storage_path(self) -> str | None:
        md5 = self.row["md5_hex"]
        return None if md5 is None else _blob_path(md5)

    @property
    def exists(self) -> bool:
        md5 = self.row["md5_hex"]
        return md5 is not None and self.ctx.blobs.exists(md5)

    @property
    def direct_url(self) -> str:
        if self.row["ref"]:
            return str(self.row["ref"])
        return self.ctx.urls.blob_url(self.row["md5_hex"], self.row["path"])

    def url(self, upload: bool | None = None) -> str | None:
        return self.upload_url if upload else self.direct_url

    @property
    def upload_url(self) -> str | None:
        md5 = self.row["md5_hex"]
        if md5 is None or self.ctx.blobs.exists(md5):
            return None
        version = self.ctx.upload_version(self.row["artifact_id"])
        return None if version is None else self.ctx.urls.blob_upload_url(md5, version)

    @property
    def upload_headers(self) -> list[str]:
        return [] if self.row["ref"] else [f"Content-MD5:{self.row['digest']}"]

    def artifact(self) -> ArtifactNode | None:
        return artifact_node(self.ctx, self.row["artifact_id"])

    created_at = None
    updated_at = None


# ------------------------------------------------------------------------- runs


class RunNode(Node):
    typename = "Run"

    @property
    def id(self) -> str:
        return ids.encode("Run", self.pk)

    @property
    def project_id(self) -> str:
        # W&B answers the project's numeric internal id here; both official clients int() it.
        return str(self.row["project_id"])

    def project(self) -> ProjectNode | None:
        return project_node(self.ctx, self.row["project_id"])

    @property
    def config(self) -> str:
        return self.row["config"] or "{}"

    @property
    def summary_metrics(self) -> str:
        return self.row["summary_metrics"] or "{}"

    system_metrics = "{}"
    history_keys: dict[str, Any] = {}  # noqa: RUF012 - a constant, never mutated
    history_line_count = 0
    read_only = False

    @property
    def stopped(self) -> bool:
        return self.ctx.store.run_stop_requested(self.pk)

    @property
    def tags(self) -> list[str]:
        value = json.loads(self.row["tags"] or "[]")
        return [str(t) for t in value]

    @property
    def group(self) -> str | None:
        return _text_or_none(self.row["group_name"])

    @property
    def commit(self) -> str | None:
        return _text_or_none(self.row["commit_hash"])

    def user(self) -> UserNode | None:
        if self.row["user_id"] is None:
            return None
        row = self.ctx.store.user_by_id(self.row["user_id"])
        return None if row is None else UserNode(self.ctx, row)

    @property
    def file_count(self) -> int:
        return self.ctx.store.run_file_count(self.pk)

    def files(
        self, names: list[str | None] | None = None, pattern: str | None = None, **page: Any
    ) -> Connection[RunFileNode]:
        wanted = [name for name in names or () if name is not None]
        if len(wanted) > MAX_FILE_NAMES:
            raise BadInput(f"at most {MAX_FILE_NAMES} file names per request")
        if pattern is not None and len(pattern) > MAX_FILE_PATTERN:
            raise BadInput(f"a file name pattern has at most {MAX_FILE_PATTERN} characters")
        query = listings.run_files(self.pk, wanted, pattern)
        return Connection(self.ctx.store, query, lambda r: RunFileNode(self.ctx, r), **page)

    def output_artifacts(
        self, order: str | None = None, filters: str | None = None, **page: Any
    ) -> Connection[ArtifactNode]:
        return versions_connection(
            self.ctx, "run_output", self.pk, order=order, filters=filters, edge_fields=lambda r: {}, **page
        )

    def input_artifacts(
        self, order: str | None = None, filters: str | None = None, **page: Any
    ) -> Connection[ArtifactNode]:
        """The versions the run used that the caller may see: a version logged in a team project and
        used through a registry is left out for whoever sees the run but neither the team's project
        nor the registry."""
        return versions_connection(
            self.ctx,
            "run_input",
            self.pk,
            order=order,
            filters=filters,
            edge_fields=lambda r: {"usedAs": [r["u_used_as"]] if r["u_used_as"] else []},
            reader=self.ctx.caller,
            home_project=int(self.row["project_id"]),
            **page,
        )


MAX_FILE_NAMES = 1000
MAX_FILE_PATTERN = 256


def run_row(ctx: Context, run_id: int) -> Row | None:
    """A run's row, read once per request (a listing of its files asks for it per file)."""
    key = ("run", run_id)
    if key not in ctx.cache:
        ctx.cache[key] = ctx.store.run_by_id(run_id)
    row: Row | None = ctx.cache[key]
    return row


class RunFileNode(Node):
    """A file of a run (GraphQL `File`, like a version's files); its bytes are a blob."""

    typename = "File"
    upload_multipart_urls = None
    upload_headers: tuple[str, ...] = ()
    is_reference = False
    artifact = None

    @property
    def id(self) -> str:
        return ids.encode("RunFile", self.pk)

    @property
    def display_name(self) -> str:
        return str(self.row["name"])

    @property
    def size_bytes(self) -> int:
        return int(self.row["size"])

    @property
    def md5(self) -> str:
        return md5_hex_to_b64(self.row["md5_hex"])

    digest = md5

    @property
    def storage_path(self) -> str:
        return _blob_path(self.row["md5_hex"])

    @property
    def exists(self) -> bool:
        return self.ctx.blobs.exists(self.row["md5_hex"])

    @property
    def direct_url(self) -> str:
        return self.ctx.urls.blob_url(self.row["md5_hex"], self.row["name"])

    @property
    def upload_url(self) -> str | None:
        """Handed to whoever may change the run (its owner, an admin), as `createRunFiles` does."""
        run = run_row(self.ctx, self.row["run_id"])
        if run is None or not self.ctx.may_change_run(run["user_id"]):
            return None
        return self.ctx.urls.run_file_upload_url(run, self.row["name"])

    def url(self, upload: bool | None = None) -> str | None:
        return self.upload_url if upload else self.direct_url


# ------------------------------------------------------------------------- server


class ServerInfoNode:
    typename = "ServerInfo"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @property
    def cli_version_info(self) -> dict[str, str]:
        return {"max_cli_version": self.ctx.settings.max_cli_version, "min_cli_version": "0.10.0"}

    @property
    def latest_local_version_info(self) -> dict[str, Any]:
        version = self.ctx.settings.max_cli_version
        return {
            "outOfDate": False,
            "latestVersionString": version,
            "versionOnThisInstanceString": version,
        }

    @property
    def features(self) -> list[dict[str, Any]]:
        return [{"name": name, "isEnabled": True} for name in self.ctx.settings.features]
