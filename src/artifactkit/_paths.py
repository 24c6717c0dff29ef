"""The name rules: parsing the paths users type (`entity/project`, `entity/project/name:alias`,
runs) and checking names, aliases and tags.

Every parser and check validates before anything is sent and says which form it expected.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from . import names
from .errors import InvalidNameError

PROJECT_FORM = "'entity/project' (or 'project' with a default entity)"
ARTIFACT_FORM = "'entity/project/name:version' such as 'my-team/my-project/dataset:v3' or ':latest'"
COLLECTION_FORM = "'entity/project/name' such as 'my-team/my-project/dataset'"
RUN_FORM = "'entity/project/run_id'"
COLLECTION_NAME_FORM = "letters, digits, '-', '_' and '.', at most 128 characters"
TYPE_NAME_FORM = "a type name such as 'dataset' or 'model': letters, digits, '-', '_' and '.'"
RESERVED_TYPE_PREFIX = "wandb-"
REGISTRY_PREFIX = "wandb-registry-"
"""A registry is the project `wandb-registry-<name>` of an organization's entity."""
REGISTRY_NAME_FORM = (
    f"a registry name such as 'model' (the project '{REGISTRY_PREFIX}model'): letters, digits, '-', '_' and '.', "
    f"at most {names.MAX_NAME_CHARS - len(REGISTRY_PREFIX)} characters"
)


def is_registry_project(project: str) -> bool:
    """Whether `project` names a registry (`wandb-registry-model`), whatever entity it is looked up in."""
    return project.startswith(REGISTRY_PREFIX) and project != REGISTRY_PREFIX


def registry_project(name: str) -> str:
    """`wandb-registry-model` for the registry `model` (a full name is kept), checked."""
    if not isinstance(name, str) or not name:
        raise InvalidNameError("the registry name is empty", expected=REGISTRY_NAME_FORM)
    full = name if is_registry_project(name) else REGISTRY_PREFIX + name
    try:
        return names.check_name("registry", full)
    except names.InvalidName:
        raise InvalidNameError(f"registry name {name!r} is not valid", expected=REGISTRY_NAME_FORM) from None


def registry_name(project: str) -> str:
    """`model` for the project `wandb-registry-model`."""
    return project.removeprefix(REGISTRY_PREFIX)


def check_part(kind: str, value: str, form: str) -> str:
    if not value:
        raise InvalidNameError(f"the {kind} is empty", expected=form)
    try:
        return names.check_name(kind, value)
    except names.InvalidName:
        raise InvalidNameError(
            f"{kind} {value!r} may only contain letters, digits, '-', '_' and '.' "
            f"(at most {names.MAX_NAME_CHARS}, not '.' or '..')",
            expected=form,
        ) from None


def check_alias(value: str) -> str:
    try:
        return names.check_alias(value)
    except names.InvalidName:
        raise InvalidNameError(
            f"alias {value!r} is not valid (no '/', ':' or control characters, no space at either end, "
            f"at most {names.MAX_ALIAS_CHARS} characters)",
            expected="an alias such as 'latest', 'best' or a version 'v3'",
        ) from None


def check_tags(tags: Iterable[str]) -> list[str]:
    """The tags, checked and de-duplicated in order."""
    result = []
    for tag in tags:
        try:
            names.check_tag("tag", tag)
        except names.InvalidName:
            raise InvalidNameError(
                f"tag {tag!r} is not valid", expected="letters, digits, '-', '_' and single inner spaces, at most 128"
            ) from None
        result.append(tag)
    return list(dict.fromkeys(result))


def version_index(alias: str) -> int | None:
    """3 for 'v3'; None for an alias that is not a version."""
    return names.version_index(alias)


@dataclass(frozen=True)
class ProjectPath:
    entity: str
    project: str

    def __str__(self) -> str:
        return f"{self.entity}/{self.project}"


@dataclass(frozen=True)
class ArtifactPath:
    entity: str
    project: str
    collection: str
    alias: str | None  # a version ('v3'), an alias ('latest') or None for "the latest"

    @property
    def name(self) -> str:
        return self.collection if self.alias is None else f"{self.collection}:{self.alias}"

    def __str__(self) -> str:
        return f"{self.entity}/{self.project}/{self.name}"


DefaultEntity = Callable[[], "str | None"]
"""Asked for the default entity only when a path that is otherwise valid lacks one."""

RegistryEntity = Callable[["str | None"], str]
"""For a registry path (its project `wandb-registry-*`): given the organization the path names before
the registry (None: none), the name of the organization's entity that holds the registry."""


def _split(path: str, form: str) -> list[str]:
    if not isinstance(path, str):
        raise InvalidNameError(f"expected a string path, got {type(path).__name__}", expected=form)
    path = path.strip()
    if not path:
        raise InvalidNameError("the path is empty", expected=form)
    return path.split("/")


def _entity(given: str | None, default_entity: DefaultEntity, path: str, form: str) -> str:
    entity = given if given is not None else default_entity()
    if not entity:
        raise InvalidNameError(f"{path!r} names no entity and no default entity is configured", expected=form)
    return check_part("entity", entity, form)


def _registry_entity(given: str | None, registry_entity: RegistryEntity, form: str) -> str:
    organization = None if given is None else check_part("organization", given, form)
    return check_part("entity", registry_entity(organization), form)


def parse_project_path(
    path: str | None,
    default_entity: DefaultEntity,
    default_project: str | None = None,
    *,
    registry_entity: RegistryEntity | None = None,
) -> ProjectPath:
    """`entity/project` or `project`; None means the default project.

    With `registry_entity`, a registry (`wandb-registry-model`, `ORGANIZATION/wandb-registry-model`)
    belongs to the entity it returns for the organization named (None: none).
    """
    if path is None:
        if not default_project:
            raise InvalidNameError(
                "no project given and no default project configured (WANDB_PROJECT)", expected=PROJECT_FORM
            )
        path = default_project
    parts = _split(path, PROJECT_FORM)
    if len(parts) > 2:
        raise InvalidNameError(f"project path {path!r} has {len(parts)} parts", expected=PROJECT_FORM)
    project = check_part("project", parts[-1], PROJECT_FORM)
    given = parts[0] if len(parts) == 2 else None
    if registry_entity is not None and is_registry_project(project):
        return ProjectPath(_registry_entity(given, registry_entity, PROJECT_FORM), project)
    entity = _entity(given, default_entity, path, PROJECT_FORM)
    return ProjectPath(entity, project)


def parse_artifact_path(
    path: str,
    default_entity: DefaultEntity,
    default_project: str | None,
    *,
    allow_alias: bool = True,
    registry_entity: RegistryEntity | None = None,
) -> ArtifactPath:
    """`entity/project/name[:alias]`, `project/name[:alias]` or `name[:alias]` with the defaults.

    With `registry_entity`, a path into a registry (`wandb-registry-model/name:alias`, or
    `ORGANIZATION/wandb-registry-model/name:alias`) belongs to the entity it returns for the
    organization named (None: none); everything else is checked first.
    """
    form = ARTIFACT_FORM if allow_alias else COLLECTION_FORM
    parts = _split(path, form)
    if len(parts) > 3:
        raise InvalidNameError(f"artifact path {path!r} has {len(parts)} parts", expected=form)
    collection, sep, alias = parts[-1].partition(":")
    if sep and not allow_alias:
        raise InvalidNameError(f"{path!r} names a version, but a collection was expected", expected=form)
    collection = check_part("artifact name", collection, form)
    checked_alias = check_alias(alias) if sep else None
    project = parts[-2] if len(parts) >= 2 else default_project
    if not project:
        raise InvalidNameError(f"{path!r} names no project and no default project is configured", expected=form)
    project = check_part("project", project, form)
    given = parts[0] if len(parts) == 3 else None
    if registry_entity is not None and is_registry_project(project):
        entity = _registry_entity(given, registry_entity, form)
    else:
        entity = _entity(given, default_entity, path, form)
    return ArtifactPath(entity=entity, project=project, collection=collection, alias=checked_alias)


def parse_run_path(path: str, default_entity: DefaultEntity, default_project: str | None) -> tuple[str, str, str]:
    """`entity/project/run_id` (also the URL form `entity/project/runs/run_id`), or shorter with the defaults."""
    parts = _split(path, RUN_FORM)
    if len(parts) == 4 and parts[2] == "runs":
        parts = [parts[0], parts[1], parts[3]]
    if len(parts) > 3:
        raise InvalidNameError(f"run path {path!r} has {len(parts)} parts", expected=RUN_FORM)
    run = check_part("run id", parts[-1], RUN_FORM)
    project = parts[-2] if len(parts) >= 2 else default_project
    if not project:
        raise InvalidNameError(f"{path!r} names no project and no default project is configured", expected=RUN_FORM)
    project = check_part("project", project, RUN_FORM)
    entity = _entity(parts[0] if len(parts) == 3 else None, default_entity, path, RUN_FORM)
    return entity, project, run


_VERSION_ID = re.compile(r"[A-Za-z0-9+/]+={0,2}")


def is_version_id(text: str) -> bool:
    """Whether `text` is a version's GraphQL ID (base64 of `Artifact:<number>`), not a name.

    No name can be mistaken for one: an ID has no `/` or `:` and decodes to `Artifact:` and digits.
    """
    if "/" in text or ":" in text or not _VERSION_ID.fullmatch(text) or len(text) % 4:
        return False
    try:
        decoded = base64.b64decode(text, validate=True).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return False
    kind, sep, number = decoded.partition(":")
    return kind == "Artifact" and sep == ":" and number.isdigit()


def is_digest(alias: str | None) -> bool:
    """Whether an alias is a full version digest (32 hex digits), which names content for good."""
    return alias is not None and re.fullmatch(r"[0-9a-f]{32}", alias) is not None
