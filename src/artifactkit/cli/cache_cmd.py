"""`artifactkit cache info|cleanup`: the shared download cache."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .output import EXIT_OK, add_debug_option, human_size, size_argument


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "cache",
        help="inspect or trim the download cache",
        description=(
            "info: where the cache is and what it holds. cleanup --max-size SIZE: evict least recently "
            "used files until the cache holds at most SIZE (e.g. 10GB, 500MiB, 0 to empty it); files "
            "being downloaded right now are kept."
        ),
    )
    parser.add_argument("action", choices=["info", "cleanup"])
    parser.add_argument("--max-size", type=size_argument, help="cleanup: keep at most this much, e.g. 10GB")
    parser.add_argument("--cache-dir", type=Path, help="default: $WANDB_CACHE_DIR/artifactkit or the user cache dir")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_debug_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..transfer.cache import Cache

    if args.action == "cleanup" and args.max_size is None:
        raise ValueError("cleanup needs --max-size, e.g. --max-size 10GB")
    with Cache(args.cache_dir) as cache:
        if args.action == "cleanup":
            removed, freed = cache.cleanup(args.max_size)
            info = cache.info()
            if args.json:
                print(
                    json.dumps(
                        {
                            "root": str(info.root),
                            "removed_files": removed,
                            "freed_bytes": freed,
                            "bytes": info.bytes + info.partial_bytes,
                        },
                        indent=2,
                    )
                )
            else:
                print(
                    f"removed {removed} files ({human_size(freed)}); "
                    f"the cache now holds {human_size(info.bytes + info.partial_bytes)}"
                )
            return EXIT_OK
        info = cache.info()
    if args.json:
        print(
            json.dumps(
                {
                    "root": str(info.root),
                    "objects": info.objects,
                    "bytes": info.bytes,
                    "partial_bytes": info.partial_bytes,
                },
                indent=2,
            )
        )
    else:
        print(f"cache: {info.root}")
        print(f"files: {info.objects} ({human_size(info.bytes)})")
        print(f"interrupted downloads: {human_size(info.partial_bytes)}")
    return EXIT_OK
