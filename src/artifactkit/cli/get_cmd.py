"""`artifactkit get`: download a version, verified, through the shared cache."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .output import EXIT_OK, add_connection_options, human_size, make_api, table


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "get",
        help="download an artifact version",
        description=(
            "Download ENTITY/PROJECT/NAME[:VERSION] (default :latest). Every file is checked against "
            "its MD5; files already present and intact are not rewritten."
        ),
    )
    parser.add_argument("name", help="ENTITY/PROJECT/NAME[:VERSION or :ALIAS]")
    parser.add_argument("--root", type=Path, help="destination directory (default ./artifacts/NAME-VERSION)")
    parser.add_argument("--prefix", help="only files whose path starts with this")
    parser.add_argument("--include", action="append", metavar="GLOB", help="only files matching (repeatable)")
    parser.add_argument("--workers", type=int, help="parallel downloads")
    parser.add_argument("--skip-cache", action="store_true", help="do not read or fill the shared cache")
    parser.add_argument("--dry-run", action="store_true", help="show what would be fetched, changing nothing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_connection_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..transfer.download import download_artifact

    with make_api(args) as api:
        artifact = api.artifact(args.name)
        root = args.root or Path("artifacts") / artifact.name.replace(":", "-")
        result = download_artifact(
            artifact,
            root,
            path_prefix=args.prefix,
            include=args.include,
            max_workers=args.workers,
            skip_cache=args.skip_cache,
            dry_run=args.dry_run,
            progress=False if (args.no_progress or args.json) else None,
        )
    counts = {action: len(result.paths(action)) for action in ("fetch", "cache", "keep")}
    if args.json:
        print(
            json.dumps(
                {
                    "artifact": artifact.qualified_name,
                    "root": str(result.root),
                    "dry_run": args.dry_run,
                    "files": [{"path": f.path, "size": f.size, "action": f.action} for f in result.files],
                    "fetched_files": counts["fetch"],
                    "cached_files": counts["cache"],
                    "unchanged_files": counts["keep"],
                    "bytes_fetched": result.bytes_fetched,
                },
                indent=2,
            )
        )
        return EXIT_OK
    if args.dry_run:
        labels = {"fetch": "download", "cache": "from cache", "keep": "up to date"}
        print(table(["PATH", "SIZE", "ACTION"], [(f.path, human_size(f.size), labels[f.action]) for f in result.files]))
        return EXIT_OK
    print(f"{artifact.qualified_name} -> {result.root}")
    print(
        f"{counts['fetch']} downloaded ({human_size(result.bytes_fetched)}), {counts['cache']} from cache, "
        f"{counts['keep']} already up to date"
    )
    return EXIT_OK
