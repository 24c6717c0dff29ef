"""The projects of an entity: `Projects` (the listing, as `wandb.Api().projects()`) and `Project`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import _lookups
from ._client import Client
from ._pagination import DEFAULT_PER_PAGE, PROJECTS_PER_PAGE, Page, Paginator
from ._times import parse_server_time
from .artifact_types import ArtifactTypes
from .collections import ProjectArtifactCollections
from .errors import NotFoundError
from .users import User

if TYPE_CHECKING:
    from ._generated.fragments import ProjectFields


class Project:
    """One project of an entity.

    Projects come from the `Api`: `api.projects()` lists them with their fields; `api.project(name)`
    sends nothing until a field the server holds (`id`, `created_at`, `owner`, ...) is first read,
    and raises `NotFoundError` then if there is no such project.
    """

    client: Client
    _attrs: ProjectFields | None
    name: str
    """The project's name."""
    entity: str
    """The entity (user or team) that owns the project."""

    def __init__(self) -> None:
        raise TypeError("Project objects come from an Api: api.project(name), api.projects()")

    @classmethod
    def _wrap(cls, client: Client, entity: str, name: str, attrs: ProjectFields | None = None) -> Project:
        self = cls.__new__(cls)
        self.client = client
        self.entity = entity
        self.name = name
        self._attrs = attrs
        return self

    @property
    def _fields(self) -> ProjectFields:
        if self._attrs is None:
            result = self.client.call(
                lambda c: c.project_by_name(self.entity, self.name), f"loading project {self.entity}/{self.name}"
            )
            if result.project is None:
                raise _lookups.project_not_found(self.client, self.entity, self.name)
            self._attrs = result.project
        return self._attrs

    @property
    def id(self) -> str:
        """The project's GraphQL ID."""
        return self._fields.id

    @property
    def entity_name(self) -> str:
        """The entity that owns the project, as the server names it (the same as `entity`)."""
        return self._fields.entity_name

    @property
    def description(self) -> str | None:
        """The project's description; None when it has none."""
        return self._fields.description

    @property
    def created_at(self) -> str:
        """When the project was created, as the server wrote it; see `created_at_datetime`."""
        return self._fields.created_at

    @property
    def created_at_datetime(self) -> datetime:
        """`created_at` as a timezone-aware UTC `datetime`."""
        return parse_server_time(self._fields.created_at)

    @property
    def is_benchmark(self) -> bool:
        """Whether the project is a W&B benchmark."""
        return self._fields.is_benchmark

    @property
    def owner(self) -> User:
        """The user who owns the project; `NotFoundError` for a project the server names no user for (a team's)."""
        user = self._fields.user
        if user is None:
            raise NotFoundError(f"the server names no owner of project {self.path_str}", kind="user")
        return User._from_fields(user)

    @property
    def path(self) -> list[str]:
        """`[entity, project]`."""
        return [self.entity, self.name]

    @property
    def path_str(self) -> str:
        """`entity/project`, the form every other call takes."""
        return f"{self.entity}/{self.name}"

    @property
    def url(self) -> str:
        """The project's workspace in the W&B app."""
        return f"{self.client.app_url}/{self.entity}/{self.name}/workspace"

    def artifacts_types(self, per_page: int = DEFAULT_PER_PAGE) -> ArtifactTypes:
        """The artifact types of this project (wandb's name for `api.artifact_types(project)`)."""
        return ArtifactTypes(self.client, self.entity, self.name, per_page)

    def collections(
        self, filters: dict[str, Any] | None = None, order: str | None = None, per_page: int = DEFAULT_PER_PAGE
    ) -> ProjectArtifactCollections:
        """Every collection of this project, of any type, filtered and ordered on the server."""
        return ProjectArtifactCollections(self.client, self.entity, self.name, filters, order, per_page)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Project) and (other.entity, other.name) == (self.entity, self.name)

    def __hash__(self) -> int:
        return hash((self.entity, self.name))

    def __repr__(self) -> str:
        return f"<Project {self.path_str}>"


class Projects(Paginator[Project]):
    """The projects of one entity, newest first. The server does not count them: `length` is None."""

    counted = False

    def __init__(self, client: Client, entity: str, per_page: int = PROJECTS_PER_PAGE) -> None:
        super().__init__(per_page)
        self.client = client
        self.entity = entity

    def _fetch_page(self, cursor: str | None) -> Page[Project]:
        result = self.client.call(
            lambda c: c.entity_projects(self.entity, cursor=cursor, per_page=self.per_page),
            f"listing the projects of {self.entity}",
        )
        if result.models is None:
            return Page([], None, False)
        items = [
            Project._wrap(self.client, node.entity_name, node.name, node)
            for edge in result.models.edges
            if (node := edge.node) is not None
        ]
        return Page.of(result.models, items)

    def __repr__(self) -> str:
        return f"<Projects {self.entity}>"
