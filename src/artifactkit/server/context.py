"""Per-request state for resolvers, and the signed URLs the emulator hands out."""

from __future__ import annotations

import hashlib
import hmac
import re
import sqlite3
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import quote

from . import policy
from .blobs import BlobStore
from .errors import PermissionDenied
from .policy import ANONYMOUS, Caller
from .settings import Settings
from .store import Store

_EXPIRES = re.compile(r"[0-9]{1,12}")


def identity(row: sqlite3.Row) -> str:
    """What a signed URL names: the object's id and its creation stamp. Ids are never reused
    (AUTOINCREMENT), and the stamp also tells apart two objects that a database from before
    that change gave the same id: a URL signed for one never works for another."""
    return f"{row['id']}@{row['created_at']}"


@dataclass(frozen=True)
class UrlSigner:
    """Builds and checks the pre-signed URLs for blob downloads and uploads.

    Direct URLs work without an API key, like W&B's signed storage URLs, but only until they
    expire and only for what they were signed for: a download URL for one blob (content, which
    every version holding it shares); an upload URL for one object, by `identity`: a version's
    file, a version's manifest, a run's file. When that object is gone, so is the URL.
    """

    base_url: str
    secret: bytes
    ttl_seconds: int = 3600

    def _sign(self, purpose: str, subject: str, expires: int) -> str:
        message = f"{purpose}:{subject}:{expires}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()[:32]

    def _signed(self, path: str, purpose: str, subject: str, query: str = "") -> str:
        expires = int(time.time()) + self.ttl_seconds
        return f"{self.base_url}{path}?{query}exp={expires}&sig={self._sign(purpose, subject, expires)}"

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

    def blob_upload_url(self, md5_hex: str, version: sqlite3.Row) -> str:
        """Upload the bytes of one file of a pending version (`version`: its `id` and `created_at`)."""
        return self._signed(
            f"/storage/upload/{md5_hex}", "put", f"{md5_hex}/{identity(version)}", f"version={version['id']}&"
        )

    def manifest_upload_url(self, manifest: sqlite3.Row) -> str:
        return self._signed(f"/storage/manifests/{manifest['id']}", "put-manifest", identity(manifest))

    def run_file_upload_url(self, run: sqlite3.Row, name: str) -> str:
        return self._signed(f"/storage/runfiles/{run['id']}/{quote(name)}", "put-run-file", f"{identity(run)}/{name}")


@dataclass
class Context:
    store: Store
    blobs: BlobStore
    urls: UrlSigner
    settings: Settings
    user: sqlite3.Row | None
    read_only: bool = False
    cache: dict[Any, Any] = field(default_factory=dict)

    @cached_property
    def caller(self) -> Caller:
        """The caller as `policy` sees them: user and role (a key's role rides on its user row)."""
        if self.user is None:
            return ANONYMOUS
        role = "write"
        if self.read_only:
            role = "read"
        elif "key_role" in self.user.keys():  # noqa: SIM118 - `in` on a sqlite3.Row looks at its values
            role = str(self.user["key_role"])
        return Caller(int(self.user["id"]), role)

    def require_write(self) -> None:
        if self.read_only:
            raise PermissionDenied("this API key is read-only")

    # ------------------------------------------------------------ versions

    def may_see_version(self, version: sqlite3.Row) -> bool:
        return policy.may_see_version(self.caller, version)

    def upload_version(self, artifact_id: int) -> sqlite3.Row | None:
        """The version (`id`, `state`, `created_by_user_id`, `created_at`) when upload URLs for its
        files and manifest go to this caller; else None."""
        row = self.store.version_access(artifact_id)
        return row if row is not None and policy.may_upload_to_version(self.caller, row) else None

    def may_upload(self, artifact_id: int) -> bool:
        return self.upload_version(artifact_id) is not None

    # ------------------------------------------------------------ runs

    def may_change_run(self, owner_id: int | None) -> bool:
        return policy.may_change_run(self.caller, owner_id)

    def require_run_change(self, run: sqlite3.Row) -> None:
        """Refuse (403) a change to another user's run; runs are visible to every key, so not 404."""
        if not self.may_change_run(run["user_id"]):
            raise PermissionDenied(f"run {run['name']} belongs to another user; only its owner may change it")

    # ------------------------------------------------------------ collections and entities

    def require_entity_write(self, entity: str) -> None:
        if not policy.may_write_in_entity(self.caller, entity):
            raise PermissionDenied(f"this API key may not write to entity {entity}")

    @property
    def user_id(self) -> int | None:
        return None if self.user is None else int(self.user["id"])

    @property
    def default_entity(self) -> str | None:
        return None if self.user is None else str(self.user["username"])
