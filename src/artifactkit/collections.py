"""Artifact collections: sequences (where versions are logged) and portfolios (links to versions).

Whether a server reads them through the `artifactCollection(s)` edges or the legacy
`artifactSequence(s)` is `_capabilities`' business; the capability helpers are importable from
here too, as in W&B's client.
"""

from __future__ import annotations

import warnings
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from . import _lookups
from ._capabilities import (
    artifact_collection_edge_name,
    artifact_collection_plural_edge_name,
    server_supports_artifact_collections_gql_edges,
)
from ._client import Client
from ._pagination import DEFAULT_PER_PAGE, Page, PageFetcher, Paginator
from ._paths import (
    COLLECTION_NAME_FORM,
    RESERVED_TYPE_PREFIX,
    TYPE_NAME_FORM,
    check_part,
    check_tags,
    is_registry_project,
)
from ._times import parse_optional_server_time, parse_server_time
from .artifacts import Artifacts
from .errors import NotFoundError, UnsupportedError
from .organizations import require_registries, resolve_org

if TYPE_CHECKING:
    from ._generated.fragments import ArtifactCollectionFields

__all__ = [
    "ArtifactCollection",
    "ArtifactCollections",
    "ProjectArtifactCollections",
    "artifact_collection_edge_name",
    "artifact_collection_plural_edge_name",
    "server_supports_artifact_collections_gql_edges",
]


class _NameAndDescription(Protocol):
    """What a collection write reads back."""

    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str | None: ...


class ArtifactCollections(Paginator["ArtifactCollection"]):
    """The collections of one artifact type in a project, counted by the server."""

    def __init__(
        self,
        client: Client,
        entity: str,
        project: str,
        type_name: str,
        filters: dict[str, Any] | None = None,
        order: str | None = None,
        per_page: int = DEFAULT_PER_PAGE,
        start: str | None = None,
    ) -> None:
        super().__init__(per_page, start=start)
        self.client = client
        self.entity = entity
        self.project = project
        self.type_name = type_name
        self.filters = filters
        self.order = order

    def _fetch_page(self, cursor: str | None) -> Page[ArtifactCollection]:
        found = self.client.operations.type_collections(
            self.entity,
            self.project,
            self.type_name,
            cursor=cursor,
            per_page=self.per_page,
            filters=self.filters,
            order=self.order,
        )
        if found is None:
            _lookups.artifact_type(self.client, self.entity, self.project, self.type_name)  # the precise error
            raise _lookups.type_not_found(self.client, self.entity, self.project, self.type_name, path="")
        items = [ArtifactCollection._from_attrs(self.client, self.entity, self.project, node) for node in found.items]
        return Page(items, found.end_cursor, found.has_next, found.total_count)

    def __repr__(self) -> str:
        return f"<ArtifactCollections {self.entity}/{self.project} type={self.type_name}>"


class ProjectArtifactCollections(Paginator["ArtifactCollection"]):
    """Every collection of a project, of any type (`Project.collections()`), counted by the server.

    Servers older than 0.12.11 cannot list a project's collections: list them per type there
    (`api.artifact_collections(project, type)`).
    """

    def __init__(
        self,
        client: Client,
        entity: str,
        project: str,
        filters: dict[str, Any] | None = None,
        order: str | None = None,
        per_page: int = DEFAULT_PER_PAGE,
        start: str | None = None,
    ) -> None:
        super().__init__(per_page, start=start)
        self.client = client
        self.entity = entity
        self.project = project
        self.filters = filters
        self.order = order

    def _fetch_page(self, cursor: str | None) -> Page[ArtifactCollection]:
        where = f"{self.entity}/{self.project}"
        if not self.client.supports_collection_edges:
            raise UnsupportedError(
                f"this W&B server predates listing every collection of a project; list {where}'s per type"
            )
        result = self.client.call(
            lambda c: c.project_collections(
                self.entity, self.project, cursor=cursor, per_page=self.per_page, filters=self.filters, order=self.order
            ),
            f"listing the collections of {where}",
        )
        if result.project is None:
            raise _lookups.project_not_found(self.client, self.entity, self.project)
        connection = result.project.artifact_collections
        if connection is None:
            return Page([], None, False, 0)
        items = [
            ArtifactCollection._from_attrs(self.client, self.entity, self.project, edge.node)
            for edge in connection.edges
            if edge.node is not None
        ]
        return Page.of(connection, items, connection.total_count)

    def __repr__(self) -> str:
        return f"<ProjectArtifactCollections {self.entity}/{self.project}>"


class ArtifactCollection:
    """A collection of artifact versions; edit `name`, `description`, `tags`, `type`, then `save()`.

    A sequence is where versions are logged; a portfolio holds links to versions of sequences.
    Reading properties costs no request, except `aliases` (one listing) and `project_internal_id`
    (one lookup), each on first use.
    """

    def __init__(
        self,
        client: Client,
        entity: str,
        project: str,
        name: str,
        type: str,
        organization: str | None = None,
    ) -> None:
        """Load the collection `entity/project/name` of type `type` (one request).

        For a registry (`project` is `wandb-registry-*`), `organization` names the organization (or
        its entity) whose registry it is: the collection is then looked up in that organization's
        entity, decided as for registry paths from `entity` (one more request, once per client),
        and `organization` holds the organization's name.
        """
        if organization is not None and is_registry_project(project):
            require_registries(client, "a registry collection")
            org = resolve_org(client, entity, organization)
            entity, organization = org.entity_name, org.name
        self._init(client, entity, project, organization, _lookups.collection(client, entity, project, type, name))

    @classmethod
    def _from_attrs(
        cls,
        client: Client,
        entity: str,
        project: str,
        attrs: ArtifactCollectionFields,
        organization: str | None = None,
    ) -> ArtifactCollection:
        self = cls.__new__(cls)
        self._init(client, entity, project, organization, attrs)
        return self

    def _init(
        self, client: Client, entity: str, project: str, organization: str | None, attrs: ArtifactCollectionFields
    ) -> None:
        self.client = client
        self._entity = entity
        self._project = project
        self.organization = organization
        self._aliases: list[str] | None = None
        self._internal_id: str | None = None
        self._set_attrs(attrs)

    def _set_attrs(self, attrs: ArtifactCollectionFields) -> None:
        self._attrs = attrs
        self._saved_name = attrs.name
        self._saved_description = attrs.description
        self._saved_type = attrs.default_artifact_type.name
        self._saved_tags = [edge.node.name for edge in attrs.tags.edges]
        self._name: str = self._saved_name
        self._description: str | None = self._saved_description
        self._type: str = self._saved_type
        self._tags: list[str] = list(self._saved_tags)

    # -- what `save()` sends ----------------------------------------------------------------

    @property
    def name(self) -> str:
        """The collection's name; set it and `save()` to rename the collection."""
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    @property
    def description(self) -> str | None:
        """The collection's description, yours to edit before `save()`."""
        return self._description

    @description.setter
    def description(self, value: str | None) -> None:
        self._description = value

    @property
    def type(self) -> str:
        """The artifact type's name; set it and `save()` to move a sequence to another type."""
        return self._type

    @type.setter
    def type(self, value: str) -> None:
        self._type = value

    @property
    def tags(self) -> list[str]:
        """The collection's tags, yours to edit before `save()`."""
        return self._tags

    @tags.setter
    def tags(self, value: list[str]) -> None:
        self._tags = value

    def load(self) -> ArtifactCollection:
        """Fetch the collection again, dropping unsaved edits; returns this object, refreshed."""
        self._set_attrs(_lookups.collection(self.client, self.entity, self.project, self._saved_type, self._saved_name))
        self._aliases = None
        return self

    # -- read-only properties ---------------------------------------------------------------

    @property
    def id(self) -> str:
        """The server's global ID of the collection."""
        return self._attrs.id

    @property
    def entity(self) -> str:
        """The entity (user or team) of the collection's project."""
        return self._entity

    @property
    def project(self) -> str:
        """The name of the collection's project."""
        return self._project

    @property
    def project_id(self) -> str:
        """The GraphQL ID of the collection's project."""
        project = self._attrs.project
        if project is None:
            raise NotFoundError(f"the server did not say which project {self._saved_name!r} belongs to", kind="project")
        return project.id

    @property
    def project_internal_id(self) -> str | None:
        """The project's `internalId` (base64 of `ProjectInternalId:<n>`), asked once on first use; None if
        the server has none for it. Servers before 2024 have no such field and answer with an error."""
        if self._internal_id is None:
            result = self.client.call(
                lambda c: c.project_internal_id(self._entity, self._project),
                f"asking for the internal ID of project {self._entity}/{self._project}",
            )
            if result.project is None:
                return None
            self._internal_id = result.project.internal_id
        return self._internal_id

    @property
    def created_at(self) -> str:
        """When the collection was created, as the server wrote it; see `created_at_datetime`."""
        return self._attrs.created_at

    @property
    def created_at_datetime(self) -> datetime:
        """`created_at` as a timezone-aware UTC `datetime`."""
        return parse_server_time(self._attrs.created_at)

    @property
    def updated_at(self) -> str | None:
        """When the collection was last changed, as the server wrote it; None if the server does not say."""
        return self._attrs.updated_at

    @property
    def updated_at_datetime(self) -> datetime | None:
        """`updated_at` as a timezone-aware UTC `datetime`."""
        return parse_optional_server_time(self._attrs.updated_at)

    def is_sequence(self) -> bool:
        """True for a sequence (versions are logged here), False for a portfolio (links)."""
        return self._attrs.typename__ == "ArtifactSequence"

    @property
    def aliases(self) -> list[str]:
        """The aliases set on versions of this collection (one listing, cached until `load()`)."""
        if self._aliases is None:
            self._aliases = list(PageFetcher(self._fetch_alias_page))
        return list(self._aliases)

    def _fetch_alias_page(self, cursor: str | None, per_page: int) -> Page[str]:
        page = self.client.operations.aliases(self.id, self._saved_name, cursor=cursor, per_page=per_page)
        if page is None:
            raise NotFoundError(
                f"collection {self.entity}/{self.project}/{self._saved_name} no longer exists",
                kind="collection",
                path=f"{self.entity}/{self.project}/{self._saved_name}",
            )
        return page

    # -- versions ---------------------------------------------------------------------------

    def artifacts(
        self,
        per_page: int = DEFAULT_PER_PAGE,
        start: str | None = None,
        *,
        filters: dict[str, Any] | None = None,
        order: str | None = None,
        tags: str | list[str] | None = None,
    ) -> Artifacts:
        """The versions in this collection, newest first unless `order` says otherwise, from cursor `start` on."""
        return Artifacts(
            self.client,
            self.entity,
            self.project,
            self._saved_name,
            self._saved_type,
            filters=filters,
            order=order,
            per_page=per_page,
            tags=tags,
            start=start,
        )

    # -- edits ------------------------------------------------------------------------------

    def change_type(self, new_type: str) -> None:
        """Deprecated: set `type` and call `save()` instead."""
        warnings.warn(
            "ArtifactCollection.change_type() is deprecated; set .type and call .save()",
            DeprecationWarning,
            stacklevel=2,
        )
        self._check_type_change(new_type)
        self.type = new_type
        self._save_type()

    def save(self) -> None:
        """Send every edit made since loading: name, description, type, tags.

        Everything is checked before the first request; only what changed is sent.
        """
        check_part("collection name", self.name, COLLECTION_NAME_FORM)
        tags = check_tags(self.tags)
        self._check_type_change(self.type)
        if tags != self._saved_tags and not self.client.operations.tags:
            where = f"{self.entity}/{self.project}/{self._saved_name}"
            raise UnsupportedError(f"this W&B server predates collection tags; {where} cannot be tagged")
        if self.name != self._saved_name or self.description != self._saved_description:
            self._save_name_and_description()
        self._save_type()
        self._save_tags(tags)

    def _check_type_change(self, new_type: str) -> None:
        if new_type == self._saved_type:
            return
        check_part("artifact type", new_type, TYPE_NAME_FORM)
        if not self.is_sequence():
            raise UnsupportedError(
                f"the type of portfolio {self._saved_name!r} cannot be changed; only sequences can move"
            )
        for type_name in (self._saved_type, new_type):
            if type_name.startswith(RESERVED_TYPE_PREFIX):
                raise UnsupportedError(f"artifact type {type_name!r} is reserved for W&B's own artifacts")

    def _save_name_and_description(self) -> None:
        from ._generated.input_types import UpdateArtifactPortfolioInput, UpdateArtifactSequenceInput

        what = f"saving collection {self.entity}/{self.project}/{self._saved_name}"
        updated: _NameAndDescription | None
        if self.is_sequence():
            sequence_input = UpdateArtifactSequenceInput(
                artifactSequenceID=self.id, name=self.name, description=self.description
            )
            seq = self.client.call(lambda c: c.update_artifact_sequence(sequence_input), what)
            updated = None if seq.update_artifact_sequence is None else seq.update_artifact_sequence.artifact_collection
        else:
            portfolio_input = UpdateArtifactPortfolioInput(
                artifactPortfolioID=self.id, name=self.name, description=self.description
            )
            port = self.client.call(lambda c: c.update_artifact_portfolio(portfolio_input), what)
            updated = (
                None if port.update_artifact_portfolio is None else port.update_artifact_portfolio.artifact_collection
            )
        self._saved_name = self.name if updated is None else updated.name
        self._saved_description = self.description if updated is None else updated.description

    def _save_type(self) -> None:
        from ._generated.input_types import MoveArtifactSequenceInput

        if self.type == self._saved_type:
            return
        move = MoveArtifactSequenceInput(artifactSequenceID=self.id, destination_artifact_type_name=self.type)
        self.client.call(
            lambda c: c.move_artifact_sequence(move),
            f"moving collection {self.entity}/{self.project}/{self._saved_name} to type {self.type!r}",
        )
        self._saved_type = self.type

    def _save_tags(self, tags: list[str]) -> None:
        from ._generated.input_types import (
            CreateArtifactCollectionTagAssignmentsInput,
            DeleteArtifactCollectionTagAssignmentsInput,
            TagInput,
        )

        added = [TagInput(tag_name=t) for t in tags if t not in self._saved_tags]
        removed = [TagInput(tag_name=t) for t in self._saved_tags if t not in tags]
        where = f"collection {self.entity}/{self.project}/{self._saved_name}"
        target = {
            "entity_name": self.entity,
            "project_name": self.project,
            "artifact_collection_name": self._saved_name,
        }
        if added:
            add = CreateArtifactCollectionTagAssignmentsInput(**target, tags=added)
            self.client.call(lambda c: c.add_collection_tags(add), f"tagging {where}")
        if removed:
            delete = DeleteArtifactCollectionTagAssignmentsInput(**target, tags=removed)
            self.client.call(lambda c: c.delete_collection_tags(delete), f"untagging {where}")
        self._saved_tags = list(tags)
        self.tags = list(tags)

    def delete(self) -> None:
        """Delete the collection: a sequence with every version logged to it, a portfolio with its links."""
        what = f"deleting collection {self.entity}/{self.project}/{self._saved_name}"
        if self.is_sequence():
            self.client.call(lambda c: c.delete_artifact_sequence(self.id), what)
        else:
            self.client.call(lambda c: c.delete_artifact_portfolio(self.id), what)

    def __repr__(self) -> str:
        kind = "sequence" if self.is_sequence() else "portfolio"
        return f"<ArtifactCollection {self.entity}/{self.project}/{self._saved_name} ({self._saved_type} {kind})>"
