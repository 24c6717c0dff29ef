"""The edit verbs a promotion job needs: `alias add|rm`, `tag add|rm`, `rm`, `set`.

Each works out what would change, changes only that (so a second run changes nothing), and
reports through `edits.EditReport`; in W&B's terms throughout (an alias another version of the
collection holds moves, as the server moves it).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import errors
from .edits import Change, EditReport, add_edit_options, emit_report
from .output import make_api

if TYPE_CHECKING:
    from ..api import Api
    from ..artifacts import Artifact

NAME_HELP = "[[ENTITY/]PROJECT/]NAME:VERSION (or :ALIAS) of the version to edit"
_VERSION_ALIAS = re.compile(r"v\d+")


def register(commands: Any) -> None:
    for noun, plural in (("alias", "aliases"), ("tag", "tags")):
        parser = commands.add_parser(
            noun,
            help=f"add or remove a version's {plural}",
            description=_noun_description(noun),
        )
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        for action, verb in (("add", "add"), ("rm", "remove")):
            sub = actions.add_parser(action, help=f"{verb} {plural}", description=_noun_description(noun))
            sub.add_argument("name", help=NAME_HELP)
            sub.add_argument(noun, nargs="+", metavar=noun.upper(), help=f"the {plural} to {verb}")
            add_edit_options(sub)
            sub.set_defaults(handler=run_alias if noun == "alias" else run_tag, on_interrupt=_INTERRUPTED)

    remove = commands.add_parser(
        "rm",
        help="delete a version",
        description=(
            "Delete the version NAME. A version that still has aliases (latest, production, ...) is refused "
            "unless --delete-aliases is given; a link (a version named through a portfolio or registry) is "
            "unlinked instead, as wandb's Artifact.delete() does. Deleting a version that is already gone "
            "(named by its version number) changes nothing and succeeds."
        ),
    )
    remove.add_argument("name", help=NAME_HELP)
    remove.add_argument("--delete-aliases", action="store_true", help="delete it together with its aliases")
    add_edit_options(remove)
    remove.set_defaults(handler=run_rm, on_interrupt=_INTERRUPTED)

    settings = commands.add_parser(
        "set",
        help="set a version's description or metadata",
        description=(
            "Set the description and the metadata of the version NAME. --metadata-file FILE (- for stdin) "
            "holds a JSON object that is merged into the metadata as a JSON merge patch (RFC 7386: objects "
            "merge key by key, null removes a key) or, with --replace-metadata, replaces it. Only what "
            "differs is sent; the changes are listed per JSON path."
        ),
    )
    settings.add_argument("name", help=NAME_HELP)
    settings.add_argument("--description", help="the new description ('' clears it)")
    settings.add_argument("--metadata-file", help="a JSON object to merge into the metadata (- reads stdin)")
    settings.add_argument("--replace-metadata", action="store_true", help="make the metadata exactly the file's object")
    add_edit_options(settings)
    settings.set_defaults(handler=run_set, on_interrupt=_INTERRUPTED)


_INTERRUPTED = (
    "the server may or may not have applied the change; run the same command again to finish (it is idempotent)"
)


def _noun_description(noun: str) -> str:
    if noun == "alias":
        return (
            "alias add NAME ALIAS...: give the version these aliases; an alias another version of the same "
            "collection holds moves to this one (the server keeps one holder per alias). alias rm NAME ALIAS...: "
            "take them off. Aliases already as asked are reported as unchanged; version numbers (v3) belong to "
            "the server and cannot be set."
        )
    return (
        "tag add NAME TAG...: tag the version; tag rm NAME TAG...: untag it. Tags already as asked are "
        "reported as unchanged."
    )


def _command(args: argparse.Namespace, noun: str) -> str:
    return f"{noun} {args.action}"


def run_alias(args: argparse.Namespace) -> int:
    aliases = list(dict.fromkeys(args.alias))
    for alias in aliases:
        if _VERSION_ALIAS.fullmatch(alias):
            raise ValueError(f"{alias!r} is a version number, which the server assigns; choose another alias")
    with make_api(args) as api:
        artifact = api.artifact(args.name)
        report = EditReport(_command(args, "alias"), artifact.qualified_name, args.dry_run)
        held = set(artifact.aliases)
        if args.action == "add":
            for alias in aliases:
                if alias in held:
                    report.unchanged.append(Change("alias", "add", alias, {"reason": "already set"}))
                    continue
                holder = _holder(api, artifact, alias)
                details = {} if holder is None else {"from": holder}
                report.changes.append(Change("alias", "move" if holder else "add", alias, details))
            wanted = artifact.aliases + [c.value for c in report.changes]
        else:
            for alias in aliases:
                if alias in held:
                    report.changes.append(Change("alias", "remove", alias))
                else:
                    report.unchanged.append(Change("alias", "remove", alias, {"reason": "not set"}))
            removed = {c.value for c in report.changes}
            wanted = [a for a in artifact.aliases if a not in removed]
        if report.changed and not args.dry_run:
            artifact.aliases = wanted
            artifact.save()
    return emit_report(args, report)


def _holder(api: Api, artifact: Artifact, alias: str) -> str | None:
    """The version of the same collection that holds `alias` now (one lookup), if any."""
    try:
        holder = api.artifact(f"{artifact.entity}/{artifact.project}/{artifact.collection_name}:{alias}")
    except errors.NotFoundError:
        return None
    return holder.qualified_name if holder.id != artifact.id else None


def run_tag(args: argparse.Namespace) -> int:
    tags = list(dict.fromkeys(args.tag))
    with make_api(args) as api:
        artifact = api.artifact(args.name)
        report = EditReport(_command(args, "tag"), artifact.qualified_name, args.dry_run)
        held = set(artifact.tags)
        adding = args.action == "add"
        for tag in tags:
            if (tag in held) == adding:
                reason = "already set" if adding else "not set"
                report.unchanged.append(Change("tag", "add" if adding else "remove", tag, {"reason": reason}))
            else:
                report.changes.append(Change("tag", "add" if adding else "remove", tag))
        touched = [c.value for c in report.changes]
        if report.changed and not args.dry_run:
            artifact.tags = [*artifact.tags, *touched] if adding else [t for t in artifact.tags if t not in touched]
            artifact.save()
    return emit_report(args, report)


def run_rm(args: argparse.Namespace) -> int:
    with make_api(args) as api:
        try:
            artifact = api.artifact(args.name)
        except errors.NotFoundError as exc:
            if exc.kind != "version":  # a version number that is gone: deleted already, nothing to do
                raise
            report = EditReport("rm", exc.path or args.name, args.dry_run)
            report.unchanged.append(Change("version", "delete", None, {"reason": "does not exist (already deleted?)"}))
            return emit_report(args, report)
        report = EditReport("rm", artifact.qualified_name, args.dry_run)
        if artifact.is_link:
            report.changes.append(Change("link", "unlink", None, {"source": artifact.source_qualified_name}))
        else:
            if artifact.aliases and not args.delete_aliases and args.dry_run:
                # What the server answers a real run (refused, nothing deleted), said without asking it.
                raise errors.ArtifactkitError(
                    f"{artifact.qualified_name} still has aliases ({', '.join(artifact.aliases)}): "
                    "pass --delete-aliases to delete it with its aliases"
                )
            details = {"aliases": list(artifact.aliases)} if artifact.aliases else {}
            report.changes.append(Change("version", "delete", None, details))
        if not args.dry_run:
            artifact.delete(delete_aliases=args.delete_aliases)
    return emit_report(args, report)


def run_set(args: argparse.Namespace) -> int:
    from ..diff import diff_values, value_change_json

    if args.description is None and args.metadata_file is None:
        raise ValueError("nothing to set: pass --description TEXT and/or --metadata-file FILE")
    if args.replace_metadata and args.metadata_file is None:
        raise ValueError("--replace-metadata needs --metadata-file FILE")
    patch = None if args.metadata_file is None else _read_object(args.metadata_file)
    with make_api(args) as api:
        artifact = api.artifact(args.name)
        report = EditReport("set", artifact.qualified_name, args.dry_run)
        if args.description is not None:
            wanted = args.description or None
            if wanted == artifact.description:
                report.unchanged.append(Change("description", "set", None, {"reason": "already as given"}))
            else:
                details = {"old": artifact.description, "new": wanted}
                report.changes.append(Change("description", "set", None, details))
                artifact.description = wanted
        if patch is not None:
            metadata = patch if args.replace_metadata else merge_patch(artifact.metadata, patch)
            changes = list(diff_values(artifact.metadata, metadata))
            for change in changes:
                document = value_change_json(change)
                details = {k: v for k, v in document.items() if k in ("old", "new")}
                report.changes.append(Change("metadata", change.status, change.path, details))
            if not changes:
                report.unchanged.append(Change("metadata", "set", None, {"reason": "already as given"}))
            artifact.metadata = metadata
        if report.changed and not args.dry_run:
            artifact.save()
    return emit_report(args, report)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge key by key, `null` removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def _read_object(source: str) -> dict[str, Any]:
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    where = "stdin" if source == "-" else source
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where} is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ValueError(f"{where} holds a JSON {type(document).__name__}, not an object of metadata")
    return document
