"""The files of an artifact version: `ArtifactFiles` (the listing) and `File`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ._client import Client
from ._pagination import DEFAULT_PER_PAGE, Page, Paginator
from .errors import DownloadError, NotFoundError
from .manifest import ManifestEntry
from .transfer.cache import Cache
from .transfer.download import download_file
from .transfer.urls import FileUrls, UrlQuery

if TYPE_CHECKING:
    from ._generated.fragments import FileFields
    from .artifacts import Artifact


class ArtifactFiles(Paginator["File"]):
    """The files of one version, in path order; `len()` counts only the files asked for."""

    def __init__(
        self,
        client: Client,
        artifact: Artifact,
        names: Sequence[str] | None = None,
        per_page: int = DEFAULT_PER_PAGE,
        *,
        start: str | None = None,
    ) -> None:
        super().__init__(per_page, start=start)
        self.client = client
        self.artifact = artifact
        self.names = None if names is None else list(names)

    @property
    def path(self) -> list[str]:
        """`[entity, project, name]` of the version."""
        return [self.artifact.entity, self.artifact.project, self.artifact.name]

    def _fetch_page(self, cursor: str | None) -> Page[File]:
        a = self.artifact
        found = self.client.operations.files(
            a, names=self.names, cursor=cursor, per_page=self.per_page, what=f"listing the files of {a.qualified_name}"
        )
        if found is None:
            raise NotFoundError(f"{a.qualified_name} not found", kind="version", path=a.qualified_name)
        items = [File._wrap(self.client, self.artifact, node) for node in found.items]
        return Page(items, found.end_cursor, found.has_next, found.total_count)

    def __repr__(self) -> str:
        return f"<ArtifactFiles {self.artifact.qualified_name}>"


class File:
    """A file of an artifact version; files come from `Artifact.files()`."""

    client: Client
    artifact: Artifact
    _attrs: FileFields

    def __init__(self) -> None:
        raise TypeError("File objects come from a version: artifact.files()")

    @classmethod
    def _wrap(cls, client: Client, artifact: Artifact, attrs: FileFields) -> File:
        self = cls.__new__(cls)
        self.client = client
        self.artifact = artifact
        self._attrs = attrs
        return self

    @property
    def id(self) -> str:
        """The file's GraphQL ID."""
        return self._attrs.id

    @property
    def name(self) -> str:
        """The path of the file inside the artifact (`dir/file.txt`)."""
        return self._attrs.name

    @property
    def size(self) -> int:
        """Size in bytes (as the manifest records it for a reference)."""
        return self._attrs.size_bytes

    @property
    def md5(self) -> str | None:
        """Base64 MD5 of the content (None for references)."""
        return self._attrs.checksum

    @property
    def digest(self) -> str | None:
        """The base64 MD5 of a stored file; a reference's ETag (or its URL when the origin sent none)."""
        return self._attrs.digest

    @property
    def mimetype(self) -> str | None:
        """The MIME type the server reports, e.g. `text/csv`; None when it does not know."""
        return self._attrs.mimetype

    @property
    def url(self) -> str:
        """A pre-signed download URL; it expires, so do not store it."""
        return self._attrs.direct_url

    @property
    def is_reference(self) -> bool:
        """True when the bytes live at an external URL rather than in W&B storage."""
        return self._attrs.is_reference

    def download(self, root: str | os.PathLike[str] = ".", *, replace: bool = False) -> Path:
        """Download this file to `root/<name>`, verified, through the shared cache.

        An identical file already there is left as is; a different one is replaced only with
        `replace=True`.
        """
        artifact = self.artifact
        entry = artifact.manifest.entries.get(self.name)
        if entry is None:
            raise DownloadError(f"{self.name} is not in the manifest of {artifact.qualified_name}", path=self.name)
        url_query: UrlQuery = artifact._file_urls
        wanted, first_url = self.name, self.url
        target = artifact._reference_targets([entry]).get(entry.path)
        if target is not None:  # a file of another version: fetched from there, verified by its digest
            url_query, wanted = target.urls, target.entry.path
            first_url = dict(url_query([wanted], None, 1).urls).get(wanted, "")
            if not first_url:
                raise DownloadError(f"the server lists no file {wanted!r} in {target.label}", path=self.name)
            entry = ManifestEntry(entry.path, target.entry.digest, target.entry.size)
        urls = FileUrls(url_query, artifact.qualified_name, batch_size=1)

        def url_for(stale: str | None) -> str:
            return first_url if stale is None else urls.refresh(wanted, stale)

        with Cache(self.client.cache_root) as cache:
            return download_file(entry, Path(root), url_for, self.client.transport, cache, replace=replace)

    def __repr__(self) -> str:
        return f"<File {self.name} ({self.size} bytes)>"
