"""Creating a new artifact version: W&B's create/commit protocol around the transfer engine.

The steps are W&B's: make sure the project (and the run, if one is named) exists, create the
type and a pending version, register the manifest, register the files (the server answers with
upload URLs only for bytes it does not hold; `transfer.upload.put_files` sends those), upload the
manifest, commit. Re-running an upload that failed half-way continues the same pending version
(the server recognises its digest) and sends only what is still missing; uploading content
identical to an existing version returns that version, with the asked-for aliases and tags added.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._client import Client
from ._paths import ArtifactPath
from .artifacts import Artifact
from .errors import UnsupportedError, UploadError
from .manifest import Manifest, ManifestEntry, ManifestError
from .transfer.progress import Progress
from .transfer.upload import LocalFile, UploadStats, UploadUrl, put_document, put_files

if TYPE_CHECKING:
    from ._generated.fragments import ArtifactFields

log = logging.getLogger("artifactkit")
FILE_SPEC_BATCH = 1000


def upload_version(
    client: Client,
    path: ArtifactPath,
    type_name: str,
    files: Sequence[LocalFile],
    *,
    references: Sequence[ManifestEntry] = (),
    aliases: Sequence[str] = (),
    tags: Sequence[str] = (),
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    run: str | None = None,
    workers: int | None = None,
    progress: bool | None | Progress = False,
) -> tuple[Artifact, UploadStats]:
    """Create (or find) the version of `path` holding exactly `files` and `references`, committed.

    `references` are manifest entries with an http(s) `ref` (digest = the ETag); their bytes stay
    where they are. Returns the version and what was sent.
    """
    from ._generated.enums import ArtifactDigestAlgorithm  # generated models load on first use
    from ._generated.input_types import (
        ArtifactAliasInput,
        CreateArtifactInput,
        CreateArtifactTypeInput,
        TagInput,
    )

    if not files and not references:
        raise UploadError("an artifact version needs at least one file")
    for ref in references:
        if ref.ref is None:
            raise UploadError(f"reference {ref.path!r} has no ref URL")
    try:
        manifest = Manifest.from_entries([*(ManifestEntry(f.path, f.md5_b64, f.size) for f in files), *references])
    except ManifestError as exc:
        raise UploadError(f"cannot build the manifest: {exc}") from None
    entity, project, name = path.entity, path.project, path.collection
    digest = manifest.digest()
    where = f"{entity}/{project}/{name}"
    if tags and not client.operations.tags:
        raise UnsupportedError(f"this W&B server predates artifact tags; {where} cannot be tagged")
    client.call(lambda c: c.upsert_project(entity, project), f"creating project {entity}/{project}")
    if run is not None:
        client.call(lambda c: c.upsert_run(entity, project, run), f"creating run {entity}/{project}/{run}")
    client.call(
        lambda c: c.create_artifact_type(
            CreateArtifactTypeInput(entity_name=entity, project_name=project, name=type_name)
        ),
        f"creating artifact type {type_name!r} in {entity}/{project}",
    )
    created = client.call(
        lambda c: c.create_artifact(
            CreateArtifactInput(
                entity_name=entity,
                project_name=project,
                artifact_type_name=type_name,
                artifact_collection_name=name,
                digest=digest,
                digest_algorithm=ArtifactDigestAlgorithm.MANIFEST_MD5,
                description=description,
                metadata=dict(metadata) if metadata is not None else None,
                aliases=[ArtifactAliasInput(artifact_collection_name=name, alias=a) for a in aliases],
                tags=[TagInput(tag_name=t) for t in tags] or None,
                run_name=run,
                enable_digest_deduplication=True,
            )
        ),
        f"creating a version of {where}",
    )
    assert created.create_artifact is not None
    artifact_id = created.create_artifact.artifact.id
    if created.create_artifact.artifact.state.value == "COMMITTED":
        stats = UploadStats(
            files=len(manifest), existing_version=True, checksums_reused=sum(f.checksum_reused for f in files)
        )
        log.info("%s: identical content is already a version (digest %s); nothing to upload", where, digest)
        return _existing_version(client, artifact_id, aliases, tags, (entity, project)), stats

    sent = UploadStats()

    def send(registry: FileRegistry) -> None:
        nonlocal sent
        sent = put_files(client.transport, files, registry.upload_urls, workers=workers, progress=progress)

    committed = complete_version(client, artifact_id, manifest, entity, project, run, where, send)
    sent.files = len(manifest)
    return Artifact._from_source(client, committed, (entity, project)), sent


def complete_version(
    client: Client,
    artifact_id: str,
    manifest: Manifest,
    entity: str,
    project: str,
    run: str | None,
    where: str,
    send: Callable[[FileRegistry], object],
) -> ArtifactFields:
    """The steps after `createArtifact` for a pending version: register the manifest, `send` the
    files' bytes (through the registry, which says which the server lacks), upload the manifest,
    commit. Returns the committed version. Running it again for the same pending version after
    a failure continues it: nothing the server holds is sent again."""
    from ._generated.input_types import CreateArtifactManifestInput

    manifest_bytes = manifest.to_bytes()
    # W&B identifies the manifest file by the base64 MD5 of its bytes (the artifact digest is another thing).
    manifest_md5 = base64.b64encode(hashlib.md5(manifest_bytes, usedforsecurity=False).digest()).decode("ascii")

    def manifest_upload_url(_refused: str | None = None) -> str | None:
        registered = client.call(
            lambda c: c.create_artifact_manifest(
                CreateArtifactManifestInput(
                    artifactID=artifact_id,
                    name="wandb_manifest.json",
                    digest=manifest_md5,
                    entity_name=entity,
                    project_name=project,
                    run_name=run or "",
                )
            ),
            f"registering the manifest of {where}",
        )
        assert registered.create_artifact_manifest is not None
        return registered.create_artifact_manifest.artifact_manifest.file.upload_url

    manifest_url = manifest_upload_url()
    send(FileRegistry(client, artifact_id, where))
    put_document(
        client.transport,
        lambda refused: manifest_url if refused is None else manifest_upload_url(refused),
        manifest_bytes,
        f"the manifest of {where}",
    )
    committed = client.operations.commit_artifact(artifact_id, f"committing {where}")
    assert committed is not None
    return committed


class FileRegistry:
    """The files of one pending version: registering them tells which bytes the server lacks."""

    def __init__(self, client: Client, artifact_id: str, where: str) -> None:
        self.client = client
        self.artifact_id = artifact_id
        self.where = where

    def register(self, files: Sequence[tuple[str, str]]) -> dict[str, tuple[str, list[str]]]:
        """Register `(path, base64 MD5)` pairs, `FILE_SPEC_BATCH` per request.

        Returns `path -> (upload URL, headers)` for the files whose bytes the server does not hold
        (it hands out no URL for content it already has, from any version).
        """
        from ._generated.enums import ArtifactStorageLayout  # generated models load on first use
        from ._generated.input_types import CreateArtifactFilesInput, CreateArtifactFileSpecInput

        wanted: dict[str, tuple[str, list[str]]] = {}
        for start in range(0, len(files), FILE_SPEC_BATCH):
            batch = files[start : start + FILE_SPEC_BATCH]
            specs = self.client.call(
                lambda c, batch=batch: c.create_artifact_files(  # type: ignore[misc]
                    CreateArtifactFilesInput(
                        storage_layout=ArtifactStorageLayout.V2,
                        artifact_files=[
                            CreateArtifactFileSpecInput(artifactID=self.artifact_id, name=path, md_5=md5)
                            for path, md5 in batch
                        ],
                    )
                ),
                f"registering the files of {self.where}",
            )
            assert specs.create_artifact_files is not None
            for edge in specs.create_artifact_files.files.edges:
                node = edge.node
                if node is not None and node.upload_url:
                    wanted[node.name] = (node.upload_url, list(node.upload_headers))
        return wanted

    def renew(self, entry: ManifestEntry) -> tuple[str, list[str]] | None:
        """A fresh upload URL for one file (its URL expired); None when the server no longer wants its bytes."""
        return self.register([(entry.path, entry.digest)]).get(entry.path)

    def upload_urls(self, files: Sequence[LocalFile]) -> list[UploadUrl]:
        """`register` for local files, as `transfer.upload.put_files` asks (its `UploadUrls`)."""
        by_path = {f.path: f for f in files}
        wanted = self.register([(f.path, f.md5_b64) for f in files])
        return [UploadUrl(by_path[path], url, headers) for path, (url, headers) in wanted.items() if path in by_path]


def _existing_version(
    client: Client, artifact_id: str, aliases: Sequence[str], tags: Sequence[str], fallback: tuple[str, str]
) -> Artifact:
    """The server already has a version with this content: return it, with the asked-for aliases and tags."""
    found = client.operations.artifact_by_id(artifact_id, "loading the existing identical version")
    assert found is not None
    artifact = Artifact._from_source(client, found, fallback)
    missing_aliases = [a for a in aliases if a not in artifact.aliases]
    missing_tags = [t for t in tags if t not in artifact.tags]
    if missing_aliases or missing_tags:
        artifact.aliases = [*artifact.aliases, *missing_aliases]
        artifact.tags = [*artifact.tags, *missing_tags]
        artifact.save()
    return artifact
