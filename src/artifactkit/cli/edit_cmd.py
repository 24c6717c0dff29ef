"""The edit verbs on one version: `alias add|rm`, `tag add|rm`, `set`, `rm` (`link`/`unlink`: link_cmd).

What they share (idempotence, `--dry-run`, `--json`, `--organization`, exit codes) is in `edits`.
In W&B's terms throughout: an alias another version of the collection holds moves, as the server
moves it; aliases are those of the collection the version was named through (a registry link's are
the registry collection's); tags, description and metadata are the version's own, whichever
collection names it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import errors
from .edits import (
    INTERRUPTED,
    Change,
    Edit,
    add_aliases,
    add_edit_options,
    added_aliases,
    check_aliases,
    check_tags,
    emit,
    link_record,
)
from .output import make_api

if TYPE_CHECKING:
    from ..artifacts import Artifact

NAME_HELP = (
    "[[ENTITY/]PROJECT/]NAME:VERSION (or :ALIAS) of the version to edit; a registry path "
    "([ORG/]wandb-registry-NAME/COLLECTION:VERSION) names a link"
)


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
            sub.set_defaults(handler=run_alias if noun == "alias" else run_tag, on_interrupt=INTERRUPTED)

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
    remove.set_defaults(handler=run_rm, on_interrupt=INTERRUPTED)

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
    settings.set_defaults(handler=run_set, on_interrupt=INTERRUPTED)


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


def _collection(artifact: Artifact) -> str:
    """The collection the version was named through (a registry's for a registry link)."""
    return f"{artifact.entity}/{artifact.project}/{artifact.collection_name}"


def _edit(action: str, artifact: Artifact, dry_run: bool) -> Edit:
    return Edit(action, artifact.qualified_name, artifact.source_qualified_name, dry_run, link=link_record(artifact))


def _saved(edit: Edit, artifact: Artifact, dry_run: bool) -> None:
    """Save the edits made to `artifact` unless nothing changes or it is a dry run."""
    if edit.changed and not dry_run:
        artifact.save()
        edit.link = link_record(artifact)  # a link's aliases as they are now


def run_alias(args: argparse.Namespace) -> int:
    aliases = check_aliases(args.alias)
    with make_api(args) as api:
        artifact = api.artifact(args.name)
        edit = _edit(f"alias {args.action}", artifact, args.dry_run)
        held = list(artifact.aliases)
        if args.action == "add":
            add_aliases(edit, api, _collection(artifact), held, aliases, artifact.id)
            artifact.aliases = held + added_aliases(edit)
        else:
            for alias in aliases:
                if alias in held:
                    edit.changes.append(Change("alias", "remove", alias))
                else:
                    edit.unchanged.append(Change("alias", "remove", alias, {"reason": "not set"}))
            removed = {c.value for c in edit.changes}
            artifact.aliases = [a for a in held if a not in removed]
        _saved(edit, artifact, args.dry_run)
    return emit(args, edit)


def run_tag(args: argparse.Namespace) -> int:
    tags = check_tags(args.tag)
    with make_api(args) as api:
        artifact = api.artifact(args.name)
        edit = _edit(f"tag {args.action}", artifact, args.dry_run)
        held = set(artifact.tags)
        adding = args.action == "add"
        action = "add" if adding else "remove"
        for tag in tags:
            if (tag in held) == adding:
                edit.unchanged.append(Change("tag", action, tag, {"reason": "already set" if adding else "not set"}))
            else:
                edit.changes.append(Change("tag", action, tag))
        touched = [c.value for c in edit.changes]
        artifact.tags = [*artifact.tags, *touched] if adding else [t for t in artifact.tags if t not in touched]
        _saved(edit, artifact, args.dry_run)
    return emit(args, edit)


def run_rm(args: argparse.Namespace) -> int:
    with make_api(args) as api:
        try:
            artifact = api.artifact(args.name)
        except errors.NotFoundError as exc:
            if exc.kind != "version":  # a version number that is gone: deleted already, nothing to do
                raise
            edit = Edit("rm", exc.path or args.name, None, args.dry_run)
            edit.unchanged.append(Change("version", "delete", None, {"reason": "does not exist (already deleted?)"}))
            return emit(args, edit)
        edit = _edit("rm", artifact, args.dry_run)
        if artifact.is_link:  # as wandb's Artifact.delete(): a link is unlinked, the version stays
            edit.changes.append(Change("link", "remove", artifact.source_qualified_name))
        else:
            if artifact.aliases and not args.delete_aliases and args.dry_run:
                # What the server answers a real run (refused, nothing deleted), said without asking it.
                raise errors.ArtifactkitError(
                    f"{artifact.qualified_name} still has aliases ({', '.join(artifact.aliases)}): "
                    "pass --delete-aliases to delete it with its aliases"
                )
            details = {"aliases": list(artifact.aliases)} if artifact.aliases else {}
            edit.changes.append(Change("version", "delete", None, details))
        if not args.dry_run:
            artifact.delete(delete_aliases=args.delete_aliases)
    return emit(args, edit)


def run_set(args: argparse.Namespace) -> int:
    from ..diff import diff_values, value_change_json

    if args.description is None and args.metadata_file is None:
        raise ValueError("nothing to set: pass --description TEXT and/or --metadata-file FILE")
    if args.replace_metadata and args.metadata_file is None:
        raise ValueError("--replace-metadata needs --metadata-file FILE")
    patch = None if args.metadata_file is None else _read_object(args.metadata_file)
    with make_api(args) as api:
        artifact = api.artifact(args.name)
        edit = _edit("set", artifact, args.dry_run)
        if args.description is not None:
            wanted = args.description or None
            if wanted == artifact.description:
                edit.unchanged.append(Change("description", "set", None, {"reason": "already as given"}))
            else:
                details = {"old": artifact.description, "new": wanted}
                edit.changes.append(Change("description", "set", None, details))
                artifact.description = wanted
        if patch is not None:
            metadata = patch if args.replace_metadata else merge_patch(artifact.metadata, patch)
            changes = list(diff_values(artifact.metadata, metadata))
            for change in changes:
                document = value_change_json(change)
                details = {k: v for k, v in document.items() if k in ("old", "new")}
                edit.changes.append(Change("metadata", change.status, change.path, details))
            if not changes:
                edit.unchanged.append(Change("metadata", "set", None, {"reason": "already as given"}))
            artifact.metadata = metadata
        _saved(edit, artifact, args.dry_run)
    return emit(args, edit)


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
