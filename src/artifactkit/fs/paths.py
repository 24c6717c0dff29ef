"""`wandb://` paths: their parts, and the checks they pass before anything is sent."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from fsspec.utils import stringify_path

from .._paths import RegistryEntity, check_alias, check_part, is_registry_project
from ..errors import InvalidNameError, UnsafePathError
from ..manifest import ManifestError, check_entry_path

PROTOCOL = "wandb"
PATH_FORM = (
    "'wandb://ENTITY/PROJECT/COLLECTION:VERSION/path/in/artifact' "
    "(a registry: 'wandb://[ORGANIZATION/]wandb-registry-NAME/COLLECTION:VERSION/...')"
)
GLOB_MAGIC = re.compile(r"[*?\[]")  # a glob pattern character


@dataclass(frozen=True)
class WandbPath:
    """A parsed `wandb://` path; the parts it does not name are None (or "" for `path`)."""

    entity: str
    project: str | None = None
    collection: str | None = None
    alias: str | None = None  # as written: 'v3', 'latest'; None when no version is named
    path: str = ""  # inside the version

    @property
    def collection_path(self) -> str:
        return f"{self.entity}/{self.project}/{self.collection}"

    @property
    def version_root(self) -> str:
        """`entity/project/collection:alias`, the prefix every name inside the version carries."""
        return f"{self.collection_path}:{self.alias}"

    def inside(self, path: str) -> str:
        """The name of `path` (inside the version) as listings show it, under the alias as written."""
        return f"{self.version_root}/{path}" if path else self.version_root


def strip_protocol(raw: str | os.PathLike[str] | Any) -> str:
    """`raw` without `wandb://` (or fsspec's chained `wandb::`) and trailing slashes, as fsspec strips it."""
    text: str = stringify_path(raw)
    for prefix in (f"{PROTOCOL}://", f"{PROTOCOL}::"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return text.rstrip("/")


def parse_path(raw: str, registry_entity: RegistryEntity | None = None) -> WandbPath:
    """Split and check a `wandb://` path (with or without the protocol); nothing else is sent.

    Malformed names raise `InvalidNameError` (a `ValueError`); a path inside an artifact that is
    absolute, has `.`/`..` or empty components or backslashes is refused with `ValueError`, its
    cause an `UnsafePathError`. A registry path (`wandb-registry-model/...`, or with the
    organization first) gets its entity from `registry_entity` (the organization's entity; without
    it, the path's first part is taken as the entity).
    """
    text = strip_protocol(raw)
    if not text:
        raise InvalidNameError("the path names nothing", expected=PATH_FORM)
    scheme, sep, _ = text.partition("://")
    if sep and "/" not in scheme:
        raise InvalidNameError(f"{raw!r} is not a wandb:// path", expected=PATH_FORM)
    parts = text.split("/")
    if registry_entity is not None and is_registry_project(parts[0]):
        parts.insert(0, "")  # no organization named: the registry is parts[1] from here on
    if registry_entity is not None and len(parts) > 1 and is_registry_project(parts[1]):
        named = check_part("organization", parts[0], PATH_FORM) if parts[0] else None
        parts[0] = registry_entity(named)
    entity = check_part("entity", parts[0], PATH_FORM)
    if len(parts) == 1:
        return WandbPath(entity)
    project = check_part("project", parts[1], PATH_FORM)
    if len(parts) == 2:
        return WandbPath(entity, project)
    name, sep, alias = parts[2].partition(":")
    collection = check_part("artifact name", name, PATH_FORM)
    checked_alias = check_alias(alias) if sep else None
    inner = "/".join(parts[3:])
    if inner:
        try:
            check_entry_path(inner)
        except ManifestError as exc:
            unsafe = UnsafePathError(f"refusing {raw!r}: {exc}", path=inner)
            raise ValueError(str(unsafe)) from unsafe
    return WandbPath(entity, project, collection, checked_alias, inner)
