"""`artifactkit cache info|cleanup`: the shared download cache."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .output import EXIT_OK, human_size, parse_size


def register(commands: Any) -> None:
    parser = commands.add_parser("cache", help="inspect or trim the download cache")
    parser.add_argument("action", choices=["info", "cleanup"])
    parser.add_argument("--max-size", type=parse_size, help="cleanup: keep at most this much, e.g. 10GB")
    parser.add_argument("--cache-dir", type=Path, help="default: $WANDB_CACHE_DIR/artifactkit or the user cache dir")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..transfer.cache import Cache

    cache = Cache(args.cache_dir)
    if args.action == "cleanup":
        if args.max_size is None:
            raise ValueError("cleanup needs --max-size, e.g. --max-size 10GB")
        removed, freed = cache.cleanup(args.max_size)
        info = cache.info()
        if args.json:
            print(json.dumps({"removed_files": removed, "freed_bytes": freed, "bytes": info.bytes}))
        else:
            print(f"removed {removed} files ({human_size(freed)}); cache now holds {human_size(info.bytes)}")
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
                }
            )
        )
    else:
        print(f"cache: {info.root}")
        print(
            f"objects: {info.objects} ({human_size(info.bytes)}); "
            f"interrupted downloads: {human_size(info.partial_bytes)}"
        )
    return EXIT_OK
