"""Looking things up by name, and saying precisely which part of a name does not exist.

One home for the not-found rules: every entity that misses a project, a type or a collection
raises the same `NotFoundError` (same message, same `kind`), whichever call noticed it. The
message names the first part of the path that does not exist and, when the server holds a name
close to it, suggests that one ("did you mean 'training-data'?"). The names come from one
request made only on this error path (`DiagnoseArtifactPath`): the viewer's entities, the
entity's projects, the project's types and collections, the collection's aliases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._client import Client
from ._paths import ArtifactPath, version_index
from .errors import NotFoundError
from .names import did_you_mean, suggestion_text

if TYPE_CHECKING:
    from ._generated.diagnose_artifact_path import DiagnoseArtifactPath
    from ._generated.fragments import ArtifactCollectionFields, ArtifactTypeFields


def _missing(message: str, kind: str, path: str, suggestions: tuple[str, ...] = ()) -> NotFoundError:
    return NotFoundError(message + suggestion_text(suggestions), kind=kind, path=path, suggestions=suggestions)


def _names(client: Client, entity: str, project: str, collection: str = "") -> DiagnoseArtifactPath:
    """What exists along `entity/project/collection`, with the names beside each part (one request)."""
    where = "/".join(part for part in (entity, project, collection) if part)
    return client.call(lambda c: c.diagnose_artifact_path(entity, project, collection), f"looking up {where}")


def _entity_missing(found: DiagnoseArtifactPath, entity: str, path: str) -> NotFoundError | None:
    if found.entity is not None:
        return None
    viewer = found.viewer
    known = [] if viewer is None else [viewer.entity or ""]
    if viewer is not None and viewer.teams is not None:
        known += [edge.node.name for edge in viewer.teams.edges if edge.node is not None]
    return _missing(f"entity {entity!r} not found", "entity", path, did_you_mean(entity, known))


def _project_missing(found: DiagnoseArtifactPath, entity: str, project: str, path: str) -> NotFoundError:
    projects = [] if found.models is None else [e.node.name for e in found.models.edges if e.node is not None]
    suggestions = tuple(f"{entity}/{name}" for name in did_you_mean(project, projects))
    return _missing(f"project {entity}/{project} not found", "project", path, suggestions)


def project_not_found(client: Client, entity: str, project: str, *, path: str | None = None) -> NotFoundError:
    """`entity/project` came back empty: whether the entity or the project is missing (one request)."""
    path = path if path is not None else f"{entity}/{project}"
    found = _names(client, entity, project)
    if found.project is not None:  # there after all (created meanwhile): say what was asked for
        return NotFoundError(f"project {entity}/{project} not found", kind="project", path=path)
    return _entity_missing(found, entity, path) or _project_missing(found, entity, project, path)


def type_not_found(
    client: Client, entity: str, project: str, type_name: str, *, path: str | None = None
) -> NotFoundError:
    """The artifact type `type_name` is not in `entity/project` (which exists)."""
    path = path if path is not None else f"{entity}/{project}/{type_name}"
    found = _names(client, entity, project)
    types = [] if found.project is None else [e.node.name for e in found.project.artifact_types.edges if e.node]
    return _missing(
        f"artifact type {type_name!r} not found in {entity}/{project}",
        "artifact type",
        path,
        did_you_mean(type_name, types),
    )


def artifact_type(client: Client, entity: str, project: str, type_name: str) -> ArtifactTypeFields:
    """The type `type_name` of `entity/project`; `NotFoundError` for a missing project or type."""
    result = client.call(
        lambda c: c.project_artifact_type(entity, project, type_name),
        f"loading artifact type {type_name!r} of {entity}/{project}",
    )
    if result.project is None:
        raise project_not_found(client, entity, project)
    if result.project.artifact_type is None:
        raise type_not_found(client, entity, project, type_name)
    return result.project.artifact_type


def collection(client: Client, entity: str, project: str, type_name: str, name: str) -> ArtifactCollectionFields:
    """The collection `name` of `type_name`; `NotFoundError` naming the missing project, type or collection."""
    found = client.operations.collection(entity, project, type_name, name)
    if not found.project_found:
        raise project_not_found(client, entity, project)
    if not found.type_found:
        raise type_not_found(client, entity, project, type_name, path=f"{entity}/{project}")
    if found.collection is None:  # no suggestion here: `artifact_collection_exists()` asks this, one request
        raise NotFoundError(
            f"collection {name!r} of type {type_name!r} not found in {entity}/{project}",
            kind="collection",
            path=f"{entity}/{project}/{name}",
        )
    return found.collection


def _collection_names(found: DiagnoseArtifactPath) -> list[str]:
    if found.project is None or found.project.artifact_collections is None:
        return []
    return [edge.node.name for edge in found.project.artifact_collections.edges if edge.node is not None]


def collection_type(client: Client, path: ArtifactPath) -> str:
    """The type of the collection `path` names, whatever it is (one request)."""
    result = client.call(
        lambda c: c.project_artifact_collection(path.entity, path.project, path.collection), f"looking up {path}"
    )
    if result.project is None or result.project.artifact_collection is None:
        raise diagnose(client, path)
    return result.project.artifact_collection.default_artifact_type.name


def diagnose(client: Client, path: ArtifactPath) -> NotFoundError:
    """Say which part of `path` does not exist (one extra request, only on this error path)."""
    found = _names(client, path.entity, path.project, path.collection)
    where = f"{path.entity}/{path.project}"
    entity_missing = _entity_missing(found, path.entity, str(path))
    if entity_missing is not None:
        return entity_missing
    if found.project is None:
        return _project_missing(found, path.entity, path.project, str(path))
    collection = found.project.artifact_collection
    if collection is None:
        return _missing(
            f"collection {path.collection!r} not found in {where}",
            "collection",
            str(path),
            did_you_mean(path.collection, _collection_names(found)),
        )
    alias = path.alias or "latest"
    if version_index(alias) is not None:
        return NotFoundError(
            f"version {alias!r} not found in {where}/{path.collection}", kind="version", path=str(path)
        )
    aliases = ["latest"] + [edge.node.alias for edge in collection.aliases.edges if edge.node is not None]
    return _missing(
        f"alias {alias!r} not found in {where}/{path.collection}", "alias", str(path), did_you_mean(alias, aliases)
    )
