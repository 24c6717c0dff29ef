"""Runs, as far as artifacts are concerned: `Run` and `RunArtifacts`, the versions it logged or used."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from ._client import Client
from ._pagination import DEFAULT_PER_PAGE, Page, Paginator
from .artifacts import Artifact
from .errors import NotFoundError

if TYPE_CHECKING:
    from ._generated.fragments import RunFields

RUN_ARTIFACTS_PER_PAGE = 100


class Run:
    """A W&B run; `logged_artifacts()` and `used_artifacts()` list its artifact versions.

    Runs come from the `Api` (`api.run(path)`) and from versions (`logged_by()`, `used_by()`).
    """

    client: Client
    _attrs: RunFields
    entity: str
    project: str

    def __init__(self) -> None:
        raise TypeError("Run objects come from an Api: api.run(path), or artifact.logged_by() / used_by()")

    @classmethod
    def _wrap(cls, client: Client, attrs: RunFields, entity: str | None = None, project: str | None = None) -> Run:
        self = cls.__new__(cls)
        self.client = client
        self._attrs = attrs
        proj = attrs.project
        self.entity = proj.entity_name if proj is not None else (entity or "")
        self.project = proj.name if proj is not None else (project or "")
        return self

    @property
    def id(self) -> str:
        """The run's name in its project (what W&B URLs call the run id)."""
        return self._attrs.name

    @property
    def name(self) -> str:
        """The run's ID within its project (the last part of `entity/project/run_id`)."""
        return self._attrs.name

    @property
    def display_name(self) -> str | None:
        """The run's human-readable name; None when it has none."""
        return self._attrs.display_name

    @property
    def state(self) -> str | None:
        """The run's state as the server reports it (`running`, `finished`, `crashed`, ...); None if unknown."""
        return self._attrs.state

    @property
    def created_at(self) -> datetime:
        """When the run was created (timezone-aware UTC)."""
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
        """`entity/project/run_id`."""
        return "/".join(self.path)

    def logged_artifacts(self, per_page: int = RUN_ARTIFACTS_PER_PAGE) -> RunArtifacts:
        """The versions this run logged."""
        return RunArtifacts(self.client, self, mode="logged", per_page=per_page)

    def used_artifacts(self, per_page: int = RUN_ARTIFACTS_PER_PAGE) -> RunArtifacts:
        """The versions this run used as inputs."""
        return RunArtifacts(self.client, self, mode="used", per_page=per_page)

    def __repr__(self) -> str:
        return f"<Run {self.path_str}>"


class RunArtifacts(Paginator[Artifact]):
    """The versions a run logged (`mode="logged"`) or used (`mode="used"`), each seen through its sequence."""

    def __init__(
        self,
        client: Client,
        run: Run,
        mode: Literal["logged", "used"] = "logged",
        per_page: int = DEFAULT_PER_PAGE,
        *,
        start: str | None = None,
    ) -> None:
        if mode not in ("logged", "used"):
            raise ValueError(f"mode must be 'logged' or 'used', not {mode!r}")
        super().__init__(per_page, start=start)
        self.client = client
        self.run = run
        self.mode = mode

    def _fetch_page(self, cursor: str | None) -> Page[Artifact]:
        run = self.run
        found = self.client.operations.run_artifacts(
            run.entity,
            run.project,
            run.id,
            self.mode,
            cursor=cursor,
            per_page=self.per_page,
            what=f"listing the artifacts {self.mode} by run {run.path_str}",
        )
        if found is None:
            raise self._run_not_found()
        fallback = (run.entity, run.project)
        items = [Artifact._from_source(self.client, attrs, fallback) for attrs in found.items]
        return Page(items, found.end_cursor, found.has_next, found.total_count)

    def _run_not_found(self) -> NotFoundError:
        path = self.run.path_str
        return NotFoundError(f"run {path} not found", kind="run", path=path)

    def __repr__(self) -> str:
        return f"<RunArtifacts {self.run.path_str} mode={self.mode}>"
