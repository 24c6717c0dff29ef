"""The server a mirror writes into: `ServerTarget`, its reads (what is there already) and its writes.

Reads are cached for one mirror: a sequence's versions and a version's links are listed once,
a run looked up once. Writes go through the facade and W&B's create/commit protocol
(`uploads.complete_version`), so the target sees exactly what any client would send.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from .._client import Client
from ..artifacts import Artifact, Artifacts, ArtifactTTL
from ..collections import ArtifactCollection
from ..errors import NotFoundError, UnsupportedError
from ..manifest import Manifest
from ..runs import Run
from ..uploads import FileRegistry, complete_version
from .records import ProjectKey, RunKey, RunRecord, VersionRecord


class ServerTarget:
    """A W&B server (or an emulator) to mirror into, through an `Api`'s client."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.label = client.transport.base_url
        self._sequences: dict[str, list[Artifact]] = {}
        self._links: dict[str, dict[str, Artifact]] = {}
        self._runs: dict[RunKey, Run | None] = {}
        self._ready: set[tuple[str, ...]] = set()
        self._viewer: str | None = None

    @property
    def tags(self) -> bool:
        """Whether the server has tags and TTLs (servers before 0.12.11 have neither)."""
        return self.client.operations.tags

    # -- reads -------------------------------------------------------------------------------

    def versions(self, project: ProjectKey, collection: str, type_name: str) -> list[Artifact]:
        """The committed versions of a sequence, oldest first; none when it does not exist (yet)."""
        path = f"{project}/{collection}"
        if path not in self._sequences:
            try:
                found = list(
                    Artifacts(self.client, project.entity, project.project, collection, type_name, per_page=100)
                )
            except NotFoundError:
                found = []
            self._sequences[path] = sorted(
                (v for v in found if not v.is_link), key=lambda v: v._attrs.version_index or 0
            )
        return self._sequences[path]

    def by_client_id(self, client_id: str) -> tuple[str, str] | None:
        """`(version ID, state)` of the version made under `client_id`, if there is one."""
        answer = self.client.call(
            lambda c: c.version_by_client_id(client_id), "looking for a version an earlier mirror made"
        )
        mapping = answer.client_id_mapping
        if mapping is None or mapping.entry.typename__ != "Artifact":
            return None
        entry = mapping.entry
        return entry.id, entry.state.value

    def artifact(self, artifact_id: str, fallback: ProjectKey) -> Artifact:
        found = self.client.operations.artifact_by_id(artifact_id, "loading a mirrored version")
        if found is None:
            raise NotFoundError(f"version {artifact_id} vanished from the target", kind="version")
        return Artifact._from_source(self.client, found, fallback)

    def run(self, key: RunKey) -> Run | None:
        if key not in self._runs:
            result = self.client.call(
                lambda c: c.project_run(key.entity, key.project, key.id), f"looking for run {key} on the target"
            )
            found = None if result.project is None else result.project.run
            self._runs[key] = None if found is None else Run._wrap(self.client, found, key.entity, key.project)
        return self._runs[key]

    @property
    def username(self) -> str | None:
        """Who the target's API key belongs to (asked once)."""
        if self._viewer is None:
            viewer = self.client.call(lambda c: c.viewer(), "asking who the target's API key belongs to").viewer
            self._viewer = "" if viewer is None else viewer.username or ""
        return self._viewer or None

    def users(self, version: Artifact) -> set[RunKey]:
        return {RunKey(run.entity, run.project, run.id) for run in version.used_by()}

    def logger(self, version: Artifact) -> RunKey | None:
        run = version.logged_by()
        return None if run is None else RunKey(run.entity, run.project, run.id)

    def links(self, version: Artifact) -> dict[str, Artifact] | None:
        """The version's links into portfolios by portfolio path, each seen through its portfolio;
        None where the server cannot list them (before 0.12.11)."""
        if version.id not in self._links:
            try:
                found = version.linked_artifacts
            except UnsupportedError:
                return None
            self._links[version.id] = {f"{link.entity}/{link.project}/{link.collection_name}": link for link in found}
        return self._links[version.id]

    def collection(self, project: ProjectKey, name: str, type_name: str) -> ArtifactCollection | None:
        try:
            return ArtifactCollection(self.client, project.entity, project.project, name, type_name)
        except NotFoundError:
            return None

    # -- writes -----------------------------------------------------------------------------------

    def write_run(self, key: RunKey, record: RunRecord) -> Run:
        """Create the run `key` (or update its fields) with the record's name, job type, group, tags, notes, state."""
        from .._generated.input_types import UpsertBucketInput

        fields: dict[str, Any] = {
            "display_name": record.display_name,
            "job_type": record.job_type,
            "group_name": record.group,
            "tags": list(record.tags),
            "notes": record.notes,
            "state": record.state,
        }
        upsert = UpsertBucketInput(
            entity_name=key.entity,
            model_name=key.project,
            name=key.id,
            **{k: v for k, v in fields.items() if v is not None},
        )
        result = self.client.call(lambda c: c.upsert_run_with_fields(upsert), f"recording run {key} on the target")
        bucket = None if result.upsert_bucket is None else result.upsert_bucket.bucket
        if bucket is None:
            raise NotFoundError(f"the target made no run {key}", kind="run", path=str(key))
        run = Run._wrap(self.client, bucket, key.entity, key.project)
        self._runs[key] = run
        return run

    def prepare(self, project: ProjectKey, type_name: str) -> None:
        """The project and the artifact type exist (asked once per mirror)."""
        from .._generated.input_types import CreateArtifactTypeInput

        entity, name = project
        if ("project", entity, name) not in self._ready:
            self.client.call(lambda c: c.upsert_project(entity, name), f"creating project {project} on the target")
            self._ready.add(("project", entity, name))
        if ("type", entity, name, type_name) not in self._ready:
            self.client.call(
                lambda c: c.create_artifact_type(
                    CreateArtifactTypeInput(entity_name=entity, project_name=name, name=type_name)
                ),
                f"creating artifact type {type_name!r} in {project} on the target",
            )
            self._ready.add(("type", entity, name, type_name))

    def create_pending(
        self, record: VersionRecord, project: ProjectKey, client_id: str, run: str | None
    ) -> tuple[str, str]:
        """A new pending version of `record` (or the pending one a retry finds); `(ID, state)`."""
        from .._generated.enums import ArtifactDigestAlgorithm
        from .._generated.input_types import ArtifactAliasInput, CreateArtifactInput, TagInput

        tags = self.tags
        created = self.client.call(
            lambda c: c.create_artifact(
                CreateArtifactInput(
                    entity_name=project.entity,
                    project_name=project.project,
                    artifact_type_name=record.type,
                    artifact_collection_name=record.collection,
                    digest=record.digest,
                    digest_algorithm=ArtifactDigestAlgorithm.MANIFEST_MD5,
                    description=record.description,
                    metadata=dict(record.metadata) if record.metadata else None,
                    aliases=[
                        ArtifactAliasInput(artifact_collection_name=record.collection, alias=a) for a in record.aliases
                    ],
                    tags=[TagInput(tag_name=t) for t in record.tags] if tags and record.tags else None,
                    ttl_duration_seconds=record.ttl_seconds if tags else None,
                    history_step=record.history_step,
                    run_name=run,
                    clientID=client_id,
                    enable_digest_deduplication=False,
                )
            ),
            f"creating {project}/{record.collection} on the target",
        )
        assert created.create_artifact is not None
        artifact = created.create_artifact.artifact
        return artifact.id, artifact.state.value

    def complete(
        self,
        artifact_id: str,
        manifest: Manifest,
        project: ProjectKey,
        collection: str,
        run: str | None,
        send: Callable[[FileRegistry], object],
    ) -> Artifact:
        where = f"{project}/{collection}"
        committed = complete_version(
            self.client, artifact_id, manifest, project.entity, project.project, run, where, send
        )
        # The commit moved `latest` (and the aliases it was made with): the sequence is listed afresh.
        self._sequences.pop(f"{project}/{collection}", None)
        return Artifact._from_source(self.client, committed, project)

    def edit(
        self,
        version: Artifact,
        *,
        aliases: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        description: str | None | bool = False,
        metadata: Mapping[str, Any] | None = None,
        ttl_seconds: int | None | bool = False,
    ) -> None:
        """Bring the given fields of a version in line (False/None: leave that field alone)."""
        if aliases is not None:
            version.aliases = list(aliases)
        if tags is not None:
            version.tags = list(tags)
        if description is not False:
            version.description = description  # type: ignore[assignment]
        if metadata is not None:
            version.metadata = dict(metadata)
        if ttl_seconds is not False:
            if ttl_seconds is None:
                version.ttl = ArtifactTTL.INHERIT
            elif ttl_seconds == -2:
                version.ttl = None
            else:
                version.ttl = timedelta(seconds=int(ttl_seconds))
        version.save()

    def use(self, version: Artifact, run: RunKey) -> None:
        from .._generated.input_types import UseArtifactInput

        used = UseArtifactInput(
            entity_name=run.entity,
            project_name=run.project,
            run_name=run.id,
            artifactID=version.id,
            artifact_entity_name=version.entity,
            artifact_project_name=version.project,
        )
        self.client.call(lambda c: c.use_artifact(used), f"recording that {run} used {version.qualified_name}")

    def link(self, version: Artifact, project: ProjectKey, portfolio: str, aliases: Sequence[str]) -> Artifact:
        linked = version.link(f"{project}/{portfolio}", [a for a in aliases if a != "latest"])
        self._links.setdefault(version.id, {})[f"{project}/{portfolio}"] = linked
        return linked
