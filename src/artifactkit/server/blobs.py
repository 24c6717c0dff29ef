"""Content-addressed blob storage on local disk: `<root>/<md5[:2]>/<md5>`.

Writes stream into a temporary file under the store, are checked against the MD5 the uploader
declared, and only then appear under their final name (atomic rename): a reader never sees a
partial blob and a failed upload leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from .errors import BadInput

_MD5_HEX = re.compile(r"^[0-9a-f]{32}$")


class DigestMismatch(BadInput):
    """The uploaded bytes do not hash to the MD5 the upload was created for."""


class BlobWriter:
    """One upload in progress: bytes go to a temp file and are hashed on the way."""

    def __init__(self, store: BlobStore) -> None:
        self._store = store
        fd, name = tempfile.mkstemp(dir=store.tmp, prefix="upload-")
        self._file = os.fdopen(fd, "wb")
        self._path = Path(name)
        self._hasher = hashlib.md5(usedforsecurity=False)
        self._size = 0

    def write(self, chunk: bytes) -> None:
        self._hasher.update(chunk)
        self._file.write(chunk)
        self._size += len(chunk)

    def finish(self, expected_md5_hex: str | None) -> tuple[str, int]:
        """Publish the blob if it hashes to `expected_md5_hex` (any hash when None)."""
        self._file.close()
        actual = self._hasher.hexdigest()
        if expected_md5_hex is not None and actual != expected_md5_hex:
            self.abort()
            raise DigestMismatch(f"uploaded bytes have MD5 {actual}, expected {expected_md5_hex}")
        final = self._store.path_for(actual)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._path, final)
        return actual, self._size

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        self._path.unlink(missing_ok=True)


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / ".tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def discard_partial_uploads(self) -> int:
        """Remove temp files of uploads a crash cut off; call only when no upload is running."""
        removed = 0
        for leftover in self.tmp.glob("upload-*"):
            leftover.unlink(missing_ok=True)
            removed += 1
        return removed

    def path_for(self, md5_hex: str) -> Path:
        """Where the blob with this MD5 lives; refuses anything that is not 32 hex digits."""
        if not _MD5_HEX.match(md5_hex):
            raise BadInput(f"{md5_hex!r} is not an MD5 hex digest")
        return self.root / md5_hex[:2] / md5_hex

    def exists(self, md5_hex: str) -> bool:
        return self.path_for(md5_hex).is_file()

    def writer(self) -> BlobWriter:
        return BlobWriter(self)

    def read(self, md5_hex: str) -> bytes:
        return self.path_for(md5_hex).read_bytes()
