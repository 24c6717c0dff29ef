"""Looking things up by name, and saying precisely which part of a name does not exist.

One home for the not-found rules: every entity that misses a project, a type or a collection
raises the same `NotFoundError` (same message, same `kind`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._client import Client
from ._paths import ArtifactPath, version_index
from .errors import NotFoundError

if TYPE_CHECKING:
    from ._generated.fragments import ArtifactCollectionFields, ArtifactTypeFields


def project_not_found(entity: str, project: str) -> NotFoundError:
    return NotFoundError(f"project {entity}/{project} not found", kind="project", path=f"{entity}/{project}")


def type_not_found(entity: str, project: str, type_name: str, *, path: str | None = None) -> NotFoundError:
    return NotFoundError(
        f"artifact type {type_name!r} not found in {entity}/{project}",
        kind="artifact type",
        path=path if path is not None else f"{entity}/{project}/{type_name}",
    )


def artifact_type(client: Client, entity: str, project: str, type_name: str) -> ArtifactTypeFields:
    """The type `type_name` of `entity/project`; `NotFoundError` for a missing project or type."""
    result = client.call(
        lambda c: c.project_artifact_type(entity, project, type_name),
        f"loading artifact type {type_name!r} of {entity}/{project}",
    )
    if result.project is None:
        raise project_not_found(entity, project)
    if result.project.artifact_type is None:
        raise type_not_found(entity, project, type_name)
    return result.project.artifact_type


def collection(client: Client, entity: str, project: str, type_name: str, name: str) -> ArtifactCollectionFields:
    """The collection `name` of `type_name`; `NotFoundError` naming the missing project, type or collection."""
    found = client.operations.collection(entity, project, type_name, name)
    if not found.project_found:
        raise project_not_found(entity, project)
    if not found.type_found:
        raise type_not_found(entity, project, type_name, path=f"{entity}/{project}")
    if found.collection is None:
        raise NotFoundError(
            f"collection {name!r} of type {type_name!r} not found in {entity}/{project}",
            kind="collection",
            path=f"{entity}/{project}/{name}",
        )
    return found.collection


def collection_type(client: Client, path: ArtifactPath) -> str:
    """The type of the collection `path` names, whatever it is (one request)."""
    result = client.call(
        lambda c: c.project_artifact_collection(path.entity, path.project, path.collection), f"looking up {path}"
    )
    if result.project is None:
        raise project_not_found(path.entity, path.project)
    if result.project.artifact_collection is None:
        raise diagnose(client, path)
    return result.project.artifact_collection.default_artifact_type.name


def diagnose(client: Client, path: ArtifactPath) -> NotFoundError:
    """Say which part of `path` does not exist (one extra request, only on this error path)."""
    found = client.call(
        lambda c: c.diagnose_artifact_path(path.entity, path.project, path.collection), f"looking up {path}"
    )
    where = f"{path.entity}/{path.project}"
    if found.entity is None:
        return NotFoundError(f"entity {path.entity!r} not found (looking up {path})", kind="entity", path=str(path))
    if found.project is None:
        return NotFoundError(f"project {where} not found (looking up {path})", kind="project", path=str(path))
    if found.project.artifact_collection is None:
        return NotFoundError(f"collection {path.collection!r} not found in {where}", kind="collection", path=str(path))
    alias = path.alias or "latest"
    kind = "version" if version_index(alias) is not None else "alias"
    return NotFoundError(f"{kind} {alias!r} not found in {where}/{path.collection}", kind=kind, path=str(path))
