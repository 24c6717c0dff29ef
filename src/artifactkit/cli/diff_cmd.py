"""`artifactkit diff A B`: what changed between two versions, from their manifests alone."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from .._sizes import human_size
from .output import (
    EXIT_DIFFERENT,
    EXIT_OK,
    JSON_SCHEMA_VERSION,
    add_connection_options,
    add_offline_option,
    add_organization_option,
    files_text,
    make_api,
)

if TYPE_CHECKING:
    from ..diff import ArtifactDiff, FileChange

_LETTER = {"added": "A", "removed": "D", "changed": "M", "renamed": "R"}


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "diff",
        help="what changed between two versions (exit 1 when they differ)",
        description=(
            "Compare the version OLD with NEW, within one collection or across two: files added, removed, "
            "changed (by digest) and renamed (same digest, new path) with their sizes, metadata per JSON path "
            "(train.rows: 1000 -> 1200), description, aliases and tags. Only manifests are read, from the cache "
            "when there; no file is downloaded. A version may also be named by its ID. After --, globs select "
            "the files compared ('train/*'; * matches / too). Exit status: 0 equal, 1 different, as diff; an "
            "error keeps its code (2-7), and an error that is 1 elsewhere is 8 here."
        ),
    )
    parser.add_argument("old", help="[[ENTITY/]PROJECT/]NAME:VERSION, an alias or a digest, or a version ID")
    parser.add_argument("new", help="the same forms")
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="after --: globs selecting the files to compare (default: all)"
    )
    parser.add_argument("--stat", action="store_true", help="one line per changed file and a summary line")
    parser.add_argument(
        "--files-only",
        action="store_true",
        help="compare files only (no metadata, description, aliases, tags); versions named by ID or "
        "NAME:<digest> whose manifests are cached then need no request at all",
    )
    add_organization_option(parser)
    add_offline_option(parser)
    add_connection_options(parser)
    parser.set_defaults(handler=run, take_extra=_take_paths, result_exit_codes=True, on_interrupt="nothing was changed")


def _take_paths(args: argparse.Namespace, extra: list[str]) -> bool:
    """Globs after `--` that follow options (`diff A B --stat -- 'train/*'`), which argparse leaves over."""
    if not extra or extra[0] != "--":
        return False
    args.paths = [*args.paths, *extra[1:]]
    return True


def run(args: argparse.Namespace) -> int:
    with make_api(args) as api:
        found = api.diff(args.old, args.new, paths=tuple(args.paths), files_only=args.files_only)
    if args.json:
        print(json.dumps({"schema_version": JSON_SCHEMA_VERSION, **found.to_json()}, indent=2, ensure_ascii=False))
    elif args.stat:
        print("\n".join(stat_lines(found)))
    else:
        print("\n".join(full_lines(found)))
    return EXIT_DIFFERENT if found else EXIT_OK


def _delta(n: int) -> str:
    return ("+" if n > 0 else "-" if n < 0 else "±") + human_size(abs(n))


def _file_label(change: FileChange) -> str:
    return f"{change.old_path} => {change.path}" if change.status == "renamed" else change.path


def summary_line(found: ArtifactDiff) -> str:
    counts = [(len(found.added), "added"), (len(found.removed), "removed"), (len(found.changed), "changed")]
    counts.append((len(found.renamed), "renamed"))
    parts = ", ".join(f"{n} {what}" for n, what in counts if n) or "none"
    sizes = f"{human_size(found.old_size)} -> {human_size(found.new_size)} ({_delta(found.size_delta)})"
    if not found.files:
        return f"no file differs ({found.unchanged_files} unchanged); {sizes}"
    verb = "differs" if len(found.files) == 1 else "differ"
    return f"{files_text(len(found.files))} {verb}: {parts}; {found.unchanged_files} unchanged; {sizes}"


def stat_lines(found: ArtifactDiff) -> list[str]:
    """`path | +1.0 KiB (added)` per file, then the summary."""
    labels = [_file_label(c) for c in found.files]
    width = max((len(label) for label in labels), default=0)
    lines = [
        f" {label.ljust(width)} | {_delta(change.size_delta)} ({change.status})"
        for label, change in zip(labels, found.files, strict=True)
    ]
    lines.append(f" {summary_line(found)}")
    return lines


def full_lines(found: ArtifactDiff) -> list[str]:
    """The header, one line per file (status letter, path, sizes), then metadata and the rest."""
    lines = [f"--- {found.old}", f"+++ {found.new}"]
    if found.paths:
        lines.append(f"files matching: {' '.join(found.paths)}")
    for change in found.files:
        if change.status == "added":
            sizes = human_size(change.new_size or 0)
        elif change.status == "removed":
            sizes = human_size(change.old_size or 0)
        elif change.status == "changed":
            old, new = human_size(change.old_size or 0), human_size(change.new_size or 0)
            sizes = f"{old} -> {new} ({_delta(change.size_delta)})"
        else:
            sizes = human_size(change.new_size or 0)
        lines.append(f"{_LETTER[change.status]}  {_file_label(change)}  {sizes}")
    lines.append(summary_line(found))
    if not found.attributes_compared:
        lines.append("(files only: metadata, description, aliases and tags not compared)")
        return lines
    if found.metadata:
        lines.append("metadata:")
        lines += [f"  {change}" for change in found.metadata]
    if found.description is not None:
        old_text, new_text = (json.dumps(text, ensure_ascii=False) for text in found.description)
        lines.append(f"description: {old_text} -> {new_text}")
    for noun, added, removed in (
        ("aliases", found.aliases_added, found.aliases_removed),
        ("tags", found.tags_added, found.tags_removed),
    ):
        if added or removed:
            lines.append(f"{noun}: " + " ".join([*(f"+{a}" for a in added), *(f"-{r}" for r in removed)]))
    if found.equal:
        lines.append("equal")
    return lines
