"""The files of an artifact version: `ArtifactFiles` (the listing) and `File`."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ._client import Client
from ._pagination import DEFAULT_PER_PAGE, Page, Paginator
from ._times import parse_optional_server_time
from .errors import DownloadError, NotFoundError
from .manifest import ManifestEntry, ManifestError, check_entry_path
from .transfer.cache import Cache
from .transfer.download import download_file
from .transfer.urls import FileUrls, UrlQuery

if TYPE_CHECKING:
    from datetime import datetime

    from ._generated.fragments import FileFields
    from .api import Api
    from .artifacts import Artifact
    from .runs import Run

_S3_URL = re.compile(r"^https?://[^/]*s3[^/]*amazonaws\.com", re.IGNORECASE)


class ArtifactFiles(Paginator["File"]):
    """The files of one version, in path order; `len()` counts only the files asked for."""

    def __init__(
        self,
        client: Client,
        artifact: Artifact,
        names: Sequence[str] | None = None,
        per_page: int = DEFAULT_PER_PAGE,
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
        if self.client.offline:
            return self._page_from_manifest(cursor)
        found = self.client.operations.files(
            a, names=self.names, cursor=cursor, per_page=self.per_page, what=f"listing the files of {a.qualified_name}"
        )
        if found is None:
            raise NotFoundError(f"{a.qualified_name} not found", kind="version", path=a.qualified_name)
        items = [File._wrap(self.client, self.artifact, node) for node in found.items]
        return Page(items, found.end_cursor, found.has_next, found.total_count)

    def _page_from_manifest(self, cursor: str | None) -> Page[File]:
        """Offline: the page made from the cached manifest (no URLs, IDs or times: the server keeps those)."""
        from ._generated.fragments import FileFields

        entries = sorted(self.artifact.manifest.entries.values(), key=lambda e: e.path)
        if self.names is not None:
            wanted = set(self.names)
            entries = [e for e in entries if e.path in wanted]
        start = int(cursor) if cursor and cursor.isdigit() else 0
        chosen = entries[start : start + self.per_page]
        end = start + len(chosen)
        items = [
            File._wrap(
                self.client,
                self.artifact,
                FileFields(
                    id="",
                    name=e.path,
                    size_bytes=e.size,
                    checksum=None if e.is_reference else e.digest,
                    digest=e.digest,
                    mimetype=None,
                    url=None,
                    direct_url=e.ref or "",
                    storage_path=None,
                    updated_at=None,
                    is_reference=e.is_reference,
                ),
            )
            for e in chosen
        ]
        return Page(items, str(end), end < len(entries), len(entries))

    def __repr__(self) -> str:
        return f"<ArtifactFiles {self.artifact.qualified_name}>"


class File:
    """A file of an artifact version; files come from `Artifact.files()`."""

    client: Client
    artifact: Artifact
    """The version the file belongs to."""
    run: Run | None = None
    """The run a run's file belongs to: None, for a file of an artifact version."""
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
    def size_bytes(self) -> int:
        """Size in bytes (the same as `size`)."""
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
    def url(self) -> str | None:
        """The file's URL on the W&B server, as the server gives it (on W&B this one needs the API key)."""
        return self._attrs.url

    @property
    def direct_url(self) -> str:
        """A pre-signed download URL, usable without credentials; it expires, so do not store it."""
        return self._attrs.direct_url

    @property
    def path_uri(self) -> str:
        """Where the bytes are stored: the URL itself for a reference, `s3://bucket/key` for a file in
        Amazon S3, else `""`."""
        direct = self._attrs.direct_url
        if not direct:
            return ""
        if direct == self._attrs.url:
            return direct
        if _S3_URL.match(direct):
            parts = urlsplit(direct)
            return f"s3://{parts.netloc.split('.')[0]}/{parts.path.lstrip('/')}"
        return ""

    @property
    def storage_path(self) -> str | None:
        """Where the server keeps the bytes inside its storage; None for a reference."""
        return self._attrs.storage_path

    @property
    def updated_at(self) -> str | None:
        """When the file was last changed, as the server wrote it; None if the server does not say."""
        return self._attrs.updated_at

    @property
    def updated_at_datetime(self) -> datetime | None:
        """`updated_at` as a timezone-aware UTC `datetime`."""
        return parse_optional_server_time(self._attrs.updated_at)

    @property
    def is_reference(self) -> bool:
        """True when the bytes live at an external URL rather than in W&B storage."""
        return self._attrs.is_reference

    def download(
        self, root: str | os.PathLike[str] = ".", replace: bool = False, exist_ok: bool = False, api: Api | None = None
    ) -> io.TextIOWrapper:
        """Download this file to `root/<name>`, verified, and open it for reading as text, as wandb does.

        Close what it returns (`with file.download() as f: ...`); `download_path()` is the same
        download returning the file's `Path`. A file already there with other content raises
        `DownloadError` unless `replace=True` (download it again) or `exist_ok=True` (keep it); an
        identical file is kept either way. `api` sends the request through another `Api`.
        """
        return open(self.download_path(root, replace=replace, exist_ok=exist_ok, api=api))

    def download_path(
        self,
        root: str | os.PathLike[str] = ".",
        *,
        replace: bool = False,
        exist_ok: bool = False,
        api: Api | None = None,
    ) -> Path:
        """Download this file to `root/<name>`, verified, through the shared cache; returns its path.

        An identical file already there is left as is; a different one is replaced with
        `replace=True`, kept with `exist_ok=True`, and raises `DownloadError` otherwise.
        """
        client = self.client if api is None else api.client
        try:
            check_entry_path(self.name)
        except ManifestError as exc:
            raise DownloadError(f"refusing to download {self.name!r}: {exc}", path=self.name) from None
        existing = Path(root, self.name)
        if exist_ok and not replace and existing.is_file():
            return existing
        artifact = self.artifact
        entry = artifact.manifest.entries.get(self.name)
        if entry is None:
            raise DownloadError(f"{self.name} is not in the manifest of {artifact.qualified_name}", path=self.name)
        url_query: UrlQuery = artifact._file_urls
        wanted, first_url = self.name, self.direct_url
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

        with Cache(client.cache_root) as cache:
            return download_file(entry, Path(root), url_for, client.transport, cache, replace=replace)

    def __repr__(self) -> str:
        return f"<File {self.name} ({self.size} bytes)>"
