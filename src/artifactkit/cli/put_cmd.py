"""`artifactkit put`: upload files and directories as a new version."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .output import EXIT_OK, add_connection_options, human_size, make_api


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "put",
        help="upload files as a new artifact version",
        description=(
            "Upload PATH... (files and directories) as a new version of ENTITY/PROJECT/NAME. Only bytes "
            "the server does not have are sent; identical content returns the existing version."
        ),
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    parser.add_argument("--name", required=True, help="ENTITY/PROJECT/NAME")
    parser.add_argument("--type", required=True, dest="type_name", help="artifact type, e.g. dataset or model")
    parser.add_argument("--alias", action="append", default=[], help="alias to set (repeatable)")
    parser.add_argument("--tag", action="append", default=[], help="tag to set (repeatable)")
    parser.add_argument("--description")
    parser.add_argument("--metadata", help="JSON object")
    parser.add_argument("--run", help="the run that logged the version (created if needed)")
    parser.add_argument("--workers", type=int, help="parallel uploads")
    add_connection_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    metadata = None
    if args.metadata is not None:
        metadata = json.loads(args.metadata)
        if not isinstance(metadata, dict):
            raise ValueError("--metadata must be a JSON object")
    with make_api(args) as api:
        artifact = api.upload(
            args.paths,
            args.name,
            args.type_name,
            aliases=args.alias,
            tags=args.tag,
            description=args.description,
            metadata=metadata,
            run=args.run,
            max_workers=args.workers,
        )
    if args.json:
        print(
            json.dumps(
                {
                    "artifact": artifact.qualified_name,
                    "version": artifact.version,
                    "aliases": artifact.aliases,
                    "files": artifact.file_count,
                    "size": artifact.size,
                    "digest": artifact.digest,
                },
                indent=2,
            )
        )
    else:
        aliases = f" [{', '.join(artifact.aliases)}]" if artifact.aliases else ""
        print(f"{artifact.qualified_name}{aliases}: {artifact.file_count} files, {human_size(artifact.size)}")
    return EXIT_OK
