"""The artifact manifest: the JSON document that maps each logical path of a version to its bytes.

One module serves both sides: the SDK reads manifests to download and writes them to upload, the
emulator parses them when a version is committed. The format is W&B's `version: 1` manifest with
the `wandb-storage-policy-v1` storage policy.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .names import InvalidName, check_path

STORAGE_POLICY = "wandb-storage-policy-v1"
MANIFEST_VERSION = 1
_DIGEST_PREFIX = b"wandb-artifact-manifest-v1\n"


class ManifestError(ValueError):
    """A manifest document is malformed or names a path that is not allowed."""


def md5_b64_to_hex(digest: str) -> str:
    """Turn a manifest digest (base64 of the 16 MD5 bytes) into the 32-character hex form."""
    try:
        raw = base64.b64decode(digest, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ManifestError(f"digest {digest!r} is not base64") from exc
    if len(raw) != 16:
        raise ManifestError(f"digest {digest!r} is not an MD5 digest")
    return raw.hex()


def md5_hex_to_b64(hex_digest: str) -> str:
    """Turn a 32-character MD5 hex digest into the base64 form manifests use."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


def check_entry_path(path: str) -> str:
    """Return `path` if it is a safe relative POSIX path inside an artifact, else raise.

    The shared rule of `names.check_path`: no empty path, control or bidirectional formatting
    characters, absolute path (drive letters included), backslash, or `.`/`..` component, and
    components and whole paths within the limits of `names`. A safe path can be joined to a
    download root without leaving it (symlinks on disk are checked separately, at write time).
    """
    try:
        return check_path("entry path", path)
    except InvalidName as exc:
        raise ManifestError(exc.message) from None


ARTIFACT_REFERENCE_SCHEME = "wandb-artifact://"


def parse_artifact_reference(ref: str) -> tuple[str, str]:
    """`(artifact id, path)` of a `wandb-artifact://<hex>/<path>` reference; `ManifestError` if malformed.

    Such an entry points at the file `path` of another artifact version; `<hex>` is the hex form
    of the bytes of that version's (base64) GraphQL ID. The entry's digest is the target's.
    """
    if not ref.startswith(ARTIFACT_REFERENCE_SCHEME):
        raise ManifestError(f"{ref!r} is not a {ARTIFACT_REFERENCE_SCHEME} reference")
    hex_id, _, path = ref.removeprefix(ARTIFACT_REFERENCE_SCHEME).partition("/")
    try:
        raw = bytes.fromhex(hex_id)
    except ValueError:
        raise ManifestError(f"reference {ref!r} does not name an artifact by its hex ID") from None
    if not raw:
        raise ManifestError(f"reference {ref!r} names no artifact")
    return base64.b64encode(raw).decode("ascii"), check_entry_path(path)


def artifact_reference(artifact_id: str, path: str) -> str:
    """The `wandb-artifact://` URI of the file `path` of the version with GraphQL ID `artifact_id`."""
    try:
        raw = base64.b64decode(artifact_id, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ManifestError(f"artifact ID {artifact_id!r} is not base64") from exc
    return f"{ARTIFACT_REFERENCE_SCHEME}{raw.hex()}/{check_entry_path(path)}"


@dataclass(frozen=True)
class ManifestEntry:
    """One file of an artifact version: its path, content digest and size, or a reference."""

    path: str
    """The file's path inside the version (POSIX, relative, e.g. `images/001.png`)."""
    digest: str
    """Stored files: the base64 MD5 of the content. References: what the storage reports (an ETag)."""
    size: int = 0
    """Size in bytes; 0 where the manifest gives none (some references)."""
    ref: str | None = None
    """Where a reference's bytes live (`https://...`); None for a file stored in W&B."""
    birth_artifact_id: str | None = None
    """The ID of the version that first uploaded these bytes; None for references and new uploads."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Other per-entry fields of the manifest (`extra` in the JSON), kept as they are."""

    @property
    def is_reference(self) -> bool:
        """True when the bytes live at `ref` rather than in W&B storage."""
        return self.ref is not None

    @property
    def is_artifact_reference(self) -> bool:
        """True for a `wandb-artifact://` entry: a file of another artifact version, same digest."""
        return self.ref is not None and self.ref.startswith(ARTIFACT_REFERENCE_SCHEME)

    @functools.cached_property
    def md5_hex(self) -> str:
        """The MD5 of the content as hex; only defined for stored (non-reference) entries (decoded once)."""
        if self.is_reference:
            raise ManifestError(f"{self.path}: a reference entry has no stored MD5")
        return md5_b64_to_hex(self.digest)

    def to_json(self) -> dict[str, Any]:
        """The entry as the manifest's `contents[path]` JSON object (without the path)."""
        doc: dict[str, Any] = {"digest": self.digest}
        if self.ref is not None:
            doc["ref"] = self.ref
        if self.birth_artifact_id is not None:
            doc["birthArtifactID"] = self.birth_artifact_id
        doc["size"] = self.size
        if self.extra:
            doc["extra"] = dict(self.extra)
        return doc


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest: entries by path plus the storage policy configuration."""

    entries: Mapping[str, ManifestEntry]
    """Every entry, by its path."""
    storage_policy_config: Mapping[str, Any] = field(default_factory=lambda: {"storageLayout": "V2"})
    """The storage policy's settings (`storageLayout`: `V2` for current servers, `V1` for old ones)."""

    @classmethod
    def from_entries(cls, entries: Iterable[ManifestEntry], storage_layout: str = "V2") -> Manifest:
        """A manifest of `entries`; raises `ManifestError` for an unsafe or repeated path."""
        by_path: dict[str, ManifestEntry] = {}
        for entry in entries:
            check_entry_path(entry.path)
            if entry.path in by_path:
                raise ManifestError(f"entry path {entry.path!r} appears twice")
            by_path[entry.path] = entry
        return cls(entries=by_path, storage_policy_config={"storageLayout": storage_layout})

    @classmethod
    def from_json(cls, document: bytes | str | Mapping[str, Any], *, check_paths: bool = True) -> Manifest:
        """Parse and validate a manifest document; every problem raises `ManifestError`.

        With `check_paths=False` unsafe entry paths are kept, for a caller that refuses them
        itself with a more specific error (the downloader does, per path, before writing).
        """
        if isinstance(document, (bytes, str)):
            try:
                doc = json.loads(document)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ManifestError(f"manifest is not JSON: {exc}") from exc
        else:
            doc = document
        if not isinstance(doc, Mapping):
            raise ManifestError("manifest is not a JSON object")
        if doc.get("version") != MANIFEST_VERSION:
            raise ManifestError(f"unsupported manifest version {doc.get('version')!r}")
        if doc.get("storagePolicy") != STORAGE_POLICY:
            raise ManifestError(f"unsupported storage policy {doc.get('storagePolicy')!r}")
        config = doc.get("storagePolicyConfig", {})
        contents = doc.get("contents")
        if not isinstance(config, Mapping) or not isinstance(contents, Mapping):
            raise ManifestError("manifest needs object-valued storagePolicyConfig and contents")
        entries: dict[str, ManifestEntry] = {}
        for path, raw in contents.items():
            entries[path] = _parse_entry(path, raw, check_path=check_paths)
        return cls(entries=entries, storage_policy_config=dict(config))

    def to_json(self) -> dict[str, Any]:
        """The manifest document (W&B's `version: 1` format), entries sorted by path."""
        return {
            "version": MANIFEST_VERSION,
            "storagePolicy": STORAGE_POLICY,
            "storagePolicyConfig": dict(self.storage_policy_config),
            "contents": {path: self.entries[path].to_json() for path in sorted(self.entries)},
        }

    def to_bytes(self) -> bytes:
        """The manifest document as compact UTF-8 JSON, as it is uploaded."""
        return json.dumps(self.to_json(), separators=(",", ":"), sort_keys=False).encode()

    def digest(self) -> str:
        """The artifact digest: MD5 over the sorted `path:digest` lines, as hex (W&B's rule)."""
        hasher = hashlib.md5(_DIGEST_PREFIX, usedforsecurity=False)
        for path in sorted(self.entries):
            hasher.update(f"{path}:{self.entries[path].digest}\n".encode())
        return hasher.hexdigest()

    @property
    def total_size(self) -> int:
        """The sum of the entries' sizes, in bytes (references count with the size the manifest gives)."""
        return sum(entry.size for entry in self.entries.values())

    def __iter__(self) -> Iterator[ManifestEntry]:
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)


def _parse_entry(path: Any, raw: Any, *, check_path: bool = True) -> ManifestEntry:
    if not isinstance(path, str):
        raise ManifestError(f"entry path {path!r} is not a string")
    if check_path:
        check_entry_path(path)
    if not isinstance(raw, Mapping):
        raise ManifestError(f"entry {path!r} is not an object")
    digest = raw.get("digest")
    if not isinstance(digest, str) or not digest:
        raise ManifestError(f"entry {path!r} has no digest")
    size = raw.get("size", 0)
    if size is None:
        size = 0
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestError(f"entry {path!r} has an invalid size {size!r}")
    ref = raw.get("ref")
    if ref is not None and not isinstance(ref, str):
        raise ManifestError(f"entry {path!r} has a non-string ref")
    birth = raw.get("birthArtifactID")
    if birth is not None and not isinstance(birth, str):
        raise ManifestError(f"entry {path!r} has a non-string birthArtifactID")
    extra = raw.get("extra") or {}
    if not isinstance(extra, Mapping):
        raise ManifestError(f"entry {path!r} has a non-object extra")
    if ref is None and extra.get("alg", "MD5") not in ("MD5", None):
        raise ManifestError(f"entry {path!r} uses digest algorithm {extra.get('alg')!r}")
    entry = ManifestEntry(path=path, digest=digest, size=size, ref=ref, birth_artifact_id=birth, extra=extra)
    if ref is None:
        md5_b64_to_hex(digest)  # validates the digest form
    return entry
