"""`artifactkit get`: download a version, verified, through the shared cache."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .._sizes import human_size
from ..transfer.place import PLACEMENTS
from .output import (
    EXIT_ERROR,
    EXIT_NOT_FOUND,
    EXIT_OK,
    JSON_SCHEMA_VERSION,
    add_connection_options,
    add_offline_option,
    add_organization_option,
    exit_code_for,
    files_text,
    make_api,
    one_line,
    table,
)

_LABELS = {"fetch": "download", "cache": "from cache", "keep": "up to date"}


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "get",
        help="download artifact versions",
        description=(
            "Download ENTITY/PROJECT/NAME[:VERSION] (default :latest), or several at once. Every file is "
            "checked against its MD5; files already present and intact are not rewritten; bytes already in "
            "the shared cache are not fetched again; an interrupted download continues where it stopped. "
            "Several versions share one connection pool and one --workers budget, each into "
            "ROOT/NAME:VERSION; every one is tried, and the exit code is the failures' own when they agree."
        ),
    )
    parser.add_argument("names", nargs="+", metavar="name", help="[[ENTITY/]PROJECT/]NAME[:VERSION or :ALIAS]")
    parser.add_argument(
        "--root",
        type=Path,
        help="destination directory (default ./artifacts/NAME:VERSION, as wandb); with several names, "
        "the directory holding each NAME:VERSION (default ./artifacts)",
    )
    parser.add_argument("-t", "--type", dest="type_name", help="fail unless the version has this artifact type")
    parser.add_argument("--prefix", help="only files whose path starts with this")
    parser.add_argument("--include", action="append", metavar="GLOB", help="only files matching (repeatable)")
    parser.add_argument("--exclude", action="append", metavar="GLOB", help="leave out files matching (repeatable)")
    parser.add_argument("--workers", type=int, help="parallel downloads (default: 4 per CPU, 8 to 32)")
    parser.add_argument("--skip-cache", action="store_true", help="do not read or fill the shared cache")
    parser.add_argument(
        "--placement",
        choices=PLACEMENTS,
        default="copy",
        help=(
            "how files reach the root: copy (default: files of your own, a reflink where the filesystem "
            "has them), hardlink or symlink (linked into the shared cache: no copy, but editing a file "
            "in place changes every root linked to the same bytes)"
        ),
    )
    parser.add_argument("--cache-dir", type=Path, help="default: $WANDB_CACHE_DIR/artifactkit or the user cache dir")
    parser.add_argument("--dry-run", action="store_true", help="show what would be fetched, changing nothing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (none is drawn unless on a TTY)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the download root")
    add_organization_option(parser)
    add_offline_option(parser)
    add_connection_options(parser)
    parser.set_defaults(
        handler=run,
        on_interrupt=(
            "run the same command again: files already downloaded are kept and a partly downloaded file "
            "continues where it stopped"
        ),
    )


def run(args: argparse.Namespace) -> int:
    if args.workers is not None and args.workers < 1:
        raise ValueError("--workers must be at least 1")
    if len(args.names) > 1:
        return _run_many(args)
    args.name = args.names[0]
    with make_api(args) as api:
        artifact = api.artifact(args.name, type=args.type_name)
        result = artifact.download_files(
            args.root,
            path_prefix=args.prefix,
            include=args.include,
            exclude=args.exclude,
            max_workers=args.workers,
            skip_cache=args.skip_cache,
            placement=args.placement,
            dry_run=args.dry_run,
            progress=False if (args.no_progress or args.json or args.quiet) else None,
        )
    counts = {action: len(result.paths(action)) for action in ("fetch", "cache", "keep")}
    if args.json:
        print(
            json.dumps(
                {
                    "schema_version": JSON_SCHEMA_VERSION,
                    "artifact": artifact.qualified_name,
                    "root": str(result.root),
                    "dry_run": args.dry_run,
                    "files": [{"path": f.path, "size": f.size, "action": f.action} for f in result.files],
                    "fetched_files": counts["fetch"],
                    "cached_files": counts["cache"],
                    "unchanged_files": counts["keep"],
                    "bytes_fetched": result.bytes_fetched,
                    "wandb_cache_files": result.wandb_cache_files,
                },
                indent=2,
            )
        )
    elif args.quiet:
        print(result.root)
    elif args.dry_run:
        rows = [(f.path, human_size(f.size), _LABELS[f.action]) for f in result.files]
        if rows:
            print(table(["PATH", "SIZE", "ACTION"], rows))
        to_fetch = sum(f.size for f in result.files if f.action == "fetch")
        print(
            f"would download {files_text(counts['fetch'])} ({human_size(to_fetch)}), copy {counts['cache']} from the "
            f"cache, leave {counts['keep']} as they are, into {result.root}"
        )
    else:
        print(f"{artifact.qualified_name} -> {result.root}")
        from_wandb = result.wandb_cache_files
        replaced = sum(1 for f in result.files if f.replaces)
        print(
            f"{counts['fetch'] - from_wandb} downloaded ({human_size(result.bytes_fetched)}), "
            f"{counts['cache']} from cache, "
            + (f"{from_wandb} from wandb's cache, " if from_wandb else "")
            + f"{counts['keep']} already up to date"
            + (f"; {replaced} replaced a file whose content differed" if replaced else "")
        )
    if not result.files and (args.prefix or args.include or args.exclude):
        print(
            f"artifactkit: no file of {artifact.qualified_name} matches the --prefix/--include/--exclude given",
            file=sys.stderr,
        )
        return EXIT_NOT_FOUND
    return EXIT_OK


def _run_many(args: argparse.Namespace) -> int:
    """Several versions at once: one line (or JSON record) per version, then the failures' exit code."""
    if args.dry_run:
        raise ValueError("--dry-run takes one name; run it once per version")
    if args.type_name is not None:
        raise ValueError("--type takes one name; check the versions' types with `artifactkit show`")
    with make_api(args) as api:
        outcomes = api.download_many(
            args.names,
            args.root,
            path_prefix=args.prefix,
            include=args.include,
            exclude=args.exclude,
            max_workers=args.workers,
            skip_cache=args.skip_cache,
            placement=args.placement,
            raise_errors=False,
        )
    records = []
    for outcome in outcomes:
        result = outcome.result
        counts = {a: 0 if result is None else len(result.paths(a)) for a in ("fetch", "cache", "keep")}
        records.append(
            {
                "name": outcome.name,
                "artifact": None if outcome.artifact is None else outcome.artifact.qualified_name,
                "root": None if outcome.root is None else str(outcome.root),
                "fetched_files": counts["fetch"],
                "cached_files": counts["cache"],
                "unchanged_files": counts["keep"],
                "bytes_fetched": 0 if result is None else result.bytes_fetched,
                "error": None if outcome.error is None else one_line(outcome.error),
                "error_type": None if outcome.error is None else type(outcome.error).__name__,
            }
        )
        if args.json:
            continue
        if outcome.error is not None:
            print(
                f"artifactkit: error: {outcome.name}: {one_line(outcome.error)} [{type(outcome.error).__name__}]",
                file=sys.stderr,
            )
        elif args.quiet:
            print(outcome.root)
        else:
            assert result is not None and outcome.artifact is not None
            print(
                f"{outcome.artifact.qualified_name} -> {outcome.root}: {counts['fetch']} downloaded "
                f"({human_size(result.bytes_fetched)}), {counts['cache']} from cache, "
                f"{counts['keep']} already up to date"
            )
    failures = [o.error for o in outcomes if o.error is not None]
    if args.json:
        print(
            json.dumps(
                {
                    "schema_version": JSON_SCHEMA_VERSION,
                    "artifacts": records,
                    "downloaded": len(outcomes) - len(failures),
                    "failed": len(failures),
                },
                indent=2,
            )
        )
    if not failures:
        return EXIT_OK
    codes = {exit_code_for(error) for error in failures}
    return codes.pop() if len(codes) == 1 else EXIT_ERROR
