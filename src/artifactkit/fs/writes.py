"""Writing: files staged in a transaction, and the one version per collection each commit makes."""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fsspec.spec import AbstractBufferedFile
from fsspec.transaction import Transaction

from ..artifacts import Artifact
from ..errors import NotFoundError
from .oserrors import translated
from .paths import WandbPath

if TYPE_CHECKING:
    from .filesystem import ArtifactFileSystem

logger = logging.getLogger("artifactkit")


class StagedFile(AbstractBufferedFile):  # type: ignore[misc]
    """A file written in a transaction: its bytes wait in a local temp file until the commit."""

    def __init__(self, fs: ArtifactFileSystem, path: str, target: WandbPath, transaction: VersionTransaction) -> None:
        super().__init__(fs, path, mode="wb", block_size=fs.blocksize, autocommit=False)
        self.target = target
        self.transaction = transaction
        self.temp = transaction.new_temp()
        self._out = self.temp.open("xb")

    def _initiate_upload(self) -> None:
        pass

    def _upload_chunk(self, final: bool = False) -> bool:
        self._out.write(self.buffer.getbuffer())
        if final:
            self._out.close()
        return True

    def commit(self) -> None:
        if not self.closed:
            self.close()
        self.transaction.stage(self.target, self.temp)

    def discard(self) -> None:
        self._out.close()
        self.temp.unlink(missing_ok=True)


class VersionTransaction(Transaction):  # type: ignore[misc]
    """`with fs.transaction:` — the files written in the block become one new version per collection.

    Nothing is sent before the block ends. Without an exception, each collection written to gets
    one version holding exactly the files written to it (uploaded as `Api.upload` does: only bytes
    the server lacks); `versions` lists them afterwards. After an exception nothing is sent and the
    staged bytes are deleted.
    """

    def __init__(self, fs: ArtifactFileSystem, **kwargs: Any) -> None:
        super().__init__(fs, **kwargs)
        self._staged: dict[tuple[str, str, str], dict[str, Path]] = {}
        self._dir: Path | None = None
        self.versions: list[Artifact] = []

    def new_temp(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="artifactkit-fs-"))
        return self._dir / secrets.token_hex(8)

    def stage(self, target: WandbPath, temp: Path) -> None:
        assert target.project is not None and target.collection is not None
        files = self._staged.setdefault((target.entity, target.project, target.collection), {})
        previous = files.get(target.path)
        if previous is not None and previous != temp:
            previous.unlink(missing_ok=True)  # written twice: the last write wins
        files[target.path] = temp

    def complete(self, commit: bool = True) -> None:
        fs: ArtifactFileSystem = self.fs
        try:
            super().complete(commit)
            if commit:
                for (entity, project, collection), files in self._staged.items():
                    self.versions.append(commit_version(fs, WandbPath(entity, project, collection), files))
        finally:
            self._staged.clear()
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._dir = None


def commit_version(fs: ArtifactFileSystem, collection: WandbPath, files: dict[str, Path]) -> Artifact:
    """One new version of `collection` holding `files` (path in the artifact -> staged bytes)."""
    try:
        type_name = fs._collection_type(collection)
    except NotFoundError:
        type_name = fs.artifact_type  # a new collection
    with translated(collection.collection_path):
        artifact = fs.api.upload(
            {path: str(temp) for path, temp in files.items()}, collection.collection_path, type_name
        )
    fs.invalidate_cache(collection.collection_path)
    logger.info("committed %s (%d files)", artifact.qualified_name, len(files))
    return artifact
