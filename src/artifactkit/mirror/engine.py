"""The mirror: a source's versions, in order, with their lineage and links, into a server.

For each source version the target's sequence is searched first: a committed version with the
same digest (the digest is derived from the content) that no earlier source version claimed is
the same version, already mirrored; it only has its aliases, tags, description, metadata, TTL
and users brought in line, and nothing is sent when they already are. Otherwise the version the
mirror would make has a client ID derived from the source server, the version's ID there and the
target collection (`records.client_id`): a pending version under that ID (a run killed half-way)
is finished, not made twice. A new version is created with its fields and the run that logged
it, its stored files registered (the target answers with upload URLs only for bytes it lacks),
those bytes sent by the source, the manifest uploaded, the version committed. Then the runs that
used it are recorded, the links into portfolios made, the collections' descriptions and tags set,
and every version's manifest compared on both sides.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .._client import Client
from ..artifacts import Artifact
from ..errors import ArtifactkitError, MirrorVerificationError
from ..manifest import Manifest, ManifestEntry, ManifestError, artifact_reference, parse_artifact_reference
from ..transfer.progress import Progress
from ..uploads import FileRegistry
from .placement import Placement
from .records import LinkRecord, ProjectKey, RunKey, Snapshot, VersionRecord, client_id
from .report import CollectionResult, LinkResult, MirrorReport, RunResult, VersionResult
from .targets import ServerTarget

log = logging.getLogger("artifactkit")


class Source(Protocol):
    """Where a mirror reads: a server (`sources.ServerSource`) or a bundle (`bundle.Bundle`)."""

    @property
    def label(self) -> str: ...

    @property
    def server(self) -> str:
        """The server the versions were first read from (their client IDs derive from it)."""
        ...

    def manifest(self, record: VersionRecord) -> Manifest: ...

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
        """Send the bytes of `entries` that the target asks for (`registry`); `(files, bytes)` sent."""
        ...


@dataclass(frozen=True)
class Options:
    """How to mirror: `dry_run` (read both sides, write nothing), `verify`, `workers`, `progress`."""

    dry_run: bool = False
    verify: bool = True
    workers: int | None = None
    progress: bool | None = None


def mirror_into_server(
    source: Source,
    snapshot: Snapshot,
    target: ServerTarget,
    placement: Placement,
    report: MirrorReport,
    options: Options,
) -> MirrorReport:
    """Mirror `snapshot` (read from `source`) into `target`; fills and returns `report`.

    Raises `MirrorVerificationError` (with the report as its `report`) when a mirrored version's
    files differ between the two sides.
    """
    _ServerMirror(source, snapshot, target, placement, report, options).run()
    return report


class _ServerMirror:
    def __init__(
        self,
        source: Source,
        snapshot: Snapshot,
        target: ServerTarget,
        placement: Placement,
        report: MirrorReport,
        options: Options,
    ) -> None:
        self.source = source
        self.snapshot = snapshot
        self.target = target
        self.placement = placement
        self.report = report
        self.options = options
        self.mapped: dict[str, Artifact] = {}  # source version ID -> the version on the target
        self.claimed: set[str] = set()  # target version IDs matched to a source version
        self.runs: dict[RunKey, RunKey | None] = {}  # source run -> target run (None: not mirrored)
        self.manifests: dict[str, Manifest] = {}
        self.results: dict[str, VersionResult] = {}
        self.planned_bytes: dict[str, int] = {}

    # -- the whole mirror ----------------------------------------------------------------------

    def run(self) -> None:
        versions = [v for v in self.snapshot.versions if self._project(v.project, f"version {v.name}") is not None]
        if not self.target.tags:
            tagged = sum(bool(v.tags) for v in versions) + sum(bool(c.tags) for c in self.snapshot.collections)
            timed = sum(v.ttl_seconds is not None for v in versions)
            if tagged or timed:
                self._warn(
                    f"the target predates artifact tags and TTLs: the tags of {tagged} version(s) and collection(s) "
                    f"and the TTLs of {timed} version(s) are left out"
                )
        for record in versions:
            self.manifests[record.source_id] = self.source.manifest(record)
        ordered = self._ordered(versions)
        for record in ordered:
            self._version(record)
        self.report.versions = [self.results[v.source_id] for v in ordered]
        self._links(versions)
        self._collections()
        self.report.bytes_to_send_at_most = sum(self.planned_bytes.values()) if self.options.dry_run else 0
        if self.options.verify and not self.options.dry_run:
            self._verify(versions)

    def _project(self, project: ProjectKey, what: str) -> ProjectKey | None:
        placed = self.placement.project(project)
        if placed is None:
            self._warn(f"{what} is in entity {project.entity}, which this mirror does not copy: left out")
        return placed

    def _warn(self, message: str) -> None:
        if message not in self.report.warnings:
            log.warning("%s", message)
            self.report.warnings.append(message)

    def _ordered(self, versions: list[VersionRecord]) -> list[VersionRecord]:
        """Sequence by sequence, each in version order; a sequence whose versions reference files
        of another sequence's versions (`wandb-artifact://`) after that sequence."""
        sequences: dict[str, list[VersionRecord]] = {}
        where: dict[str, str] = {}
        for record in versions:
            key = f"{record.project}/{record.collection}"
            sequences.setdefault(key, []).append(record)
            where[record.source_id] = key
        needs: dict[str, set[str]] = {key: set() for key in sequences}
        for record in versions:
            for entry in self.manifests[record.source_id]:
                if entry.is_artifact_reference and entry.ref is not None:
                    try:
                        referenced, _ = parse_artifact_reference(entry.ref)
                    except ManifestError:
                        continue
                    other = where.get(referenced)
                    if other is not None and other != where[record.source_id]:
                        needs[where[record.source_id]].add(other)
        ordered: list[str] = []
        visiting: set[str] = set()

        def visit(key: str) -> None:
            if key in ordered or key in visiting:
                return  # done, or a cycle: keep the listing's order
            visiting.add(key)
            for other in sorted(needs[key]):
                visit(other)
            visiting.discard(key)
            ordered.append(key)

        for key in sequences:
            visit(key)
        return [record for key in ordered for record in sorted(sequences[key], key=lambda r: r.index)]

    # -- versions ------------------------------------------------------------------------------

    def _match(self, record: VersionRecord, project: ProjectKey) -> Artifact | None:
        """The target's version with this content that no earlier source version claimed, oldest first."""
        for candidate in self.target.versions(project, record.collection, record.type):
            if candidate.digest == record.digest and candidate.id not in self.claimed:
                return candidate
        return None

    def _version(self, record: VersionRecord) -> None:
        project = self.placement.project(record.project)
        assert project is not None
        manifest = self.manifests[record.source_id]
        result = VersionResult(
            source=record.name, target=None, action="unchanged", files=len(manifest), size=manifest.total_size
        )
        result.selected = record.selected
        self.results[record.source_id] = result
        existing = self._match(record, project)
        pending: str | None = None
        mirror_id = client_id(self.source.server, record.source_id, f"{project}/{record.collection}")
        if existing is None:
            found = self.target.by_client_id(mirror_id)
            if found is not None and found[0] not in self.claimed:
                if found[1] == "COMMITTED":
                    existing = self.target.artifact(found[0], project)
                elif found[1] == "PENDING":
                    pending = found[0]
        if existing is None:
            result.action = "resume" if pending else "create"
            if self.options.dry_run:
                for entry in manifest:
                    if not entry.is_reference:
                        self.planned_bytes[entry.digest] = entry.size
                for user in record.used_by:
                    self._run(user)
                if record.logged_by is not None:
                    self._run(record.logged_by)
                return
            existing = self._create(record, project, manifest, mirror_id, pending, result)
        self.claimed.add(existing.id)
        self.mapped[record.source_id] = existing
        result.target = existing.qualified_name
        self._reconcile(record, existing, result)

    def _create(
        self,
        record: VersionRecord,
        project: ProjectKey,
        manifest: Manifest,
        mirror_id: str,
        pending: str | None,
        result: VersionResult,
    ) -> Artifact:
        logger = None if record.logged_by is None else self._run(record.logged_by)
        run_name = None if logger is None else logger.id
        self.target.prepare(project, record.type)
        artifact_id = pending
        if artifact_id is None:
            artifact_id, state = self.target.create_pending(record, project, mirror_id, run_name)
            if state == "COMMITTED":  # a server that handed back an identical version
                return self.target.artifact(artifact_id, project)
        stored = [entry for entry in manifest if not entry.is_reference]
        bar = Progress(0, 0, self.options.progress, verb="sent", phases=True)

        def send(registry: FileRegistry) -> None:
            files, sent = self.source.send(
                record, stored, registry, self.target.client, workers=self.options.workers, progress=bar
            )
            result.sent_files, result.sent_bytes = files, sent

        try:
            version = self.target.complete(
                artifact_id, self._for_target(record, manifest), project, record.collection, run_name, send
            )
        finally:
            bar.close()
        log.info(
            "%s -> %s: %d file(s), %d byte(s) sent",
            record.name,
            version.qualified_name,
            result.sent_files,
            result.sent_bytes,
        )
        return version

    def _for_target(self, record: VersionRecord, manifest: Manifest) -> Manifest:
        """The manifest as the target is to hold it: references to mirrored versions point at their
        copies there, and which version first stored each file is the target's business."""
        entries = []
        for entry in manifest:
            ref = entry.ref
            if entry.is_artifact_reference and ref is not None:
                referenced, path = parse_artifact_reference(ref)
                copy = self.mapped.get(referenced)
                if copy is not None:
                    ref = artifact_reference(copy.id, path)
                else:
                    self._warn(
                        f"{record.name}: {entry.path} references a file of a version this mirror does not copy; "
                        "the reference is kept as it is and resolves only where that version exists"
                    )
            birth = entry.birth_artifact_id
            mapped_birth = None if birth is None else self.mapped.get(birth)
            entries.append(
                ManifestEntry(
                    entry.path,
                    entry.digest,
                    entry.size,
                    ref,
                    None if mapped_birth is None else mapped_birth.id,
                    entry.extra,
                )
            )
        return Manifest({e.path: e for e in entries}, dict(manifest.storage_policy_config))

    def _reconcile(self, record: VersionRecord, version: Artifact, result: VersionResult) -> None:
        """Bring an existing (or just made) version's fields and users in line with the source."""
        if record.logged_by is not None:
            self._run(record.logged_by)  # the run that logged it is brought in line too
        changes: list[str] = []
        aliases = _alias_update(list(version.aliases), record.aliases)
        if aliases is not None:
            changes.append("aliases")
        tags = None
        description: str | None | bool = False
        ttl: int | None | bool = False
        if self.target.tags and sorted(version.tags) != sorted(record.tags):
            tags = list(record.tags)
            changes.append("tags")
        if (version.description or None) != (record.description or None):
            description = record.description
            changes.append("description")
        metadata = dict(record.metadata) if dict(version.metadata) != dict(record.metadata) else None
        if metadata is not None:
            changes.append("metadata")
        if self.target.tags and _ttl_of(version) != record.ttl_seconds:
            ttl = record.ttl_seconds
            changes.append("ttl")
        if changes and not self.options.dry_run:
            self.target.edit(
                version, aliases=aliases, tags=tags, description=description, metadata=metadata, ttl_seconds=ttl
            )
        wanted = [run for run in (self._run(user) for user in record.used_by) if run is not None]
        if wanted:
            have = self.target.users(version) if result.action not in ("create", "resume") else set()
            missing = [run for run in dict.fromkeys(wanted) if run not in have]
            if missing:
                changes.append("used_by")
                if not self.options.dry_run:
                    for run in missing:
                        self.target.use(version, run)
        if changes and result.action == "unchanged":
            result.action = "update"
        if result.action == "update":
            result.changes = changes

    # -- runs --------------------------------------------------------------------------------------

    def _run(self, source_key: RunKey) -> RunKey | None:
        """The target run for a source run, created or brought in line on first need."""
        if source_key in self.runs:
            return self.runs[source_key]
        placed = self.placement.run(source_key)
        if placed is None:
            self._warn(f"run {source_key} is in entity {source_key.entity}, which this mirror does not copy: left out")
            self.runs[source_key] = None
            return None
        record = self.snapshot.runs.get(source_key)
        if record is None:
            self._warn(f"run {source_key}: the source did not describe it; left out")
            self.runs[source_key] = None
            return None
        existing = self.target.run(placed)
        if existing is not None and not self._writable(existing):
            # The ID is another user's run on the target: record ours beside it under a name of its own.
            placed = RunKey(placed.entity, placed.project, f"{placed.id[:119]}-mirrored")
            self._warn(
                f"run {source_key}: {placed.entity}/{placed.project}/{source_key.id} is another user's run "
                f"on the target; recorded as {placed}"
            )
            existing = self.target.run(placed)
        if existing is None:
            action = "create"
        else:
            have = (
                existing.display_name,
                existing.job_type,
                existing.group,
                sorted(existing.tags),
                existing.notes,
                existing.state,
            )
            want = (record.display_name, record.job_type, record.group, sorted(record.tags), record.notes, record.state)
            same = all(w is None or w == h for w, h in zip(want, have, strict=True))
            action = "unchanged" if same else "update"
        if action != "unchanged" and not self.options.dry_run:
            self.target.write_run(placed, record)
        self.report.runs.append(RunResult(str(source_key), str(placed), action))
        self.runs[source_key] = placed
        return placed

    def _writable(self, run: object) -> bool:
        user = getattr(run, "user", None)
        owner = None if user is None else user.username
        return owner is None or self.target.username is None or owner == self.target.username

    # -- links and collections ----------------------------------------------------------------------

    def _links(self, versions: list[VersionRecord]) -> None:
        pairs: list[tuple[VersionRecord, LinkRecord]] = [(v, link) for v in versions for link in v.links]
        pairs.sort(key=lambda pair: (pair[1].path, pair[1].index))
        for record, link in pairs:
            project = self._project(link.project, f"portfolio {link.path}")
            if project is None:
                continue
            where = f"{project}/{link.portfolio}"
            version = self.mapped.get(record.source_id)
            known = None if version is None else self.target.links(version)
            if version is not None and known is None:
                self._warn(
                    "the target cannot list a version's links (a server before 0.12.11): links into portfolios "
                    "are left out"
                )
                continue
            existing = None if known is None else known.get(where)
            if existing is None:
                action = "create"
                if version is not None and not self.options.dry_run:
                    self.target.link(version, project, link.portfolio, link.aliases)
            else:
                aliases = _alias_update(list(existing.aliases), link.aliases)
                action = "update" if aliases is not None else "unchanged"
                if aliases is not None and not self.options.dry_run:
                    self.target.edit(existing, aliases=aliases)
            self.report.links.append(LinkResult(where, record.name, action))

    def _collections(self) -> None:
        linked = {link.path for v in self.snapshot.versions for link in v.links}
        for record in self.snapshot.collections:
            project = self._project(record.project, f"collection {record.path}")
            if project is None:
                continue
            path = f"{project}/{record.name}"
            if record.kind == "portfolio" and record.path not in linked:
                self._warn(f"portfolio {record.path} links no version: not created on the target")
                continue
            collection = self.target.collection(project, record.name, record.type)
            if collection is None:
                self.report.collections.append(CollectionResult(path, record.kind, "create"))
                continue  # made with its first version or link (and described on the next run)
            changes = []
            if (collection.description or None) != (record.description or None):
                changes.append("description")
                collection.description = record.description
            if self.target.tags and sorted(collection.tags) != sorted(record.tags):
                changes.append("tags")
                collection.tags = list(record.tags)
            if changes and not self.options.dry_run:
                collection.save()
            self.report.collections.append(
                CollectionResult(path, record.kind, "update" if changes else "unchanged", changes)
            )

    # -- verification ---------------------------------------------------------------------------------

    def _verify(self, versions: list[VersionRecord]) -> None:
        """Every mirrored version has the source's files, path by path, with the same digests and sizes."""
        differing: list[str] = []
        for record in versions:
            result = self.results[record.source_id]
            version = self.mapped.get(record.source_id)
            if version is None:
                continue
            try:
                theirs = version.manifest
            except ArtifactkitError as exc:
                result.verified = False
                differing.append(f"{result.target}: its manifest cannot be read ({exc})")
                continue
            ours = self.manifests[record.source_id]
            problems = _differences(ours, theirs)
            if version.digest != record.digest:
                problems.insert(0, f"digest {version.digest} instead of {record.digest}")
            result.verified = not problems
            if problems:
                differing.append(f"{result.target}: {'; '.join(problems[:3])}")
            if record.logged_by is not None and (wanted := self.runs.get(record.logged_by)) is not None:
                logger = self.target.logger(version)
                if logger != wanted:
                    self._warn(f"{result.target} was logged by {logger or 'no run'} on the target, not {wanted}")
        if differing:
            error = MirrorVerificationError(
                f"{len(differing)} mirrored version(s) differ from the source: {differing[0]}",
                versions=tuple(differing),
            )
            error.report = self.report
            raise error


def _ttl_of(version: Artifact) -> int | None:
    """A version's TTL as a record holds it: None when inherited, -2 for none, else seconds."""
    attrs = version._attrs
    if getattr(attrs, "ttl_is_inherited", True):
        return None
    return attrs.ttl_duration_seconds


def _differences(expected: Manifest, actual: Manifest) -> list[str]:
    """How `actual` differs from `expected`: missing, extra and changed files (reference targets aside)."""
    problems = [f"{path} is missing" for path in sorted(set(expected.entries) - set(actual.entries))]
    problems += [f"{path} is extra" for path in sorted(set(actual.entries) - set(expected.entries))]
    for path in sorted(set(expected.entries) & set(actual.entries)):
        ours, theirs = expected.entries[path], actual.entries[path]
        if (ours.digest, ours.size, ours.is_reference) != (theirs.digest, theirs.size, theirs.is_reference):
            problems.append(f"{path} has digest {theirs.digest} ({theirs.size} bytes), not {ours.digest} ({ours.size})")
        elif ours.is_reference and not ours.is_artifact_reference and ours.ref != theirs.ref:
            problems.append(f"{path} references {theirs.ref}, not {ours.ref}")
    return problems


def _alias_update(current: list[str], wanted: Sequence[str]) -> list[str] | None:
    """The aliases a target version gets so that it holds `wanted` (`latest` is the server's, never
    removed), keeping the order of those it had; None when it holds them already."""
    added = [a for a in wanted if a not in current]
    removed = [a for a in current if a not in wanted and a != "latest"]
    return [a for a in current if a not in removed] + added if added or removed else None
