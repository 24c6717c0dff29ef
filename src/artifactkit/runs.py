"""Runs, as far as artifacts are concerned: `Run` and `RunArtifacts`, the versions it logged or used.

A run answers its fields (state, tags, job type, ...) from the request that found it; its JSON
documents (config, summary, system metrics) are asked for once, on first use. `Runs` lists the
runs of a project (`api.runs()`).
"""

from __future__ import annotations

import json
import time
import warnings
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from . import _lookups
from ._client import Client
from ._pagination import DEFAULT_PER_PAGE, Page, Paginator
from ._times import parse_optional_server_time, parse_server_time
from .artifacts import Artifact
from .errors import NotFoundError
from .users import User

if TYPE_CHECKING:
    from ._generated.fragments import RunDataFields, RunFields

RUN_ARTIFACTS_PER_PAGE = 100
FINISHED_STATES = ("finished", "crashed", "failed")
INTERNAL_CONFIG_KEYS = ("_wandb", "wandb_version")  # what wandb keeps in `rawconfig` only
_STATE_POLL_SECONDS = (0.5, 5.0)  # the first and the longest pause of `wait_until_finished()`


def _plain_config(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`(config, rawconfig)`: the user's values without W&B's `{"value": ...}` wrappers, and every key."""
    user: dict[str, Any] = {}
    internal: dict[str, Any] = {}
    for key, value in raw.items():
        target = internal if key in INTERNAL_CONFIG_KEYS else user
        target[key] = value["value"] if isinstance(value, dict) and "value" in value else value
    return user, {**internal, **user}


class Run:
    """A W&B run: its fields, its artifact versions (`logged_artifacts()`, `used_artifacts()`).

    Runs come from the `Api` (`api.run(path)`, `api.runs(project)`) and from versions
    (`logged_by()`, `used_by()`).
    """

    client: Client
    _attrs: RunFields
    _data: RunDataFields | None
    _entity: str
    project: str
    """The name of the run's project."""
    user: User | None
    """Who made the run; None when the server does not say."""

    def __init__(self) -> None:
        raise TypeError("Run objects come from an Api: api.run(path), api.runs(project), or artifact.logged_by()")

    @classmethod
    def _wrap(
        cls,
        client: Client,
        attrs: RunFields,
        entity: str | None = None,
        project: str | None = None,
        data: RunDataFields | None = None,
    ) -> Run:
        self = cls.__new__(cls)
        self.client = client
        self._set_attrs(attrs)
        proj = attrs.project
        self._entity = proj.entity_name if proj is not None else (entity or "")
        self.project = proj.name if proj is not None else (project or "")
        self._data = data
        return self

    def _set_attrs(self, attrs: RunFields) -> None:
        self._attrs = attrs
        self.user = None if attrs.user is None else User._from_fields(attrs.user)

    # -- identity -------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The run's ID in its project (the last part of `entity/project/run_id`)."""
        return self._attrs.name

    @property
    def name(self) -> str | None:
        """The run's display name, as the W&B app shows it; None when it has none."""
        return self._attrs.display_name

    @property
    def display_name(self) -> str | None:
        """The run's display name (the same as `name`)."""
        return self._attrs.display_name

    @property
    def entity(self) -> str:
        """The entity (user or team) of the run's project."""
        return self._entity

    @property
    def username(self) -> str:
        """Deprecated (as in wandb): the run's `entity`."""
        warnings.warn("Run.username is deprecated; use Run.entity", DeprecationWarning, stacklevel=2)
        return self._entity

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

    @property
    def url(self) -> str:
        """The run's page in the W&B app."""
        return f"{self.client.app_url}/{self.entity}/{self.project}/runs/{self.id}"

    # -- fields ------------------------------------------------------------------------------

    @property
    def state(self) -> str | None:
        """The run's state as the server reports it (`running`, `finished`, `crashed`, ...); None if unknown."""
        return self._attrs.state

    @property
    def created_at(self) -> str:
        """When the run was created, as the server wrote it; see `created_at_datetime`."""
        return self._attrs.created_at

    @property
    def created_at_datetime(self) -> datetime:
        """`created_at` as a timezone-aware UTC `datetime`."""
        return parse_server_time(self._attrs.created_at)

    @property
    def heartbeat_at(self) -> str | None:
        """When the run last reported that it was alive, as the server wrote it."""
        return self._attrs.heartbeat_at

    @property
    def heartbeat_at_datetime(self) -> datetime | None:
        """`heartbeat_at` as a timezone-aware UTC `datetime`."""
        return parse_optional_server_time(self._attrs.heartbeat_at)

    @property
    def job_type(self) -> str | None:
        """The run's job type (`train`, `eval`, ...); None when it has none."""
        return self._attrs.job_type

    @property
    def group(self) -> str | None:
        """The group the run belongs to; None when it has none."""
        return self._attrs.group

    @property
    def tags(self) -> list[str]:
        """The run's tags."""
        return list(self._attrs.tags)

    @property
    def notes(self) -> str | None:
        """The run's notes; None when it has none."""
        return self._attrs.notes

    @property
    def description(self) -> str | None:
        """The run's description; None when it has none."""
        return self._attrs.description

    @property
    def commit(self) -> str | None:
        """The git commit the run recorded; None when it recorded none."""
        return self._attrs.commit

    @property
    def read_only(self) -> bool | None:
        """Whether this API key may only read the run."""
        return self._attrs.read_only

    @property
    def sweep_name(self) -> str | None:
        """The ID of the sweep the run belongs to; None when it belongs to none."""
        return self._attrs.sweep_name

    @property
    def history_line_count(self) -> int | None:
        """How many rows of history the run logged."""
        return self._attrs.history_line_count

    # -- the JSON documents, loaded on first use ------------------------------------------------

    def _run_data(self) -> RunDataFields:
        if self._data is None:
            result = self.client.call(
                lambda c: c.project_run_data(self.entity, self.project, self.id), f"loading run {self.path_str}"
            )
            if result.project is None or result.project.run is None:
                raise NotFoundError(f"run {self.path_str} not found", kind="run", path=self.path_str)
            self._data = result.project.run
        return self._data

    @property
    def config(self) -> dict[str, Any]:
        """The run's configuration: each key's value (W&B's own `_wandb` keys are in `rawconfig` only)."""
        return _plain_config(self._run_data().config or {})[0]

    @property
    def rawconfig(self) -> dict[str, Any]:
        """The run's configuration with W&B's own keys (`_wandb`)."""
        return _plain_config(self._run_data().config or {})[1]

    @property
    def json_config(self) -> str:
        """The configuration as JSON in W&B's `{"key": {"value": ..., "desc": null}}` form."""
        _user, raw = _plain_config(self._run_data().config or {})
        return json.dumps({key: {"value": value, "desc": None} for key, value in raw.items() if key != "wandb_version"})

    @property
    def summary_metrics(self) -> dict[str, Any]:
        """The run's summary: the last (or chosen) value of each metric."""
        return dict(self._run_data().summary_metrics or {})

    @property
    def summary(self) -> dict[str, Any]:
        """The run's summary (`summary_metrics`), to read: wandb's writable summary object is not offered."""
        return self.summary_metrics

    @property
    def system_metrics(self) -> dict[str, Any]:
        """The run's system metrics (GPU, CPU, memory), as the server keeps them."""
        return dict(self._run_data().system_metrics or {})

    @property
    def history_keys(self) -> dict[str, Any]:
        """What the server knows of the run's history: its keys and `lastStep`."""
        keys = self._run_data().history_keys
        return dict(keys) if isinstance(keys, dict) else {}

    @property
    def lastHistoryStep(self) -> int:  # wandb's name
        """The last step the run logged to its history; -1 when it logged none."""
        step = self.history_keys.get("lastStep", -1)
        return step if isinstance(step, int) else -1

    def load(self, force: bool = False) -> dict[str, Any]:
        """The run's fields as the server names them, its JSON documents included (asked for once;
        again with `force=True`, which also refreshes every field)."""
        if force:
            self._reload()
        data = self._run_data()
        user, raw = _plain_config(data.config or {})
        return {
            **self._attrs.model_dump(by_alias=True, exclude={"project"}),
            **data.model_dump(by_alias=True),
            "config": user,
            "rawconfig": raw,
        }

    def load_full_data(self, force: bool = False) -> dict[str, Any]:
        """`load()` (wandb's name for loading a lazily listed run in full)."""
        return self.load(force)

    def _reload(self) -> None:
        result = self.client.call(
            lambda c: c.project_run(self.entity, self.project, self.id), f"loading run {self.path_str}"
        )
        if result.project is None or result.project.run is None:
            raise NotFoundError(f"run {self.path_str} not found", kind="run", path=self.path_str)
        self._set_attrs(result.project.run)
        self._data = None

    def wait_until_finished(self) -> None:
        """Ask the server again and again (every few seconds) until the run is finished, crashed or failed."""
        pause, longest = _STATE_POLL_SECONDS
        while self.state not in FINISHED_STATES:
            time.sleep(pause)
            pause = min(pause * 2, longest)
            self._reload()

    def delete(self, delete_artifacts: bool = False) -> None:
        """Delete the run; with `delete_artifacts=True` the versions it logged go too (else they stay,
        logged by no run). Its ID cannot be used again in the project."""
        self.client.call(lambda c: c.delete_run(self.storage_id, delete_artifacts), f"deleting run {self.path_str}")

    # -- artifacts ------------------------------------------------------------------------------

    def logged_artifacts(self, per_page: int = RUN_ARTIFACTS_PER_PAGE) -> RunArtifacts:
        """The versions this run logged."""
        return RunArtifacts(self.client, self, mode="logged", per_page=per_page)

    def used_artifacts(self, per_page: int = RUN_ARTIFACTS_PER_PAGE) -> RunArtifacts:
        """The versions this run used as inputs."""
        return RunArtifacts(self.client, self, mode="used", per_page=per_page)

    def use_artifact(self, artifact: Artifact, use_as: str | None = None) -> Artifact:
        """Record that this run used `artifact` (as `use_as`, default the version's name); returns it."""
        from ._generated.input_types import UseArtifactInput

        if not isinstance(artifact, Artifact):
            raise TypeError(f"use_artifact takes an Artifact from this Api, not {type(artifact).__name__}")
        used = UseArtifactInput(
            entity_name=self.entity,
            project_name=self.project,
            run_name=self.id,
            artifactID=artifact.id,
            used_as=use_as or artifact.name,
            artifact_entity_name=artifact.entity,
            artifact_project_name=artifact.project,
        )
        self.client.call(
            lambda c: c.use_artifact(used), f"recording that {self.path_str} used {artifact.qualified_name}"
        )
        return artifact

    def __repr__(self) -> str:
        return f"<Run {self.path_str} ({self.state})>"


class Runs(Paginator[Run]):
    """The runs of a project, filtered and ordered on the server (`api.runs()`), counted by the server.

    `filters` use W&B's filter language on run fields (`{"jobType": "train"}`,
    `{"config.lr": {"$gt": 0.01}}`, `{"$or": [...]}`); `order` is `+created_at` (the default),
    `-created_at`, `+heartbeat_at`, ... With `lazy=False` each run comes with its config and summary
    in the same request; with `lazy=True` (the default) they are asked for per run, on first use.
    """

    def __init__(
        self,
        client: Client,
        entity: str,
        project: str,
        filters: dict[str, Any] | None = None,
        order: str = "+created_at",
        per_page: int = DEFAULT_PER_PAGE,
        lazy: bool = True,
    ) -> None:
        super().__init__(per_page)
        self.client = client
        self.entity = entity
        self.project = project
        self.filters: dict[str, Any] = dict(filters or {})
        self.order = order
        self.lazy = lazy

    def upgrade_to_full(self) -> None:
        """Fetch each run with its config and summary from now on (`lazy=False`)."""
        self.lazy = False

    def _fetch_page(self, cursor: str | None) -> Page[Run]:
        where = f"{self.entity}/{self.project}"
        what = f"listing the runs of {where}"
        filters, order, per_page = self.filters or None, self.order, self.per_page
        if self.lazy:
            light = self.client.call(
                lambda c: c.project_runs(
                    self.entity, self.project, filters=filters, order=order, cursor=cursor, per_page=per_page
                ),
                what,
            ).project
            if light is None:
                raise _lookups.project_not_found(self.client, self.entity, self.project)
            if light.runs is None:
                return Page([], None, False, 0)
            items = [Run._wrap(self.client, e.node) for e in light.runs.edges]
            return Page.of(light.runs, items, light.runs.total_count)
        full = self.client.call(
            lambda c: c.project_runs_with_data(
                self.entity, self.project, filters=filters, order=order, cursor=cursor, per_page=per_page
            ),
            what,
        ).project
        if full is None:
            raise _lookups.project_not_found(self.client, self.entity, self.project)
        if full.runs is None:
            return Page([], None, False, 0)
        loaded = [Run._wrap(self.client, e.node, data=e.node) for e in full.runs.edges]
        return Page.of(full.runs, loaded, full.runs.total_count)

    def __repr__(self) -> str:
        return f"<Runs {self.entity}/{self.project}>"


class RunArtifacts(Paginator[Artifact]):
    """The versions a run logged (`mode="logged"`) or used (`mode="used"`), each seen through its sequence."""

    def __init__(
        self,
        client: Client,
        run: Run,
        mode: Literal["logged", "used"] = "logged",
        per_page: int = DEFAULT_PER_PAGE,
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
