"""The portfolios a version is linked into, read the same way on either side of a mirror."""

from __future__ import annotations

from typing import NamedTuple

from .._client import Client
from .._pagination import Page, PageFetcher
from .._paths import version_index
from ..errors import NotFoundError
from .records import LinkRecord, ProjectKey


class Membership(NamedTuple):
    """A link of a version: where, its number and aliases there, and the portfolio's ID."""

    link: LinkRecord
    portfolio_id: str


def memberships(client: Client, version_id: str, name: str) -> list[Membership]:
    """Every portfolio the version `version_id` (`name`, for messages) is linked into (one request a page).

    Its own sequence is among a version's memberships and is left out; so are version aliases (`vN`).
    """

    def fetch(cursor: str | None, per_page: int) -> Page[Membership]:
        answer = client.call(
            lambda c: c.version_memberships(version_id, cursor=cursor, per_page=per_page),
            f"asking which portfolios {name} is linked into",
        )
        if answer.artifact is None:
            raise NotFoundError(f"{name} no longer exists", kind="version", path=name)
        connection = answer.artifact.artifact_memberships
        found = []
        for edge in connection.edges:
            node = edge.node
            ref = None if node is None else node.artifact_collection
            if node is None or ref is None or ref.typename__ != "ArtifactPortfolio" or node.version_index is None:
                continue
            if ref.project is None:
                continue
            project = ProjectKey(ref.project.entity_name, ref.project.name)
            aliases = tuple(a.alias for a in node.aliases if version_index(a.alias) is None)
            found.append(Membership(LinkRecord(project, ref.name, node.version_index, aliases), ref.id))
        return Page.of(connection, found)

    return list(PageFetcher(fetch))
