"""Per-request state for resolvers, and the signed URLs the emulator hands out."""

from __future__ import annotations

import hashlib
import hmac
import re
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from .blobs import BlobStore
from .errors import PermissionDenied
from .settings import Settings
from .store import Store

_EXPIRES = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True)
class UrlSigner:
    """Builds and checks the pre-signed URLs for blob downloads and uploads.

    Direct URLs work without an API key, like W&B's signed storage URLs, but only until they
    expire and only for the blob they were signed for.
    """

    base_url: str
    secret: bytes
    ttl_seconds: int = 3600

    def _sign(self, purpose: str, subject: str, expires: int) -> str:
        message = f"{purpose}:{subject}:{expires}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()[:32]

    def _signed(self, path: str, purpose: str, subject: str) -> str:
        expires = int(time.time()) + self.ttl_seconds
        return f"{self.base_url}{path}?exp={expires}&sig={self._sign(purpose, subject, expires)}"

    def verify(self, purpose: str, subject: str, expires: str | None, signature: str | None) -> bool:
        # ASCII digits only: str.isdigit() also accepts superscripts and other scripts' digits.
        if not expires or not signature or not signature.isascii() or not _EXPIRES.fullmatch(expires):
            return False
        if int(expires) < time.time():
            return False
        expected = self._sign(purpose, subject, int(expires))
        return hmac.compare_digest(expected, signature)

    def blob_url(self, md5_hex: str, filename: str | None = None) -> str:
        path = f"/storage/blobs/{md5_hex}"
        if filename:
            path += "/" + quote(filename.rsplit("/", 1)[-1])
        return self._signed(path, "get", md5_hex)

    def blob_upload_url(self, md5_hex: str) -> str:
        return self._signed(f"/storage/upload/{md5_hex}", "put", md5_hex)

    def manifest_upload_url(self, manifest_id: int) -> str:
        return self._signed(f"/storage/manifests/{manifest_id}", "put-manifest", str(manifest_id))

    def run_file_upload_url(self, run_id: int, name: str) -> str:
        subject = f"{run_id}/{name}"
        return self._signed(f"/storage/runfiles/{run_id}/{quote(name)}", "put-run-file", subject)


@dataclass
class Context:
    store: Store
    blobs: BlobStore
    urls: UrlSigner
    settings: Settings
    user: sqlite3.Row | None
    read_only: bool = False
    cache: dict[Any, Any] = field(default_factory=dict)

    def require_write(self) -> None:
        if self.read_only:
            raise PermissionDenied("this API key is read-only")

    def may_see(self, artifact: sqlite3.Row) -> bool:
        """Pending versions (and their upload URLs) are visible to their creator only."""
        if artifact["state"] != "PENDING":
            return True
        creator = artifact["created_by_user_id"]
        return creator is None or creator == self.user_id

    def may_upload(self, artifact_id: int) -> bool:
        """Upload URLs go to a read-write key of the version's creator, while it is pending."""
        if self.read_only:
            return False
        row = self.store.artifact_state_and_creator(artifact_id)
        return row is not None and row["state"] == "PENDING" and self.may_see(row)

    @property
    def user_id(self) -> int | None:
        return None if self.user is None else int(self.user["id"])

    @property
    def default_entity(self) -> str | None:
        return None if self.user is None else str(self.user["username"])
