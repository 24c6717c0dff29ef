"""`Api`: configuration and the entry points of the artifacts API."""

from __future__ import annotations

import dataclasses
import os
import string
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple
from urllib.parse import unquote, urlsplit

from . import _config, _lookups
from ._batches import MAX_BATCH, VersionLookup
from ._client import Client
from ._pagination import DEFAULT_PER_PAGE, DEFAULT_REGISTRY_PER_PAGE, PROJECTS_PER_PAGE
from ._paths import (
    PROJECT_FORM,
    RUN_FORM,
    ArtifactPath,
    ProjectPath,
    check_alias,
    check_part,
    check_tags,
    is_digest,
    is_version_id,
    parse_artifact_path,
    parse_project_path,
    parse_run_path,
    registry_project,
)
from ._transport import RetryPolicy, Transport
from .errors import ArtifactkitError, DownloadError, InvalidNameError, NotCachedError, NotFoundError, UnsupportedError

# The entity modules, the transfer engine, httpx and pydantic load when a method first needs them
# (the imports inside the methods), so that `Api()` costs only configuration. Their names are
# imported here for the annotations.
if TYPE_CHECKING:
    from concurrent.futures import Executor, Future

    import httpx

    from ._capabilities import Capabilities
    from ._generated.fragments import RunFields
    from ._seen import Seen
    from .artifact_types import ArtifactType, ArtifactTypes
    from .artifacts import Artifact, Artifacts
    from .collections import ArtifactCollection, ArtifactCollections
    from .diff import ArtifactDiff
    from .manifest import Manifest, ManifestEntry
    from .many import ManyDownload, Resolved
    from .members import Team
    from .mirror import Bundle, MirrorReport, Selection
    from .organizations import Organization
    from .projects import Project, Projects
    from .registries import Registries, Registry
    from .runs import Run, Runs
    from .transfer.cache import Cache
    from .transfer.place import Placement
    from .transfer.upload import UploadStats
    from .users import User

DEFAULT_TIMEOUT = _config.DEFAULT_TIMEOUT
OFFLINE_MODES = frozenset({"offline", "dryrun", "disabled"})
"""`WANDB_MODE` values under which an `Api` (offline=None) answers from the cache only."""
_RUN_ID_ALPHABET = string.ascii_lowercase + string.digits


class _Connection(Client):
    """The client an Api's entities share; it builds the entities the graph points up to."""

    def collection(self, entity: str, project: str, name: str, type_name: str) -> ArtifactCollection:
        from .collections import ArtifactCollection

        return ArtifactCollection(self, entity, project, name, type_name)

    def run(self, attrs: RunFields, entity: str | None = None, project: str | None = None) -> Run:
        from .runs import Run

        return Run._wrap(self, attrs, entity, project)


def _manifest_kept(seen: dict[str, Seen], path: ArtifactPath, cache: Cache, client: Client) -> bool:
    """Whether the version `path` meant when last `seen` has its manifest in `cache` (no lookup sent)."""
    from .artifacts import manifest_kept

    last = seen.get(_seen_name(path))
    return last is not None and manifest_kept(client, last, cache)


def _target_parts(to: str, verb: str) -> tuple[str, str | None]:
    """`entity` or `entity/project`, where a mirror or an import goes, checked as names."""
    parts = to.strip("/").split("/")
    if not 1 <= len(parts) <= 2:
        raise InvalidNameError(f"cannot {verb} into {to!r}", expected="'entity' or 'entity/project'")
    entity = check_part("entity", parts[0], PROJECT_FORM)
    return entity, check_part("project", parts[1], PROJECT_FORM) if len(parts) == 2 else None


def _seen_name(path: ArtifactPath) -> str:
    """The name under which a lookup of `path` is remembered for offline use (no alias: `latest`)."""
    return f"{path.entity}/{path.project}/{path.collection}:{path.alias or 'latest'}"


class _LookedUp(NamedTuple):
    """A version looked up together with its manifest's URL (None where the server gave none)."""

    artifact: Artifact
    manifest_url: str | None


class Api:
    """A connection to a W&B server (or the local emulator) for reading and editing artifacts.

    Settings are found where the wandb client finds them: the arguments (or `overrides`, as
    `wandb.Api` takes them), then the `WANDB_*` environment, then the wandb settings files
    (`./wandb/settings`, `~/.config/wandb/settings`), then the netrc entry `wandb login` wrote for
    the server, and finally W&B cloud (`https://api.wandb.ai`). `base_url="local"` asks for the
    running `artifactkit serve`, which is also used when no server and no key are configured
    anywhere. docs/configuration.md has the full table. Nothing is sent until the first call;
    close the client with `close()` or by using the Api as a context manager.

    The first three arguments are `wandb.Api`'s, in its order: `Api({"entity": "my-team"})` works
    as it does there.

    Args:
        overrides: `base_url`, `api_key`, `entity`, `project`, `organization` as a mapping (the other arguments win).
        timeout: seconds to wait for each HTTP response; None: `WANDB_HTTP_TIMEOUT`, else 30.
        api_key: the W&B API key; None: found as described above.
        base_url: the server, e.g. `https://api.wandb.ai` or `"local"`; None: found as above.
        entity: the default entity for paths that name none; None: configured, else the key's user.
        project: the default project for paths that name none; None: configured, else none.
        organization: the organization of registry paths that name none and of `registries()`;
            None: `WANDB_ORGANIZATION`, the settings files, else the entity's only organization.
        retry: how hard to retry failed requests; None: `RetryPolicy()`.
        cache_dir: the download cache; None: `$WANDB_CACHE_DIR/artifactkit` or the user cache dir.
        http_transport: an httpx transport to send requests through (tests, proxies).
        host_keys_only: take `WANDB_API_KEY` only for the server `WANDB_BASE_URL` (or the settings)
            names; another server's key comes from `api_key` or its netrc entry. For the second
            server of a mirror, so that one server's key is never sent to the other.
        offline: answer from the cache only, sending nothing (docs/offline.md): names resolve to
            the versions they were last seen meaning online, manifests and files come from the
            cache, anything else raises `NotCachedError` or `OfflineError`. None: offline when
            `WANDB_MODE` is `offline`, `dryrun` or `disabled`. No API key is needed offline.
    """

    def __init__(
        self,
        overrides: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        entity: str | None = None,
        project: str | None = None,
        organization: str | None = None,
        retry: RetryPolicy | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        http_transport: httpx.BaseTransport | None = None,
        host_keys_only: bool = False,
        offline: bool | None = None,
    ) -> None:
        overrides = dict(overrides or {})
        if offline is None:
            offline = os.environ.get("WANDB_MODE", "").strip().lower() in OFFLINE_MODES
        self.offline = offline
        """Whether this Api answers from the cache only (nothing is sent)."""
        self.config = _config.resolve(
            api_key=api_key or overrides.get("api_key"),
            base_url=base_url or overrides.get("base_url"),
            entity=entity or overrides.get("entity"),
            project=project or overrides.get("project"),
            timeout=timeout,
            organization=organization or overrides.get("organization"),
            host_keys_only=host_keys_only,
            require_key=not offline,
        )
        self.base_url = self.config.base_url
        self.timeout = self.config.timeout
        self.api_key = self.config.api_key
        """The API key this Api sends (as `wandb.Api().api_key`)."""
        self.settings: dict[str, str | None] = {
            "base_url": self.config.base_url,
            "entity": self.config.entity,
            "organization": self.config.organization,
            "project": self.config.project,
        }
        """What was configured, under wandb's names (`entity` and `project` None where nothing was)."""
        self._asked_for_entity = False
        self._entity = self.config.entity
        self._project = self.config.project
        base, key = self.config.base_url, self.config.api_key
        transport = Transport(base, key, timeout=self.timeout, retry=retry, transport=http_transport)
        transport.key_source = self.config.sources.get("api_key", transport.key_source)
        transport.base_url_source = self.config.sources.get("base_url", transport.base_url_source)
        transport.offline = offline
        self.client: Client = _Connection(
            transport,
            cache_root=Path(cache_dir) if cache_dir is not None else None,
            organization=self.config.organization,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP connections."""
        self.client.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Api {self.base_url}{' offline' if self.offline else ''}>"

    @property
    def capabilities(self) -> Capabilities:
        """What the server supports (probed once, on first need)."""
        return self.client.capabilities

    # -- identity ------------------------------------------------------------------------------

    @property
    def default_entity(self) -> str | None:
        """The configured entity, else the signed-in user's default entity (asked once)."""
        if self._entity is None and not self._asked_for_entity:
            if self.offline:  # the entity last seen for this server, if any
                self._entity = self.client.seen.fact(self.base_url, "default_entity")
            else:
                viewer = self.client.call(lambda c: c.viewer(), "asking who the API key belongs to")
                self._entity = None if viewer.viewer is None else viewer.viewer.entity
                if self._entity:
                    self.client.seen.note_fact(self.base_url, "default_entity", self._entity, time.time())
            self._asked_for_entity = True
        return self._entity

    @property
    def default_project(self) -> str | None:
        """The configured project for paths that name none (`project=`, `WANDB_PROJECT`, the settings files)."""
        return self._project

    @property
    def viewer(self) -> User:
        """The user the API key belongs to."""
        from .users import User

        viewer = self.client.call(lambda c: c.viewer(), "asking who the API key belongs to")
        if viewer.viewer is None:
            raise NotFoundError("the server knows no user for this API key", kind="user")
        return User._from_fields(viewer.viewer)

    @property
    def user_agent(self) -> str:
        """The `User-Agent` this Api sends."""
        return str(self.client.transport.client.headers.get("User-Agent", ""))

    def flush(self) -> None:
        """Forget what this Api learned from the server (the key's default entity, what the server
        supports): the next call that needs it asks again."""
        if self.config.entity is None:
            self._entity, self._asked_for_entity = None, False
        self.client.forget_capabilities()

    def _default_entity(self) -> str | None:
        return self.default_entity

    def _project_path(self, path: str | None) -> ProjectPath:
        return parse_project_path(path, self._default_entity, self._project, registry_entity=self._registry_entity)

    def _artifact_path(self, path: str, *, allow_alias: bool = True) -> ArtifactPath:
        return parse_artifact_path(
            path, self._default_entity, self._project, allow_alias=allow_alias, registry_entity=self._registry_entity
        )

    def _registry_entity(self, organization: str | None) -> str:
        """The entity holding the registries of the organization a path names (None: as configured or decided)."""
        from . import organizations

        return organizations.registry_entity(self.client, self._default_entity)(organization)

    # -- organizations and registries (docs/registry.md) ---------------------------------------

    def _organization_name(self, organization: str | None) -> str:
        from . import organizations

        return organizations.organization_name(
            self.client, organization or self.config.organization, self._default_entity()
        )

    def organization(self, name: str | None = None) -> Organization:
        """The organization `name` (its display name); None: the configured one, else the default entity's."""
        from . import organizations

        if name is None:
            name = self.config.organization
        if name is None:
            organizations.require_registries(self.client, "looking up organizations")
            name = organizations.resolve_org(self.client, self._default_entity(), None).name
        return organizations.fetch_organization(self.client, name)

    def registries(
        self,
        organization: str | None = None,
        filter: dict[str, Any] | None = None,
        order: str | None = None,
        per_page: int = DEFAULT_REGISTRY_PER_PAGE,
        start: str | None = None,
    ) -> Registries:
        """The registries of `organization` you may see, filtered and ordered on the server.

        `organization` None: the configured one, else the default entity's only one. `filter` takes
        `name` (matched with the `wandb-registry-` prefix; `{"$regex": ...}` as written), `id`,
        `description`, `created_at`, `updated_at`; `order` `name`, `created_at` or `updated_at`
        (`-` first: descending). `.collections(filter)` and `.versions(filter)` search inside them.
        """
        from . import organizations
        from .registries import check_registries_arguments, list_registries

        organizations.require_registry_search(self.client, "registries")
        check_registries_arguments(filter, order)
        return list_registries(self.client, self._organization_name(organization), filter, order, per_page, start)

    def registry(self, name: str, organization: str | None = None) -> Registry:
        """The registry `name` (`model`, or `wandb-registry-model`) of `organization` (as for `registries()`)."""
        from . import organizations
        from .registries import load_registry

        organizations.require_registry_search(self.client, "registries")
        registry_project(name)
        return load_registry(self.client, self._organization_name(organization), name)

    def create_registry(
        self,
        name: str,
        visibility: Literal["organization", "restricted"],
        organization: str | None = None,
        description: str | None = None,
        artifact_types: list[str] | None = None,
    ) -> Registry:
        """Create the registry `name` (`ConflictError` if it exists); no `artifact_types`: any type may be linked."""
        from .registries import check_registry_types, check_visibility, create_registry, require_registry_creation

        require_registry_creation(self.client)
        registry_project(name)
        check_visibility(visibility)
        check_registry_types(artifact_types or [])
        return create_registry(
            self.client, self._organization_name(organization), name, visibility, description, artifact_types
        )

    def user(self, username_or_email: str) -> User | None:
        """The user with this username or email (None if there is none), e.g. to add to a registry."""
        from . import members

        return members.find_user(self.client, username_or_email)

    def team(self, team: str) -> Team:
        """The team entity `team` (`NotFoundError` if there is none), e.g. to add to a registry."""
        from . import members

        return members.find_team(self.client, check_part("team", team, "a team name"))

    # -- projects ------------------------------------------------------------------------------

    def projects(self, entity: str | None = None, per_page: int = PROJECTS_PER_PAGE) -> Projects:
        """The projects of `entity` (default: the default entity), newest first, as `wandb.Api().projects()`."""
        from .projects import Projects

        return Projects(self.client, self._entity_or_default(entity), per_page)

    def project(self, name: str, entity: str | None = None) -> Project:
        """The project `name` of `entity` (default: the default entity).

        Nothing is sent until a field the server holds is read (`id`, `created_at`, `owner`, ...);
        `NotFoundError` then if there is no such project.
        """
        from .projects import Project

        owner = self._entity_or_default(entity)
        return Project._wrap(self.client, owner, check_part("project", name, PROJECT_FORM))

    def create_project(self, name: str, entity: str) -> None:
        """Create the project `entity/name` (nothing happens if it exists)."""
        owner = check_part("entity", entity, PROJECT_FORM)
        project = check_part("project", name, PROJECT_FORM)
        self.client.call(lambda c: c.upsert_project(owner, project), f"creating project {owner}/{project}")

    def _entity_or_default(self, entity: str | None) -> str:
        name = entity or self._default_entity()
        if not name:
            raise InvalidNameError("no entity given and no default entity configured", expected="an entity name")
        return check_part("entity", name, PROJECT_FORM)

    def from_path(self, path: str) -> Project | Run:
        """The project or run a path names, as `wandb.Api().from_path()` reads it.

        `project` and `entity/project` name a project, `entity/project/run_id` and
        `entity/project/runs/run_id` a run. Sweeps and reports (`.../sweeps/...`, `.../reports/...`)
        raise `UnsupportedError`: artifactkit has neither.
        """
        parts = path.strip("/ ").split("/")
        if len(parts) == 1:
            return self.project(parts[0])
        if len(parts) == 2:
            return self.project(parts[1], parts[0])
        if len(parts) == 3 or (len(parts) == 4 and parts[2].startswith("run")):
            return self.run("/".join(parts))
        if len(parts) == 4 and parts[2].startswith(("sweep", "report")):
            raise UnsupportedError(f"{path!r} names a {parts[2].rstrip('s')}: artifactkit reads projects and runs only")
        raise InvalidNameError(
            f"{path!r} names no project or run", expected="entity/project, entity/project/run_id or .../runs/run_id"
        )

    # -- artifact types ----------------------------------------------------------------------

    def artifact_types(
        self, project: str | None = None, start: str | None = None, *, per_page: int = DEFAULT_PER_PAGE
    ) -> ArtifactTypes:
        """The artifact types of a project (`entity/project`), from cursor `start` on."""
        from .artifact_types import ArtifactTypes

        path = self._project_path(project)
        return ArtifactTypes(self.client, path.entity, path.project, per_page, start)

    def artifact_type(self, type_name: str, project: str | None = None) -> ArtifactType:
        """One artifact type of a project; `NotFoundError` if it does not exist."""
        from .artifact_types import ArtifactType

        path = self._project_path(project)
        return ArtifactType(self.client, path.entity, path.project, type_name)

    # -- collections ---------------------------------------------------------------------------

    def artifact_collections(
        self,
        project_name: str,
        type_name: str,
        order: str | None = None,
        per_page: int = DEFAULT_PER_PAGE,
        start: str | None = None,
        *,
        filters: dict[str, Any] | None = None,
    ) -> ArtifactCollections:
        """The collections of one type in a project, ordered (`-createdAt`, ...) and filtered on the server."""
        from .collections import ArtifactCollections

        path = self._project_path(project_name)
        return ArtifactCollections(
            self.client,
            path.entity,
            path.project,
            type_name,
            filters=filters,
            order=order,
            per_page=per_page,
            start=start,
        )

    def artifact_collection(self, type_name: str | None, name: str) -> ArtifactCollection:
        """The collection `entity/project/name` of type `type_name` (None: whatever its type, one more request)."""
        from .collections import ArtifactCollection

        path = self._artifact_path(name, allow_alias=False)
        if type_name is None:
            type_name = _lookups.collection_type(self.client, path)
        return ArtifactCollection(self.client, path.entity, path.project, path.collection, type_name)

    def artifact_collection_exists(self, name: str, type: str) -> bool:
        """True if the collection exists; other errors (auth, network) still raise."""
        try:
            self.artifact_collection(type, name)
        except NotFoundError:
            return False
        return True

    # -- versions --------------------------------------------------------------------------------

    def artifacts(
        self,
        type_name: str,
        name: str,
        order: str | None = None,
        per_page: int = DEFAULT_PER_PAGE,
        tags: str | list[str] | None = None,
        start: str | None = None,
        *,
        filters: dict[str, Any] | None = None,
    ) -> Artifacts:
        """The versions of the collection `entity/project/name`, ordered and filtered on the server."""
        from .artifacts import Artifacts

        path = self._artifact_path(name, allow_alias=False)
        return Artifacts(
            self.client,
            path.entity,
            path.project,
            path.collection,
            type_name,
            filters=filters,
            order=order,
            per_page=per_page,
            tags=tags,
            start=start,
        )

    def artifact_versions(self, type_name: str, name: str, per_page: int = DEFAULT_PER_PAGE) -> Artifacts:
        """Deprecated (as in wandb): `artifacts(type_name, name, per_page=per_page)`."""
        warnings.warn("Api.artifact_versions() is deprecated; use Api.artifacts()", DeprecationWarning, stacklevel=2)
        return self.artifacts(type_name, name, per_page=per_page)

    def artifact(self, name: str, type: str | None = None) -> Artifact:
        """The version `entity/project/name:alias` (`:v3`, `:latest`, no alias = latest)."""
        from .artifacts import lookup_version

        shown = name
        if self.offline and is_version_id(name):
            artifact = self._artifact_by_id(name)
        else:
            path = self._artifact_path(name)
            shown = str(path)
            if self.offline:
                artifact = self._seen_version(_seen_name(path))
            else:
                found = lookup_version(self.client, path)
                if found is None:
                    raise _lookups.diagnose(self.client, path)
                self.client.seen.record(self.base_url, [found._sighting([_seen_name(path)], time.time())])
                artifact = found
        if type is not None and artifact.type != type:
            raise NotFoundError(f"{shown} is of type {artifact.type!r}, not {type!r}", kind="artifact type", path=shown)
        return artifact

    def _seen_version(self, name: str) -> Artifact:
        """Offline: the version `name` (a full name or an ID) meant when last seen online; `NotCachedError` if never."""
        from .artifacts import Artifact

        seen = self.client.seen.resolve(self.base_url, name)
        if seen is None:
            raise NotCachedError(
                f"{name} was never looked up online on {self.base_url} "
                f"with this cache ({self.client.seen.path.parent}), "
                "so offline it cannot be resolved; look it up (or download it) online once",
                name=name,
                missing=(name,),
            )
        return Artifact._from_seen(self.client, seen)

    def download_many(
        self,
        artifacts: Iterable[str | Artifact],
        root: str | os.PathLike[str] | None = None,
        *,
        path_prefix: str | None = None,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        max_workers: int | None = None,
        skip_cache: bool = False,
        placement: Placement = "copy",
        raise_errors: bool = True,
    ) -> list[ManyDownload]:
        """Download many versions (names, IDs or `Artifact`s) in one go, each into `<root>/<name>:<version>`.

        `root` None: `./artifacts` (`$WANDB_ARTIFACT_DIR`), the directories `download()` uses. The
        versions share this Api's one connection pool and one budget of `max_workers` requests in
        flight (default as `download()`): names are looked up 40 per request (each answer also
        says where the manifest is and, on a first download, where the files are), and each
        version's files are fetched through the same slots as soon as its lookup is answered
        (IDs, and names on servers before 0.12.11, take one request each). Manifests and bytes
        come from the cache when it has them; a version named twice is downloaded once.
        `path_prefix`, `include`, `exclude`, `skip_cache` and `placement` apply to every version,
        as in `download()`.

        Every version is tried. One `ManyDownload` per item comes back, in order. If any failed,
        `DownloadManyError` is raised after the others finished, naming each failure (its
        `results` holds every outcome); with `raise_errors=False` the outcomes are returned
        instead and each says its own `error`. Offline, names resolve from what was seen online.
        """
        from .many import download_many

        items = list(artifacts)
        if not self.offline and any(isinstance(i, str) and i.count("/") < 2 and not is_version_id(i) for i in items):
            self._default_entity()  # asked once here, not by every lookup thread
        return download_many(
            self.client,
            items,
            self._resolve_many,
            root,
            path_prefix=path_prefix,
            include=include,
            exclude=exclude,
            max_workers=max_workers,
            skip_cache=skip_cache,
            placement=placement,
            raise_errors=raise_errors,
        )

    def _resolve_many(self, names: list[str], pool: Executor) -> list[Future[Resolved]]:
        """`download_many`'s lookups: by name in batches of `MAX_BATCH` per request where the server allows."""
        from concurrent.futures import Future

        answers: list[Future[Resolved]] = [Future() for _ in names]
        batched: list[tuple[Future[Resolved], ArtifactPath]] = []
        batches = not self.offline and self.client.operations.batches_lookups
        for index, name in enumerate(names):
            if is_version_id(name) or not batches:
                answers[index] = pool.submit(self._resolve_one, name)
                continue
            try:
                batched.append((answers[index], self._artifact_path(name)))
            except ArtifactkitError as exc:
                answers[index].set_exception(exc)
        for start in range(0, len(batched), MAX_BATCH):
            pool.submit(self._resolve_batch, batched[start : start + MAX_BATCH])
        return answers

    def _resolve_one(self, name: str) -> Resolved:
        """One name looked up on its own: an ID, a name offline, or any name on a server too old for batches."""
        from .many import Resolved

        if is_version_id(name):
            return Resolved(self._artifact_by_id(name), None, None)
        path = self._artifact_path(name)
        looked_up = self._artifact_and_manifest_url(path)  # offline: from what was seen
        return Resolved(looked_up.artifact, looked_up.manifest_url, None if self.offline else _seen_name(path))

    def _resolve_batch(self, batch: list[tuple[Future[Resolved], ArtifactPath]]) -> None:
        """Up to `MAX_BATCH` names in one request, each answer (or error) handed to its future.

        The files' URLs are asked for alongside where this cache does not hold the manifest of
        the version the name last meant (a first download); a missing name costs one more
        request to say which part of it is missing.
        """
        from .artifacts import Artifact
        from .many import Resolved
        from .transfer.cache import Cache

        try:
            seen = self.client.seen.resolve_many(self.base_url, [_seen_name(path) for _, path in batch])
            with Cache(self.client.cache_root) as cache:
                lookups = [
                    VersionLookup(
                        path.entity,
                        path.project,
                        path.name,
                        with_files=not _manifest_kept(seen, path, cache, self.client),
                    )
                    for _, path in batch
                ]
            answers = self.client.operations.versions_by_name(lookups)
            if answers is None:
                raise UnsupportedError("this server cannot look up versions in batches")
            for (future, path), answer in zip(batch, answers, strict=True):
                membership = answer.membership
                if answer.error is not None:
                    future.set_exception(answer.error)
                elif membership is None or membership.artifact is None or membership.artifact_collection is None:
                    try:
                        future.set_exception(_lookups.diagnose(self.client, path))
                    except ArtifactkitError as exc:
                        future.set_exception(exc)
                else:
                    artifact = Artifact._from_membership(self.client, membership, (path.entity, path.project))
                    urls = None if answer.file_urls is None else (answer.file_urls, answer.all_file_urls)
                    future.set_result(Resolved(artifact, answer.manifest_url, _seen_name(path), urls))
        except BaseException as exc:  # every name of the batch still waiting gets the error
            for future, _ in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise

    def artifact_exists(self, name: str, type: str | None = None) -> bool:
        """True if the version exists (and has `type`, if given); other errors still raise."""
        try:
            self.artifact(name, type)
        except NotFoundError:
            return False
        return True

    def diff(
        self, old: Artifact | str, new: Artifact | str, *, paths: Sequence[str] = (), files_only: bool = False
    ) -> ArtifactDiff:
        """What changed from `old` to `new` (versions, their names or their IDs): see `Artifact.diff()`.

        With `files_only=True` only files are compared, and a side named by its ID or by
        `entity/project/name:<digest>` whose manifest is cached needs no request at all (both name
        a committed version's files for good; metadata, aliases and tags can change, so comparing
        them always asks the server).
        """
        from .artifacts import Artifact
        from .diff import diff_contents

        # Both sides are looked up before any manifest travels: a name that is not found costs no download.
        sides = [self._diff_side(side, files_only=files_only) for side in (old, new)]
        for side in sides:
            if isinstance(side, _LookedUp):
                side.artifact._manifest_at(side.manifest_url)  # from the cache, else from the URL the lookup gave
        old_side, new_side = (side.artifact if isinstance(side, _LookedUp) else side for side in sides)
        if isinstance(old_side, Artifact) and isinstance(new_side, Artifact):
            return old_side.diff(new_side, paths=paths, files_only=files_only)
        (old_name, old_manifest), (new_name, new_manifest) = (
            (side.qualified_name, side.manifest) if isinstance(side, Artifact) else side
            for side in (old_side, new_side)
        )
        return diff_contents(old_name, old_manifest, new_name, new_manifest, paths=paths)

    def _diff_side(self, side: Artifact | str, *, files_only: bool) -> Artifact | _LookedUp | tuple[str, Manifest]:
        """A side of a diff: a version, one looked up with its manifest's URL, or a cached manifest's name."""
        from .artifacts import Artifact
        from .diff import cached_manifest

        if isinstance(side, Artifact):
            return side
        if is_version_id(side):
            content_name: str | None = side
        else:
            path = self._artifact_path(side)
            content_name = str(path) if is_digest(path.alias) else None
        if files_only and content_name is not None:
            manifest = cached_manifest(self.client, content_name)
            if manifest is not None:
                return content_name, manifest
        if is_version_id(side):
            return self._artifact_by_id(side)
        return self._artifact_and_manifest_url(path)

    def _artifact_and_manifest_url(self, path: ArtifactPath) -> _LookedUp:
        """`artifact()`, with the URL of the version's manifest asked in the same request (`VersionFileAccess`)."""
        from .artifacts import Artifact

        if self.offline:
            return _LookedUp(self._seen_version(_seen_name(path)), None)
        found = self.client.operations.version_file_access(path.entity, path.project, path.name, [])
        membership = None if found is None else found[0]
        if found is None or membership is None or membership.artifact is None or membership.artifact_collection is None:
            raise _lookups.diagnose(self.client, path)
        return _LookedUp(Artifact._from_membership(self.client, membership, (path.entity, path.project)), found[1])

    def _artifact_by_id(self, artifact_id: str) -> Artifact:
        from .artifacts import Artifact

        if self.offline:
            return self._seen_version(artifact_id)
        found = self.client.operations.artifact_by_id(artifact_id, f"looking up version {artifact_id}")
        if found is None:
            raise NotFoundError(f"no version has the ID {artifact_id!r}", kind="version", path=artifact_id)
        return Artifact._from_source(self.client, found, ("", ""))

    # -- runs --------------------------------------------------------------------------------------

    def run(self, path: str = "") -> Run:
        """The run `entity/project/run_id` (also `entity/project/runs/run_id`, or shorter with the defaults)."""
        from .runs import Run

        entity, project, name = parse_run_path(path, self._default_entity, self._project)
        result = self.client.call(
            lambda c: c.project_run(entity, project, name), f"loading run {entity}/{project}/{name}"
        )
        if result.project is None:
            raise _lookups.project_not_found(self.client, entity, project)
        if result.project.run is None:
            raise NotFoundError(
                f"run {name!r} not found in {entity}/{project}", kind="run", path=f"{entity}/{project}/{name}"
            )
        return Run._wrap(self.client, result.project.run, entity, project)

    def runs(
        self,
        path: str | None = None,
        filters: dict[str, Any] | None = None,
        order: str = "+created_at",
        per_page: int = DEFAULT_PER_PAGE,
        include_sweeps: bool = False,
        lazy: bool = True,
    ) -> Runs:
        """The runs of the project `entity/project` (default: the default project), filtered and
        ordered on the server (see `Runs`).

        `lazy=False` fetches each run's config and summary with the listing. `include_sweeps` is
        accepted for wandb's sake and changes nothing: artifactkit's runs name their sweep
        (`sweep_name`) but load no sweep objects.
        """
        from .runs import Runs

        del include_sweeps  # no sweep objects to include
        where = self._project_path(path)
        return Runs(
            self.client, where.entity, where.project, filters=filters, order=order, per_page=per_page, lazy=lazy
        )

    def create_run(self, *, run_id: str | None = None, project: str | None = None, entity: str | None = None) -> Run:
        """Create a run (ID `run_id`, else a new random one) in `entity/project` (default: the defaults)."""
        import secrets

        from .runs import Run

        project_name = project or self._project
        if not project_name:
            raise InvalidNameError("no project given and no default project configured", expected=RUN_FORM)
        run_entity = self._entity_or_default(entity)
        run_project = check_part("project", project_name, PROJECT_FORM)
        run_name = check_part("run id", run_id or "".join(secrets.choice(_RUN_ID_ALPHABET) for _ in range(8)), RUN_FORM)
        where = f"{run_entity}/{run_project}/{run_name}"
        self.client.call(
            lambda c: c.upsert_project(run_entity, run_project), f"creating project {run_entity}/{run_project}"
        )
        created = self.client.call(lambda c: c.upsert_run(run_entity, run_project, run_name), f"creating run {where}")
        bucket = None if created.upsert_bucket is None else created.upsert_bucket.bucket
        if bucket is None:
            raise NotFoundError(f"the server made no run {where}", kind="run", path=where)
        return Run._wrap(self.client, bucket, run_entity, run_project)

    # -- writing -----------------------------------------------------------------------------------

    def upload(
        self,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | Mapping[str, str | os.PathLike[str]],
        name: str,
        type: str,
        *,
        aliases: Sequence[str] = (),
        tags: Sequence[str] = (),
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        run: str | None = None,
        max_workers: int | None = None,
        references: Sequence[ManifestEntry] = (),
        progress: bool | None = None,
        follow_symlinks: bool = False,
    ) -> Artifact:
        """Create a new version of `entity/project/name` from files and directories.

        Only bytes the server does not already hold are uploaded; content identical to the latest
        version yields that version. `run` names the run that logged it (created if needed).
        `references` adds http(s) entries whose bytes stay where they are, e.g.
        `ManifestEntry("raw/data.csv", digest=etag, ref="https://...", size=n)`. `progress`
        draws a bar (None, the default: when stderr is a terminal, as `download()` does). Symlinks
        inside a directory that lead outside it are skipped (and logged) unless `follow_symlinks`.
        `upload_files()` is the same upload, also returning what was sent and skipped.
        """
        artifact, _stats = self.upload_files(
            paths,
            name,
            type,
            aliases=aliases,
            tags=tags,
            description=description,
            metadata=metadata,
            run=run,
            max_workers=max_workers,
            references=references,
            progress=progress,
            follow_symlinks=follow_symlinks,
        )
        return artifact

    def upload_files(
        self,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | Mapping[str, str | os.PathLike[str]],
        name: str,
        type: str,
        *,
        aliases: Sequence[str] = (),
        tags: Sequence[str] = (),
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        run: str | None = None,
        max_workers: int | None = None,
        references: Sequence[ManifestEntry] = (),
        progress: bool | None = None,
        follow_symlinks: bool = False,
    ) -> tuple[Artifact, UploadStats]:
        """`upload()`, returning the version and what was sent (files and bytes uploaded, or that
        an identical version already existed)."""
        from .transfer.cache import Cache
        from .transfer.progress import Progress
        from .transfer.upload import collect_files
        from .uploads import upload_version

        path = self._artifact_path(name, allow_alias=False)
        alias_list = [check_alias(a) for a in aliases]
        tag_list = check_tags(tags)
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        bar = Progress(0, 0, progress, verb="hashed", phases=True)  # one bar: hashing, then uploading
        skipped: list[Path] = []
        try:
            with Cache(self.client.cache_root) as checksums:
                files = (
                    collect_files(
                        paths,
                        workers=max_workers,
                        progress=bar,
                        follow_symlinks=follow_symlinks,
                        skipped=skipped,
                        checksums=checksums,
                    )
                    if paths
                    else []
                )
            artifact, stats = upload_version(
                self.client,
                path,
                type,
                files,
                aliases=alias_list,
                tags=tag_list,
                description=description,
                metadata=metadata,
                run=run,
                workers=max_workers,
                references=references,
                progress=bar,
            )
        finally:
            bar.close()
        return artifact, dataclasses.replace(stats, skipped=tuple(str(p) for p in skipped))

    def reference(self, url: str, name: str | None = None) -> ManifestEntry:
        """An http(s) file as a reference entry for `upload(references=...)`, as wandb's `add_reference` makes it.

        One HEAD request (no credentials) reads the ETag (the entry's digest; the URL itself when the
        server sends none) and the size in bytes (0 when the server does not say). `name` is the
        entry's path in the version; None: the last part of the URL's path.
        """
        from .manifest import ManifestEntry, ManifestError, check_entry_path
        from .transfer.fetch import normalise_etag

        if not url.startswith(("http://", "https://")):
            raise InvalidNameError(f"{url!r} is not an http(s) URL", expected="a URL such as https://host/data.csv")
        path = name or unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
        try:
            check_entry_path(path)
        except ManifestError as exc:
            raise InvalidNameError(f"cannot name the reference {path!r}: {exc}", expected="a relative path") from None
        transport = self.client.transport
        response = transport.send(lambda: transport.client.build_request("HEAD", url), idempotent=True)
        response.close()
        if response.status_code >= 400:
            raise DownloadError(f"HEAD {url} answered HTTP {response.status_code}", path=path)
        etag = normalise_etag(response.headers.get("etag"))
        length = response.headers.get("content-length", "")
        return ManifestEntry(path, digest=etag or url, size=int(length) if length.isdigit() else 0, ref=url)

    def use_artifact(self, artifact: Artifact | str, run: str, *, used_as: str | None = None) -> None:
        """Record that run `entity/project/run_id` used a version (creating the run if needed)."""
        from ._generated.input_types import UseArtifactInput

        version = self.artifact(artifact) if isinstance(artifact, str) else artifact
        entity, project, name = parse_run_path(run, self._default_entity, self._project)
        self.client.call(lambda c: c.upsert_run(entity, project, name), f"creating run {entity}/{project}/{name}")
        self.client.call(
            lambda c: c.use_artifact(
                UseArtifactInput(
                    entity_name=entity, project_name=project, run_name=name, artifactID=version.id, used_as=used_as
                )
            ),
            f"recording that {run} used {version.qualified_name}",
        )

    # -- travel: mirrors and bundles ---------------------------------------------------------------

    def mirror(
        self,
        path: str,
        target: Api | Bundle,
        *,
        to: str | None = None,
        versions: Sequence[str] = (),
        dry_run: bool = False,
        verify: bool = True,
        max_workers: int | None = None,
        progress: bool | None = None,
    ) -> MirrorReport:
        """Copy a project (`entity/project`), one collection (`entity/project/name`) or chosen versions
        (`entity/project/name:v1,v3`, or `versions=`) from this Api's server to `target`'s.

        Versions go in order with their aliases, tags, description, metadata and TTL, the runs that
        logged and used them, and their links into portfolios; only bytes the target lacks are sent.
        A version already on the target (same content, in the same collection) is not made again,
        only brought in line, so a second mirror with nothing new sends no bytes and creates
        nothing, and a mirror that was killed is finished by running it again. `to` is the target
        `entity` or `entity/project` (default: the same names). `dry_run` reads both sides and
        writes nothing: the report says what would happen. With `verify`, every mirrored version's
        files are compared on both sides afterwards (`MirrorVerificationError` when they differ).
        A `Bundle` target is an export (`export()`). docs/travel.md has the details.
        """
        # The mirror package loads on first use: `import artifactkit` and `Api()` stay light.
        from .mirror import Bundle, Options, ProjectKey, export, mirror

        selection = self._selection(path, versions)
        options = Options(dry_run=dry_run, verify=verify, workers=max_workers, progress=progress)
        if isinstance(target, Bundle):
            return export(self.client, [selection], target, options)
        place = selection.project
        if to is not None:
            entity, project = _target_parts(to, "mirror")
            place = ProjectKey(entity, project or place.project)
        return mirror(self.client, target.client, selection, place, options)

    def export(
        self,
        names: str | Sequence[str],
        directory: str | os.PathLike[str],
        *,
        dry_run: bool = False,
        verify: bool = True,
        max_workers: int | None = None,
        progress: bool | None = None,
    ) -> MirrorReport:
        """Write projects, collections or versions (`names`, as `mirror()` takes them) into a bundle
        directory for an air-gapped transfer: manifests, each stored file once, metadata, aliases,
        tags, links and lineage. Exporting again into the same directory adds only what is new.
        The format is in docs/travel.md; `import_bundle()` reads it.
        """
        from .mirror import Bundle, Options, export

        selections = [self._selection(name, ()) for name in ([names] if isinstance(names, str) else names)]
        options = Options(dry_run=dry_run, verify=verify, workers=max_workers, progress=progress)
        return export(self.client, selections, Bundle(directory), options)

    def import_bundle(
        self,
        directory: str | os.PathLike[str],
        *,
        to: str | None = None,
        dry_run: bool = False,
        verify: bool = True,
        max_workers: int | None = None,
        progress: bool | None = None,
    ) -> MirrorReport:
        """Write a bundle (`export()`) into this Api's server, as a mirror from the server it came from would.

        The bundle is checked whole before anything is written (its documents parsed strictly, no
        path outside it, no symlink, every stored file hashed): a bundle that fails is refused with
        a `BundleError` naming the file. `to` is the `entity` (or, for a bundle of one project,
        `entity/project`) to import into; default: the names the bundle holds.
        """
        entity, project = (None, None) if to is None else _target_parts(to, "import")
        from .mirror import Bundle, Options, import_bundle

        options = Options(dry_run=dry_run, verify=verify, workers=max_workers, progress=progress)
        return import_bundle(Bundle(directory), self.client, entity, project, options)

    def _selection(self, path: str, versions: Sequence[str]) -> Selection:
        """`entity/project`, `entity/project/name` or `entity/project/name:v1,latest` as a `Selection`."""
        from .mirror import ProjectKey, Selection

        text = path.strip().strip("/") if isinstance(path, str) else path
        if not isinstance(text, str) or not text:
            raise InvalidNameError(
                f"nothing to mirror in {path!r}", expected=f"{PROJECT_FORM} or 'entity/project/name'"
            )
        chosen = [check_alias(v) for v in versions]
        if ":" in text:
            text, _, named = text.partition(":")
            chosen += [check_alias(v.strip()) for v in named.split(",") if v.strip()]
        if text.count("/") <= 1 and not chosen:
            where = self._project_path(text)
            return Selection(ProjectKey(where.entity, where.project))
        found = self._artifact_path(text, allow_alias=False)
        return Selection(ProjectKey(found.entity, found.project), found.collection, tuple(dict.fromkeys(chosen)))
