"""What one version looks like as a file tree: its files and folders, and the `info` dicts listings show."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ..artifacts import Artifact
from ..manifest import Manifest, ManifestEntry, ManifestError, check_entry_path
from .paths import WandbPath

logger = logging.getLogger("artifactkit")


@dataclass
class Version:
    """A version as one lookup found it: the entity, its manifest's URL, download URLs asked for."""

    artifact: Artifact
    manifest_url: str | None
    file_urls: dict[str, str] = field(default_factory=dict)


class Tree:
    """The files of one manifest and the folders they imply (unsafe entry paths are left out)."""

    def __init__(self, manifest: Manifest, where: str) -> None:
        self.manifest = manifest
        self.files: dict[str, ManifestEntry] = {}
        self.dirs: dict[str, dict[str, bool]] = {"": {}}  # folder -> {child name: is a folder}
        for path, entry in manifest.entries.items():
            try:
                check_entry_path(path)
            except ManifestError as exc:
                logger.warning("%s: leaving out manifest entry %r: %s", where, path, exc)
                continue
            self.files[path] = entry
            parent = ""
            parts = path.split("/")
            last = len(parts) - 1
            for depth, part in enumerate(parts):
                children = self.dirs.setdefault(parent, {})
                children[part] = children.get(part, False) or depth < last
                parent = f"{parent}/{part}" if parent else part


def file_info(ref: WandbPath, version: Artifact, entry: ManifestEntry) -> dict[str, Any]:
    """A file's `info()`, named under the alias `ref` was written with."""
    info: dict[str, Any] = {
        "name": ref.inside(entry.path),
        "size": entry.size,
        "type": "file",
        "digest": entry.digest,
        "version": version.version,
        "version_path": f"{ref.collection_path}:{version.version}/{entry.path}",
        "artifact_id": version.id,
        "created": version.created_at_datetime,  # a version's files never change after it was created
        "mtime": version.created_at_datetime,
    }
    if entry.ref is None:
        info["md5"] = entry.md5_hex
    else:
        info["ref"] = entry.ref
    return info


def dir_info(name: str, version: Artifact | None = None, size: int = 0) -> dict[str, Any]:
    """A folder's `info()`; inside a version (or a version itself) with the version's details."""
    info: dict[str, Any] = {"name": name, "size": size, "type": "directory"}
    if version is not None:
        info.update(version=version.version, artifact_id=version.id, created=version.created_at_datetime)
        info["mtime"] = version.created_at_datetime
    return info
