"""What a server supports, and the one switch between modern and legacy operations.

W&B servers before 0.12.11 have no `ArtifactType.artifactCollection(s)` edges, only the legacy
`artifactSequence(s)`. `Capabilities` asks `serverInfo.cliVersionInfo` once per client and then
hands out one `CollectionOperations`: `ModernOperations` or `LegacyOperations`. Both answer the
same four questions (a type's collections, one collection, a collection's versions, a
collection's aliases) with the interface fragments the entities use, so no entity branches on the
server's age. Documents are never rewritten at run time: each family has its own typed operations
(`queries/` and `queries/legacy/`).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from ._graphql import Session
from ._pagination import Page

if TYPE_CHECKING:
    from ._generated.fragments import (
        ArtifactCollectionFields,
        ArtifactFields,
        CollectionRefFields,
        SequenceFields,
        SequenceRefFields,
    )

    VersionEdges: TypeAlias = Page[tuple[str, ArtifactFields]]
    CollectionRef: TypeAlias = CollectionRefFields | SequenceRefFields

log = logging.getLogger("artifactkit")

# The first server release with the artifactCollection(s) edges on ArtifactType.
COLLECTION_EDGES_MIN_VERSION = (0, 12, 11)


def version_tuple(text: str) -> tuple[int, ...]:
    """`(0, 12, 11)` for `"0.12.11rc1"`: the leading digits of each dotted part, up to the first without any."""
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def artifact_collection_edge_name(server_supports_artifact_collections: bool) -> str:
    """The field naming one collection of a type: `artifactCollection` or legacy `artifactSequence`."""
    return "artifactCollection" if server_supports_artifact_collections else "artifactSequence"


def artifact_collection_plural_edge_name(server_supports_artifact_collections: bool) -> str:
    """The field listing the collections of a type: `artifactCollections` or legacy `artifactSequences`."""
    return "artifactCollections" if server_supports_artifact_collections else "artifactSequences"


class _HasCapabilities(Protocol):
    @property
    def capabilities(self) -> Capabilities: ...


def server_supports_artifact_collections_gql_edges(client: _HasCapabilities, warn: bool = False) -> bool:
    """Whether the server has the `artifactCollection(s)` edges (W&B server 0.12.11 and later).

    `client` is an `Api` or its `client`. Probed once per client (one `serverInfo` request) and
    cached; with `warn=True` an older server also triggers a `UserWarning`.
    """
    supported = client.capabilities.collection_edges
    if not supported and warn:
        warnings.warn(
            "this W&B server predates artifact collections: only sequences are visible, portfolios are not",
            UserWarning,
            stacklevel=2,
        )
    return supported


@dataclass(frozen=True)
class CollectionLookup:
    """One collection looked up by type and name: which of project, type and collection exist."""

    project_found: bool
    type_found: bool
    collection: ArtifactCollectionFields | None


class CollectionOperations(Protocol):
    """The reads that differ between servers with and without the collection edges.

    `None` means the parent (the type, or the collection) does not exist; the caller says which.
    """

    def type_collections(
        self,
        entity: str,
        project: str,
        type_name: str,
        *,
        cursor: str | None,
        per_page: int,
        filters: dict[str, Any] | None,
        order: str | None,
    ) -> Page[ArtifactCollectionFields] | None: ...

    def collection(self, entity: str, project: str, type_name: str, name: str) -> CollectionLookup: ...

    def versions(
        self,
        entity: str,
        project: str,
        type_name: str,
        collection: str,
        *,
        cursor: str | None,
        per_page: int,
        filters: dict[str, Any] | None,
        order: str | None,
    ) -> tuple[CollectionRef, VersionEdges] | None: ...

    def aliases(self, collection_id: str, name: str, *, cursor: str | None, per_page: int) -> Page[str] | None: ...


def _what_collections(entity: str, project: str, type_name: str) -> str:
    return f"listing the {type_name!r} collections of {entity}/{project}"


def _what_collection(entity: str, project: str, type_name: str, name: str) -> str:
    return f"loading collection {entity}/{project}/{name} of type {type_name!r}"


def _what_versions(entity: str, project: str, collection: str) -> str:
    return f"listing the versions of {entity}/{project}/{collection}"


class ModernOperations:
    """Reads through `ArtifactType.artifactCollection(s)` (W&B server 0.12.11 and later)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def type_collections(
        self,
        entity: str,
        project: str,
        type_name: str,
        *,
        cursor: str | None,
        per_page: int,
        filters: dict[str, Any] | None,
        order: str | None,
    ) -> Page[ArtifactCollectionFields] | None:
        result = self.session.call(
            lambda c: c.type_artifact_collections(
                entity, project, type_name, cursor=cursor, per_page=per_page, filters=filters, order=order
            ),
            _what_collections(entity, project, type_name),
        )
        type_node = None if result.project is None else result.project.artifact_type
        if type_node is None:
            return None
        connection = type_node.artifact_collections
        if connection is None:
            return Page([], None, False, 0)
        nodes = [e.node for e in connection.edges if e.node is not None]
        return Page.of(connection, nodes, connection.total_count)

    def collection(self, entity: str, project: str, type_name: str, name: str) -> CollectionLookup:
        result = self.session.call(
            lambda c: c.type_artifact_collection(entity, project, type_name, name),
            _what_collection(entity, project, type_name, name),
        )
        type_node = None if result.project is None else result.project.artifact_type
        node = None if type_node is None else type_node.artifact_collection
        return CollectionLookup(result.project is not None, type_node is not None, node)

    def versions(
        self,
        entity: str,
        project: str,
        type_name: str,
        collection: str,
        *,
        cursor: str | None,
        per_page: int,
        filters: dict[str, Any] | None,
        order: str | None,
    ) -> tuple[CollectionRef, VersionEdges] | None:
        result = self.session.call(
            lambda c: c.collection_versions(
                entity, project, type_name, collection, cursor=cursor, per_page=per_page, filters=filters, order=order
            ),
            _what_versions(entity, project, collection),
        )
        type_node = None if result.project is None else result.project.artifact_type
        node = None if type_node is None else type_node.artifact_collection
        if node is None:
            return None
        connection = node.artifacts
        if connection is None:
            return node, Page([], None, False, 0)
        edges = [(e.version, e.node) for e in connection.edges]
        return node, Page.of(connection, edges, connection.total_count)

    def aliases(self, collection_id: str, name: str, *, cursor: str | None, per_page: int) -> Page[str] | None:
        result = self.session.call(
            lambda c: c.collection_aliases(collection_id, cursor=cursor, per_page=per_page),
            f"listing the aliases of collection {name!r}",
        )
        if result.artifact_collection is None:
            return None
        connection = result.artifact_collection.aliases
        return Page.of(connection, [e.node.alias for e in connection.edges if e.node is not None])


class LegacyOperations:
    """Reads through the legacy `ArtifactType.artifactSequence(s)` (servers before 0.12.11)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def type_collections(
        self,
        entity: str,
        project: str,
        type_name: str,
        *,
        cursor: str | None,
        per_page: int,
        filters: dict[str, Any] | None,
        order: str | None,
    ) -> Page[ArtifactCollectionFields] | None:
        result = self.session.call(
            lambda c: c.legacy_type_artifact_collections(
                entity, project, type_name, cursor=cursor, per_page=per_page, filters=filters, order=order
            ),
            _what_collections(entity, project, type_name),
        )
        type_node = None if result.project is None else result.project.artifact_type
        if type_node is None:
            return None
        connection = type_node.artifact_sequences
        if connection is None:
            return Page([], None, False, 0)
        nodes = [_as_collection_fields(e.node) for e in connection.edges if e.node is not None]
        return Page.of(connection, nodes, connection.total_count)

    def collection(self, entity: str, project: str, type_name: str, name: str) -> CollectionLookup:
        result = self.session.call(
            lambda c: c.legacy_type_artifact_collection(entity, project, type_name, name),
            _what_collection(entity, project, type_name, name),
        )
        type_node = None if result.project is None else result.project.artifact_type
        sequence = None if type_node is None else type_node.artifact_sequence
        node = None if sequence is None else _as_collection_fields(sequence)
        return CollectionLookup(result.project is not None, type_node is not None, node)

    def versions(
        self,
        entity: str,
        project: str,
        type_name: str,
        collection: str,
        *,
        cursor: str | None,
        per_page: int,
        filters: dict[str, Any] | None,
        order: str | None,
    ) -> tuple[CollectionRef, VersionEdges] | None:
        result = self.session.call(
            lambda c: c.legacy_collection_versions(
                entity, project, type_name, collection, cursor=cursor, per_page=per_page, filters=filters, order=order
            ),
            _what_versions(entity, project, collection),
        )
        type_node = None if result.project is None else result.project.artifact_type
        sequence = None if type_node is None else type_node.artifact_sequence
        if sequence is None:
            return None
        connection = sequence.artifacts
        edges = [(e.version, e.node) for e in connection.edges]
        return sequence, Page.of(connection, edges, connection.total_count)

    def aliases(self, collection_id: str, name: str, *, cursor: str | None, per_page: int) -> Page[str] | None:
        result = self.session.call(
            lambda c: c.legacy_collection_aliases(collection_id, cursor=cursor, per_page=per_page),
            f"listing the aliases of collection {name!r}",
        )
        if result.artifact_sequence is None:
            return None
        connection = result.artifact_sequence.aliases
        return Page.of(connection, [e.node.alias for e in connection.edges if e.node is not None])


def _as_collection_fields(legacy: SequenceFields) -> ArtifactCollectionFields:
    """A sequence read through the legacy edges, as the interface fragment the facade uses."""
    from ._generated.fragments import ArtifactCollectionFields  # generated models load on first use

    return ArtifactCollectionFields.model_validate(legacy.model_dump(by_alias=True))


class Capabilities:
    """What one server supports, probed once per client (one `serverInfo` request, on first need)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._collection_edges: bool | None = None
        self._operations: CollectionOperations | None = None

    @property
    def collection_edges(self) -> bool:
        """Whether the server has `ArtifactType.artifactCollection(s)`."""
        if self._collection_edges is None:
            info = self._session.call(lambda c: c.server_cli_version(), "asking the server for its version")
            version = "0"
            if info.server_info is not None and isinstance(info.server_info.cli_version_info, dict):
                version = str(info.server_info.cli_version_info.get("max_cli_version") or "0")
            self._collection_edges = version_tuple(version) >= COLLECTION_EDGES_MIN_VERSION
            log.info(
                "the server reports max_cli_version %s: %s",
                version,
                "artifactCollection(s) edges (modern operations)"
                if self._collection_edges
                else "older than 0.12.11, artifactSequence(s) edges only (legacy operations)",
            )
        return self._collection_edges

    @property
    def operations(self) -> CollectionOperations:
        """The switch: modern or legacy reads, chosen once."""
        if self._operations is None:
            modern = self.collection_edges
            self._operations = ModernOperations(self._session) if modern else LegacyOperations(self._session)
        return self._operations
