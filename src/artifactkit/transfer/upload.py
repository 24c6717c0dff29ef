"""Creating a new artifact version from local files and directories (and http(s) references).

The steps are W&B's: make sure the project (and the run, if one is named) exists, create the
type and a pending version, register the manifest and the files, upload only the bytes the
server does not have (it hands out no upload URL for content it already holds, from any
artifact), upload the manifest, commit. Digests are computed locally and the server checks every
upload against them (`Content-MD5`). Uploads run in parallel over the Api's one HTTP client; an
expired upload URL is exchanged for a fresh one. Re-running an upload that failed half-way
continues the same pending version (the server recognises its digest) and sends only what is
still missing; uploading content identical to an existing version returns that version, with
the asked-for aliases and tags added.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._graphql import Session
from .._transport import Transport
from ..errors import UploadError
from ..manifest import Manifest, ManifestEntry, ManifestError, check_entry_path
from .download import default_workers
from .plan import CHUNK
from .progress import Progress

if TYPE_CHECKING:
    from ..artifacts import Artifact

FILE_SPEC_BATCH = 1000


@dataclass
class UploadStats:
    """What an upload sent: files and bytes uploaded, and whether an identical version existed."""

    files: int = 0
    uploaded_files: int = 0
    uploaded_bytes: int = 0
    existing_version: bool = False


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
    for chunk in _chunks(source):
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
    references: Sequence[ManifestEntry] = (),
    aliases: Sequence[str] = (),
    tags: Sequence[str] = (),
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    run: str | None = None,
    workers: int | None = None,
    progress: bool | None = False,
    stats: UploadStats | None = None,
) -> Artifact:
    """Create (or find) the version holding exactly `files` and `references`; returns it committed.

    `references` are manifest entries with an http(s) `ref` (digest = the ETag); their bytes stay
    where they are. `progress` draws one bar on a terminal (None: only when stderr is a TTY).
    `stats`, if given, is filled in with what was sent.
    """
    from .._generated.enums import ArtifactDigestAlgorithm
    from .._generated.input_types import (
        ArtifactAliasInput,
        CreateArtifactInput,
        CreateArtifactManifestInput,
        CreateArtifactTypeInput,
        TagInput,
    )
    from ..artifacts import Artifact

    if not files and not references:
        raise UploadError("an artifact version needs at least one file")
    for ref in references:
        if ref.ref is None:
            raise UploadError(f"reference {ref.path!r} has no ref URL")
    try:
        manifest = Manifest.from_entries([*(ManifestEntry(f.path, f.md5_b64, f.size) for f in files), *references])
    except ManifestError as exc:
        raise UploadError(f"cannot build the manifest: {exc}") from None
    digest = manifest.digest()
    where = f"{entity}/{project}/{name}"
    stats = stats if stats is not None else UploadStats()
    stats.files = len(manifest)
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
        stats.existing_version = True
        return _existing_version(client, artifact_id, aliases, tags, (entity, project))

    manifest_bytes = manifest.to_bytes()
    # W&B identifies the manifest file by the base64 MD5 of its bytes (the artifact digest is another thing).
    manifest_md5 = base64.b64encode(hashlib.md5(manifest_bytes, usedforsecurity=False).digest()).decode("ascii")

    def manifest_upload_url() -> str | None:
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

    specs = _FileSpecs(client, artifact_id, where)
    uploads = specs.register(files)
    bar = Progress(
        sum({local.md5_b64: local.size for local, _, _ in uploads}.values()), len(uploads), progress, verb="uploaded"
    )

    counter = threading.Lock()

    def put(item: tuple[LocalFile, str, list[str]]) -> None:
        local, url, header_lines = item
        for attempt in range(2):
            status, text = _put_file(client.transport, local, url, header_lines, bar)
            if status < 300:
                bar.file_done()
                with counter:
                    stats.uploaded_files += 1
                    stats.uploaded_bytes += local.size
                return
            if status in (401, 403) and attempt == 0:  # an expired upload URL: ask for a fresh one
                fresh = specs.register([local])
                if not fresh:
                    return  # meanwhile the server got these bytes from someone else
                _, url, header_lines = fresh[0]
                continue
            raise UploadError(f"uploading {local.path} ({local.source}) failed: HTTP {status} {text[:200]}")

    # Identical contents at several paths go up once; the copies are registered again after,
    # and sent only if the server still asks for them.
    first_of: dict[str, tuple[LocalFile, str, list[str]]] = {}
    copies: list[LocalFile] = []
    for item in uploads:
        if item[0].md5_b64 in first_of:
            copies.append(item[0])
        else:
            first_of[item[0].md5_b64] = item
    try:
        with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
            list(pool.map(put, first_of.values()))
            if copies:
                list(pool.map(put, specs.register(copies)))
    finally:
        bar.close()

    for attempt in range(2):
        if manifest_url is None:
            raise UploadError(f"the server gave no upload URL for the manifest of {where}")
        with client.transport.stream("PUT", manifest_url, content=manifest_bytes) as response:
            if response.status_code < 300:
                break
            response.read()
            if response.status_code in (401, 403) and attempt == 0:  # expired while the files went up
                manifest_url = manifest_upload_url()
                continue
            raise UploadError(
                f"uploading the manifest of {where} failed: HTTP {response.status_code} {response.text[:200]}"
            )
    committed = client.call(lambda c: c.commit_artifact(artifact_id), f"committing {where}")
    assert committed.commit_artifact is not None
    return Artifact.from_source(client, committed.commit_artifact.artifact, (entity, project))


class _FileSpecs:
    """Registers files with the pending version; the server answers with URLs for missing bytes."""

    def __init__(self, client: Session, artifact_id: str, where: str) -> None:
        self.client = client
        self.artifact_id = artifact_id
        self.where = where

    def register(self, files: Sequence[LocalFile]) -> list[tuple[LocalFile, str, list[str]]]:
        from .._generated.enums import ArtifactStorageLayout
        from .._generated.input_types import CreateArtifactFilesInput, CreateArtifactFileSpecInput

        uploads: list[tuple[LocalFile, str, list[str]]] = []
        by_path = {f.path: f for f in files}
        for start in range(0, len(files), FILE_SPEC_BATCH):
            batch = files[start : start + FILE_SPEC_BATCH]
            specs = self.client.call(
                lambda c, batch=batch: c.create_artifact_files(  # type: ignore[misc]
                    CreateArtifactFilesInput(
                        storage_layout=ArtifactStorageLayout.V2,
                        artifact_files=[
                            CreateArtifactFileSpecInput(artifactID=self.artifact_id, name=f.path, md_5=f.md5_b64)
                            for f in batch
                        ],
                    )
                ),
                f"registering the files of {self.where}",
            )
            assert specs.create_artifact_files is not None
            for edge in specs.create_artifact_files.files.edges:
                node = edge.node
                if node is not None and node.upload_url and node.name in by_path:
                    uploads.append((by_path[node.name], node.upload_url, node.upload_headers))
        return uploads


def _put_file(
    transport: Transport, local: LocalFile, url: str, header_lines: list[str], bar: Progress
) -> tuple[int, str]:
    """PUT one file's bytes (read afresh for each retry); returns the status and the error text."""
    try:
        stat = local.source.stat()
    except FileNotFoundError:
        raise UploadError(f"{local.source} disappeared before it was uploaded") from None
    if stat.st_size != local.size:
        raise UploadError(
            f"{local.source} changed while uploading ({local.size} bytes when hashed, now {stat.st_size})"
        )
    headers = dict(line.split(":", 1) for line in header_lines if ":" in line)
    headers = {key.strip(): value.strip() for key, value in headers.items()}
    headers["Content-Length"] = str(local.size)

    def body() -> Iterator[bytes]:
        for chunk in _chunks(local.source):
            bar.bytes(len(chunk))
            yield chunk

    with transport.stream("PUT", url, headers=headers, content=body) as response:
        if response.status_code >= 300:
            response.read()
            text = response.text
            if response.status_code == 400 and "BAD_DIGEST" in text:
                raise UploadError(f"{local.source} changed while uploading: the server got bytes with another MD5")
            return response.status_code, text
    return response.status_code, ""


def _existing_version(
    client: Session, artifact_id: str, aliases: Sequence[str], tags: Sequence[str], fallback: tuple[str, str]
) -> Artifact:
    """The server already has a version with this content: return it, with the asked-for aliases and tags."""
    from ..artifacts import Artifact

    found = client.call(lambda c: c.artifact_by_id(artifact_id), "loading the existing identical version")
    assert found.artifact is not None
    artifact = Artifact.from_source(client, found.artifact, fallback)
    missing_aliases = [a for a in aliases if a not in artifact.aliases]
    missing_tags = [t for t in tags if t not in artifact.tags]
    if missing_aliases or missing_tags:
        artifact.aliases = [*artifact.aliases, *missing_aliases]
        artifact.tags = [*artifact.tags, *missing_tags]
        artifact.save()
    return artifact
