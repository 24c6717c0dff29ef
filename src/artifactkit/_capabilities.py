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

import dataclasses
import logging
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, cast

from ._batches import VersionAccess, VersionLookup, versions_by_name
from ._graphql import Session
from ._pagination import Page
from ._probe_cache import ProbeCache, ServerAnswer
from .errors import BadRequestError, GraphQLError, UnsupportedError

if TYPE_CHECKING:
    from ._generated.fragments import (
        ArtifactCollectionFields,
        ArtifactFields,
        CollectionRefFields,
        FileFields,
        LegacyArtifactFields,
        LegacySequenceFields,
        LegacyVersionFields,
        MembershipFields,
        SequenceRefFields,
    )
    from ._generated.input_types import LinkArtifactInput, UpdateArtifactInput

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

    # -- versions: the lookups and writes whose documents differ with the server's age -------------

    @property
    def tags(self) -> bool:
        """Whether versions and collections carry tags (servers before 0.12.11 have none)."""
        ...

    def version(self, entity: str, project: str, name: str) -> MembershipFields | None:
        """The version `collection:alias` names, seen through that collection; None if missing."""
        ...

    def artifact_by_id(self, artifact_id: str, what: str) -> ArtifactFields | None: ...

    def files(
        self, artifact: VersionRef, *, names: list[str] | None, cursor: str | None, per_page: int, what: str
    ) -> Page[FileFields] | None:
        """A page of a version's files; None if the version is gone."""
        ...

    def file_urls(
        self, artifact: VersionRef, *, names: list[str] | None, cursor: str | None, per_page: int, what: str
    ) -> tuple[list[tuple[str, str]], str | None, bool] | None:
        """A page of `(name, download URL)`, where the next page starts, whether there is one."""
        ...

    def version_file_access(
        self, entity: str, project: str, name: str, names: list[str]
    ) -> tuple[MembershipFields, str | None, dict[str, str]] | None:
        """The version `name` names, its manifest's URL and the URLs of the files `names`, in one request."""
        ...

    @property
    def batches_lookups(self) -> bool:
        """Whether `versions_by_name` looks up many names in one request (not before 0.12.11)."""
        ...

    def versions_by_name(self, lookups: Sequence[VersionLookup]) -> list[VersionAccess] | None:
        """Up to `MAX_BATCH` versions by name in one request (`_batches`); None where the server's age rules it out."""
        ...

    def update_artifact(self, update: UpdateArtifactInput, what: str) -> ArtifactFields | None: ...

    def commit_artifact(self, artifact_id: str, what: str) -> ArtifactFields | None: ...

    def link(self, link: LinkArtifactInput, what: str) -> MembershipFields | int | None:
        """The new link's membership, or only its version number where the server says no more."""
        ...

    def run_artifacts(
        self, entity: str, project: str, run: str, mode: str, *, cursor: str | None, per_page: int, what: str
    ) -> Page[ArtifactFields] | None:
        """A page of the versions a run logged (`mode="logged"`) or used; None if the run does not exist."""
        ...


class VersionRef(Protocol):
    """What the version operations need to know of a version."""

    @property
    def id(self) -> str: ...
    @property
    def entity(self) -> str: ...
    @property
    def project(self) -> str: ...
    @property
    def collection_name(self) -> str: ...
    @property
    def version(self) -> str: ...


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

    tags = True
    batches_lookups = True

    def version(self, entity: str, project: str, name: str) -> MembershipFields | None:
        result = self.session.call(
            lambda c: c.artifact_membership_by_name(entity, project, name), f"looking up {entity}/{project}/{name}"
        )
        return None if result.project is None else result.project.artifact_collection_membership

    def artifact_by_id(self, artifact_id: str, what: str) -> ArtifactFields | None:
        return self.session.call(lambda c: c.artifact_by_id(artifact_id), what).artifact

    def files(
        self, artifact: VersionRef, *, names: list[str] | None, cursor: str | None, per_page: int, what: str
    ) -> Page[FileFields] | None:
        a = artifact
        result = self.session.call(
            lambda c: c.membership_files(
                a.entity, a.project, a.collection_name, a.version, names=names, cursor=cursor, per_page=per_page
            ),
            what,
        )
        collection = None if result.project is None else result.project.artifact_collection
        membership = None if collection is None else collection.artifact_membership
        if membership is None or membership.files is None:
            return None
        connection = membership.files
        return Page.of(connection, [e.node for e in connection.edges if e.node is not None], connection.total_count)

    def file_urls(
        self, artifact: VersionRef, *, names: list[str] | None, cursor: str | None, per_page: int, what: str
    ) -> tuple[list[tuple[str, str]], str | None, bool] | None:
        a = artifact
        result = self.session.call(
            lambda c: c.membership_file_urls(
                a.entity, a.project, a.collection_name, a.version, names=names, cursor=cursor, per_page=per_page
            ),
            what,
        )
        collection = None if result.project is None else result.project.artifact_collection
        membership = None if collection is None else collection.artifact_membership
        if membership is None or membership.files is None:
            return None
        info = membership.files.page_info
        urls = [(e.node.name, e.node.direct_url) for e in membership.files.edges if e.node is not None]
        return urls, info.end_cursor, info.has_next_page

    def versions_by_name(self, lookups: Sequence[VersionLookup]) -> list[VersionAccess] | None:
        shown = ", ".join(f"{x.entity}/{x.project}/{x.name}" for x in lookups[:3])
        more = f" and {len(lookups) - 3} more" if len(lookups) > 3 else ""
        return self.session.call(lambda c: versions_by_name(c, lookups), f"looking up {shown}{more}")

    def version_file_access(
        self, entity: str, project: str, name: str, names: list[str]
    ) -> tuple[MembershipFields, str | None, dict[str, str]] | None:
        result = self.session.call(
            lambda c: c.version_file_access(entity, project, name, names, bool(names)),
            f"looking up {entity}/{project}/{name}",
        )
        membership = None if result.project is None else result.project.artifact_collection_membership
        if membership is None:
            return None
        manifest = None if membership.manifest_of is None else membership.manifest_of.current_manifest
        urls = (
            {}
            if membership.files is None
            else {e.node.name: e.node.direct_url for e in membership.files.edges if e.node}
        )
        return membership, None if manifest is None else manifest.file.direct_url, urls

    def update_artifact(self, update: UpdateArtifactInput, what: str) -> ArtifactFields | None:
        payload = self.session.call(lambda c: c.update_artifact(update), what).update_artifact
        return None if payload is None else payload.artifact

    def commit_artifact(self, artifact_id: str, what: str) -> ArtifactFields | None:
        payload = self.session.call(lambda c: c.commit_artifact(artifact_id), what).commit_artifact
        return None if payload is None else payload.artifact

    def link(self, link: LinkArtifactInput, what: str) -> MembershipFields | int | None:
        payload = self.session.call(lambda c: c.link_artifact(link), what).link_artifact
        if payload is None:
            return None
        return payload.artifact_membership if payload.artifact_membership is not None else payload.version_index

    def run_artifacts(
        self, entity: str, project: str, run: str, mode: str, *, cursor: str | None, per_page: int, what: str
    ) -> Page[ArtifactFields] | None:
        answer = self.session.call(
            lambda c: (c.run_output_artifacts if mode == "logged" else c.run_input_artifacts)(
                entity, project, run, cursor=cursor, per_page=per_page
            ),
            what,
        )
        return _run_artifacts_page(answer, mode, lambda node: node)


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
        edges = [(e.version, _as_artifact_fields(e.node)) for e in connection.edges]
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

    tags = False
    batches_lookups = False

    def version(self, entity: str, project: str, name: str) -> MembershipFields | None:
        collection = name.split(":", 1)[0]
        result = self.session.call(
            lambda c: c.legacy_artifact_by_name(entity, project, name, collection),
            f"looking up {entity}/{project}/{name}",
        )
        found = None if result.project is None else result.project.artifact
        return None if found is None else _as_membership(found)

    def artifact_by_id(self, artifact_id: str, what: str) -> ArtifactFields | None:
        found = self.session.call(lambda c: c.legacy_artifact_by_id(artifact_id), what).artifact
        return None if found is None else _as_artifact_fields(found)

    def files(
        self, artifact: VersionRef, *, names: list[str] | None, cursor: str | None, per_page: int, what: str
    ) -> Page[FileFields] | None:
        result = self.session.call(
            lambda c: c.legacy_artifact_files(artifact.id, names=names, cursor=cursor, per_page=per_page), what
        )
        if result.artifact is None or result.artifact.files is None:
            return None
        connection = result.artifact.files
        nodes = [e.node for e in connection.edges if e.node is not None]
        # No totalCount on such servers: an unfiltered listing has the version's file count; a
        # listing by name is counted when its first page is all of it.
        if names is None:
            total: int | None = result.artifact.file_count
        else:
            total = len(nodes) if cursor is None and not connection.page_info.has_next_page else None
        return Page.of(connection, nodes, total)

    def file_urls(
        self, artifact: VersionRef, *, names: list[str] | None, cursor: str | None, per_page: int, what: str
    ) -> tuple[list[tuple[str, str]], str | None, bool] | None:
        result = self.session.call(
            lambda c: c.legacy_artifact_file_urls(artifact.id, names=names, cursor=cursor, per_page=per_page), what
        )
        if result.artifact is None or result.artifact.files is None:
            return None
        files = result.artifact.files
        urls = [(e.node.name, e.node.direct_url) for e in files.edges if e.node is not None]
        return urls, files.page_info.end_cursor, files.page_info.has_next_page

    def versions_by_name(self, lookups: Sequence[VersionLookup]) -> list[VersionAccess] | None:
        """None: the legacy lookup selects with an operation variable per name (`$collection`), so it is not batched."""
        return None

    def version_file_access(
        self, entity: str, project: str, name: str, names: list[str]
    ) -> tuple[MembershipFields, str | None, dict[str, str]] | None:
        collection = name.split(":", 1)[0]
        result = self.session.call(
            lambda c: c.legacy_version_file_access(entity, project, name, collection, names, bool(names)),
            f"looking up {entity}/{project}/{name}",
        )
        found = None if result.project is None else result.project.artifact
        if found is None:
            return None
        manifest = None if found.current_manifest is None else found.current_manifest.file.direct_url
        urls = {} if found.files is None else {e.node.name: e.node.direct_url for e in found.files.edges if e.node}
        return _as_membership(found), manifest, urls

    def update_artifact(self, update: UpdateArtifactInput, what: str) -> ArtifactFields | None:
        payload = self.session.call(lambda c: c.legacy_update_artifact(update), what).update_artifact
        return None if payload is None else _as_artifact_fields(payload.artifact)

    def commit_artifact(self, artifact_id: str, what: str) -> ArtifactFields | None:
        payload = self.session.call(lambda c: c.legacy_commit_artifact(artifact_id), what).commit_artifact
        return None if payload is None else _as_artifact_fields(payload.artifact)

    def link(self, link: LinkArtifactInput, what: str) -> MembershipFields | int | None:
        payload = self.session.call(lambda c: c.legacy_link_artifact(link), what).link_artifact
        return None if payload is None else payload.version_index

    def run_artifacts(
        self, entity: str, project: str, run: str, mode: str, *, cursor: str | None, per_page: int, what: str
    ) -> Page[ArtifactFields] | None:
        answer = self.session.call(
            lambda c: (c.legacy_run_output_artifacts if mode == "logged" else c.legacy_run_input_artifacts)(
                entity, project, run, cursor=cursor, per_page=per_page
            ),
            what,
        )
        return _run_artifacts_page(answer, mode, _as_artifact_fields)


# Old servers have no tags and no TTL: the models the facade uses get none, and the TTL of a
# version without one (-1, as W&B reports it).
_NO_TAGS_OR_TTL = {"tags": [], "ttlDurationSeconds": -1, "ttlIsInherited": False}


def _as_collection_fields(legacy: LegacySequenceFields) -> ArtifactCollectionFields:
    """A sequence read through the legacy edges, as the interface fragment the facade uses."""
    from ._generated.fragments import ArtifactCollectionFields  # generated models load on first use

    return ArtifactCollectionFields.model_validate({**legacy.model_dump(by_alias=True), "tags": {"edges": []}})


def _run_artifacts_page(
    answer: Any, mode: str, convert: Callable[[Any], ArtifactFields]
) -> Page[ArtifactFields] | None:
    """The page of a run's logged (`outputArtifacts`) or used (`inputArtifacts`) versions; None: no such run.

    `answer` is either edge family's generated model: both are `project.run.<connection>`.
    """
    found = None if answer.project is None else answer.project.run
    if found is None:
        return None
    connection = found.output_artifacts if mode == "logged" else found.input_artifacts
    if connection is None:
        return Page([], None, False, 0)
    return Page.of(
        connection, [convert(e.node) for e in connection.edges if e.node is not None], connection.total_count
    )


def _as_artifact_fields(legacy: LegacyArtifactFields) -> ArtifactFields:
    """A version read from an old server, as the fragment the facade uses."""
    from ._generated.fragments import ArtifactFields

    return ArtifactFields.model_validate({**legacy.model_dump(by_alias=True), **_NO_TAGS_OR_TTL})


def _as_membership(legacy: LegacyVersionFields) -> MembershipFields:
    """A version looked up by name on an old server, as the membership a modern server answers with."""
    from ._generated.fragments import MembershipFields

    dumped = legacy.model_dump(by_alias=True)
    named = next((a["artifactCollection"] for a in dumped.pop("aliasesIn") if a["artifactCollection"]), None)
    version = dumped.pop("versionIn")
    collection = named if named is not None else {"__typename": "ArtifactSequence", **dumped["artifactSequence"]}
    artifact = {**dumped, **_NO_TAGS_OR_TTL}
    # Such servers do not say when a version was linked into a portfolio: "" is read as unknown.
    return MembershipFields.model_validate(
        {"versionIndex": version, "createdAt": "", "artifactCollection": collection, "artifact": artifact}
    )


# Server features (`serverInfo.features`) the facade consults.
REGISTRY_SEARCH = "ARTIFACT_REGISTRY_SEARCH"
"""Registries, their search and `Api.registry()` (wandb 0.31.0 refuses every registry call without it)."""
REGISTRY_ARTIFACT_TYPES = "INCLUDE_ARTIFACT_TYPES_IN_REGISTRY_CREATION"
"""Creating and saving registries with their allowed artifact types."""
COLLECTION_FILTERING = "ARTIFACT_COLLECTIONS_FILTERING_SORTING"
"""Server-side filters and orders; with it, an organization may also offer advanced registry search."""


# What a server answers to an operation it does not know: the sign that a cached answer about it is stale.
_UNKNOWN_TO_SERVER = ("Cannot query field", "Unknown argument", "Unknown type", "Unknown field")


def _server_lacks_operation(exc: Exception) -> bool:
    """Whether the server refused a request as invalid GraphQL (a field, argument or type it lacks)."""
    texts = [str(exc)]
    if isinstance(exc, GraphQLError):
        texts += [str(e.get("message", "")) for e in exc.errors]
    return any(sign in text for text in texts for sign in _UNKNOWN_TO_SERVER)


class _RecheckedOperations:
    """The operations chosen from a cached answer: one the server refuses as unknown GraphQL means the
    server changed behind its URL; the answer is dropped, the server probed again and the call sent
    once more through whatever that probe chooses."""

    def __init__(self, capabilities: Capabilities) -> None:
        self._capabilities = capabilities

    def __getattr__(self, name: str) -> Any:
        chosen = getattr(self._capabilities._chosen_operations(), name)
        if not callable(chosen):
            return chosen

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return chosen(*args, **kwargs)
            except (GraphQLError, BadRequestError) as exc:
                if not self._capabilities.recheck_after(exc):
                    raise
            return getattr(self._capabilities._chosen_operations(), name)(*args, **kwargs)

        return call


class Capabilities:
    """What one server supports: probed once per client (one `serverInfo` request, on first need),
    or read from the answer another process kept for this server (`_probe_cache`)."""

    def __init__(self, session: Session, cache: ProbeCache | None = None) -> None:
        self._session = session
        self._cache = cache
        self._collection_edges: bool | None = None
        self._operations: CollectionOperations | None = None
        self._features: frozenset[str] | None = None
        self._answer: ServerAnswer | None = None
        self.from_cache = False
        """Whether what is known came from the shared cache rather than from this server in this process."""
        self._rechecked = cast("CollectionOperations", _RecheckedOperations(self))

    @property
    def collection_edges(self) -> bool:
        """Whether the server has `ArtifactType.artifactCollection(s)`."""
        if self._collection_edges is None:
            cached = None if self._cache is None else self._cache.load()
            if cached is not None:
                version = cached.max_cli_version
                self._answer, self.from_cache = cached, True
                if cached.features is not None:
                    self._features = cached.features
            else:
                version = self._probe_version()
                self._answer = ServerAnswer(version, None, time.time())
                if self._cache is not None:
                    self._cache.store(self._answer)
            self._collection_edges = version_tuple(version) >= COLLECTION_EDGES_MIN_VERSION
            log.info(
                "the server reports max_cli_version %s%s: %s",
                version,
                " (kept from an earlier probe)" if self.from_cache else "",
                "artifactCollection(s) edges (modern operations)"
                if self._collection_edges
                else "older than 0.12.11, artifactSequence(s) edges only (legacy operations)",
            )
        return self._collection_edges

    def _probe_version(self) -> str:
        info = self._session.call(lambda c: c.server_cli_version(), "asking the server for its version")
        if info.server_info is not None and isinstance(info.server_info.cli_version_info, dict):
            return str(info.server_info.cli_version_info.get("max_cli_version") or "0")
        return "0"

    def _chosen_operations(self) -> CollectionOperations:
        if self._operations is None:
            modern = self.collection_edges
            self._operations = ModernOperations(self._session) if modern else LegacyOperations(self._session)
        return self._operations

    @property
    def operations(self) -> CollectionOperations:
        """The switch: modern or legacy reads, chosen once (and again if a cached choice proves stale)."""
        chosen = self._chosen_operations()
        return self._rechecked if self.from_cache else chosen

    def recheck_after(self, exc: Exception) -> bool:
        """After `exc` from a request chosen by a cached answer: whether the server changed (it did not
        know the request), in which case the answer is dropped and the server will be probed again."""
        if not self.from_cache or not _server_lacks_operation(exc):
            return False
        log.info("the server refused a request its cached answer allowed (%s): probing it again", exc)
        if self._cache is not None:
            self._cache.discard()
        self._collection_edges, self._operations, self._features = None, None, None
        self._answer, self.from_cache = None, False
        return True

    @property
    def features(self) -> frozenset[str]:
        """The enabled `serverInfo.features`, asked once (servers before 0.12.11 have none: no request).

        A server that does not know `ServerInfo.features` answers the question with a GraphQL
        error; it then has none of them.
        """
        modern = self.collection_edges  # may bring the features along from the shared answer
        if self._features is None:
            self._features = self._probe_features() if modern else frozenset()
            log.info("the server enables features: %s", ", ".join(sorted(self._features)) or "none")
            if self._cache is not None and self._answer is not None and self._answer.features is None:
                self._answer = dataclasses.replace(self._answer, features=self._features)
                self._cache.store(self._answer)
        return self._features

    def _probe_features(self) -> frozenset[str]:
        try:
            info = self._session.call(lambda c: c.server_features(), "asking the server for its features")
        except (GraphQLError, BadRequestError) as exc:
            log.info("the server lists no features (%s)", exc)
            return frozenset()
        if info.server_info is None:
            return frozenset()
        return frozenset(f.name for f in info.server_info.features if f is not None and f.is_enabled)

    def require(self, feature: str, what: str) -> None:
        """Raise `UnsupportedError` unless the server enables `feature`; `what` names the call refused."""
        if feature not in self.features:
            raise UnsupportedError(f"this W&B server does not support {what} (it lacks the feature {feature})")
