"""What changed between two artifact versions: files by digest, metadata by JSON path, aliases, tags.

Only manifests are compared, never file bytes: a file is the same when its manifest digest is
the same. A file whose digest moved from one path to another is a rename. Metadata differences
are reported per path into the JSON (`train.rows: 1000 -> 1200`). `Artifact.diff()` and
`Api.diff()` build an `ArtifactDiff`; `artifactkit diff` prints it.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from .manifest import Manifest, ManifestError
from .transfer.cache import Cache, manifest_key
from .transfer.plan import select_entries

if TYPE_CHECKING:
    from ._client import Client
    from .artifacts import Artifact
    from .manifest import ManifestEntry

FileStatus = Literal["added", "removed", "changed", "renamed"]
ValueStatus = Literal["added", "removed", "changed"]


class _Missing:
    """The value on the side of a change where the JSON path does not exist."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()
"""Stands for "no value here" in a `ValueChange` (a key that was added or removed)."""


@dataclass(frozen=True)
class FileChange:
    """One file that differs between the two versions."""

    path: str
    """The file's path in the new version (in the old one for a removed file)."""
    status: FileStatus
    old_path: str | None
    """The path in the old version (None for an added file; differs from `path` for a rename)."""
    old_digest: str | None
    new_digest: str | None
    old_size: int | None
    new_size: int | None

    @property
    def size_delta(self) -> int:
        """New size minus old size in bytes (a missing side counts as 0)."""
        return (self.new_size or 0) - (self.old_size or 0)


@dataclass(frozen=True)
class ValueChange:
    """One value that differs at a path into a JSON document (metadata)."""

    path: str
    """`train.rows`, `layers[2]`, `["odd.key"]`: where in the document; empty for the whole document."""
    status: ValueStatus
    old: Any
    """The old value, or `MISSING` for an added key."""
    new: Any
    """The new value, or `MISSING` for a removed key."""

    def __str__(self) -> str:
        return f"{self.path or '(metadata)'}: {_show(self.old)} -> {_show(self.new)}"


@dataclass(frozen=True)
class ArtifactDiff:
    """Everything that differs from `old` to `new` (empty tuples where nothing does).

    `attributes_compared` is False for a files-only diff (`files_only=True`, `--files-only`):
    metadata, description, aliases and tags were not looked at, and their fields are empty.
    """

    old: str
    """The old side as it was named (`entity/project/name:v3`)."""
    new: str
    files: tuple[FileChange, ...]
    metadata: tuple[ValueChange, ...] = ()
    description: tuple[str | None, str | None] | None = None
    """`(old, new)` when the descriptions differ, else None."""
    aliases_added: tuple[str, ...] = ()
    aliases_removed: tuple[str, ...] = ()
    tags_added: tuple[str, ...] = ()
    tags_removed: tuple[str, ...] = ()
    old_size: int = 0
    """Total bytes of the old version's files (of the files the path filter selects, if any)."""
    new_size: int = 0
    old_files: int = 0
    """Number of files in the old version (selected by the path filter, if any)."""
    new_files: int = 0
    old_digest: str | None = None
    """The old version's digest (of all its files, whatever the path filter)."""
    new_digest: str | None = None
    paths: tuple[str, ...] = ()
    """The path filter the files were compared under (empty: every file)."""
    attributes_compared: bool = True
    unchanged_files: int = 0
    """Files with the same path and digest on both sides."""

    @property
    def equal(self) -> bool:
        """True when nothing compared differs."""
        return not (
            self.files
            or self.metadata
            or self.description is not None
            or self.aliases_added
            or self.aliases_removed
            or self.tags_added
            or self.tags_removed
        )

    def __bool__(self) -> bool:
        """True when the versions differ (as `diff` exits 1)."""
        return not self.equal

    @property
    def size_delta(self) -> int:
        """New total size minus old total size, in bytes."""
        return self.new_size - self.old_size

    def _with(self, status: FileStatus) -> list[FileChange]:
        return [change for change in self.files if change.status == status]

    @property
    def added(self) -> list[FileChange]:
        return self._with("added")

    @property
    def removed(self) -> list[FileChange]:
        return self._with("removed")

    @property
    def changed(self) -> list[FileChange]:
        return self._with("changed")

    @property
    def renamed(self) -> list[FileChange]:
        return self._with("renamed")

    def to_json(self) -> dict[str, Any]:
        """The `artifactkit diff --json` document's body (docs/json.md)."""
        return {
            "old": self.old,
            "new": self.new,
            "equal": self.equal,
            "paths": list(self.paths),
            "attributes_compared": self.attributes_compared,
            "summary": {
                "added": len(self.added),
                "removed": len(self.removed),
                "changed": len(self.changed),
                "renamed": len(self.renamed),
                "unchanged": self.unchanged_files,
                "old_files": self.old_files,
                "new_files": self.new_files,
                "old_size": self.old_size,
                "new_size": self.new_size,
                "size_delta": self.size_delta,
                "old_digest": self.old_digest,
                "new_digest": self.new_digest,
            },
            "files": [
                {
                    "path": c.path,
                    "status": c.status,
                    "old_path": c.old_path,
                    "old_digest": c.old_digest,
                    "new_digest": c.new_digest,
                    "old_size": c.old_size,
                    "new_size": c.new_size,
                    "size_delta": c.size_delta,
                }
                for c in self.files
            ],
            "metadata": [value_change_json(c) for c in self.metadata],
            "description": None
            if self.description is None
            else {"old": self.description[0], "new": self.description[1]},
            "aliases": {"added": list(self.aliases_added), "removed": list(self.aliases_removed)},
            "tags": {"added": list(self.tags_added), "removed": list(self.tags_removed)},
        }


def value_change_json(change: ValueChange) -> dict[str, Any]:
    """`{path, status, old, new}`; a missing side is left out rather than written as null."""
    document: dict[str, Any] = {"path": change.path, "status": change.status}
    if change.old is not MISSING:
        document["old"] = change.old
    if change.new is not MISSING:
        document["new"] = change.new
    return document


def _show(value: Any) -> str:
    if value is MISSING:
        return "(none)"
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


# -- files ------------------------------------------------------------------------------------------


def diff_manifests(old: Manifest, new: Manifest, paths: Sequence[str] = ()) -> tuple[list[FileChange], int]:
    """The file changes from `old` to `new` (sorted by path) and how many files are unchanged.

    `paths` are globs on the whole path (`*` matches `/` too, as `get --include`); only files
    matching one of them are compared. A removed file and an added file with the same digest
    are one rename; several candidates pair up in path order.
    """
    old_entries = {e.path: e for e in select_entries(old, include=paths or None)}
    new_entries = {e.path: e for e in select_entries(new, include=paths or None)}
    changes: list[FileChange] = []
    unchanged = 0
    removed: list[ManifestEntry] = []
    for path, entry in old_entries.items():
        other = new_entries.get(path)
        if other is None:
            removed.append(entry)
        elif other.digest == entry.digest:
            unchanged += 1
        else:
            changes.append(FileChange(path, "changed", path, entry.digest, other.digest, entry.size, other.size))
    added = [entry for path, entry in new_entries.items() if path not in old_entries]
    gone_by_digest: dict[str, list[ManifestEntry]] = defaultdict(list)
    for entry in removed:  # already in path order
        gone_by_digest[entry.digest].append(entry)
    renamed_from: set[str] = set()
    for entry in added:
        candidates = gone_by_digest.get(entry.digest)
        if candidates:
            source = candidates.pop(0)
            renamed_from.add(source.path)
            changes.append(
                FileChange(entry.path, "renamed", source.path, source.digest, entry.digest, source.size, entry.size)
            )
        else:
            changes.append(FileChange(entry.path, "added", None, None, entry.digest, None, entry.size))
    for entry in removed:
        if entry.path not in renamed_from:
            changes.append(FileChange(entry.path, "removed", entry.path, entry.digest, None, entry.size, None))
    changes.sort(key=lambda c: (c.path, c.status))
    return changes, unchanged


# -- JSON values ---------------------------------------------------------------------------------------

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _key_path(prefix: str, key: str) -> str:
    if _PLAIN_KEY.fullmatch(key):
        return f"{prefix}.{key}" if prefix else key
    return f"{prefix}[{json.dumps(key, ensure_ascii=False)}]"


def diff_values(old: Any, new: Any, prefix: str = "") -> Iterator[ValueChange]:
    """The changes between two JSON values, one per path where they differ, in key order.

    Objects are compared key by key and lists item by item; anything else (or a change of
    kind, say a number that became an object) is one change at that path. `1` and `1.0` are
    equal, as JSON numbers are; `True` and `1` are not.
    """
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            path = _key_path(prefix, str(key))
            if key not in new:
                yield ValueChange(path, "removed", old[key], MISSING)
            elif key not in old:
                yield ValueChange(path, "added", MISSING, new[key])
            else:
                yield from diff_values(old[key], new[key], path)
        return
    if isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            path = f"{prefix}[{index}]"
            if index >= len(new):
                yield ValueChange(path, "removed", old[index], MISSING)
            elif index >= len(old):
                yield ValueChange(path, "added", MISSING, new[index])
            else:
                yield from diff_values(old[index], new[index], path)
        return
    if not _same(old, new):
        yield ValueChange(prefix, "changed", old, new)


def _same(old: Any, new: Any) -> bool:
    return _kind(old) == _kind(new) and bool(old == new)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


# -- versions -------------------------------------------------------------------------------------------


def diff_artifacts(
    old: Artifact, new: Artifact, *, paths: Sequence[str] = (), files_only: bool = False
) -> ArtifactDiff:
    """`ArtifactDiff` of two loaded versions: their manifests (from the cache when there) and attributes.

    Requests: none for a version whose manifest is cached, else that version's manifest
    (its URL, then the document); the attributes are those the versions were loaded with.
    """
    found = diff_contents(old.qualified_name, old.manifest, new.qualified_name, new.manifest, paths=paths)
    found = replace(found, old_digest=old.digest, new_digest=new.digest)
    if files_only:
        return found
    description = None if old.description == new.description else (old.description, new.description)
    return replace(
        found,
        attributes_compared=True,
        metadata=tuple(diff_values(old.metadata, new.metadata)),
        description=description,
        aliases_added=tuple(sorted(set(new.aliases) - set(old.aliases))),
        aliases_removed=tuple(sorted(set(old.aliases) - set(new.aliases))),
        tags_added=tuple(sorted(set(new.tags) - set(old.tags))),
        tags_removed=tuple(sorted(set(old.tags) - set(new.tags))),
    )


def diff_contents(
    old_name: str, old: Manifest, new_name: str, new: Manifest, *, paths: Sequence[str] = ()
) -> ArtifactDiff:
    """A files-only `ArtifactDiff` of two manifests (what a diff of content named by digest compares)."""
    files, unchanged = diff_manifests(old, new, paths)
    selected_old = select_entries(old, include=paths or None)
    selected_new = select_entries(new, include=paths or None)
    return ArtifactDiff(
        old=old_name,
        new=new_name,
        files=tuple(files),
        old_size=sum(e.size for e in selected_old),
        new_size=sum(e.size for e in selected_new),
        old_files=len(selected_old),
        new_files=len(selected_new),
        old_digest=old.digest(),
        new_digest=new.digest(),
        paths=tuple(paths),
        attributes_compared=False,
        unchanged_files=unchanged,
    )


def cached_manifest(client: Client, content_name: str) -> Manifest | None:
    """The cached manifest of the version a content name means (its ID, `entity/project/name:<digest>`).

    No request: None when the cache does not know the name or no longer holds the manifest.
    """
    server = client.transport.base_url
    with Cache(client.cache_root) as cache:
        noted = cache.noted_version(server, content_name)
        if noted is None:
            return None
        artifact_id, digest = noted
        hit = cache.lookup("manifest", manifest_key(server, artifact_id, digest), None)
        if hit is None:
            return None
        try:
            manifest = Manifest.from_json(hit.read_bytes(), check_paths=False)
        except (OSError, ManifestError):
            return None
    return manifest if manifest.digest() == digest else None
