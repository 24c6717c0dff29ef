"""`artifactkit put`: upload files and directories as a new version."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from .._sizes import human_size
from .output import EXIT_OK, JSON_SCHEMA_VERSION, add_connection_options, files_text, make_api


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "put",
        help="upload files, a directory or a URL as a new artifact version",
        description=(
            "Upload PATH... (files and directories; an http(s) URL becomes a reference) as a new version, "
            "as `wandb artifact put` does: the name defaults to PATH's last part (in the default "
            "entity/project), the type to dataset. Only bytes the server does not have are sent; identical "
            "content returns the existing version (with the given aliases and tags added); running it again "
            "after a failure or Ctrl-C finishes the same version."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="file, directory or http(s) URL (repeatable)")
    parser.add_argument("-n", "--name", help="[[ENTITY/]PROJECT/]NAME (default: the last part of PATH)")
    parser.add_argument(
        "-t", "--type", default="dataset", dest="type_name", help="artifact type, e.g. dataset or model (default)"
    )
    parser.add_argument("-a", "--alias", action="append", default=[], help="alias to set (repeatable)")
    parser.add_argument("--tag", action="append", default=[], help="tag to set (repeatable)")
    parser.add_argument("-d", "--description")
    parser.add_argument("--metadata", help="JSON object")
    parser.add_argument("--run", help="the run that logged the version (created if needed)")
    parser.add_argument("--workers", type=int, help="parallel uploads and hashing")
    parser.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="upload what symlinks in a directory point to, also outside it (default: skip and report those)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (none is drawn unless on a TTY)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the version's name")
    add_connection_options(parser)
    parser.set_defaults(
        handler=run,
        on_interrupt=(
            "the version is not committed; run the same command again: files the server already has are "
            "not sent again and the same version is finished"
        ),
    )


def _is_url(path: str) -> bool:
    return "://" in path


def default_name(paths: list[str]) -> str:
    """wandb's default: the last part of the one PATH (a URL's last path segment)."""
    if len(paths) != 1:
        raise ValueError("several PATHs need a name: pass -n/--name [[ENTITY/]PROJECT/]NAME")
    path = paths[0]
    if _is_url(path):
        path = path.split("?", 1)[0].split("#", 1)[0]
    name = os.path.basename(path.rstrip("/\\")) or os.path.basename(os.path.abspath(path))
    if not name:
        raise ValueError(f"cannot take a name from {paths[0]!r}: pass -n/--name")
    return name


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
    name = args.name or default_name(args.paths)
    urls = [p for p in args.paths if _is_url(p)]
    local = [Path(p) for p in args.paths if not _is_url(p)]
    for path in local:
        if not path.exists():
            raise ValueError(f"PATH {path} does not exist (a URL needs its scheme, e.g. https://)")
    with make_api(args) as api:
        if args.name is None and api.default_project is None:
            raise ValueError(
                f"no project to put {name!r} (the name taken from PATH) in: pass -n ENTITY/PROJECT/{name}, "
                "or set WANDB_PROJECT (or `project` in the wandb settings file)"
            )
        references = [api.reference(url) for url in urls]
        artifact, stats = api.upload_files(
            local,
            name,
            args.type_name,
            aliases=args.alias,
            tags=args.tag,
            description=args.description,
            metadata=metadata,
            run=args.run,
            max_workers=args.workers,
            references=references,
            progress=False if (args.no_progress or args.json or args.quiet) else None,
            follow_symlinks=args.follow_symlinks,
        )
    if stats.skipped and not args.json:
        print(
            f"skipped {len(stats.skipped)} symlink(s) leading outside the uploaded directory "
            f"(--follow-symlinks uploads them): {', '.join(stats.skipped[:5])}"
            + (" ..." if len(stats.skipped) > 5 else ""),
            file=sys.stderr,
        )
    if args.json:
        print(
            json.dumps(
                {
                    "schema_version": JSON_SCHEMA_VERSION,
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
                    "checksums_reused": stats.checksums_reused,
                    "skipped_symlinks": list(stats.skipped),
                },
                indent=2,
            )
        )
        return EXIT_OK
    if args.quiet:
        print(artifact.qualified_name)
        return EXIT_OK
    aliases_text = f" [{', '.join(artifact.aliases)}]" if artifact.aliases else ""
    print(f"{artifact.qualified_name}{aliases_text}: {files_text(artifact.file_count)}, {human_size(artifact.size)}")
    stored = stats.files - len(references)
    refs = f"{len(references)} reference(s) recorded, their bytes stay at their URL"
    if stats.existing_version:
        print("identical to an existing version: nothing uploaded")
    elif stored <= 0:
        print(refs)
    else:
        sent = human_size(stats.uploaded_bytes)
        line = (
            f"uploaded {stats.uploaded_files} of {files_text(stored)} ({sent}); the server already had the rest"
            if stats.uploaded_files < stored
            else f"uploaded {files_text(stats.uploaded_files)} ({sent})"
        )
        print(f"{line}; {refs}" if references else line)
    return EXIT_OK
