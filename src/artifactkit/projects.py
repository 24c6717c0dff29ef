"""The projects of an entity: `Projects` (the listing, as `wandb.Api().projects()`) and `Project`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ._client import Client
from ._pagination import DEFAULT_PER_PAGE, Page, Paginator


@dataclass(frozen=True)
class Project:
    """One project of an entity, as a listing reports it (nothing is fetched on access)."""

    id: str
    """The project's GraphQL ID."""
    entity: str
    """The entity (user or team) that owns the project."""
    name: str
    """The project's name."""
    description: str | None
    """The project's description; None when it has none."""
    created_at: datetime
    """When the project was created (timezone-aware UTC)."""

    @property
    def path(self) -> str:
        """`entity/project`, the form every other call takes."""
        return f"{self.entity}/{self.name}"


class Projects(Paginator[Project]):
    """The projects of one entity, newest first. The server does not count them: `length` is None."""

    counted = False

    def __init__(self, client: Client, entity: str, per_page: int = DEFAULT_PER_PAGE) -> None:
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
            Project(node.id, node.entity_name, node.name, node.description, node.created_at)
            for edge in result.models.edges
            if (node := edge.node) is not None
        ]
        return Page.of(result.models, items)

    def __repr__(self) -> str:
        return f"<Projects {self.entity}>"
