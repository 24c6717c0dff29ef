"""`artifactkit ls`: artifact types of a project, collections of a type, versions, files."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from .output import EXIT_OK, add_connection_options, emit, human_size, make_api

if TYPE_CHECKING:
    from ..api import Api


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "ls",
        help="list types, collections, versions or files",
        description=(
            "ENTITY/PROJECT lists artifact types (with --type: that type's collections); "
            "ENTITY/PROJECT/NAME lists versions; ENTITY/PROJECT/NAME:VERSION lists files."
        ),
    )
    parser.add_argument("path", help="ENTITY/PROJECT, ENTITY/PROJECT/NAME or ENTITY/PROJECT/NAME:VERSION")
    parser.add_argument("--type", dest="type_name", help="list the collections of this artifact type")
    add_connection_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    with make_api(args) as api:
        depth = args.path.count("/")
        if depth <= 1:
            if args.type_name:
                return _collections(args, api)
            return _types(args, api)
        if ":" in args.path:
            return _files(args, api)
        return _versions(args, api)


def _types(args: argparse.Namespace, api: Api) -> int:
    types = list(api.artifact_types(args.path))
    emit(
        args,
        ["TYPE", "CREATED"],
        [(t.name, t.created_at.strftime("%Y-%m-%d %H:%M")) for t in types],
        [
            {"name": t.name, "id": t.id, "description": t.description, "created_at": t.created_at.isoformat()}
            for t in types
        ],
    )
    return EXIT_OK


def _collections(args: argparse.Namespace, api: Api) -> int:
    collections = list(api.artifact_collections(args.path, args.type_name))
    emit(
        args,
        ["COLLECTION", "KIND", "TAGS", "CREATED"],
        [
            (
                c.name,
                "sequence" if c.is_sequence() else "portfolio",
                ",".join(c.tags),
                c.created_at.strftime("%Y-%m-%d %H:%M"),
            )
            for c in collections
        ],
        [
            {
                "name": c.name,
                "type": c.type,
                "kind": "sequence" if c.is_sequence() else "portfolio",
                "tags": c.tags,
                "description": c.description,
                "created_at": c.created_at.isoformat(),
            }
            for c in collections
        ],
    )
    return EXIT_OK


def _versions(args: argparse.Namespace, api: Api) -> int:
    collection = api.artifact_collection(args.type_name, args.path)
    versions = list(collection.artifacts())
    emit(
        args,
        ["VERSION", "ALIASES", "FILES", "SIZE", "CREATED"],
        [
            (v.version, ",".join(v.aliases), v.file_count, human_size(v.size), v.created_at.strftime("%Y-%m-%d %H:%M"))
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
                "created_at": v.created_at.isoformat(),
            }
            for v in versions
        ],
    )
    return EXIT_OK


def _files(args: argparse.Namespace, api: Api) -> int:
    artifact = api.artifact(args.path)
    files = list(artifact.files(per_page=1000))
    emit(
        args,
        ["PATH", "SIZE", "MD5"],
        [(f.name, human_size(f.size), f.md5 or "(reference)") for f in files],
        [{"path": f.name, "size": f.size, "md5": f.md5, "reference": f.is_reference} for f in files],
    )
    return EXIT_OK
