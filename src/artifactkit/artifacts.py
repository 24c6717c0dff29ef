"""Artifact versions: `Artifact`, the listings `Artifacts` and `RunArtifacts`.

An `Artifact` is a version *as seen through one collection*: fetched through a portfolio it is a
link (`is_link`), with that portfolio's name, version number and aliases; its source sequence is
always available as `source_name`. Reading properties never sends a request; the manifest is
fetched only when something needs it.
"""

from __future__ import annotations

import contextlib
import copy
import enum
import glob
import os
import time
import warnings
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, overload
from urllib.parse import quote

from . import _lookups
from ._client import Client
from ._pagination import DEFAULT_PER_PAGE, Page, PageFetcher, Paginator
from ._paths import (
    ArtifactPath,
    check_alias,
    check_tags,
    is_registry_project,
    parse_artifact_path,
    registry_name,
    version_index,
)
from ._seen import Seen, Sighting
from ._times import parse_optional_server_time, parse_server_time
from .errors import (
    ConflictError,
    GraphQLError,
    NotCachedError,
    NotFoundError,
    ResponseValidationError,
    UnsupportedError,
)
from .lineage import DEFAULT_DEPTH, MAX_LEVEL_RUNS, PER_NODE, Lineage, walk
from .manifest import Manifest, ManifestEntry, ManifestError
from .organizations import organization_of_entity, registry_entity

if TYPE_CHECKING:
    from ._generated.fragments import (
        ArtifactFields,
        CollectionRefFields,
        MembershipFields,
        SequenceRefFields,
    )
    from .collections import ArtifactCollection
    from .diff import ArtifactDiff
    from .files import ArtifactFiles
    from .runs import Run
    from .transfer.cache import Cache
    from .transfer.download import DownloadResult
    from .transfer.place import Placement
    from .transfer.references import ReferenceTarget
    from .transfer.slots import Slots
    from .transfer.urls import UrlPage, UrlQuery


def artifacts_base() -> Path:
    """The directory versions go into by default: `$WANDB_ARTIFACT_DIR`, else `./artifacts`."""
    return Path(os.path.abspath(os.environ.get("WANDB_ARTIFACT_DIR") or "artifacts"))


def default_root(
    artifact: Artifact,
    *,
    include_version: bool = True,
    base: Path | None = None,
    present: Collection[str] | None = None,
) -> Path:
    """Where wandb puts a version's files: `$WANDB_ARTIFACT_DIR/<name>:<version>` (`./artifacts` by default).

    The name is the one of the sequence the version was logged to (`source_name`), as wandb does.
    On Windows, and where a directory `<name>-<version>` already exists (an earlier artifactkit's
    default) but `<name>:<version>` does not, `-` stands in for `:`. `include_version=False` gives
    `<name>` alone (the root of `checkout()`). `base` replaces `$WANDB_ARTIFACT_DIR` (`download_many(root=...)`);
    `present`, the names in `base` listed once, saves two `stat` calls per version of a long list.
    """
    if base is None:
        base = artifacts_base()
    name = artifact.source_name if include_version else artifact.source_name.split(":")[0]
    dashed_name = name.replace(":", "-")
    if present is None:
        plain = (base / name).exists()
        dashed = not plain and (base / dashed_name).exists()
    else:
        plain, dashed = name in present, dashed_name in present
    if os.name == "nt" or (not plain and dashed):
        return base / dashed_name
    return base / name


@dataclass(frozen=True)
class ArtifactEntry(ManifestEntry):
    """A manifest entry of a version that can download itself (what `Artifact.get_entry()` returns)."""

    artifact: Artifact | None = field(default=None, repr=False, compare=False)
    """The version this entry belongs to."""

    def _owner(self) -> Artifact:
        if self.artifact is None:
            raise UnsupportedError(f"{self.path}: this entry is not attached to a version; use Artifact.get_entry()")
        return self.artifact

    def download(
        self, root: str | os.PathLike[str] | None = None, *, skip_cache: bool = False, placement: Placement = "copy"
    ) -> str:
        """Download this one file into `root` (default: the version's default root), verified.

        Returns the file's path. An identical file already there is kept; a different one is
        replaced. `skip_cache=True` neither reads nor fills the shared cache; `placement` as in
        `Artifact.download()`.
        """
        artifact = self._owner()
        target = Path(root) if root is not None else default_root(artifact)
        result = artifact.download_files(
            target, include=[glob.escape(self.path)], skip_cache=skip_cache, placement=placement
        )
        [planned] = [f for f in result.files if f.path == self.path]
        return str(planned.destination)

    def ref_target(self) -> str:
        """The URL a reference points at; `UnsupportedError` for a file stored in W&B."""
        if self.ref is None:
            raise UnsupportedError(f"{self.path} is stored in W&B, not a reference")
        return self.ref


class CollectionView(NamedTuple):
    """The collection an artifact was fetched through, and its version number there.

    A named tuple of plain values: one per listed version, cheap to make and untracked by the
    cycle collector.
    """

    entity: str
    project: str
    collection: str
    collection_id: str
    is_portfolio: bool
    version_index: int | None
    linked_at: str | None = None  # when the version was linked into this portfolio, where the lookup says

    @classmethod
    def of(
        cls,
        ref: CollectionRefFields | SequenceRefFields,
        version: int | None,
        *,
        fallback: tuple[str, str],
        linked_at: str | None = None,
    ) -> CollectionView:
        project = ref.project
        entity, project_name = (project.entity_name, project.name) if project is not None else fallback
        is_portfolio = getattr(ref, "typename__", "ArtifactSequence") == "ArtifactPortfolio"
        return cls(
            entity, project_name, ref.name, ref.id, is_portfolio, version, (linked_at or None) if is_portfolio else None
        )


class LinkTarget(NamedTuple):
    """Where a version would be linked (`Artifact.link_target()`), and its link there if any."""

    entity: str
    project: str
    collection: str
    path: str
    """`entity/project/collection`, the organization's entity for a registry."""
    existing: Artifact | None
    """The version's link in that collection already, or None."""


class ArtifactTTL(enum.Enum):
    """A time-to-live that is not a duration: `INHERIT` the team's default (`artifact.ttl = ArtifactTTL.INHERIT`)."""

    INHERIT = 0


# How `updateArtifact` encodes a TTL that is not a duration.
_TTL_INHERIT = -1
_TTL_DISABLED = -2
_WAIT_POLL_SECONDS = (0.25, 5.0)  # the first and the longest pause while `wait()` polls a pending version


class _SavedState(NamedTuple):
    """An artifact's editable fields as the server holds them; `save()` sends the differences."""

    aliases: list[str]
    tags: list[str]
    description: str | None
    metadata: dict[str, Any]


class Artifact:
    """One artifact version. Edit `description`, `metadata`, `aliases`, `tags`, `ttl`, then `save()`.

    Versions come from the `Api` (`api.artifact()`, `api.artifacts()`, `api.upload()`, ...).
    """

    client: Client
    _view: CollectionView
    _manifest: Manifest | None
    _collection: ArtifactCollection | None
    _seen_at: float | None

    def __init__(self) -> None:
        raise TypeError("Artifact objects come from an Api: api.artifact(name), api.artifacts(...), api.upload(...)")

    # -- construction from the different query shapes ---------------------------------------

    @classmethod
    def _wrap(cls, client: Client, attrs: ArtifactFields, view: CollectionView) -> Artifact:
        self = cls.__new__(cls)
        self.client = client
        self._view = view
        self._manifest = None
        self._collection = None
        self._seen_at = None
        self._set_attrs(attrs)
        return self

    @classmethod
    def _from_seen(cls, client: Client, seen: Seen) -> Artifact:
        """A version as an online lookup saw it (`_seen`), with the time it was seen."""
        import json

        from ._generated.fragments import ArtifactFields

        try:
            attrs = ArtifactFields.model_validate_json(seen.fields)
            view = CollectionView(*json.loads(seen.view))
        except (ValueError, TypeError) as exc:  # another artifactkit's encoding: as good as not seen
            raise NotCachedError(
                f"{seen.name} was seen online, but its record in the cache cannot be read ({exc}); "
                "look it up online once",
                name=seen.name,
                missing=(seen.name,),
            ) from exc
        self = cls._wrap(client, attrs, view)
        self._seen_at = seen.seen_at
        return self

    def _sighting(self, asked: Iterable[str], seen_at: float) -> Sighting:
        """What an online lookup of this version vouches for: the names it means right now, and when."""
        import json

        prefix = f"{self.entity}/{self.project}/{self.collection_name}"
        names = [*asked, self.id, f"{prefix}:{self.version}", f"{prefix}:{self.digest}"]
        names += [f"{prefix}:{alias}" for alias in self._aliases_in_view()]
        return Sighting(
            self.id, self._attrs.model_dump_json(by_alias=True), json.dumps(list(self._view)), tuple(names), seen_at
        )

    @property
    def seen_at(self) -> datetime | None:
        """For a version looked up offline: when the name it was looked up by was last seen meaning it
        online (an alias may have moved since). None for a version the server described just now."""
        return None if self._seen_at is None else datetime.fromtimestamp(self._seen_at, tz=UTC)

    @property
    def aliases_seen_at(self) -> dict[str, datetime]:
        """Offline: each alias of `aliases` with when it was last seen online on this version; `{}` online."""
        if self._seen_at is None:
            return {}
        prefix = f"{self.entity}/{self.project}/{self.collection_name}:"
        seen = self.client.seen.names_of(self.client.transport.base_url, self.id)
        return {
            alias: datetime.fromtimestamp(seen[prefix + alias], tz=UTC)
            for alias in self._saved_state.aliases
            if prefix + alias in seen
        }

    @classmethod
    def _from_membership(cls, client: Client, membership: MembershipFields, fallback: tuple[str, str]) -> Artifact:
        assert membership.artifact is not None and membership.artifact_collection is not None
        view = CollectionView.of(
            membership.artifact_collection,
            membership.version_index,
            fallback=fallback,
            linked_at=membership.created_at,
        )
        return cls._wrap(client, membership.artifact, view)

    @classmethod
    def _from_source(cls, client: Client, attrs: ArtifactFields, fallback: tuple[str, str]) -> Artifact:
        """The version as seen through the sequence it was logged to."""
        view = CollectionView.of(attrs.artifact_sequence, attrs.version_index, fallback=fallback)
        return cls._wrap(client, attrs, view)

    def _set_attrs(self, attrs: ArtifactFields) -> None:
        # The saved state and the editable copies are made on first use: listing thousands of
        # versions builds none of them.
        self._attrs = attrs
        self._saved: _SavedState | None = None
        self._aliases: list[str] | None = None
        self._tags: list[str] | None = None
        self._metadata: dict[str, Any] | None = None
        self._description = attrs.description
        self._ttl_change: timedelta | ArtifactTTL | None | Literal[False] = False  # False: unchanged

    @property
    def _saved_state(self) -> _SavedState:
        """What the server holds, as of the last load or `save()` (never mutated in place)."""
        if self._saved is None:
            attrs = self._attrs
            self._saved = _SavedState(
                self._aliases_in_view(), [t.name for t in attrs.tags], attrs.description, dict(attrs.metadata or {})
            )
        return self._saved

    @property
    def description(self) -> str | None:
        """The version's description, yours to edit before `save()`."""
        return self._description

    @description.setter
    def description(self, value: str | None) -> None:
        self._description = value

    @property
    def aliases(self) -> list[str]:
        """The version's aliases in the collection it was fetched through (`vN` left out), yours to edit."""
        if self._aliases is None:
            self._aliases = list(self._saved_state.aliases)
        return self._aliases

    @aliases.setter
    def aliases(self, value: list[str]) -> None:
        self._aliases = value

    @property
    def tags(self) -> list[str]:
        """The version's tags, yours to edit before `save()`."""
        if self._tags is None:
            self._tags = list(self._saved_state.tags)
        return self._tags

    @tags.setter
    def tags(self, value: list[str]) -> None:
        self._tags = value

    @property
    def metadata(self) -> dict[str, Any]:
        """The version's metadata, yours to edit before `save()`."""
        if self._metadata is None:
            self._metadata = copy.deepcopy(self._saved_state.metadata)
        return self._metadata

    @metadata.setter
    def metadata(self, value: dict[str, Any]) -> None:
        self._metadata = value

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
        """The version's GraphQL ID (base64 of `Artifact:<n>`), the same through every collection."""
        return self._attrs.id

    @property
    def entity(self) -> str:
        """The entity of the collection this version was fetched through."""
        return self._view.entity

    @property
    def project(self) -> str:
        """The project of the collection this version was fetched through."""
        return self._view.project

    @property
    def collection_name(self) -> str:
        """The name of the collection this version was fetched through (a sequence or a portfolio)."""
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
        """The entity of the sequence the version was logged to (differs from `entity` for a link)."""
        project = self._attrs.artifact_sequence.project
        return project.entity_name if project is not None else self.entity

    @property
    def source_project(self) -> str:
        """The project of the sequence the version was logged to."""
        project = self._attrs.artifact_sequence.project
        return project.name if project is not None else self.project

    @property
    def source_name(self) -> str:
        """`sequence:v3`: the name under which the version was logged."""
        return f"{self._attrs.artifact_sequence.name}:v{self._attrs.version_index}"

    @property
    def source_qualified_name(self) -> str:
        """`entity/project/sequence:v3` of the sequence the version was logged to."""
        return f"{self.source_entity}/{self.source_project}/{self.source_name}"

    @property
    def source_version(self) -> str:
        """`v3`: the version number in the sequence it was logged to."""
        return f"v{self._attrs.version_index}"

    @property
    def is_link(self) -> bool:
        """True when fetched through a portfolio rather than the sequence it was logged to."""
        return self._view.is_portfolio

    # -- attributes -----------------------------------------------------------------------------

    @property
    def type(self) -> str:
        """The artifact type's name, e.g. `dataset` or `model`."""
        return self._attrs.artifact_type.name

    @property
    def state(self) -> str:
        """`COMMITTED` (complete), `PENDING` (an upload not finished yet) or `DELETED`."""
        return self._attrs.state.value

    @property
    def size(self) -> int:
        """Total size of the files in bytes, references included as the manifest records them."""
        return self._attrs.size

    @property
    def digest(self) -> str:
        """The version's digest: hex MD5 over the manifest's sorted `path:digest` lines (same content, same digest)."""
        return self._attrs.digest

    @property
    def file_count(self) -> int:
        """Number of files, references included."""
        return self._attrs.file_count

    @property
    def created_at(self) -> str:
        """When the version was created, as the server wrote it (`2024-05-01T12:00:00Z`); see `created_at_datetime`."""
        return self._attrs.created_at

    @property
    def created_at_datetime(self) -> datetime:
        """`created_at` as a timezone-aware UTC `datetime`."""
        return parse_server_time(self._attrs.created_at)

    @property
    def updated_at(self) -> str:
        """When the version was last changed (description, metadata, tags, TTL), else when it was created."""
        return self._attrs.updated_at or self._attrs.created_at

    @property
    def updated_at_datetime(self) -> datetime:
        """`updated_at` as a timezone-aware UTC `datetime`."""
        return parse_server_time(self.updated_at)

    @property
    def linked_at(self) -> str | None:
        """When this link was made, for a version looked up through a portfolio (`api.artifact()`); else None.

        Versions listed through a portfolio (`collection.artifacts()`) do not say, as in wandb.
        """
        return self._view.linked_at

    @property
    def linked_at_datetime(self) -> datetime | None:
        """`linked_at` as a timezone-aware UTC `datetime`."""
        return parse_optional_server_time(self._view.linked_at)

    @property
    def linked_artifacts(self) -> list[Artifact]:
        """Every link of this version (in portfolios and registries); `[]` for a link itself.

        One request per 100 collections the version is in (its sequence included).
        """
        return [] if self.is_link else self._links()

    def _links(self) -> list[Artifact]:
        """The links of the version behind this one (itself or, for a link, its source)."""
        if not self.client.capabilities.collection_edges:
            raise UnsupportedError("this W&B server predates listing a version's links (server 0.12.11 and later)")

        def fetch(cursor: str | None, per_page: int) -> Page[Artifact]:
            result = self.client.call(
                lambda c: c.artifact_memberships(self.id, cursor=cursor, per_page=per_page),
                f"listing the links of {self.qualified_name}",
            )
            if result.artifact is None:
                raise NotFoundError(f"{self.qualified_name} no longer exists", kind="version", path=self.qualified_name)
            connection = result.artifact.artifact_memberships
            fallback = (self.entity, self.project)
            links = [
                Artifact._from_membership(self.client, node, fallback)
                for edge in connection.edges
                if (node := edge.node) is not None
                and node.artifact is not None
                and node.artifact_collection is not None
                and node.artifact_collection.typename__ == "ArtifactPortfolio"
            ]
            return Page.of(connection, links)

        return list(PageFetcher(fetch, per_page=100))

    @property
    def source_artifact(self) -> Artifact:
        """The version as seen through the sequence it was logged to: itself unless it is a link (then one request).

        `NotFoundError` where the source project is hidden from the caller (a registry reader
        without access to the team project).
        """
        if not self.is_link:
            return self
        if self._attrs.artifact_sequence.project is None:
            raise NotFoundError(f"the source of {self.qualified_name} is in a project you cannot see", kind="project")
        sequence = self._attrs.artifact_sequence.name
        source = ArtifactPath(self.source_entity, self.source_project, sequence, self.source_version)
        found = lookup_version(self.client, source)
        if found is None:
            raise NotFoundError(
                f"the source {source} of {self.qualified_name} no longer exists", kind="version", path=str(source)
            )
        return found

    @property
    def commit_hash(self) -> str:
        """The short hash the server gave the version when it was committed."""
        return self._attrs.commit_hash or ""

    @property
    def ttl(self) -> timedelta | None:
        """How long after its creation the server keeps the version; None: no time limit.

        Set a `timedelta`, None (keep it), or `ArtifactTTL.INHERIT` (the team's default), then `save()`.
        A TTL inherited from the team is known only after `save()`: reading it before raises
        `UnsupportedError`.
        """
        change = self._ttl_change
        if change is ArtifactTTL.INHERIT:
            raise UnsupportedError(f"the TTL {self.qualified_name} inherits is known after save()")
        if change is not False:
            return change
        seconds = self._attrs.ttl_duration_seconds
        return timedelta(seconds=seconds) if seconds > 0 else None

    @ttl.setter
    def ttl(self, value: timedelta | ArtifactTTL | None) -> None:
        if self.is_link:
            source = self.source_qualified_name
            raise UnsupportedError(
                f"{self.qualified_name} is a link; set the TTL of the version it links to ({source})"
            )
        if isinstance(value, timedelta) and value.total_seconds() <= 0:
            raise ValueError(f"a TTL must be positive, not {value}")
        if not isinstance(value, (timedelta, ArtifactTTL)) and value is not None:
            raise TypeError(f"a TTL is a timedelta, None or ArtifactTTL.INHERIT, not {type(value).__name__}")
        self._ttl_change = value

    def _ttl_seconds_to_send(self) -> int | None:
        """What `updateArtifact` gets for the TTL: seconds, -1 (inherit), -2 (none); None if unchanged."""
        change = self._ttl_change
        if change is False:
            return None
        if change is ArtifactTTL.INHERIT:
            return _TTL_INHERIT
        return _TTL_DISABLED if change is None else int(change.total_seconds())

    @property
    def url(self) -> str:
        """The version's page in the W&B app.

        A link into a model registry (a `model` or a link in the `model-registry` project) points at
        the registry's view of it; a link into a W&B Registry (`wandb-registry-*`) at the
        organization's registry page (one request, once per entity and Api, for the organization's
        name; `""` where none is found, as in wandb).
        """
        app = self.client.app_url
        collection = self._view.collection
        if self.is_link and is_registry_project(self.project):
            organization = organization_of_entity(self.client, self.entity)
            if organization is None:
                return ""
            selection = quote(f"{self.entity}/{self.project}/{collection}", safe="")
            return (
                f"{app}/orgs/{quote(organization)}/registry/{quote(registry_name(self.project))}"
                f"?selectionPath={selection}&view=membership&version={self.version}"
            )
        if self.is_link and (self.type == "model" or self.project == "model-registry"):
            selection = quote(f"{self.entity}/{self.project}/{collection}", safe="")
            return (
                f"{app}/{self.entity}/registry/model?selectionPath={selection}&view=membership&version={self.version}"
            )
        return f"{app}/{self.entity}/{self.project}/artifacts/{quote(self.type)}/{quote(collection)}/{self.version}"

    @property
    def use_as(self) -> str | None:
        """Deprecated in wandb, where it is only set on drafts: None for a version read from the server."""
        warnings.warn("Artifact.use_as is deprecated (as in wandb); it is None", DeprecationWarning, stacklevel=2)
        return None

    @property
    def incremental(self) -> bool:
        """Whether this is a draft built on another version: never, for a version read from the server."""
        return False

    @property
    def distributed_id(self) -> str | None:
        """The ID distributed runs share while writing one draft together: None for a version read from the server."""
        return None

    def is_draft(self) -> bool:
        """Whether this is a draft not yet saved: never, for a version read from the server."""
        return False

    def wait(self, timeout: int | None = None) -> Artifact:
        """Until the version is committed: poll the server while it is `PENDING` (an upload still going on).

        Returns this version, refreshed. `timeout` (seconds, None: no limit) raises `TimeoutError`.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        pause, longest = _WAIT_POLL_SECONDS
        while self.state == "PENDING":
            if deadline is not None and time.monotonic() + pause > deadline:
                raise TimeoutError(f"{self.qualified_name} was still PENDING after {timeout} s")
            time.sleep(pause)
            pause = min(pause * 2, longest)
            found = self.client.operations.artifact_by_id(self.id, f"waiting for {self.qualified_name}")
            if found is None:
                raise NotFoundError(f"{self.qualified_name} no longer exists", kind="version", path=self.qualified_name)
            self._set_attrs(found)
        return self

    def json_encode(self) -> dict[str, Any]:
        """The reference to this version that wandb writes into run configs and tables."""
        return {
            "_type": "artifactVersion",
            "_version": "v0",
            "id": self.id,
            "version": self.source_version,
            "sequenceName": self._attrs.artifact_sequence.name,
            "usedAs": None,
        }

    @property
    def history_step(self) -> int | None:
        """The run's history step at which it was logged; None if not logged from a run's history."""
        return self._attrs.history_step

    @property
    def collection(self) -> ArtifactCollection:
        """The collection this version was fetched through (loaded by one request on first use)."""
        if self._collection is None:
            self._collection = self.client.collection(self.entity, self.project, self._view.collection, self.type)
        return self._collection

    @property
    def source_collection(self) -> ArtifactCollection:
        """The sequence the version was logged to (for a version that is no link, its `collection`)."""
        if not self.is_link:
            return self.collection
        name = self._attrs.artifact_sequence.name
        return self.client.collection(self.source_entity, self.source_project, name, self.type)

    # -- files and bytes ----------------------------------------------------------------------------

    def files(
        self, names: Sequence[str] | None = None, per_page: int = DEFAULT_PER_PAGE, start: str | None = None
    ) -> ArtifactFiles:
        """The files of this version, optionally only those named (exact manifest paths), from cursor `start` on."""
        from .files import ArtifactFiles

        return ArtifactFiles(self.client, self, names=names, per_page=per_page, start=start)

    @property
    def manifest(self) -> Manifest:
        """The manifest (fetched once, on first use)."""
        if self._manifest is None:
            self._manifest = self._fetch_manifest()
        return self._manifest

    def _manifest_at(self, url: str | None) -> Manifest:
        """`manifest`, fetched from `url` when the lookup that found this version already gave it."""
        if self._manifest is None:
            self._manifest = self._fetch_manifest(url)
        return self._manifest

    def _fetch_manifest(self, known_url: str | None = None) -> Manifest:
        """From the cache for a committed version seen before, else fetched (one URL lookup, one GET).

        A manifest is cached only when its own digest equals the version's digest, i.e. when the
        server vouches for exactly these entries; anything else is fetched every time. `known_url`
        spares the lookup (an expired one is exchanged for a fresh one).
        """
        from .transfer.cache import Cache, manifest_key
        from .transfer.download import fetch_document

        what = f"fetching the manifest of {self.qualified_name}"
        key = manifest_key(self.client.transport.base_url, self.id, self.digest)
        cacheable = self.state == "COMMITTED"
        with Cache(self.client.cache_root) as cache:
            if cacheable:
                hit = cache.lookup("manifest", key, None)
                if hit is not None:
                    try:
                        manifest = Manifest.from_json(hit.read_bytes(), check_paths=False)
                        if manifest.digest() == self.digest:
                            return manifest
                    except (OSError, ManifestError):
                        pass  # unreadable: fetch it again
            if self.client.offline:
                raise NotCachedError(
                    f"the manifest of {self.qualified_name} is not in the cache {cache.root} "
                    "(it is kept once a committed version was downloaded, or read, online)",
                    name=self.qualified_name,
                    missing=(f"manifest of {self.qualified_name}",),
                )
            body = fetch_document(
                self.client.transport,
                lambda refused: known_url if known_url and refused is None else self._manifest_url(what),
                what,
            )
            try:
                manifest = Manifest.from_json(body, check_paths=False)
            except ManifestError as exc:
                raise ResponseValidationError(f"invalid manifest while {what}: {exc}") from exc
            if cacheable and manifest.digest() == self.digest:
                with contextlib.suppress(OSError):  # a read-only cache still downloads
                    cache.store_bytes("manifest", key, body)
                    cache.label_manifest(key, self.qualified_name)  # for `cache info`'s per-version breakdown
                    # so that a diff of versions named by ID or digest finds this manifest without a request
                    cache.note_version(self.client.transport.base_url, self._content_names(), self.id, self.digest)
        return manifest

    def _content_names(self) -> list[str]:
        """The names that mean this committed version's files for good: its ID and `entity/project/name:<digest>`."""
        return [
            self.id,
            f"{self.entity}/{self.project}/{self.collection_name}:{self.digest}",
            f"{self.source_entity}/{self.source_project}/{self._attrs.artifact_sequence.name}:{self.digest}",
        ]

    def _manifest_url(self, what: str) -> str:
        result = self.client.call(lambda c: c.artifact_manifest_url(self.id), what)
        if result.artifact is None or result.artifact.current_manifest is None:
            raise NotFoundError(f"no manifest while {what}", kind="manifest")
        return result.artifact.current_manifest.file.direct_url

    def _reference_targets(self, entries: Iterable[ManifestEntry]) -> dict[str, ReferenceTarget]:
        """The stored file each `wandb-artifact://` entry among `entries` points at (chains followed).

        Each target version is looked up once (by its ID) and its manifest fetched once.
        """
        from .transfer.references import ReferenceTarget, follow

        versions: dict[str, Artifact] = {}
        targets: dict[str, ReferenceTarget] = {}
        for entry in entries:

            def lookup(artifact_id: str, path: str, entry: ManifestEntry = entry) -> tuple[Artifact, ManifestEntry]:
                if artifact_id not in versions:
                    versions[artifact_id] = self._by_id(artifact_id, entry.path)
                version = versions[artifact_id]
                found = version.manifest.entries.get(path)
                if found is None:
                    raise NotFoundError(
                        f"{entry.path} of {self.qualified_name} references {path!r} of {version.qualified_name}, "
                        "which has no such file",
                        kind="file",
                        path=entry.path,
                    )
                return version, found

            version, target = follow(entry, self, lookup)
            if target is not entry:
                targets[entry.path] = ReferenceTarget(target, version._file_urls, version.qualified_name)
        return targets

    def _by_id(self, artifact_id: str, referenced_from: str) -> Artifact:
        found = self.client.operations.artifact_by_id(
            artifact_id, f"looking up the artifact {referenced_from} of {self.qualified_name} references"
        )
        if found is None:
            raise NotFoundError(
                f"{referenced_from} of {self.qualified_name} references artifact {artifact_id!r}, which does not exist",
                kind="version",
                path=referenced_from,
            )
        return Artifact._from_source(self.client, found, (self.entity, self.project))

    def _file_urls(self, names: list[str] | None, cursor: str | None, per_page: int) -> UrlPage:
        """One page of signed download URLs: of the files named, or of every file (the engine's `UrlQuery`)."""
        from .transfer.urls import UrlPage

        found = self.client.operations.file_urls(
            self,
            names=names,
            cursor=cursor,
            per_page=per_page,
            what=f"asking for download URLs of {self.qualified_name}",
        )
        if found is None:
            raise NotFoundError(f"{self.qualified_name} not found", kind="version", path=self.qualified_name)
        return UrlPage(*found)

    @overload
    def download(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        path_prefix: str | None = None,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        max_workers: int | None = None,
        skip_cache: bool = False,
        dry_run: Literal[False] = False,
        progress: bool | None = None,
        placement: Placement = "copy",
    ) -> str: ...

    @overload
    def download(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        path_prefix: str | None = None,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        max_workers: int | None = None,
        skip_cache: bool = False,
        dry_run: Literal[True],
        progress: bool | None = None,
        placement: Placement = "copy",
    ) -> DownloadResult: ...

    def download(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        path_prefix: str | None = None,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        max_workers: int | None = None,
        skip_cache: bool = False,
        dry_run: bool = False,
        progress: bool | None = None,
        placement: Placement = "copy",
    ) -> str | DownloadResult:
        """Download the files into `root` (default `./artifacts/<name>:<version>`, as wandb), verifying every byte.

        Returns the root as a `str`, like wandb. Files already present with the right digest are left alone; bytes come
        from the shared cache when it has them; an interrupted download resumes where it stopped.
        `path_prefix`, `include` and `exclude` (globs, `*` matching `/` too) select files. With
        `dry_run=True` nothing is written
        and the plan is returned instead: each selected file with what would happen to it
        (`fetch`, `cache` or `keep`). `download_files()` is the same download returning that
        account for a real run too.

        Each file is the user's own (`placement="copy"`): a reflink of the cached bytes where the
        filesystem has them, else a copy; editing it changes nothing else. `placement="hardlink"`
        or `"symlink"` links files into the shared cache instead (no copy, but an edit in place
        changes every root linked to the same bytes). A file in `root` whose content differs from
        the version's is replaced, as wandb does. See `docs/transfers.md`.
        """
        result = self.download_files(
            root,
            path_prefix=path_prefix,
            include=include,
            exclude=exclude,
            max_workers=max_workers,
            skip_cache=skip_cache,
            dry_run=dry_run,
            progress=progress,
            placement=placement,
        )
        return result if dry_run else str(result.root)

    def download_files(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        path_prefix: str | None = None,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        max_workers: int | None = None,
        skip_cache: bool = False,
        dry_run: bool = False,
        progress: bool | None = None,
        placement: Placement = "copy",
    ) -> DownloadResult:
        """`download()`, returning what it did with each file (`fetch`, `cache`, `keep`) and the bytes fetched."""
        return self._download_files(
            root,
            path_prefix=path_prefix,
            include=include,
            exclude=exclude,
            max_workers=max_workers,
            skip_cache=skip_cache,
            dry_run=dry_run,
            progress=progress,
            placement=placement,
        )

    def _download_files(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        path_prefix: str | None = None,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        max_workers: int | None = None,
        skip_cache: bool = False,
        dry_run: bool = False,
        progress: bool | None = None,
        placement: Placement = "copy",
        cache: Cache | None = None,
        slots: Slots | None = None,
        known_urls: tuple[dict[str, str], bool] | None = None,
    ) -> DownloadResult:
        """`download_files()` through a `cache` and request `slots` shared with other downloads (`download_many`).

        `known_urls`: download URLs a lookup already gave, and whether they are all of the version's files.
        """
        from .transfer.cache import Cache
        from .transfer.download import download
        from .transfer.plan import select_entries
        from .transfer.references import redirect
        from .transfer.urls import KnownUrls

        target = Path(root) if root is not None else default_root(self)
        selected = select_entries(self.manifest, path_prefix, include, exclude)
        query: UrlQuery = self._file_urls if known_urls is None else KnownUrls(*known_urls, self._file_urls)
        manifest, urls = redirect(self.manifest, query, self._reference_targets(selected))
        shared = cache is not None
        with contextlib.ExitStack() as stack:
            if cache is None:
                cache = stack.enter_context(Cache(self.client.cache_root))
            options: dict[str, Any] = dict(
                label=self.qualified_name,
                path_prefix=path_prefix,
                include=include,
                exclude=exclude,
                max_workers=max_workers,
                skip_cache=skip_cache,
                progress=progress,
                placement=placement,
            )
            if self.client.offline:
                # Everything must come from the cache: say what would need the network before writing anything.
                planned = download(manifest, target, urls, self.client.transport, cache, dry_run=True, **options)
                missing = tuple(planned.paths("fetch"))
                if missing or dry_run:
                    if not missing:
                        return planned
                    shown = ", ".join(missing[:10]) + (f" (and {len(missing) - 10} more)" if len(missing) > 10 else "")
                    raise NotCachedError(
                        f"{len(missing)} file(s) of {self.qualified_name} are not in the cache {cache.root}: {shown}",
                        name=self.qualified_name,
                        missing=missing,
                    )
            return download(
                manifest,
                target,
                urls,
                self.client.transport,
                cache,
                dry_run=dry_run,
                slots=slots,
                flush_checksums=not shared,  # a shared cache is flushed once, by its owner
                **options,
            )

    def verify(self, root: str | os.PathLike[str] | None = None, *, progress: bool | None = None) -> None:
        """Check that `root` (default: the default download root) holds exactly this version's files.

        Every file is hashed again. Raises `DigestMismatchError` naming every difference.
        `progress` draws a bar while hashing (None, the default: when stderr is a terminal).
        """
        from .transfer.cache import Cache
        from .transfer.download import verify_directory

        target = Path(root) if root is not None else default_root(self)
        links_into = Cache(self.client.cache_root).objects  # files placed as symlinks point there
        verify_directory(self.manifest, target, progress=progress, links_into=links_into)

    def get_entry(self, name: str) -> ArtifactEntry:
        """The manifest entry at path `name`, which can `download()` itself; `KeyError` if there is none."""
        entry = self.manifest.entries.get(str(name).replace(os.sep, "/"))
        if entry is None:
            raise KeyError(f"{name!r} is not a file of {self.qualified_name}")
        return ArtifactEntry(
            entry.path, entry.digest, entry.size, entry.ref, entry.birth_artifact_id, entry.extra, artifact=self
        )

    def get_path(self, name: str) -> ArtifactEntry:
        """The older name of `get_entry()` (wandb keeps both)."""
        return self.get_entry(name)

    def file(self, root: str | os.PathLike[str] | None = None) -> str:
        """Download the only file of a single-file version; returns its path.

        `root` defaults to the default download root. A version with more than one file raises
        `ValueError` (use `download()`, or `get_entry(path).download()`).
        """
        entries = list(self.manifest.entries)
        if len(entries) != 1:
            raise ValueError(
                f"{self.qualified_name} has {len(entries)} files, not one; use download(), "
                "or get_entry(path).download() for one of them"
            )
        return self.get_entry(entries[0]).download(root)

    def checkout(self, root: str | os.PathLike[str] | None = None) -> str:
        """Make `root` hold exactly this version: files not in the manifest are deleted, then `download()`.

        `root` defaults to `./artifacts/<name>` (no version, so one directory follows the versions
        you check out, as in wandb). Only regular files and symlinks under `root` are deleted;
        symlinked directories are not followed. Returns the root.
        """
        target = Path(root) if root is not None else default_root(self, include_version=False)
        keep = set(self.manifest.entries)
        if target.is_dir():
            for directory, _, names in os.walk(target):
                for file_name in names:
                    path = Path(directory, file_name)
                    if path.relative_to(target).as_posix() not in keep:
                        path.unlink()
        return self.download(target)

    # -- edits --------------------------------------------------------------------------------------

    def save(self) -> None:
        """Send the edits to `aliases`, `tags`, `description`, `metadata` and `ttl` made since loading."""
        from ._generated.input_types import (
            AddAliasesInput,
            ArtifactCollectionAliasInput,
            DeleteAliasesInput,
            TagInput,
            UpdateArtifactInput,
        )

        aliases = _settable_aliases(self.aliases)
        tags = check_tags(self.tags)
        saved = self._saved_state
        added = [a for a in aliases if a not in saved.aliases]
        removed = [a for a in saved.aliases if a not in aliases]
        tags_added = [t for t in tags if t not in saved.tags]
        tags_removed = [t for t in saved.tags if t not in tags]
        if (tags_added or tags_removed) and not self.client.operations.tags:
            raise UnsupportedError(f"this W&B server predates artifact tags; {self.qualified_name} cannot be tagged")
        ttl_seconds = self._ttl_seconds_to_send()
        if ttl_seconds is not None and not self.client.operations.tags:
            raise UnsupportedError(f"this W&B server predates artifact TTLs; {self.qualified_name} cannot have one")
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
        if self.description != saved.description:
            changes["description"] = self.description
        if self._metadata is not None and self._metadata != saved.metadata:
            changes["metadata"] = self._metadata
        if tags_added:
            changes["tags_to_add"] = [TagInput(tag_name=t) for t in tags_added]
        if tags_removed:
            changes["tags_to_delete"] = [TagInput(tag_name=t) for t in tags_removed]
        if ttl_seconds is not None:
            changes["ttl_duration_seconds"] = ttl_seconds
        if changes:
            updated = self.client.operations.update_artifact(UpdateArtifactInput(artifactID=self.id, **changes), what)
            if updated is not None:
                self._set_attrs(updated)  # the server's view, aliases and TTL included
                return
        # Nothing (or nothing usable) came back: what was sent is now what is saved.
        metadata = saved.metadata if self._metadata is None else copy.deepcopy(self._metadata)
        self._saved = _SavedState(list(aliases), list(tags), self.description, metadata)
        self._aliases, self._tags = list(aliases), list(tags)
        self._ttl_change = False

    def delete(self, delete_aliases: bool = False) -> None:
        """Delete this version; a link (fetched through a portfolio) is unlinked instead.

        A version that still has aliases is only deleted with `delete_aliases=True`.
        """
        from ._generated.input_types import DeleteArtifactInput

        if self.is_link:
            self.unlink()
            return
        try:
            self.client.call(
                lambda c: c.delete_artifact(DeleteArtifactInput(artifactID=self.id, delete_aliases=delete_aliases)),
                f"deleting {self.qualified_name}",
            )
        except (ConflictError, GraphQLError) as exc:
            if delete_aliases or "alias" not in exc.message.lower():
                raise
            # The server words it in its own terms (the GraphQL field `deleteAliases`): say it in ours.
            message = (
                f"{self.qualified_name} still has aliases ({', '.join(self.aliases) or 'e.g. latest'}): "
                "pass delete_aliases=True to delete it with its aliases"
            )
            if isinstance(exc, ConflictError):
                raise ConflictError(message, status_code=exc.status_code, errors=exc.errors) from exc
            raise GraphQLError(message, errors=exc.errors) from exc

    def link(self, target_path: str, aliases: Sequence[str] | None = None) -> Artifact:
        """Link this version into the portfolio `entity/project/name` (created if missing).

        A registry target (`wandb-registry-model/classifier`, or `ORGANIZATION/wandb-registry-model/...`)
        goes to the registry of the organization named there, else of the configured organization,
        else of the source entity's one, as wandb decides it; when none can be decided the error
        (`OrganizationNotFoundError`, `AmbiguousOrganizationError`) comes before any link request.
        Linking a link links its source.
        """
        from ._generated.input_types import ArtifactAliasInput, LinkArtifactInput

        target = self._target(target_path)
        alias_names = _settable_aliases(aliases or [])
        link = LinkArtifactInput(
            artifactID=self.id,
            artifact_portfolio_name=target.collection,
            entity_name=target.entity,
            project_name=target.project,
            aliases=[ArtifactAliasInput(artifact_collection_name=target.collection, alias=a) for a in alias_names],
        )
        what = f"linking {self.qualified_name} to {target}"
        linked_as = self.client.operations.link(link, what)
        if linked_as is not None and not isinstance(linked_as, int):
            return Artifact._from_membership(self.client, linked_as, (target.entity, target.project))
        # Servers without ARTIFACT_MEMBERSHIP_IN_LINK_ARTIFACT_RESPONSE only say the version number.
        version = linked_as
        linked = None if version is None else lookup_version(self.client, replace(target, alias=f"v{version}"))
        if linked is None:
            raise ResponseValidationError(f"the server did not say which version it created while {what}")
        return linked

    def link_target(self, target_path: str) -> LinkTarget:
        """Where `link(target_path)` would link this version, and its link there if it has one already.

        The path is resolved as `link()` resolves it (a registry path's organization included) and
        checked before any request; finding an existing link costs one request per 100 collections
        the version is in. Nothing is changed: this is how a job decides whether to link at all.
        """
        target = self._target(target_path)
        collection = f"{target.entity}/{target.project}/{target.collection}"
        where = (target.entity, target.project, target.collection)
        existing = next(
            (link for link in self._links() if (link.entity, link.project, link.collection_name) == where), None
        )
        return LinkTarget(target.entity, target.project, target.collection, collection, existing)

    def _target(self, target_path: str) -> ArtifactPath:
        return parse_artifact_path(
            target_path,
            lambda: self.entity,
            self.project,
            allow_alias=False,
            registry_entity=registry_entity(self.client, lambda: self.source_entity),
        )

    def unlink(self) -> None:
        """Remove this link from its portfolio (only for versions fetched through a portfolio)."""
        from ._generated.input_types import UnlinkArtifactInput

        if not self.is_link:
            raise UnsupportedError(f"{self.qualified_name} is not a link; use delete() to delete a version")
        unlink = UnlinkArtifactInput(artifactID=self.id, artifactPortfolioID=self._view.collection_id)
        self.client.call(lambda c: c.unlink_artifact(unlink), f"unlinking {self.qualified_name}")

    # -- review -------------------------------------------------------------------------------------

    def diff(self, other: Artifact, *, paths: Sequence[str] = (), files_only: bool = False) -> ArtifactDiff:
        """What changed from this version to `other`: files by digest (renames too), metadata by JSON path,
        description, aliases, tags. Only manifests are read, from the cache when there (no request then).

        `paths` (globs, `*` matching `/` too) restricts the files compared; `files_only` leaves out the rest.
        """
        from .diff import diff_artifacts

        return diff_artifacts(self, other, paths=paths, files_only=files_only)

    # -- lineage --------------------------------------------------------------------------------------

    def lineage(
        self,
        upstream: bool = True,
        downstream: bool = True,
        depth: int = DEFAULT_DEPTH,
        *,
        per_node: int = PER_NODE,
        max_level_runs: int = MAX_LEVEL_RUNS,
    ) -> Lineage:
        """The graph of runs and versions this version came from (`upstream`) and fed (`downstream`).

        `depth` counts runs each way. One request, then one per level of the graph (per project);
        `per_node` and `max_level_runs` bound the width, and what they cut is in `Lineage.truncated`.
        """
        return walk(
            self.client,
            self.id,
            name=self.qualified_name,
            fallback=(self.entity, self.project),
            upstream=upstream,
            downstream=downstream,
            depth=depth,
            per_node=per_node,
            max_level_runs=max_level_runs,
        )

    def logged_by(self) -> Run | None:
        """The run that logged this version, if a run did."""
        result = self.client.call(lambda c: c.artifact_created_by(self.id), f"asking who logged {self.qualified_name}")
        creator = None if result.artifact is None else result.artifact.created_by
        if creator is None or creator.typename__ != "Run":
            return None
        return self.client.run(creator)

    def used_by(self) -> list[Run]:
        """The runs that used this version as an input."""

        def fetch(cursor: str | None, per_page: int) -> Page[Run]:
            result = self.client.call(
                lambda c: c.artifact_used_by(self.id, cursor=cursor, per_page=per_page),
                f"asking which runs used {self.qualified_name}",
            )
            if result.artifact is None:
                raise NotFoundError(f"{self.qualified_name} no longer exists", kind="artifact")
            connection = result.artifact.used_by
            return Page.of(connection, [self.client.run(e.node) for e in connection.edges])

        return list(PageFetcher(fetch))

    def __repr__(self) -> str:
        link = f" link to {self.source_qualified_name}" if self.is_link else ""
        return f"<Artifact {self.qualified_name} type={self.type}{link}>"


def _settable_aliases(aliases: Sequence[str]) -> list[str]:
    """Checked, de-duplicated aliases; version aliases (`v3`) belong to the server."""
    names = [check_alias(a) for a in dict.fromkeys(aliases)]
    if any(version_index(a) is not None for a in names):
        raise UnsupportedError("version aliases such as 'v3' are assigned by the server and cannot be set")
    return names


def manifest_kept(client: Client, seen: Seen, cache: Cache) -> bool:
    """Whether `cache` holds the manifest of the committed version `seen` (a stat; the record is not validated)."""
    import json

    from .transfer.cache import manifest_key

    try:
        fields = json.loads(seen.fields)
        artifact_id, digest, state = str(fields["id"]), str(fields["digest"]), fields["state"]
    except (ValueError, KeyError, TypeError):
        return False
    key = manifest_key(client.transport.base_url, artifact_id, digest)
    return state == "COMMITTED" and cache.lookup("manifest", key, None, touch=False) is not None


def lookup_version(client: Client, path: ArtifactPath) -> Artifact | None:
    """The version `path` names, seen through its collection; None if any part of it is missing."""
    membership = client.operations.version(path.entity, path.project, path.name)
    if membership is None or membership.artifact is None or membership.artifact_collection is None:
        return None
    return Artifact._from_membership(client, membership, (path.entity, path.project))


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
        client: Client,
        entity: str,
        project: str,
        collection_name: str,
        type: str,
        filters: dict[str, Any] | None = None,
        order: str | None = None,
        per_page: int = DEFAULT_PER_PAGE,
        tags: str | list[str] | None = None,
        start: str | None = None,
    ) -> None:
        super().__init__(per_page, start=start)
        self.client = client
        self.entity = entity
        self.project = project
        self.collection_name = collection_name
        self.type = type
        self.order = order
        self.tags: list[str] = [] if tags is None else [tags] if isinstance(tags, str) else list(tags)
        clauses = [dict(filters) if filters else {}]
        if not _mentions_state(clauses[0]):
            clauses.append({"state": "COMMITTED"})
        tag_clause = _tag_filter(tags)
        if tag_clause is not None:
            if not client.operations.tags:
                raise UnsupportedError("this W&B server predates artifact tags: versions cannot be selected by tag")
            clauses.append(tag_clause)
        clauses = [c for c in clauses if c]
        self.filters: dict[str, Any] = clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def _fetch_page(self, cursor: str | None) -> Page[Artifact]:
        found = self.client.operations.versions(
            self.entity,
            self.project,
            self.type,
            self.collection_name,
            cursor=cursor,
            per_page=self.per_page,
            filters=self.filters,
            order=self.order,
        )
        if found is None:
            # Let the collection lookup say precisely what is missing (project, type or name).
            _lookups.collection(self.client, self.entity, self.project, self.type, self.collection_name)
            raise NotFoundError(f"collection {self.collection_name!r} not found", kind="collection")
        ref, page = found
        fallback = (self.entity, self.project)
        items = [
            Artifact._wrap(self.client, node, CollectionView.of(ref, version_index(version), fallback=fallback))
            for version, node in page.items
        ]
        return Page(items, page.end_cursor, page.has_next, page.total_count)

    def __repr__(self) -> str:
        return f"<Artifacts {self.entity}/{self.project}/{self.collection_name}>"
