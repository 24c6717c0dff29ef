"""Creating a new artifact version from local files and directories.

The steps are W&B's: make sure the project (and the run, if one is named) exists, create the
type and a pending version, register the manifest and the files, upload only the bytes the
server does not have, upload the manifest, commit. Digests are computed locally and the server
checks every upload against them. Re-running an upload that failed half-way continues the same
pending version (the server recognises its digest) instead of making a new one; uploading content
identical to an existing version returns that version.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._graphql import Session
from ..errors import UploadError
from ..manifest import Manifest, ManifestEntry, ManifestError, check_entry_path
from .download import default_workers
from .plan import CHUNK

if TYPE_CHECKING:
    from ..artifacts import Artifact

FILE_SPEC_BATCH = 1000


@dataclass(frozen=True)
class LocalFile:
    """A file to upload: where it is on disk and its path inside the artifact."""

    source: Path
    path: str
    size: int
    md5_b64: str


def _hash_file(source: Path) -> tuple[int, str]:
    hasher = hashlib.md5(usedforsecurity=False)
    size = 0
    with source.open("rb") as f:
        while chunk := f.read(CHUNK):
            hasher.update(chunk)
            size += len(chunk)
    return size, base64.b64encode(hasher.digest()).decode("ascii")


def _chunks(source: Path) -> Iterator[bytes]:
    with source.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def collect_files(
    paths: Iterable[str | os.PathLike[str]] | Mapping[str, str | os.PathLike[str]], *, workers: int | None = None
) -> list[LocalFile]:
    """Expand files and directories into `LocalFile`s, hashing in parallel.

    A directory contributes its files under their relative paths; a single file keeps its base
    name. A mapping gives explicit artifact paths: `{"data/train.csv": "/tmp/x.csv"}`.
    """
    pairs: list[tuple[Path, str]] = []
    items = paths.items() if isinstance(paths, Mapping) else [(None, p) for p in paths]
    for logical, raw in items:
        source = Path(raw)
        if source.is_dir():
            prefix = f"{logical.rstrip('/')}/" if logical else ""
            for child in sorted(source.rglob("*")):
                if child.is_file():
                    pairs.append((child, prefix + child.relative_to(source).as_posix()))
        elif source.is_file():
            pairs.append((source, logical or source.name))
        else:
            raise UploadError(f"{source} is neither a file nor a directory")
    seen: dict[str, Path] = {}
    for source, logical in pairs:
        try:
            check_entry_path(logical)
        except ManifestError as exc:
            raise UploadError(f"cannot upload {source} as {logical!r}: {exc}") from None
        if logical in seen:
            raise UploadError(f"two files would both be stored as {logical!r}: {seen[logical]} and {source}")
        seen[logical] = source
    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        hashes = list(pool.map(lambda pair: _hash_file(pair[0]), pairs))
    return [LocalFile(source, logical, size, md5) for (source, logical), (size, md5) in zip(pairs, hashes, strict=True)]


def upload_artifact(
    client: Session,
    *,
    entity: str,
    project: str,
    name: str,
    type_name: str,
    files: Sequence[LocalFile],
    aliases: Sequence[str] = (),
    tags: Sequence[str] = (),
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    run: str | None = None,
    workers: int | None = None,
) -> Artifact:
    """Create (or find) the version holding exactly `files`; returns it committed."""
    from .._generated.enums import ArtifactDigestAlgorithm, ArtifactStorageLayout
    from .._generated.input_types import (
        ArtifactAliasInput,
        CreateArtifactFilesInput,
        CreateArtifactFileSpecInput,
        CreateArtifactInput,
        CreateArtifactManifestInput,
        CreateArtifactTypeInput,
        TagInput,
    )
    from ..artifacts import Artifact

    if not files:
        raise UploadError("an artifact version needs at least one file")
    manifest = Manifest.from_entries(ManifestEntry(f.path, f.md5_b64, f.size) for f in files)
    digest = manifest.digest()
    where = f"{entity}/{project}/{name}"
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
        return _existing_version(client, artifact_id, aliases, (entity, project))

    registered = client.call(
        lambda c: c.create_artifact_manifest(
            CreateArtifactManifestInput(
                artifactID=artifact_id,
                name="wandb_manifest.json",
                digest=digest,
                entity_name=entity,
                project_name=project,
                run_name=run or "",
            )
        ),
        f"registering the manifest of {where}",
    )
    assert registered.create_artifact_manifest is not None
    manifest_url = registered.create_artifact_manifest.artifact_manifest.file.upload_url

    uploads: list[tuple[LocalFile, str, list[str]]] = []
    by_path = {f.path: f for f in files}
    for start in range(0, len(files), FILE_SPEC_BATCH):
        batch = files[start : start + FILE_SPEC_BATCH]
        specs = client.call(
            lambda c, batch=batch: c.create_artifact_files(  # type: ignore[misc]
                CreateArtifactFilesInput(
                    storage_layout=ArtifactStorageLayout.V2,
                    artifact_files=[
                        CreateArtifactFileSpecInput(artifactID=artifact_id, name=f.path, md_5=f.md5_b64) for f in batch
                    ],
                )
            ),
            f"registering the files of {where}",
        )
        assert specs.create_artifact_files is not None
        for edge in specs.create_artifact_files.files.edges:
            node = edge.node
            if node is not None and node.upload_url:
                uploads.append((by_path[node.name], node.upload_url, node.upload_headers))

    def put(item: tuple[LocalFile, str, list[str]]) -> None:
        local, url, header_lines = item
        headers = dict(line.split(":", 1) for line in header_lines if ":" in line)
        headers["Content-Length"] = str(local.size)
        with client.transport.stream("PUT", url, headers=headers, content=lambda: _chunks(local.source)) as response:
            if response.status_code >= 300:
                response.read()
                raise UploadError(f"uploading {local.path} failed: HTTP {response.status_code} {response.text[:200]}")

    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        list(pool.map(put, uploads))

    if manifest_url is None:
        raise UploadError(f"the server gave no upload URL for the manifest of {where}")
    with client.transport.stream("PUT", manifest_url, content=manifest.to_bytes()) as response:
        if response.status_code >= 300:
            response.read()
            raise UploadError(
                f"uploading the manifest of {where} failed: HTTP {response.status_code} {response.text[:200]}"
            )
    committed = client.call(lambda c: c.commit_artifact(artifact_id), f"committing {where}")
    assert committed.commit_artifact is not None
    return Artifact.from_source(client, committed.commit_artifact.artifact, (entity, project))


def _existing_version(client: Session, artifact_id: str, aliases: Sequence[str], fallback: tuple[str, str]) -> Artifact:
    """The server already has a version with this content: return it, with the asked-for aliases."""
    from ..artifacts import Artifact

    found = client.call(lambda c: c.artifact_by_id(artifact_id), "loading the existing identical version")
    assert found.artifact is not None
    artifact = Artifact.from_source(client, found.artifact, fallback)
    missing = [a for a in aliases if a not in artifact.aliases]
    if missing:
        artifact.aliases = [*artifact.aliases, *missing]
        artifact.save()
    return artifact
