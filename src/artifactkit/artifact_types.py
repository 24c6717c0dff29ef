"""Artifact types of a project: `ArtifactTypes` (the listing) and `ArtifactType`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import _lookups
from ._client import Client
from ._pagination import DEFAULT_PER_PAGE, Page, Paginator
from ._times import parse_server_time
from .collections import ArtifactCollection, ArtifactCollections

if TYPE_CHECKING:
    from ._generated.fragments import ArtifactTypeFields


class ArtifactTypes(Paginator["ArtifactType"]):
    """The artifact types of a project. The server does not count them: `length` is None."""

    counted = False

    def __init__(
        self, client: Client, entity: str, project: str, per_page: int = DEFAULT_PER_PAGE, start: str | None = None
    ) -> None:
        super().__init__(per_page, start=start)
        self.client = client
        self.entity = entity
        self.project = project

    def _fetch_page(self, cursor: str | None) -> Page[ArtifactType]:
        result = self.client.call(
            lambda c: c.project_artifact_types(self.entity, self.project, cursor=cursor, per_page=self.per_page),
            f"listing the artifact types of {self.entity}/{self.project}",
        )
        if result.project is None:
            raise _lookups.project_not_found(self.client, self.entity, self.project)
        connection = result.project.artifact_types
        items = [
            ArtifactType._from_attrs(self.client, self.entity, self.project, edge.node)
            for edge in connection.edges
            if edge.node is not None
        ]
        return Page.of(connection, items)

    def __repr__(self) -> str:
        return f"<ArtifactTypes {self.entity}/{self.project}>"


class ArtifactType:
    """An artifact type (`dataset`, `model`, ...) of one project."""

    def __init__(self, client: Client, entity: str, project: str, type_name: str) -> None:
        """Load the type `type_name` of `entity/project` (one request)."""
        self._init(client, entity, project, _lookups.artifact_type(client, entity, project, type_name))

    @classmethod
    def _from_attrs(cls, client: Client, entity: str, project: str, attrs: ArtifactTypeFields) -> ArtifactType:
        self = cls.__new__(cls)
        self._init(client, entity, project, attrs)
        return self

    def _init(self, client: Client, entity: str, project: str, attrs: ArtifactTypeFields) -> None:
        self.client = client
        self.entity = entity
        self.project = project
        self.type = attrs.name
        """The type's name, as wandb also keeps it (the same as `name`)."""
        self._attrs = attrs

    def load(self) -> ArtifactType:
        """Fetch the type again from the server; returns this object, refreshed."""
        self._attrs = _lookups.artifact_type(self.client, self.entity, self.project, self._attrs.name)
        self.type = self._attrs.name
        return self

    @property
    def id(self) -> str:
        """The server's global ID of the type."""
        return self._attrs.id

    @property
    def name(self) -> str:
        """The type's name, e.g. `dataset` or `model`."""
        return self._attrs.name

    @property
    def description(self) -> str | None:
        """The type's description; None when it has none."""
        return self._attrs.description

    @property
    def created_at(self) -> str:
        """When the type was first used in the project, as the server wrote it; see `created_at_datetime`."""
        return self._attrs.created_at

    @property
    def created_at_datetime(self) -> datetime:
        """`created_at` as a timezone-aware UTC `datetime`."""
        return parse_server_time(self._attrs.created_at)

    def collections(
        self,
        filters: dict[str, Any] | None = None,
        order: str | None = None,
        per_page: int = DEFAULT_PER_PAGE,
        start: str | None = None,
    ) -> ArtifactCollections:
        """The collections of this type (sequences and portfolios), filtered and ordered on the server."""
        return ArtifactCollections(
            self.client,
            self.entity,
            self.project,
            self.name,
            filters=filters,
            order=order,
            per_page=per_page,
            start=start,
        )

    def collection(self, name: str) -> ArtifactCollection:
        """The collection `name` of this type; `NotFoundError` if there is none."""
        return ArtifactCollection(self.client, self.entity, self.project, name, self.name)

    def __repr__(self) -> str:
        return f"<ArtifactType {self.entity}/{self.project}/{self.name}>"
