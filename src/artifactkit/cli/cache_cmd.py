"""`artifactkit cache info|cleanup`: the shared download cache."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from .._sizes import human_size
from .output import EXIT_OK, JSON_SCHEMA_VERSION, add_debug_option, files_text, size_argument, table


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "cache",
        help="inspect or trim the download cache",
        description=(
            "info: where the cache is, the disk space it takes (allocated blocks, as du counts them) and "
            "which versions use it. cleanup SIZE (as `wandb artifact cache cleanup 10GB`; also --max-size): "
            "evict least recently used files until the cache holds at most SIZE (e.g. 10GB, 500MiB, 0 to "
            "empty it); files being downloaded right now are kept; --dry-run lists what would go."
        ),
    )
    parser.add_argument("action", choices=["info", "cleanup"])
    parser.add_argument("size", nargs="?", type=size_argument, help="cleanup: keep at most this much, e.g. 10GB")
    parser.add_argument("--max-size", type=size_argument, help="the same as SIZE")
    parser.add_argument("--dry-run", action="store_true", help="cleanup: list what would be removed, remove nothing")
    parser.add_argument(
        "--remove-temp",
        action="store_true",
        help="accepted as `wandb artifact cache cleanup` takes it: cleanup always removes temporary files "
        "that no download has written to for a minute (resumable partial downloads count against SIZE)",
    )
    parser.add_argument("--cache-dir", type=Path, help="default: $WANDB_CACHE_DIR/artifactkit or the user cache dir")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_debug_option(parser)
    parser.set_defaults(
        handler=run, take_extra=_take_size, on_interrupt="files removed so far stay removed; run it again to finish"
    )


def _take_size(args: argparse.Namespace, extra: list[str]) -> bool:
    """SIZE after an option (`cleanup --remove-temp 5GB`, as wandb's help writes it), which argparse leaves over."""
    if args.size is not None or len(extra) != 1 or extra[0].startswith("-"):
        return False
    try:
        args.size = size_argument(extra[0])
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"argument size: {exc}") from None
    return True


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def run(args: argparse.Namespace) -> int:
    from ..transfer.cache import Cache

    if args.size is not None and args.max_size is not None and args.size != args.max_size:
        raise ValueError("give the size once: either `cleanup SIZE` or `cleanup --max-size SIZE`")
    max_size = args.size if args.size is not None else args.max_size
    if args.action == "info" and max_size is not None:
        raise ValueError("a SIZE goes with `cache cleanup`, not `cache info`")
    if args.action == "cleanup" and max_size is None:
        raise ValueError("cleanup needs a size, e.g. `artifactkit cache cleanup 10GB`")
    with Cache(args.cache_dir) as cache:
        if args.action == "cleanup":
            return _cleanup(args, cache, max_size)
        info = cache.info()
        usage = cache.usage_by_artifact()
    if args.json:
        print(
            json.dumps(
                {
                    "schema_version": JSON_SCHEMA_VERSION,
                    "root": str(info.root),
                    "objects": info.objects,
                    "bytes": info.bytes,
                    "disk_bytes": info.disk_bytes,
                    "partial_bytes": info.partial_bytes,
                    "partial_disk_bytes": info.partial_disk_bytes,
                    "artifacts": [
                        {
                            "name": u.name,
                            "files": u.files,
                            "disk_bytes": u.disk_bytes,
                            "last_used": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(u.last_used)),
                        }
                        for u in usage
                    ],
                },
                indent=2,
            )
        )
        return EXIT_OK
    print(f"cache: {info.root}")
    on_disk = f"{human_size(info.disk_bytes)} in {files_text(info.objects)}"
    print(f"on disk: {on_disk} (apparent size {human_size(info.bytes)})")
    print(
        f"interrupted downloads: {human_size(info.partial_disk_bytes)} on disk "
        f"(apparent size {human_size(info.partial_bytes)})"
    )
    if usage:
        rows = [(u.name, u.files, human_size(u.disk_bytes), _when(u.last_used)) for u in usage]
        print()
        print(table(["ARTIFACT", "FILES", "ON DISK", "LAST USED"], rows))
        if len(usage) > 1:
            print("(files shared by several versions count for each)")
    return EXIT_OK


def _cleanup(args: argparse.Namespace, cache: Any, max_size: int) -> int:
    entries = cache.cleanup_plan(max_size, remove=not args.dry_run)
    freed = sum(e.size for e in entries)
    info = cache.info()
    if args.json:
        print(
            json.dumps(
                {
                    "schema_version": JSON_SCHEMA_VERSION,
                    "root": str(info.root),
                    "dry_run": args.dry_run,
                    "removed_files": len(entries),
                    "freed_bytes": freed,
                    "bytes": info.bytes + info.partial_bytes,
                    "files": [
                        {"path": str(e.path), "kind": e.kind, "size": e.size, "last_used": _when(e.last_used)}
                        for e in entries
                    ]
                    if args.dry_run
                    else [],
                },
                indent=2,
            )
        )
        return EXIT_OK
    if args.dry_run:
        if entries:
            rows = [
                (str(e.path.relative_to(cache.root)), e.kind, human_size(e.size), _when(e.last_used)) for e in entries
            ]
            print(table(["FILE", "KIND", "SIZE", "LAST USED"], rows))
        print(
            f"would remove {files_text(len(entries))} ({human_size(freed)}); "
            f"the cache would then hold {human_size(info.bytes + info.partial_bytes - freed)}"
        )
        return EXIT_OK
    print(
        f"removed {files_text(len(entries))} ({human_size(freed)}); "
        f"the cache now holds {human_size(info.bytes + info.partial_bytes)}"
    )
    return EXIT_OK
