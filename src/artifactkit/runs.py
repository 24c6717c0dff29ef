"""Runs, as far as artifacts are concerned: who logged a version, who used it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ._graphql import Session

if TYPE_CHECKING:
    from ._generated.fragments import RunFields
    from .artifacts import RunArtifacts

RUN_ARTIFACTS_PER_PAGE = 100


class Run:
    """A W&B run; `logged_artifacts()` and `used_artifacts()` list its artifact versions."""

    def __init__(
        self, client: Session, attrs: RunFields, entity: str | None = None, project: str | None = None
    ) -> None:
        self.client = client
        self._attrs = attrs
        proj = attrs.project
        self.entity = proj.entity_name if proj is not None else (entity or "")
        self.project = proj.name if proj is not None else (project or "")

    @property
    def id(self) -> str:
        """The run's name in its project (what W&B URLs call the run id)."""
        return self._attrs.name

    @property
    def name(self) -> str:
        return self._attrs.name

    @property
    def display_name(self) -> str | None:
        return self._attrs.display_name

    @property
    def state(self) -> str | None:
        return self._attrs.state

    @property
    def created_at(self) -> datetime:
        return self._attrs.created_at

    @property
    def storage_id(self) -> str:
        """The server's global ID of the run."""
        return self._attrs.id

    @property
    def path(self) -> list[str]:
        """`[entity, project, run id]`."""
        return [self.entity, self.project, self.id]

    @property
    def path_str(self) -> str:
        return "/".join(self.path)

    def logged_artifacts(self, per_page: int = RUN_ARTIFACTS_PER_PAGE) -> RunArtifacts:
        """The versions this run logged."""
        from .artifacts import RunArtifacts

        return RunArtifacts(self.client, self, mode="logged", per_page=per_page)

    def used_artifacts(self, per_page: int = RUN_ARTIFACTS_PER_PAGE) -> RunArtifacts:
        """The versions this run used as inputs."""
        from .artifacts import RunArtifacts

        return RunArtifacts(self.client, self, mode="used", per_page=per_page)

    def __repr__(self) -> str:
        return f"<Run {self.path_str}>"
