"""`artifactkit link` and `unlink`: a version into a portfolio or registry collection, and out again.

What they share with the other edit verbs (idempotence, `--dry-run`, `--json`, `--organization`,
exit codes) is in `edits`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from .edits import (
    INTERRUPTED,
    Change,
    Edit,
    add_aliases,
    add_edit_options,
    added_aliases,
    check_aliases,
    emit,
    link_record,
)
from .output import make_api

if TYPE_CHECKING:
    from ..artifacts import Artifact


def register(commands: Any) -> None:
    link = commands.add_parser(
        "link",
        help="link a version into a collection or registry (idempotent)",
        description=(
            "Link VERSION (ENTITY/PROJECT/NAME:VERSION_OR_ALIAS) into TARGET, a portfolio ENTITY/PROJECT/NAME or a "
            "registry collection wandb-registry-REGISTRY/NAME (ORGANIZATION/wandb-registry-REGISTRY/NAME names the "
            "organization). A version linked there already is not linked again; only the missing aliases are added. "
            "An alias another link of TARGET holds moves to this one, and the report says from which. Linking a "
            "link links its source."
        ),
    )
    link.add_argument("version", metavar="VERSION", help="the version to link, e.g. my-team/my-project/model:v3")
    link.add_argument("target", metavar="TARGET", help="e.g. wandb-registry-model/classifier")
    link.add_argument("-a", "--alias", action="append", default=[], help="alias to set on the link (repeatable)")
    add_edit_options(link)
    link.set_defaults(handler=run_link, on_interrupt=INTERRUPTED)

    unlink = commands.add_parser(
        "unlink",
        help="remove a link from a collection or registry (idempotent with TARGET)",
        description=(
            "Remove a link. `unlink LINK` removes the link LINK names (wandb-registry-model/classifier:v2, "
            ":production, ...); `unlink VERSION TARGET` removes VERSION's link in TARGET if it has one, and "
            "otherwise does nothing. The source version and its data stay."
        ),
    )
    unlink.add_argument("version", metavar="LINK_OR_VERSION", help="a link, or with TARGET the source version")
    unlink.add_argument("target", metavar="TARGET", nargs="?", help="the collection to remove VERSION's link from")
    add_edit_options(unlink)
    unlink.set_defaults(handler=run_unlink, on_interrupt=INTERRUPTED)


def run_link(args: argparse.Namespace) -> int:
    aliases = check_aliases(args.alias)
    with make_api(args) as api:
        version = api.artifact(args.version)
        source = version.source_artifact if version.is_link else version
        target = source.link_target(args.target)
        existing = target.existing
        edit = Edit("link", target.path, source.qualified_name, args.dry_run, link=link_record(existing))
        if existing is None:
            edit.changes.append(Change("link", "add", source.qualified_name))
        else:
            edit.unchanged.append(Change("link", "add", source.qualified_name, {"reason": "already there"}))
        held = [] if existing is None else existing.aliases
        add_aliases(edit, api, target.path, held, aliases, source.id)
        if edit.changed and not args.dry_run:
            edit.link = link_record(source.link(args.target, aliases=added_aliases(edit)))
    return emit(args, edit)


def run_unlink(args: argparse.Namespace) -> int:
    with make_api(args) as api:
        version = api.artifact(args.version)
        link: Artifact | None
        if args.target is None:
            if not version.is_link:
                raise ValueError(
                    f"{version.qualified_name} is a version, not a link: pass the link "
                    "(e.g. wandb-registry-model/classifier:v2), or VERSION TARGET"
                )
            link, where = version, f"{version.entity}/{version.project}/{version.collection_name}"
        else:
            target = version.link_target(args.target)
            link, where = target.existing, target.path
        source = version.source_qualified_name
        edit = Edit("unlink", where, source, args.dry_run, link=link_record(link))
        if link is None:
            edit.unchanged.append(Change("link", "remove", source, {"reason": "not there"}))
        else:
            edit.changes.append(Change("link", "remove", source))
            if not args.dry_run:
                link.unlink()
    return emit(args, edit)
