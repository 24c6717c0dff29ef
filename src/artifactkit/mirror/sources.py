"""Reading what to mirror from a server: `ServerSource`.

A project is read type by type (which works on every server, old ones included), each collection
with its committed versions in order. A portfolio's links name the versions they point at; one
that is outside the selection comes along (`selected=False`), in its own sequence, so that a
mirrored portfolio is never empty. The run that logged each version and the runs that used it are
asked for per version (two requests); manifests are fetched through the version, so a committed
version's manifest comes from the download cache after the first time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from .._client import Client
from .._lookups import collection_type
from .._paths import ArtifactPath, version_index
from ..artifact_types import ArtifactTypes
from ..artifacts import Artifact
from ..collections import ArtifactCollection
from ..errors import NotFoundError, UnsupportedError
from ..manifest import Manifest, ManifestEntry
from ..runs import Run
from ..transfer.cache import Cache
from ..transfer.download import DownloadResult, download
from ..transfer.progress import Progress
from ..transfer.relay import RelayFile, relay
from ..transfer.urls import FileUrls, UrlPage
from ..uploads import FileRegistry
from .records import CollectionRecord, LinkRecord, ProjectKey, RunKey, RunRecord, Selection, Snapshot, VersionRecord

log = logging.getLogger("artifactkit")


class ServerSource:
    """The versions of a W&B server (or an emulator) to mirror, read through an `Api`'s client."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.server = client.transport.base_url
        self.label = self.server
        self._versions: dict[str, Artifact] = {}

    # -- reading ---------------------------------------------------------------------------

    def read(self, selections: Sequence[Selection]) -> Snapshot:
        """The collections, versions, links and runs the selections name (raises `NotFoundError` for a missing one)."""
        collections: dict[str, CollectionRecord] = {}
        chosen: dict[str, Artifact] = {}  # by version ID, seen through their sequence
        brought: dict[str, Artifact] = {}  # linked into a mirrored portfolio only
        links: dict[str, list[LinkRecord]] = {}
        for selection in selections:
            for collection in self._collections(selection):
                record = _collection_record(collection)
                collections.setdefault(record.path, record)
                listed = _pick(list(collection.artifacts(per_page=100)), selection.versions, collection)
                if collection.is_sequence():
                    chosen.update((version.id, version) for version in listed)
                    continue
                for link in listed:
                    view = ProjectKey(link.entity, link.project)
                    links.setdefault(link.id, []).append(
                        LinkRecord(view, link.collection_name, _index(link.version), tuple(link.aliases))
                    )
                    brought.setdefault(link.id, link)
        versions = dict(chosen)
        for version_id, linked in brought.items():
            if version_id not in versions:
                versions[version_id] = _through_sequence(self.client, linked)
        snapshot = Snapshot(collections=list(collections.values()))
        for version_id, version in versions.items():
            self._versions[version_id] = version
            for found in links_of(version):  # its links into portfolios anywhere, not only those listed
                if all(known.path != found.path for known in links.get(version_id, [])):
                    links.setdefault(version_id, []).append(found)
            sequence = ProjectKey(version.source_entity, version.source_project)
            name = version.source_name.rsplit(":", 1)[0]
            path = f"{sequence}/{name}"
            if path not in collections:
                collections[path] = _collection_record(version.source_collection)
                snapshot.collections.append(collections[path])
            logged_by, used_by = self._lineage(version, snapshot)
            snapshot.versions.append(
                _version_record(version, logged_by, used_by, tuple(links.get(version_id, ())), version_id in chosen)
            )
        snapshot.versions.sort(key=lambda v: (v.project, v.collection, v.index))
        return snapshot

    def _collections(self, selection: Selection) -> list[ArtifactCollection]:
        entity, project = selection.project
        if selection.collection is not None:
            path = ArtifactPath(entity, project, selection.collection, None)
            return [
                ArtifactCollection(
                    self.client, entity, project, selection.collection, collection_type(self.client, path)
                )
            ]
        found: list[ArtifactCollection] = []
        for artifact_type in ArtifactTypes(self.client, entity, project, 100, None):
            found.extend(artifact_type.collections(per_page=100))
        return found

    def _lineage(self, version: Artifact, snapshot: Snapshot) -> tuple[RunKey | None, tuple[RunKey, ...]]:
        logger = version.logged_by()
        users = version.used_by()
        for run in [logger, *users]:
            if run is not None:
                snapshot.runs.setdefault(_run_key(run), _run_record(run))
        return (None if logger is None else _run_key(logger)), tuple(dict.fromkeys(_run_key(r) for r in users))

    # -- bytes -------------------------------------------------------------------------------

    def version(self, record: VersionRecord) -> Artifact:
        """The version a record was read from."""
        return self._versions[record.source_id]

    def manifest(self, record: VersionRecord) -> Manifest:
        return self.version(record).manifest

    def send(
        self,
        record: VersionRecord,
        entries: Sequence[ManifestEntry],
        registry: FileRegistry,
        target: Client,
        *,
        workers: int | None,
        progress: Progress,
    ) -> tuple[int, int]:
        """Stream the bytes of `entries` the target asks for from this server to the target; `(files, bytes)`."""
        version = self.version(record)
        wanted = registry.register([(e.path, e.digest) for e in entries])
        by_path = {e.path: e for e in entries}
        files = [RelayFile(by_path[path], url, headers) for path, (url, headers) in wanted.items() if path in by_path]
        if not files:
            return 0, 0
        progress.phase(sum({f.entry.digest: f.entry.size for f in files}.values()), len(files), "sent")
        urls = FileUrls(version._file_urls, version.qualified_name)
        urls.start([f.entry.path for f in files], whole_listing=len(files) * 2 > len(version.manifest))
        try:
            with Cache(self.client.cache_root) as cache:
                stats = relay(
                    files,
                    source=self.client.transport,
                    target=target.transport,
                    download_urls=urls.url_for,
                    renew_upload=registry.renew,
                    cache=cache,
                    workers=workers,
                    progress=progress,
                )
        finally:
            urls.close()
        return stats.files, stats.bytes

    def fetch(
        self, record: VersionRecord, blobs: dict[str, ManifestEntry], root: Path, *, workers: int | None
    ) -> DownloadResult:
        """Download the stored files `blobs` (`blob path -> entry`) into `root`, through the cache."""
        version = self.version(record)
        by_digest = {entry.digest: path for path, entry in blobs.items()}
        store = Manifest.from_entries(
            [ManifestEntry(path, entry.digest, entry.size) for path, entry in blobs.items()], storage_layout="V2"
        )

        def urls(names: list[str] | None, cursor: str | None, per_page: int) -> UrlPage:
            asked = None if names is None else [blobs[name].path for name in names]
            page = version._file_urls(asked, cursor, per_page)
            entries = version.manifest.entries
            found = [
                (by_digest[entries[path].digest], url)
                for path, url in page.urls
                if path in entries and entries[path].digest in by_digest
            ]
            return UrlPage(found, page.end_cursor, page.has_next)

        with Cache(self.client.cache_root) as cache:
            return download(
                store, root, urls, self.client.transport, cache, label=version.qualified_name, max_workers=workers
            )


# -- records from the facade's objects ---------------------------------------------------------


def links_of(version: Artifact) -> list[LinkRecord]:
    """The version's links into portfolios (none where the server cannot list them: before 0.12.11)."""
    try:
        links = version.linked_artifacts
    except UnsupportedError:
        return []
    return [
        LinkRecord(
            ProjectKey(link.entity, link.project), link.collection_name, _index(link.version), tuple(link.aliases)
        )
        for link in links
    ]


def _pick(versions: list[Artifact], wanted: Sequence[str], collection: ArtifactCollection) -> list[Artifact]:
    """The versions named by `wanted` (`vN` or aliases; all when empty); a name that matches none is not found."""
    if not wanted:
        return versions
    picked: dict[str, Artifact] = {}
    for name in wanted:
        match = [v for v in versions if v.version == name or name in v.aliases]
        if not match:
            where = f"{collection.entity}/{collection.project}/{collection.name}:{name}"
            raise NotFoundError(f"{where} not found", kind="version", path=where)
        picked.update((v.id, v) for v in match)
    return [v for v in versions if v.id in picked]


def _index(version: str) -> int:
    index = version_index(version)
    assert index is not None, version
    return index


def _through_sequence(client: Client, link: Artifact) -> Artifact:
    """A version listed through a portfolio, seen through the sequence it was logged to instead."""
    return Artifact._from_source(client, link._attrs, (link.source_entity, link.source_project))


def _collection_record(collection: ArtifactCollection) -> CollectionRecord:
    return CollectionRecord(
        project=ProjectKey(collection.entity, collection.project),
        name=collection.name,
        type=collection.type,
        kind="sequence" if collection.is_sequence() else "portfolio",
        description=collection.description,
        tags=tuple(collection.tags),
    )


def _run_key(run: Run) -> RunKey:
    return RunKey(run.entity, run.project, run.id)


def _run_record(run: Run) -> RunRecord:
    return RunRecord(
        key=_run_key(run),
        display_name=run.display_name,
        job_type=run.job_type,
        group=run.group,
        tags=tuple(run.tags),
        notes=run.notes,
        state=run.state,
    )


def _version_record(
    version: Artifact,
    logged_by: RunKey | None,
    used_by: tuple[RunKey, ...],
    links: tuple[LinkRecord, ...],
    selected: bool,
) -> VersionRecord:
    attrs = version._attrs
    seconds = attrs.ttl_duration_seconds
    # Inherited (or unknown: a server without TTLs) is None; -2 is "none"; -1 is W&B's code for inherited.
    inherited = not version.client.operations.tags or attrs.ttl_is_inherited or (seconds <= 0 and seconds != -2)
    return VersionRecord(
        source_id=version.id,
        project=ProjectKey(version.source_entity, version.source_project),
        collection=version.source_name.rsplit(":", 1)[0],
        type=version.type,
        index=_index(version.source_version),
        digest=version.digest,
        description=version.description,
        metadata=version.metadata,
        aliases=tuple(version.aliases),
        tags=tuple(version.tags),
        ttl_seconds=None if inherited else seconds,
        history_step=version.history_step,
        created_at=version.created_at,
        logged_by=logged_by,
        used_by=used_by,
        links=links,
        selected=selected,
    )
