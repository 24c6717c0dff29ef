"""`artifactkit ls`: collections of a project (as `wandb artifact ls`), types, versions, files."""

from __future__ import annotations

import argparse
import base64
from typing import TYPE_CHECKING, Any

from .._sizes import human_size
from ..registries import REGISTRY_PREFIX
from .output import EXIT_OK, add_connection_options, add_offline_option, add_organization_option, emit, make_api

if TYPE_CHECKING:
    from ..api import Api
    from ..projects import Project

_TIME = "%Y-%m-%d %H:%M"


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "ls",
        help="list projects, collections, types, versions or files",
        description=(
            "ENTITY lists the entity's projects (a name that is no entity with projects is read as a PROJECT "
            "of the default entity, as wandb reads it); ENTITY/PROJECT lists the project's collections with their "
            "type, latest version, size and update time, as `wandb artifact ls` does (--type: of one type "
            "only; --types: the artifact types instead); ENTITY/PROJECT/NAME lists versions; "
            "ENTITY/PROJECT/NAME:VERSION lists files. A registry reads like a project: wandb-registry-REGISTRY "
            "lists its collections, wandb-registry-REGISTRY/NAME the versions linked there (ORGANIZATION/ before "
            "them names the organization; --organization too)."
        ),
    )
    parser.add_argument("path", help="ENTITY, ENTITY/PROJECT, ENTITY/PROJECT/NAME or ENTITY/PROJECT/NAME:VERSION")
    parser.add_argument("-t", "--type", dest="type_name", help="only collections of this artifact type")
    parser.add_argument("--types", action="store_true", help="list the project's artifact types instead")
    add_organization_option(parser)
    add_offline_option(parser)
    add_connection_options(parser)
    parser.set_defaults(handler=run)


def _is_registry(name: str) -> bool:
    return name.startswith(REGISTRY_PREFIX) and name != REGISTRY_PREFIX


def run(args: argparse.Namespace) -> int:
    parts = args.path.strip("/").split("/")
    with make_api(args) as api:
        if len(parts) <= 2 and _is_registry(parts[-1]):  # REGISTRY or ORGANIZATION/REGISTRY: like a project
            return _types(args, api) if args.types else _collections(args, api)
        if len(parts) in (2, 3) and _is_registry(parts[-2]):  # [ORGANIZATION/]REGISTRY/NAME[:VERSION]
            return _files(args, api) if ":" in parts[-1] else _versions(args, api)
        if "/" not in args.path.strip("/"):
            return _entity_or_project(args, api, args.path.strip("/"))
        depth = args.path.count("/")
        if depth <= 1:
            if args.types:
                return _types(args, api)
            return _collections(args, api)
        if ":" in args.path:
            return _files(args, api)
        return _versions(args, api)


def _entity_or_project(args: argparse.Namespace, api: Api, name: str) -> int:
    """ENTITY lists its projects; a name that is no entity with projects is read as wandb reads it,
    a PROJECT of the default entity (`wandb artifact ls my-project`)."""
    from ..errors import NotFoundError
    from ..names import did_you_mean, suggestion_text

    projects = list(api.projects(name))
    if projects:
        return _projects(args, api, projects)
    entity = api.default_entity
    if not entity:
        return _projects(args, api, projects)
    args.path = f"{entity}/{name}"
    try:
        return _types(args, api) if args.types else _collections(args, api)
    except NotFoundError as exc:
        if exc.kind not in ("entity", "project"):
            raise
        # the names it may be a slip of: the default entity, or one of its projects
        suggestions = did_you_mean(name, [entity]) + tuple(s.split("/", 1)[-1] for s in exc.suggestions)
        raise NotFoundError(
            f"{name!r} is neither an entity with projects nor a project of the default entity {entity!r}: "
            f"pass ENTITY or ENTITY/PROJECT{suggestion_text(suggestions)}",
            kind="project",
            path=name,
            suggestions=suggestions,
        ) from None


def _projects(args: argparse.Namespace, api: Api, projects: list[Project]) -> int:
    emit(
        args,
        ["PROJECT", "CREATED", "DESCRIPTION"],
        [(p.path_str, p.created_at_datetime.strftime(_TIME), p.description or "") for p in projects],
        [
            {
                "name": p.name,
                "entity": p.entity,
                "id": p.id,
                "description": p.description,
                "created_at": p.created_at_datetime,
            }
            for p in projects
        ],
        kind="projects",
    )
    return EXIT_OK


def _types(args: argparse.Namespace, api: Api) -> int:
    types = list(api.artifact_types(args.path))
    emit(
        args,
        ["TYPE", "CREATED"],
        [(t.name, t.created_at_datetime.strftime(_TIME)) for t in types],
        [
            {"name": t.name, "id": t.id, "description": t.description, "created_at": t.created_at_datetime.isoformat()}
            for t in types
        ],
        kind="types",
    )
    return EXIT_OK


def _collections(args: argparse.Namespace, api: Api) -> int:
    """Every collection (of every type, or of `--type`) with its latest version, as wandb lists them."""
    type_names = [args.type_name] if args.type_name else [t.name for t in api.artifact_types(args.path)]
    rows = []
    records = []
    for type_name in type_names:
        for collection in api.artifact_collections(args.path, type_name):
            latest = next(iter(collection.artifacts(per_page=1)), None)
            updated = None if latest is None else latest.updated_at_datetime
            kind = "sequence" if collection.is_sequence() else "portfolio"
            rows.append(
                (
                    collection.name,
                    type_name,
                    "(no versions)" if latest is None else latest.version,
                    "" if latest is None else human_size(latest.size),
                    "" if updated is None else updated.strftime(_TIME),
                    kind,
                )
            )
            records.append(
                {
                    "name": collection.name,
                    "type": type_name,
                    "kind": kind,
                    "tags": collection.tags,
                    "description": collection.description,
                    "created_at": collection.created_at_datetime.isoformat(),
                    "latest": None
                    if latest is None
                    else {
                        "version": latest.version,
                        "aliases": latest.aliases,
                        "size": latest.size,
                        "files": latest.file_count,
                        "updated_at": None if updated is None else updated.isoformat(),
                    },
                }
            )
    emit(args, ["COLLECTION", "TYPE", "LATEST", "SIZE", "UPDATED", "KIND"], rows, records, kind="collections")
    return EXIT_OK


def _versions(args: argparse.Namespace, api: Api) -> int:
    collection = api.artifact_collection(args.type_name, args.path)
    versions = list(collection.artifacts())
    emit(
        args,
        ["VERSION", "ALIASES", "FILES", "SIZE", "CREATED"],
        [
            (
                v.version,
                ",".join(v.aliases),
                v.file_count,
                human_size(v.size),
                v.created_at_datetime.strftime("%Y-%m-%d %H:%M"),
            )
            for v in versions
        ],
        [
            {
                "name": v.qualified_name,
                "version": v.version,
                "aliases": v.aliases,
                "tags": v.tags,
                "files": v.file_count,
                "size": v.size,
                "digest": v.digest,
                "created_at": v.created_at_datetime.isoformat(),
            }
            for v in versions
        ],
        kind="versions",
    )
    return EXIT_OK


def _files(args: argparse.Namespace, api: Api) -> int:
    artifact = api.artifact(args.path)
    files = list(artifact.files(per_page=1000))
    emit(
        args,
        ["PATH", "SIZE", "MD5 (HEX)"],  # as md5sum prints it, and fs.info() gives it
        [(f.name, human_size(f.size), _hex(f.md5) or "(reference)") for f in files],
        [
            {"path": f.name, "size": f.size, "md5": f.md5, "md5_hex": _hex(f.md5), "reference": f.is_reference}
            for f in files
        ],
        kind="files",
    )
    return EXIT_OK


def _hex(md5_b64: str | None) -> str | None:
    """W&B's base64 MD5 in the hex form md5sum prints."""
    return None if not md5_b64 else base64.b64decode(md5_b64).hex()
