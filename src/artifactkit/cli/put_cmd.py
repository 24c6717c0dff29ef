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
            "the server does not have are sent; identical content returns the existing version (with the "
            "given aliases and tags added); running it again after a failure finishes the same version."
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
    parser.add_argument("--workers", type=int, help="parallel uploads and hashing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (none is drawn unless on a TTY)")
    add_connection_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    metadata = None
    if args.metadata is not None:
        try:
            metadata = json.loads(args.metadata)
        except json.JSONDecodeError as exc:
            raise ValueError(f"--metadata is not valid JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(metadata, dict):
            raise ValueError("--metadata must be a JSON object")
    if args.workers is not None and args.workers < 1:
        raise ValueError("--workers must be at least 1")
    with make_api(args) as api:
        artifact, stats = api.upload_files(
            args.paths,
            args.name,
            args.type_name,
            aliases=args.alias,
            tags=args.tag,
            description=args.description,
            metadata=metadata,
            run=args.run,
            max_workers=args.workers,
            progress=False if (args.no_progress or args.json) else None,
        )
    if args.json:
        print(
            json.dumps(
                {
                    "artifact": artifact.qualified_name,
                    "version": artifact.version,
                    "aliases": artifact.aliases,
                    "tags": artifact.tags,
                    "files": artifact.file_count,
                    "size": artifact.size,
                    "digest": artifact.digest,
                    "uploaded_files": stats.uploaded_files,
                    "uploaded_bytes": stats.uploaded_bytes,
                    "existing_version": stats.existing_version,
                },
                indent=2,
            )
        )
        return EXIT_OK
    aliases_text = f" [{', '.join(artifact.aliases)}]" if artifact.aliases else ""
    print(f"{artifact.qualified_name}{aliases_text}: {artifact.file_count} files, {human_size(artifact.size)}")
    if stats.existing_version:
        print("identical to an existing version: nothing uploaded")
    else:
        print(
            f"uploaded {stats.uploaded_files} of {stats.files} files ({human_size(stats.uploaded_bytes)}); "
            "the server already had the rest"
            if stats.uploaded_files < stats.files
            else f"uploaded {stats.uploaded_files} files ({human_size(stats.uploaded_bytes)})"
        )
    return EXIT_OK
