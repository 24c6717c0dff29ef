"""Reading: `ArtifactFile`, a seekable file of one version whose blocks come from the byte engine.

Where the bytes come from (the cache, a signed URL, a reference's origin), how a range is asked
for and retried, and how a whole read is verified and cached is `transfer.ranges`; this module
turns that into fsspec's buffered file and supplies the one thing the engine cannot know: how to
ask the server for a file's signed URL (again, when storage refused the last one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fsspec.spec import AbstractBufferedFile

from ..errors import DownloadError
from ..files import ArtifactFiles
from ..transfer.fetch import UrlSource
from ..transfer.ranges import RangeSource, Spool
from .oserrors import translated
from .paths import PROTOCOL
from .tree import Version

if TYPE_CHECKING:
    from .filesystem import ArtifactFileSystem


def file_urls(fs: ArtifactFileSystem, version: Version, path: str) -> UrlSource:
    """The signed URL of the stored file `path` of `version`: the one asked for already, or a fresh one."""

    def url_for(refused: str | None) -> str:
        url = None if refused is not None else version.file_urls.get(path)
        if url is None:
            artifact = version.artifact
            # through the filesystem's current client: in a forked worker the version's is the parent's
            listing = ArtifactFiles(fs.api.client, artifact, names=[path], per_page=1)
            found = [f for f in listing if f.name == path]
            if not found:
                raise DownloadError(f"the server lists no file {path!r} in {artifact.qualified_name}", path=path)
            url = found[0].direct_url
            version.file_urls[path] = url
        return url

    return url_for


class ArtifactFile(AbstractBufferedFile):  # type: ignore[misc]
    """A file of one artifact version opened for reading: seekable, fetched in read-ahead blocks.

    The version was resolved when the file was opened; every read of this file comes from it
    (`info()["version"]` says which), however its alias moves meanwhile.
    """

    def __init__(
        self,
        fs: ArtifactFileSystem,
        path: str,
        info: dict[str, Any],
        source: RangeSource,
        spool: Spool | None,
        *,
        block_size: int,
        cache_type: str = "readahead",
        cache_options: dict[str, Any] | None = None,
    ) -> None:
        self._source = source
        self._spool = spool
        super().__init__(
            fs,
            path,
            mode="rb",
            block_size=block_size,
            cache_type=cache_type,
            cache_options=cache_options,
            size=info["size"],
        )
        self.details = info

    def _fetch_range(self, start: int, end: int) -> bytes:
        with translated(self.path):
            data = self._source.read(start, end)
            if self._spool is not None:
                self._spool.add(start, data)
        return data

    def info(self) -> dict[str, Any]:
        """The file's details as of opening, including the `version` an alias resolved to."""
        return dict(self.details)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as the filesystem, the resolved version and the position: the copy reads the same bytes."""
        cache_type = self.cache.name if self.cache is not None else "none"
        return _reopen, (self.fs, self.path, self.details, self.loc, self.blocksize, cache_type)

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._spool is not None:
                self._spool.discard()


def _reopen(
    fs: ArtifactFileSystem, path: str, details: dict[str, Any], loc: int, block_size: int, cache_type: str
) -> ArtifactFile:
    """An unpickled `ArtifactFile`: opened again on the version it was opened on, however aliases moved."""
    pinned = f"{PROTOCOL}://{details['version_path']}"
    f: ArtifactFile = fs.open(pinned, block_size=block_size, cache_type=cache_type)
    f.path, f.details = path, details
    f.seek(loc)
    return f
