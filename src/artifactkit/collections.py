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
from .artifact_types import project_not_found
from .errors import InvalidNameError, NotFoundError, UnsupportedError

if TYPE_CHECKING:
    from ._generated.fragments import ArtifactCollectionFields, SequenceFields
    from .artifacts import Artifacts

_TAG = re.compile(r"^[-\w]+([ ]+[-\w]+)*$")
_NAME = re.compile(r"^[A-Za-z0-9_\-.]+$")


def server_supports_artifact_collections_gql_edges(client: Session, warn: bool = False) -> bool:
    """Whether the server has the `artifactCollection(s)` edges (W&B server 0.12.11 and later).

    Probed once per client (one `serverInfo` request) and cached.
    """
    supported = client.supports_collection_edges
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
        return Page(nodes, connection.page_info.end_cursor, connection.page_info.has_next_page, connection.total_count)

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
        return Page(nodes, connection.page_info.end_cursor, connection.page_info.has_next_page, connection.total_count)

    def _raise_missing(self) -> NoReturn:
        from .artifact_types import ArtifactType

        ArtifactType(self.client, self.entity, self.project, self.type_name)  # raises the precise NotFoundError
        raise NotFoundError(
            f"artifact type {self.type_name!r} not found in {self.entity}/{self.project}", kind="artifact type"
        )

    def __repr__(self) -> str:
        return f"<ArtifactCollections {self.entity}/{self.project} type={self.type_name}>"


class ArtifactCollection:
    """A collection of artifact versions; edit `name`, `description`, `tags`, `type`, then `save()`."""

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
        self._requested = (name, type)
        self._set_attrs(attrs if attrs is not None else self._fetch(name, type))
        self._aliases: list[str] | None = None

    def _set_attrs(self, attrs: ArtifactCollectionFields) -> None:
        self._attrs = attrs
        self._saved_name = attrs.name
        self._saved_description = attrs.description
        self._saved_type = attrs.default_artifact_type.name
        self._saved_tags = [edge.node.name for edge in attrs.tags.edges]
        self.name = self._saved_name
        self.description = self._saved_description
        self.type = self._saved_type
        self.tags = list(self._saved_tags)

    def _fetch(self, name: str, type_name: str) -> ArtifactCollectionFields:
        what = f"loading collection {self.entity}/{self.project}/{name} of type {type_name!r}"
        # (project found, type found, collection) through whichever edge family the server has
        found: tuple[bool, bool, ArtifactCollectionFields | None]
        if self.client.supports_collection_edges:
            result = self.client.call(
                lambda c: c.type_artifact_collection(self.entity, self.project, type_name, name), what
            )
            type_node = None if result.project is None else result.project.artifact_type
            found = (
                result.project is not None,
                type_node is not None,
                None if type_node is None else type_node.artifact_collection,
            )
        else:
            legacy = self.client.call(
                lambda c: c.legacy_type_artifact_collection(self.entity, self.project, type_name, name), what
            )
            legacy_type = None if legacy.project is None else legacy.project.artifact_type
            sequence = None if legacy_type is None else legacy_type.artifact_sequence
            found = (
                legacy.project is not None,
                legacy_type is not None,
                None if sequence is None else _as_collection_fields(sequence),
            )
        project_found, type_found, node = found
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

    def load(self) -> ArtifactCollectionFields:
        """Fetch the collection again, dropping unsaved edits."""
        self._set_attrs(self._fetch(self._saved_name, self._saved_type))
        self._aliases = None
        return self._attrs

    # -- read-only properties ---------------------------------------------------------------

    @property
    def id(self) -> str:
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
        """The aliases set on versions of this collection (one request, cached until `load()`)."""
        if self._aliases is None:
            self._aliases = self._fetch_aliases()
        return list(self._aliases)

    def _fetch_aliases(self) -> list[str]:
        def fetch(cursor: str | None, per_page: int) -> Page[str]:
            result = self.client.call(
                lambda c: c.collection_aliases(self.id, cursor=cursor, per_page=per_page),
                f"listing the aliases of collection {self._saved_name!r}",
            )
            if result.artifact_collection is None:
                raise NotFoundError(f"collection {self._saved_name!r} no longer exists", kind="collection")
            connection = result.artifact_collection.aliases
            info = connection.page_info
            names = [edge.node.alias for edge in connection.edges if edge.node is not None]
            return Page(names, info.end_cursor, info.has_next_page)

        return list(PageFetcher(fetch))

    # -- versions ---------------------------------------------------------------------------

    def artifacts(
        self,
        per_page: int = DEFAULT_PER_PAGE,
        *,
        filters: dict[str, Any] | None = None,
        order: str | None = None,
        tags: str | list[str] | None = None,
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
        )

    # -- edits ------------------------------------------------------------------------------

    def change_type(self, new_type: str) -> None:
        """Deprecated: set `type` and call `save()` instead."""
        warnings.warn(
            "ArtifactCollection.change_type() is deprecated; set .type and call .save()",
            DeprecationWarning,
            stacklevel=2,
        )
        self.type = new_type
        self._save_type()

    def save(self) -> None:
        """Send every edit made since loading: name, description, type, tags."""
        if not _NAME.match(self.name or "") or len(self.name) > 128:
            raise InvalidNameError(
                f"collection name {self.name!r} is not valid", expected="letters, digits, '-', '_' and '.', at most 128"
            )
        tags = check_tags(self.tags)
        if self.type != self._saved_type and not self.is_sequence():
            raise UnsupportedError("the type of a portfolio cannot be changed; only sequences can move")
        if self.name != self._saved_name or self.description != self._saved_description:
            self._save_name_and_description()
        self._save_type()
        self._save_tags(tags)

    def _save_name_and_description(self) -> None:
        from ._generated.input_types import UpdateArtifactPortfolioInput, UpdateArtifactSequenceInput

        what = f"saving collection {self._saved_name!r}"
        if self.is_sequence():
            seq = self.client.call(
                lambda c: c.update_artifact_sequence(
                    UpdateArtifactSequenceInput(
                        artifactSequenceID=self.id, name=self.name, description=self.description
                    )
                ),
                what,
            )
            payload = seq.update_artifact_sequence
        else:
            port = self.client.call(
                lambda c: c.update_artifact_portfolio(
                    UpdateArtifactPortfolioInput(
                        artifactPortfolioID=self.id, name=self.name, description=self.description
                    )
                ),
                what,
            )
            payload = port.update_artifact_portfolio  # type: ignore[assignment]
        if payload is not None:
            self._saved_name = payload.artifact_collection.name
            self._saved_description = payload.artifact_collection.description

    def _save_type(self) -> None:
        from ._generated.input_types import MoveArtifactSequenceInput

        if self.type == self._saved_type:
            return
        if not self.is_sequence():
            raise UnsupportedError("the type of a portfolio cannot be changed; only sequences can move")
        new_type = self.type
        self.client.call(
            lambda c: c.move_artifact_sequence(
                MoveArtifactSequenceInput(artifactSequenceID=self.id, destination_artifact_type_name=new_type)
            ),
            f"moving collection {self._saved_name!r} to type {new_type!r}",
        )
        self._saved_type = new_type

    def _save_tags(self, tags: list[str]) -> None:
        from ._generated.input_types import (
            CreateArtifactCollectionTagAssignmentsInput,
            DeleteArtifactCollectionTagAssignmentsInput,
            TagInput,
        )

        added = [t for t in tags if t not in self._saved_tags]
        removed = [t for t in self._saved_tags if t not in tags]
        target = dict(entity_name=self.entity, project_name=self.project, artifact_collection_name=self._saved_name)
        if added:
            self.client.call(
                lambda c: c.add_collection_tags(
                    CreateArtifactCollectionTagAssignmentsInput(**target, tags=[TagInput(tag_name=t) for t in added])
                ),
                f"tagging collection {self._saved_name!r}",
            )
        if removed:
            self.client.call(
                lambda c: c.delete_collection_tags(
                    DeleteArtifactCollectionTagAssignmentsInput(**target, tags=[TagInput(tag_name=t) for t in removed])
                ),
                f"untagging collection {self._saved_name!r}",
            )
        self._saved_tags = list(tags)

    def delete(self) -> None:
        """Delete the collection and, for a sequence, every version logged to it."""
        what = f"deleting collection {self._saved_name!r}"
        if self.is_sequence():
            self.client.call(lambda c: c.delete_artifact_sequence(self.id), what)
        else:
            self.client.call(lambda c: c.delete_artifact_portfolio(self.id), what)

    def __repr__(self) -> str:
        kind = "sequence" if self.is_sequence() else "portfolio"
        return f"<ArtifactCollection {self.entity}/{self.project}/{self._saved_name} ({self._saved_type} {kind})>"
