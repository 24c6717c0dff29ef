"""Artifact collections: sequences (where versions are logged) and portfolios (links to versions).

Also the server-capability functions: which edge family (`artifactCollection(s)` or the legacy
`artifactSequence(s)`) a server has. Each family has its own typed operations; documents are
never rewritten at run time.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

from ._graphql import Session
from ._pagination import DEFAULT_PER_PAGE, Page, PageFetcher, Paginator
from ._paths import check_part
from .artifact_types import project_not_found
from .errors import InvalidNameError, NotFoundError, UnsupportedError

if TYPE_CHECKING:
    from ._generated.fragments import ArtifactCollectionFields, SequenceFields
    from .api import Api
    from .artifacts import Artifacts

_TAG = re.compile(r"^[-\w]+([ ]+[-\w]+)*$")
COLLECTION_NAME_FORM = "letters, digits, '-', '_' and '.', at most 128 characters"
TYPE_NAME_FORM = "a type name such as 'dataset' or 'model': letters, digits, '-', '_' and '.'"
RESERVED_TYPE_PREFIX = "wandb-"


def server_supports_artifact_collections_gql_edges(client: Session | Api, warn: bool = False) -> bool:
    """Whether the server has the `artifactCollection(s)` edges (W&B server 0.12.11 and later).

    `client` is an `Api` or its `client`. Probed once per client (one `serverInfo` request) and
    cached; with `warn=True` an older server also triggers a `UserWarning`.
    """
    session = client if isinstance(client, Session) else client.client
    supported = session.supports_collection_edges
    if not supported and warn:
        warnings.warn(
            "this W&B server predates artifact collections: only sequences are visible, portfolios are not",
            UserWarning,
            stacklevel=2,
        )
    return supported


def artifact_collection_edge_name(server_supports_artifact_collections: bool) -> str:
    """The field naming one collection of a type: `artifactCollection` or legacy `artifactSequence`."""
    return "artifactCollection" if server_supports_artifact_collections else "artifactSequence"


def artifact_collection_plural_edge_name(server_supports_artifact_collections: bool) -> str:
    """The field listing the collections of a type: `artifactCollections` or legacy `artifactSequences`."""
    return "artifactCollections" if server_supports_artifact_collections else "artifactSequences"


def check_tags(tags: Iterable[str]) -> list[str]:
    result = []
    for tag in tags:
        if not isinstance(tag, str) or len(tag) > 128 or not _TAG.match(tag):
            raise InvalidNameError(
                f"tag {tag!r} is not valid", expected="letters, digits, '-', '_' and single inner spaces, at most 128"
            )
        result.append(tag)
    return list(dict.fromkeys(result))


def _as_collection_fields(legacy: SequenceFields) -> ArtifactCollectionFields:
    """A sequence read through the legacy edges, as the interface fragment the facade uses."""
    from ._generated.fragments import ArtifactCollectionFields

    return ArtifactCollectionFields.model_validate(legacy.model_dump(by_alias=True))


class ArtifactCollections(Paginator["ArtifactCollection"]):
    """The collections of one artifact type in a project, counted by the server."""

    def __init__(
        self,
        client: Session,
        entity: str,
        project: str,
        type_name: str,
        per_page: int = DEFAULT_PER_PAGE,
        *,
        filters: dict[str, Any] | None = None,
        order: str | None = None,
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
        found = self._modern_page(cursor) if self.client.supports_collection_edges else self._legacy_page(cursor)
        if found is None:
            self._raise_missing()
        items = [
            ArtifactCollection(self.client, self.entity, self.project, node.name, self.type_name, attrs=node)
            for node in found.items
        ]
        return Page(items, found.end_cursor, found.has_next, found.total_count)

    @property
    def _what(self) -> str:
        return f"listing the {self.type_name!r} collections of {self.entity}/{self.project}"

    def _modern_page(self, cursor: str | None) -> Page[ArtifactCollectionFields] | None:
        result = self.client.call(
            lambda c: c.type_artifact_collections(
                self.entity,
                self.project,
                self.type_name,
                cursor=cursor,
                per_page=self.per_page,
                filters=self.filters,
                order=self.order,
            ),
            self._what,
        )
        type_node = None if result.project is None else result.project.artifact_type
        if type_node is None:
            return None
        connection = type_node.artifact_collections
        if connection is None:
            return Page([], None, False, 0)
        nodes = [e.node for e in connection.edges if e.node is not None]
        return Page.of(connection, nodes, connection.total_count)

    def _legacy_page(self, cursor: str | None) -> Page[ArtifactCollectionFields] | None:
        result = self.client.call(
            lambda c: c.legacy_type_artifact_collections(
                self.entity,
                self.project,
                self.type_name,
                cursor=cursor,
                per_page=self.per_page,
                filters=self.filters,
                order=self.order,
            ),
            self._what,
        )
        type_node = None if result.project is None else result.project.artifact_type
        if type_node is None:
            return None
        connection = type_node.artifact_sequences
        if connection is None:
            return Page([], None, False, 0)
        nodes = [_as_collection_fields(e.node) for e in connection.edges if e.node is not None]
        return Page.of(connection, nodes, connection.total_count)

    def _raise_missing(self) -> NoReturn:
        from .artifact_types import ArtifactType

        ArtifactType(self.client, self.entity, self.project, self.type_name)  # raises the precise NotFoundError
        raise NotFoundError(
            f"artifact type {self.type_name!r} not found in {self.entity}/{self.project}", kind="artifact type"
        )

    def __repr__(self) -> str:
        return f"<ArtifactCollections {self.entity}/{self.project} type={self.type_name}>"


class ArtifactCollection:
    """A collection of artifact versions; edit `name`, `description`, `tags`, `type`, then `save()`.

    A sequence is where versions are logged; a portfolio holds links to versions of sequences.
    Reading properties costs no request, except `aliases` (one listing, on first use).
    """

    def __init__(
        self,
        client: Session,
        entity: str,
        project: str,
        name: str,
        type: str,
        organization: str | None = None,
        attrs: ArtifactCollectionFields | None = None,
    ) -> None:
        self.client = client
        self.entity = entity
        self.project = project
        self.organization = organization
        self._aliases: list[str] | None = None
        self._set_attrs(attrs if attrs is not None else self._fetch(name, type))

    def _set_attrs(self, attrs: ArtifactCollectionFields) -> None:
        self._attrs = attrs
        self._saved_name = attrs.name
        self._saved_description = attrs.description
        self._saved_type = attrs.default_artifact_type.name
        self._saved_tags = [edge.node.name for edge in attrs.tags.edges]
        self.name: str = self._saved_name
        self.description: str | None = self._saved_description
        self.type: str = self._saved_type
        self.tags: list[str] = list(self._saved_tags)

    def _fetch(self, name: str, type_name: str) -> ArtifactCollectionFields:
        what = f"loading collection {self.entity}/{self.project}/{name} of type {type_name!r}"
        project_found: bool
        type_found: bool
        node: ArtifactCollectionFields | None
        if self.client.supports_collection_edges:
            result = self.client.call(
                lambda c: c.type_artifact_collection(self.entity, self.project, type_name, name), what
            )
            type_node = None if result.project is None else result.project.artifact_type
            project_found, type_found = result.project is not None, type_node is not None
            node = None if type_node is None else type_node.artifact_collection
        else:
            legacy = self.client.call(
                lambda c: c.legacy_type_artifact_collection(self.entity, self.project, type_name, name), what
            )
            legacy_type = None if legacy.project is None else legacy.project.artifact_type
            project_found, type_found = legacy.project is not None, legacy_type is not None
            sequence = None if legacy_type is None else legacy_type.artifact_sequence
            node = None if sequence is None else _as_collection_fields(sequence)
        if not project_found:
            raise project_not_found(self.entity, self.project)
        if not type_found:
            raise NotFoundError(
                f"artifact type {type_name!r} not found in {self.entity}/{self.project}",
                kind="artifact type",
                path=f"{self.entity}/{self.project}",
            )
        if node is None:
            raise NotFoundError(
                f"collection {name!r} of type {type_name!r} not found in {self.entity}/{self.project}",
                kind="collection",
                path=f"{self.entity}/{self.project}/{name}",
            )
        return node

    def load(self) -> ArtifactCollection:
        """Fetch the collection again, dropping unsaved edits; returns this object, refreshed."""
        self._set_attrs(self._fetch(self._saved_name, self._saved_type))
        self._aliases = None
        return self

    # -- read-only properties ---------------------------------------------------------------

    @property
    def id(self) -> str:
        """The server's global ID of the collection."""
        return self._attrs.id

    @property
    def created_at(self) -> datetime:
        return self._attrs.created_at

    @property
    def updated_at(self) -> datetime | None:
        return self._attrs.updated_at

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
        what = f"listing the aliases of collection {self._saved_name!r}"
        page: Page[str] | None = None
        if self.client.supports_collection_edges:
            modern = self.client.call(lambda c: c.collection_aliases(self.id, cursor=cursor, per_page=per_page), what)
            if modern.artifact_collection is not None:
                aliases = modern.artifact_collection.aliases
                names = [edge.node.alias for edge in aliases.edges if edge.node is not None]
                page = Page.of(aliases, names)
        else:
            legacy = self.client.call(
                lambda c: c.legacy_collection_aliases(self.id, cursor=cursor, per_page=per_page), what
            )
            if legacy.artifact_sequence is not None:
                seq_aliases = legacy.artifact_sequence.aliases
                names = [edge.node.alias for edge in seq_aliases.edges if edge.node is not None]
                page = Page.of(seq_aliases, names)
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
        *,
        filters: dict[str, Any] | None = None,
        order: str | None = None,
        tags: str | list[str] | None = None,
        start: str | None = None,
    ) -> Artifacts:
        """The versions in this collection, newest first unless `order` says otherwise."""
        from .artifacts import Artifacts

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
        updated: ArtifactCollectionFields | None
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
