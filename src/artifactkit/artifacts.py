"""Artifact versions: `Artifact`, the listings `Artifacts` and `RunArtifacts`.

An `Artifact` is a version *as seen through one collection*: fetched through a portfolio it is a
link (`is_link`), with that portfolio's name, version number and aliases; its source sequence is
always available as `source_name`. Reading properties never sends a request; the manifest is
fetched only when something needs it.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, overload

from ._graphql import Session
from ._pagination import DEFAULT_PER_PAGE, Page, PageFetcher, Paginator
from ._paths import ArtifactPath, check_alias, parse_artifact_path, version_index
from .collections import check_tags
from .errors import NotFoundError, ResponseValidationError, UnsupportedError

if TYPE_CHECKING:
    from ._generated.fragments import (
        ArtifactFields,
        CollectionRefFields,
        MembershipFields,
        PageInfoFields,
        SequenceRefFields,
    )
    from .collections import ArtifactCollection
    from .files import ArtifactFiles
    from .manifest import Manifest
    from .runs import Run
    from .transfer.download import DownloadResult


@dataclass(frozen=True)
class CollectionView:
    """The collection an artifact was fetched through, and its version number there."""

    entity: str
    project: str
    collection: str
    collection_id: str
    is_portfolio: bool
    version_index: int | None

    @classmethod
    def of(
        cls, ref: CollectionRefFields | SequenceRefFields, version: int | None, *, fallback: tuple[str, str]
    ) -> CollectionView:
        project = ref.project
        entity, project_name = (project.entity_name, project.name) if project is not None else fallback
        is_portfolio = getattr(ref, "typename__", "ArtifactSequence") == "ArtifactPortfolio"
        return cls(entity, project_name, ref.name, ref.id, is_portfolio, version)


class Artifact:
    """One artifact version. Edit `description`, `metadata`, `aliases`, `tags`, then `save()`."""

    def __init__(self, client: Session, attrs: ArtifactFields, view: CollectionView) -> None:
        self.client = client
        self._view = view
        self._manifest: Manifest | None = None
        self._collection: ArtifactCollection | None = None
        self._set_attrs(attrs)

    # -- construction from the different query shapes ---------------------------------------

    @classmethod
    def from_membership(cls, client: Session, membership: MembershipFields, fallback: tuple[str, str]) -> Artifact:
        assert membership.artifact is not None and membership.artifact_collection is not None
        view = CollectionView.of(membership.artifact_collection, membership.version_index, fallback=fallback)
        return cls(client, membership.artifact, view)

    @classmethod
    def from_source(cls, client: Session, attrs: ArtifactFields, fallback: tuple[str, str]) -> Artifact:
        """The version as seen through the sequence it was logged to."""
        view = CollectionView.of(attrs.artifact_sequence, attrs.version_index, fallback=fallback)
        return cls(client, attrs, view)

    def _set_attrs(self, attrs: ArtifactFields) -> None:
        self._attrs = attrs
        self._saved_aliases = self._aliases_in_view()
        self._saved_tags = [t.name for t in attrs.tags]
        self._saved_description = attrs.description
        self._saved_metadata: dict[str, Any] = copy.deepcopy(dict(attrs.metadata or {}))
        self.aliases: list[str] = list(self._saved_aliases)
        self.tags: list[str] = list(self._saved_tags)
        self.description: str | None = attrs.description
        self.metadata: dict[str, Any] = copy.deepcopy(self._saved_metadata)

    def _aliases_in_view(self) -> list[str]:
        view = self._view
        names = []
        for alias in self._attrs.aliases:
            ref = alias.artifact_collection
            if ref is None or ref.name != view.collection:
                continue
            if ref.project is not None and (ref.project.entity_name, ref.project.name) != (view.entity, view.project):
                continue
            if version_index(alias.alias) is None:
                names.append(alias.alias)
        return names

    # -- identity -----------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._attrs.id

    @property
    def entity(self) -> str:
        return self._view.entity

    @property
    def project(self) -> str:
        return self._view.project

    @property
    def collection_name(self) -> str:
        return self._view.collection

    @property
    def version(self) -> str:
        """`v3`: the version number in the collection it was fetched through."""
        index = self._view.version_index
        return "" if index is None else f"v{index}"

    @property
    def name(self) -> str:
        """`collection:v3`."""
        return f"{self._view.collection}:{self.version}"

    @property
    def qualified_name(self) -> str:
        """`entity/project/collection:v3`."""
        return f"{self.entity}/{self.project}/{self.name}"

    @property
    def source_entity(self) -> str:
        project = self._attrs.artifact_sequence.project
        return project.entity_name if project is not None else self.entity

    @property
    def source_project(self) -> str:
        project = self._attrs.artifact_sequence.project
        return project.name if project is not None else self.project

    @property
    def source_name(self) -> str:
        """`sequence:v3`: the name under which the version was logged."""
        return f"{self._attrs.artifact_sequence.name}:v{self._attrs.version_index}"

    @property
    def source_qualified_name(self) -> str:
        return f"{self.source_entity}/{self.source_project}/{self.source_name}"

    @property
    def source_version(self) -> str:
        return f"v{self._attrs.version_index}"

    @property
    def is_link(self) -> bool:
        """True when fetched through a portfolio rather than the sequence it was logged to."""
        return self._view.is_portfolio

    # -- attributes -----------------------------------------------------------------------------

    @property
    def type(self) -> str:
        return self._attrs.artifact_type.name

    @property
    def state(self) -> str:
        return self._attrs.state.value

    @property
    def size(self) -> int:
        return self._attrs.size

    @property
    def digest(self) -> str:
        return self._attrs.digest

    @property
    def file_count(self) -> int:
        return self._attrs.file_count

    @property
    def created_at(self) -> datetime:
        return self._attrs.created_at

    @property
    def updated_at(self) -> datetime | None:
        return self._attrs.updated_at

    @property
    def history_step(self) -> int | None:
        return self._attrs.history_step

    @property
    def collection(self) -> ArtifactCollection:
        """The collection this version was fetched through (loaded by one request on first use)."""
        if self._collection is None:
            from .collections import ArtifactCollection

            self._collection = ArtifactCollection(
                self.client, self.entity, self.project, self._view.collection, self.type
            )
        return self._collection

    # -- files and bytes ----------------------------------------------------------------------------

    def files(self, names: Sequence[str] | None = None, per_page: int = DEFAULT_PER_PAGE) -> ArtifactFiles:
        """The files of this version, optionally only those named (exact manifest paths)."""
        from .files import ArtifactFiles

        return ArtifactFiles(self.client, self, names=names, per_page=per_page)

    @property
    def manifest(self) -> Manifest:
        """The manifest (fetched once, on first use)."""
        if self._manifest is None:
            from .transfer.download import fetch_manifest

            self._manifest = fetch_manifest(self)
        return self._manifest

    @overload
    def download(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        path_prefix: str | None = None,
        include: Sequence[str] | None = None,
        max_workers: int | None = None,
        skip_cache: bool = False,
        dry_run: Literal[False] = False,
        progress: bool | None = None,
    ) -> Path: ...

    @overload
    def download(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        path_prefix: str | None = None,
        include: Sequence[str] | None = None,
        max_workers: int | None = None,
        skip_cache: bool = False,
        dry_run: Literal[True],
        progress: bool | None = None,
    ) -> DownloadResult: ...

    def download(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        path_prefix: str | None = None,
        include: Sequence[str] | None = None,
        max_workers: int | None = None,
        skip_cache: bool = False,
        dry_run: bool = False,
        progress: bool | None = None,
    ) -> Path | DownloadResult:
        """Download the files into `root` (default `./artifacts/<name>-<version>`), verifying every byte.

        Returns the root. Files already present with the right digest are left alone; bytes come
        from the shared cache when it has them; an interrupted download resumes where it stopped.
        `path_prefix` and `include` (globs) select files. With `dry_run=True` nothing is written
        and the plan is returned instead: each selected file with what would happen to it
        (`fetch`, `cache` or `keep`). See `docs/transfers.md`.
        """
        from .transfer.download import default_root, download_artifact

        target = Path(root) if root is not None else default_root(self)
        result = download_artifact(
            self,
            target,
            path_prefix=path_prefix,
            include=include,
            max_workers=max_workers,
            skip_cache=skip_cache,
            dry_run=dry_run,
            progress=progress,
        )
        return result if dry_run else result.root

    def verify(self, root: str | os.PathLike[str]) -> None:
        """Check that `root` holds exactly this version's files; raises `DigestMismatchError`."""
        from .transfer.download import verify_directory

        verify_directory(self.manifest, Path(root))

    # -- edits --------------------------------------------------------------------------------------

    def save(self) -> None:
        """Send the edits to `aliases`, `tags`, `description` and `metadata` made since loading."""
        from ._generated.input_types import (
            AddAliasesInput,
            ArtifactCollectionAliasInput,
            DeleteAliasesInput,
            TagInput,
            UpdateArtifactInput,
        )

        aliases = _settable_aliases(self.aliases)
        tags = check_tags(self.tags)
        added = [a for a in aliases if a not in self._saved_aliases]
        removed = [a for a in self._saved_aliases if a not in aliases]
        view = self._view

        def alias_inputs(names: list[str]) -> list[ArtifactCollectionAliasInput]:
            return [
                ArtifactCollectionAliasInput(
                    alias=a,
                    entity_name=view.entity,
                    project_name=view.project,
                    artifact_collection_name=view.collection,
                )
                for a in names
            ]

        what = f"saving {self.qualified_name}"
        if added:
            self.client.call(
                lambda c: c.add_aliases(AddAliasesInput(artifactID=self.id, aliases=alias_inputs(added))), what
            )
        if removed:
            self.client.call(
                lambda c: c.delete_aliases(DeleteAliasesInput(artifactID=self.id, aliases=alias_inputs(removed))), what
            )
        changes: dict[str, Any] = {}
        if self.description != self._saved_description:
            changes["description"] = self.description
        if self.metadata != self._saved_metadata:
            changes["metadata"] = self.metadata
        tags_added = [t for t in tags if t not in self._saved_tags]
        tags_removed = [t for t in self._saved_tags if t not in tags]
        if tags_added:
            changes["tags_to_add"] = [TagInput(tag_name=t) for t in tags_added]
        if tags_removed:
            changes["tags_to_delete"] = [TagInput(tag_name=t) for t in tags_removed]
        if changes:
            result = self.client.call(
                lambda c: c.update_artifact(UpdateArtifactInput(artifactID=self.id, **changes)), what
            )
            if result.update_artifact is not None:
                self._set_attrs(result.update_artifact.artifact)  # the server's view, aliases included
                return
        # Nothing (or nothing usable) came back: what was sent is now what is saved.
        self._saved_aliases, self.aliases = list(aliases), list(aliases)
        self._saved_tags, self.tags = list(tags), list(tags)
        self._saved_description = self.description
        self._saved_metadata = copy.deepcopy(self.metadata)

    def delete(self, delete_aliases: bool = False) -> None:
        """Delete this version; a link (fetched through a portfolio) is unlinked instead.

        A version that still has aliases is only deleted with `delete_aliases=True`.
        """
        from ._generated.input_types import DeleteArtifactInput

        if self.is_link:
            self.unlink()
            return
        self.client.call(
            lambda c: c.delete_artifact(DeleteArtifactInput(artifactID=self.id, delete_aliases=delete_aliases)),
            f"deleting {self.qualified_name}",
        )

    def link(self, target_path: str, aliases: Sequence[str] | None = None) -> Artifact:
        """Link this version into the portfolio `entity/project/name` (created if missing)."""
        from ._generated.input_types import ArtifactAliasInput, LinkArtifactInput

        target = parse_artifact_path(target_path, lambda: self.entity, self.project, allow_alias=False)
        alias_names = _settable_aliases(aliases or [])
        link = LinkArtifactInput(
            artifactID=self.id,
            artifact_portfolio_name=target.collection,
            entity_name=target.entity,
            project_name=target.project,
            aliases=[ArtifactAliasInput(artifact_collection_name=target.collection, alias=a) for a in alias_names],
        )
        what = f"linking {self.qualified_name} to {target}"
        payload = self.client.call(lambda c: c.link_artifact(link), what).link_artifact
        if payload is not None and payload.artifact_membership is not None:
            return Artifact.from_membership(self.client, payload.artifact_membership, (target.entity, target.project))
        # Servers without ARTIFACT_MEMBERSHIP_IN_LINK_ARTIFACT_RESPONSE only say the version number.
        version = None if payload is None else payload.version_index
        linked = None if version is None else lookup_version(self.client, replace(target, alias=f"v{version}"))
        if linked is None:
            raise ResponseValidationError(f"the server did not say which version it created while {what}")
        return linked

    def unlink(self) -> None:
        """Remove this link from its portfolio (only for versions fetched through a portfolio)."""
        from ._generated.input_types import UnlinkArtifactInput

        if not self.is_link:
            raise UnsupportedError(f"{self.qualified_name} is not a link; use delete() to delete a version")
        unlink = UnlinkArtifactInput(artifactID=self.id, artifactPortfolioID=self._view.collection_id)
        self.client.call(lambda c: c.unlink_artifact(unlink), f"unlinking {self.qualified_name}")

    # -- lineage --------------------------------------------------------------------------------------

    def logged_by(self) -> Run | None:
        """The run that logged this version, if a run did."""
        from .runs import Run

        result = self.client.call(lambda c: c.artifact_created_by(self.id), f"asking who logged {self.qualified_name}")
        creator = None if result.artifact is None else result.artifact.created_by
        if creator is None or creator.typename__ != "Run":
            return None
        return Run(self.client, attrs=creator)

    def used_by(self) -> list[Run]:
        """The runs that used this version as an input."""
        from .runs import Run

        def fetch(cursor: str | None, per_page: int) -> Page[Run]:
            result = self.client.call(
                lambda c: c.artifact_used_by(self.id, cursor=cursor, per_page=per_page),
                f"asking which runs used {self.qualified_name}",
            )
            if result.artifact is None:
                raise NotFoundError(f"{self.qualified_name} no longer exists", kind="artifact")
            connection = result.artifact.used_by
            return Page.of(connection, [Run(self.client, attrs=e.node) for e in connection.edges])

        return list(PageFetcher(fetch))

    def __repr__(self) -> str:
        link = f" link to {self.source_qualified_name}" if self.is_link else ""
        return f"<Artifact {self.qualified_name} type={self.type}{link}>"


class _ArtifactEdge(Protocol):
    @property
    def node(self) -> ArtifactFields | None: ...


class _ArtifactConnection(Protocol):
    """The shape shared by the generated classes of every `VersionedArtifactConnection` read."""

    @property
    def edges(self) -> Sequence[_ArtifactEdge]: ...
    @property
    def page_info(self) -> PageInfoFields: ...
    @property
    def total_count(self) -> int: ...


def _settable_aliases(aliases: Sequence[str]) -> list[str]:
    """Checked, de-duplicated aliases; version aliases (`v3`) belong to the server."""
    names = [check_alias(a) for a in dict.fromkeys(aliases)]
    if any(version_index(a) is not None for a in names):
        raise UnsupportedError("version aliases such as 'v3' are assigned by the server and cannot be set")
    return names


def lookup_version(client: Session, path: ArtifactPath) -> Artifact | None:
    """The version `path` names, seen through its collection; None if any part of it is missing."""
    result = client.call(
        lambda c: c.artifact_membership_by_name(path.entity, path.project, path.name), f"looking up {path}"
    )
    membership = None if result.project is None else result.project.artifact_collection_membership
    if membership is None or membership.artifact is None or membership.artifact_collection is None:
        return None
    return Artifact.from_membership(client, membership, (path.entity, path.project))


def _tag_filter(tags: str | Sequence[str] | None) -> dict[str, Any] | None:
    """Versions carrying every one of `tags` (as W&B's client selects them), checked on the server."""
    if tags is None:
        return None
    names = check_tags([tags] if isinstance(tags, str) else list(tags))
    if not names:
        return None
    return {"tag": names[0]} if len(names) == 1 else {"$and": [{"tag": name} for name in names]}


def _mentions_state(filters: Any) -> bool:
    """Whether a filter document tests `state` anywhere (then no default state is added)."""
    if isinstance(filters, dict):
        return "state" in filters or any(_mentions_state(v) for v in filters.values())
    if isinstance(filters, list):
        return any(_mentions_state(v) for v in filters)
    return False


class Artifacts(Paginator[Artifact]):
    """The versions of one collection, filtered and ordered on the server.

    `filters` use W&B's JSON filter language (e.g. `{"metadata.accuracy": {"$gt": 0.9}}`);
    committed versions only unless `filters` tests `state` somewhere. `tags` keeps the versions carrying
    all of the tags; unlike W&B's client this is filtered on the server, so `len()` counts exactly
    what iteration yields and no page is fetched only to be thrown away.
    """

    def __init__(
        self,
        client: Session,
        entity: str,
        project: str,
        collection_name: str,
        type: str,
        filters: dict[str, Any] | None = None,
        order: str | None = None,
        per_page: int = DEFAULT_PER_PAGE,
        tags: str | list[str] | None = None,
        *,
        start: str | None = None,
    ) -> None:
        super().__init__(per_page, start=start)
        self.client = client
        self.entity = entity
        self.project = project
        self.collection_name = collection_name
        self.type = type
        self.order = order
        self.tags = tags
        clauses = [dict(filters) if filters else {}]
        if not _mentions_state(clauses[0]):
            clauses.append({"state": "COMMITTED"})
        tag_clause = _tag_filter(tags)
        if tag_clause is not None:
            clauses.append(tag_clause)
        clauses = [c for c in clauses if c]
        self.filters: dict[str, Any] = clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def _fetch_page(self, cursor: str | None) -> Page[Artifact]:
        found = self._modern_page(cursor) if self.client.supports_collection_edges else self._legacy_page(cursor)
        if found is None:
            # Let the collection lookup say precisely what is missing (project, type or name).
            from .collections import ArtifactCollection

            ArtifactCollection(self.client, self.entity, self.project, self.collection_name, self.type)
            raise NotFoundError(f"collection {self.collection_name!r} not found", kind="collection")
        ref, page = found
        fallback = (self.entity, self.project)
        items = [
            Artifact(self.client, node, CollectionView.of(ref, version_index(version), fallback=fallback))
            for version, node in page.items
        ]
        return Page(items, page.end_cursor, page.has_next, page.total_count)

    @property
    def _what(self) -> str:
        return f"listing the versions of {self.entity}/{self.project}/{self.collection_name}"

    def _modern_page(self, cursor: str | None) -> tuple[CollectionRefFields, Page[tuple[str, ArtifactFields]]] | None:
        result = self.client.call(
            lambda c: c.collection_versions(
                self.entity,
                self.project,
                self.type,
                self.collection_name,
                cursor=cursor,
                per_page=self.per_page,
                filters=self.filters,
                order=self.order,
            ),
            self._what,
        )
        type_node = None if result.project is None else result.project.artifact_type
        collection = None if type_node is None else type_node.artifact_collection
        if collection is None:
            return None
        connection = collection.artifacts
        if connection is None:
            return collection, Page([], None, False, 0)
        edges = [(e.version, e.node) for e in connection.edges]
        return collection, Page.of(connection, edges, connection.total_count)

    def _legacy_page(self, cursor: str | None) -> tuple[SequenceRefFields, Page[tuple[str, ArtifactFields]]] | None:
        result = self.client.call(
            lambda c: c.legacy_collection_versions(
                self.entity,
                self.project,
                self.type,
                self.collection_name,
                cursor=cursor,
                per_page=self.per_page,
                filters=self.filters,
                order=self.order,
            ),
            self._what,
        )
        type_node = None if result.project is None else result.project.artifact_type
        sequence = None if type_node is None else type_node.artifact_sequence
        if sequence is None:
            return None
        connection = sequence.artifacts
        edges = [(e.version, e.node) for e in connection.edges]
        return sequence, Page.of(connection, edges, connection.total_count)

    def __repr__(self) -> str:
        return f"<Artifacts {self.entity}/{self.project}/{self.collection_name}>"


class RunArtifacts(Paginator[Artifact]):
    """The versions a run logged (`mode="logged"`) or used (`mode="used"`), each seen through its sequence."""

    def __init__(
        self,
        client: Session,
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
        connection: _ArtifactConnection | None
        if self.mode == "logged":
            logged = self.client.call(
                lambda c: c.run_output_artifacts(
                    run.entity, run.project, run.id, cursor=cursor, per_page=self.per_page
                ),
                f"listing the artifacts logged by run {run.path_str}",
            )
            logged_run = None if logged.project is None else logged.project.run
            if logged_run is None:
                raise self._run_not_found()
            connection = logged_run.output_artifacts
        else:
            used = self.client.call(
                lambda c: c.run_input_artifacts(run.entity, run.project, run.id, cursor=cursor, per_page=self.per_page),
                f"listing the artifacts used by run {run.path_str}",
            )
            using_run = None if used.project is None else used.project.run
            if using_run is None:
                raise self._run_not_found()
            connection = using_run.input_artifacts
        if connection is None:
            return Page([], None, False, 0)
        fallback = (run.entity, run.project)
        items = [Artifact.from_source(self.client, e.node, fallback) for e in connection.edges if e.node is not None]
        return Page.of(connection, items, connection.total_count)

    def _run_not_found(self) -> NotFoundError:
        path = self.run.path_str
        return NotFoundError(f"run {path} not found", kind="run", path=path)

    def __repr__(self) -> str:
        return f"<RunArtifacts {self.run.path_str} mode={self.mode}>"
