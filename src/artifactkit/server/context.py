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
from .errors import BadInput, PermissionDenied
from .policy import ANONYMOUS, Caller
from .records import caller_with_grants, project_by_id
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
        """The caller as `policy` sees them: user and role (a key's role rides on its user row);
        what the user holds is read the first time a rule asks."""
        if self.user is None:
            return ANONYMOUS
        role = "write"
        if self.read_only:
            role = "read"
        elif "key_role" in self.user.keys():  # noqa: SIM118 - `in` on a sqlite3.Row looks at its values
            role = str(self.user["key_role"])
        user_id = int(self.user["id"])
        return caller_with_grants(self.store, user_id, role)

    def require_write(self) -> None:
        if self.read_only:
            raise PermissionDenied("this API key is read-only")

    # ------------------------------------------------------------ versions

    def may_see_version(self, version: sqlite3.Row) -> bool:
        return policy.may_see_version(self.caller, version)

    def may_read_version(self, version: sqlite3.Row) -> bool:
        """A version found by its id alone (`artifact(id:)`, a mutation's `artifactID`): visible
        as `may_see_version` says, and in a project the caller may see (the one it was logged
        to, or one whose collection it is linked into)."""
        if not self.may_see_version(version):
            return False
        if self.caller.is_admin:
            return True
        return any(
            project is not None and self.may_see_project(project)
            for project in (self.project(pid) for pid in self.store.projects_of_version(int(version["id"])))
        )

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

    # ------------------------------------------------------------ projects and entities

    def project(self, project_id: int) -> sqlite3.Row | None:
        """A project's row (with its entity's kind and organization), read once per request."""
        key = ("project-row", project_id)
        if key not in self.cache:
            self.cache[key] = project_by_id(self.store, project_id)
        row: sqlite3.Row | None = self.cache[key]
        return row

    def may_see_project(self, project: sqlite3.Row) -> bool:
        return policy.may_see_project(self.caller, project)

    def require_entity_write(self, entity: str) -> None:
        """Refuse (403) writing into an entity the caller is not a member of (see
        `policy.may_write_in_entity`); an organization's entity takes registries only."""
        row = self.store.entity_by_name(entity)
        if policy.may_write_in_entity(self.caller, row):
            return
        if not self.caller.can_write:
            raise PermissionDenied("this API key is read-only")
        assert row is not None
        kind = row["kind"]
        if kind == "organization":
            raise BadInput(
                f"{entity} is an organization's entity: it holds only registries (projects named wandb-registry-*); "
                "log versions to a team's project and link them into a registry"
            )
        if kind == "user":
            raise PermissionDenied(f"{entity} is another user's personal entity; only that user may write to it")
        raise PermissionDenied(f"you are not a member of team {entity}; ask one of its admins to add you")

    def require_project_write(self, project: sqlite3.Row) -> None:
        """Refuse (403) a change inside a project (`policy.may_write_in_project`)."""
        if policy.may_write_in_project(self.caller, project):
            return
        if not self.caller.can_write:
            raise PermissionDenied("this API key is read-only")
        where = f"{project['entity_name']}/{project['name']}"
        if project["entity_kind"] == "organization":
            role = policy.registry_role(self.caller, project)
            raise PermissionDenied(
                f"changing registry {where} needs the member or admin role in it; you have "
                + ("no role" if role is None else f"the {role} role")
            )
        self.require_entity_write(str(project["entity_name"]))
        raise PermissionDenied(f"this API key may not change {where}")

    @property
    def user_id(self) -> int | None:
        return None if self.user is None else int(self.user["id"])

    @property
    def default_entity(self) -> str | None:
        return None if self.user is None else str(self.user["username"])
