"""`Client`: what every entity of one `Api` shares.

The GraphQL session (`Session.call`, the error boundary), what the server supports (probed once),
where downloads are cached, and the two ways back up the entity graph. Entities import one another
in one direction only (`artifact_types` -> `collections` -> `runs` -> `artifacts` -> `files`); a
version's collection and the run that logged or used a version are the two places where the graph
points upward, and there the entity asks its client, which `api.Api` builds with the constructors.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ._capabilities import Capabilities, CollectionOperations
from ._graphql import Session
from ._transport import Transport

if TYPE_CHECKING:
    from ._generated.fragments import RunFields
    from .collections import ArtifactCollection
    from .runs import Run


class Client(Session):
    """The session of one `Api`, with its capabilities and its download cache location."""

    def __init__(self, transport: Transport, *, cache_root: Path | None = None) -> None:
        super().__init__(transport)
        self.cache_root = cache_root
        self.capabilities = Capabilities(self)

    @property
    def operations(self) -> CollectionOperations:
        """Modern or legacy collection reads, whichever the server supports."""
        return self.capabilities.operations

    @property
    def supports_collection_edges(self) -> bool:
        """Whether the server has `ArtifactType.artifactCollection(s)` (probed once)."""
        return self.capabilities.collection_edges

    # -- the upward edges of the entity graph, supplied by the Api ------------------------------

    def collection(self, entity: str, project: str, name: str, type_name: str) -> ArtifactCollection:
        """Load the collection `entity/project/name` of `type_name`."""
        raise NotImplementedError("entities get their client from an Api")

    def run(self, attrs: RunFields, entity: str | None = None, project: str | None = None) -> Run:
        """Wrap a run the server described."""
        raise NotImplementedError("entities get their client from an Api")
