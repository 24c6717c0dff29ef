"""`Api`: configuration and the entry points of the artifacts API."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from . import _config, _lookups
from ._capabilities import Capabilities
from ._client import Client
from ._pagination import DEFAULT_PER_PAGE
from ._paths import (
    PROJECT_FORM,
    ArtifactPath,
    ProjectPath,
    check_alias,
    check_part,
    check_tags,
    parse_artifact_path,
    parse_project_path,
    parse_run_path,
)
from ._transport import RetryPolicy, Transport
from .artifact_types import ArtifactType, ArtifactTypes
from .artifacts import Artifact, Artifacts, lookup_version
from .collections import ArtifactCollection, ArtifactCollections
from .errors import DownloadError, InvalidNameError, NotFoundError
from .manifest import ManifestEntry, ManifestError, check_entry_path
from .projects import Projects
from .runs import Run
from .transfer.cache import Cache
from .transfer.fetch import normalise_etag
from .transfer.progress import Progress
from .transfer.upload import UploadStats, collect_files
from .uploads import upload_version

if TYPE_CHECKING:
    import httpx

    from ._generated.fragments import RunFields

DEFAULT_TIMEOUT = _config.DEFAULT_TIMEOUT


class _Connection(Client):
    """The client an Api's entities share; it builds the entities the graph points up to."""

    def collection(self, entity: str, project: str, name: str, type_name: str) -> ArtifactCollection:
        return ArtifactCollection(self, entity, project, name, type_name)

    def run(self, attrs: RunFields, entity: str | None = None, project: str | None = None) -> Run:
        return Run._wrap(self, attrs, entity, project)


class Api:
    """A connection to a W&B server (or the local emulator) for reading and editing artifacts.

    Settings are found where the wandb client finds them: the arguments (or `overrides`, as
    `wandb.Api` takes them), then the `WANDB_*` environment, then the wandb settings files
    (`./wandb/settings`, `~/.config/wandb/settings`), then the netrc entry `wandb login` wrote for
    the server, and finally W&B cloud (`https://api.wandb.ai`). `base_url="local"` asks for the
    running `artifactkit serve`, which is also used when no server and no key are configured
    anywhere. docs/configuration.md has the full table. Nothing is sent until the first call;
    close the client with `close()` or by using the Api as a context manager.

    Args:
        api_key: the W&B API key; None: found as described above.
        base_url: the server, e.g. `https://api.wandb.ai` or `"local"`; None: found as above.
        timeout: seconds to wait for each HTTP response; None: `WANDB_HTTP_TIMEOUT`, else 30.
        entity: the default entity for paths that name none; None: configured, else the key's user.
        project: the default project for paths that name none; None: configured, else none.
        overrides: `base_url`, `api_key`, `entity`, `project` as a mapping (arguments win).
        retry: how hard to retry failed requests; None: `RetryPolicy()`.
        cache_dir: the download cache; None: `$WANDB_CACHE_DIR/artifactkit` or the user cache dir.
        http_transport: an httpx transport to send requests through (tests, proxies).
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        entity: str | None = None,
        project: str | None = None,
        *,
        overrides: Mapping[str, Any] | None = None,
        retry: RetryPolicy | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        http_transport: httpx.BaseTransport | None = None,
    ) -> None:
        overrides = dict(overrides or {})
        self.config = _config.resolve(
            api_key=api_key or overrides.get("api_key"),
            base_url=base_url or overrides.get("base_url"),
            entity=entity or overrides.get("entity"),
            project=project or overrides.get("project"),
            timeout=timeout,
        )
        self.base_url = self.config.base_url
        self.timeout = self.config.timeout
        self._asked_for_entity = False
        self._entity = self.config.entity
        self.project = self.config.project
        base, key = self.config.base_url, self.config.api_key
        transport = Transport(base, key, timeout=self.timeout, retry=retry, transport=http_transport)
        transport.key_source = self.config.sources.get("api_key", transport.key_source)
        self.client: Client = _Connection(transport, cache_root=Path(cache_dir) if cache_dir is not None else None)

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
        return f"<Api {self.base_url}>"

    @property
    def capabilities(self) -> Capabilities:
        """What the server supports (probed once, on first need)."""
        return self.client.capabilities

    # -- identity ------------------------------------------------------------------------------

    @property
    def default_entity(self) -> str | None:
        """The configured entity, else the signed-in user's default entity (asked once)."""
        if self._entity is None and not self._asked_for_entity:
            viewer = self.client.call(lambda c: c.viewer(), "asking who the API key belongs to")
            self._entity = None if viewer.viewer is None else viewer.viewer.entity
            self._asked_for_entity = True
        return self._entity

    @property
    def viewer(self) -> dict[str, Any]:
        """The signed-in user: id, username and default entity."""
        viewer = self.client.call(lambda c: c.viewer(), "asking who the API key belongs to")
        if viewer.viewer is None:
            raise NotFoundError("the server knows no user for this API key", kind="user")
        return viewer.viewer.model_dump()

    def _default_entity(self) -> str | None:
        return self.default_entity

    def _project_path(self, path: str | None) -> ProjectPath:
        return parse_project_path(path, self._default_entity, self.project)

    def _artifact_path(self, path: str, *, allow_alias: bool = True) -> ArtifactPath:
        return parse_artifact_path(path, self._default_entity, self.project, allow_alias=allow_alias)

    # -- projects ------------------------------------------------------------------------------

    def projects(self, entity: str | None = None, per_page: int = DEFAULT_PER_PAGE) -> Projects:
        """The projects of `entity` (default: the default entity), newest first, as `wandb.Api().projects()`."""
        name = entity or self._default_entity()
        if not name:
            raise InvalidNameError("no entity given and no default entity configured", expected="an entity name")
        return Projects(self.client, check_part("entity", name, PROJECT_FORM), per_page)

    # -- artifact types ----------------------------------------------------------------------

    def artifact_types(self, project: str | None = None, per_page: int = DEFAULT_PER_PAGE) -> ArtifactTypes:
        """The artifact types of a project (`entity/project`)."""
        path = self._project_path(project)
        return ArtifactTypes(self.client, path.entity, path.project, per_page)

    def artifact_type(self, type_name: str, project: str | None = None) -> ArtifactType:
        """One artifact type of a project; `NotFoundError` if it does not exist."""
        path = self._project_path(project)
        return ArtifactType(self.client, path.entity, path.project, type_name)

    # -- collections ---------------------------------------------------------------------------

    def artifact_collections(
        self,
        project_name: str,
        type_name: str,
        per_page: int = DEFAULT_PER_PAGE,
        *,
        filters: dict[str, Any] | None = None,
        order: str | None = None,
    ) -> ArtifactCollections:
        """The collections of one type in a project."""
        path = self._project_path(project_name)
        return ArtifactCollections(
            self.client, path.entity, path.project, type_name, per_page, filters=filters, order=order
        )

    def artifact_collection(self, type_name: str | None, name: str) -> ArtifactCollection:
        """The collection `entity/project/name` of type `type_name` (None: whatever its type, one more request)."""
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
        per_page: int = DEFAULT_PER_PAGE,
        tags: str | list[str] | None = None,
        *,
        filters: dict[str, Any] | None = None,
        order: str | None = None,
    ) -> Artifacts:
        """The versions of the collection `entity/project/name`."""
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
        )

    def artifact(self, name: str, type: str | None = None) -> Artifact:
        """The version `entity/project/name:alias` (`:v3`, `:latest`, no alias = latest)."""
        path = self._artifact_path(name)
        artifact = lookup_version(self.client, path)
        if artifact is None:
            raise _lookups.diagnose(self.client, path)
        if type is not None and artifact.type != type:
            raise NotFoundError(
                f"{path} is of type {artifact.type!r}, not {type!r}", kind="artifact type", path=str(path)
            )
        return artifact

    def artifact_exists(self, name: str, type: str | None = None) -> bool:
        """True if the version exists (and has `type`, if given); other errors still raise."""
        try:
            self.artifact(name, type)
        except NotFoundError:
            return False
        return True

    # -- runs --------------------------------------------------------------------------------------

    def run(self, path: str) -> Run:
        """The run `entity/project/run_id`."""
        entity, project, name = parse_run_path(path, self._default_entity, self.project)
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
        entity, project, name = parse_run_path(run, self._default_entity, self.project)
        self.client.call(lambda c: c.upsert_run(entity, project, name), f"creating run {entity}/{project}/{name}")
        self.client.call(
            lambda c: c.use_artifact(
                UseArtifactInput(
                    entity_name=entity, project_name=project, run_name=name, artifactID=version.id, used_as=used_as
                )
            ),
            f"recording that {run} used {version.qualified_name}",
        )
