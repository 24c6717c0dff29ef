"""The edit verbs: `artifactkit link` and `unlink` (the steps of a promotion job).

Every edit verb works the same way, so a CI job can run it again and again:

* it first finds out what would change (nothing is sent for that but reads) and then changes only
  that: running it twice leaves the same state, and the second run says `changed: false`;
* `--dry-run` stops after finding out and says what it would do;
* one line of what happened on stdout, or with `--json` one `Edit` document (docs/json.md):
  `{"schema_version", "action", "dry_run", "changed", "target", ...}`;
* the exit codes of every command: 3 when the version or link is not there, 4 when the key may not
  change it, 2 for a path or an organization that cannot be decided.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .output import EXIT_OK, JSON_SCHEMA_VERSION, add_connection_options, make_api

if TYPE_CHECKING:
    from ..artifacts import Artifact


@dataclass
class Edit:
    """What one edit verb did (or, with --dry-run, would do)."""

    action: str
    target: str
    """What was edited: the collection linked into, the link removed, ..."""
    dry_run: bool
    changed: bool
    message: str
    """The one line a person reads."""
    details: dict[str, Any] = field(default_factory=dict)
    """The verb's own fields of the JSON document."""

    def emit(self, as_json: bool) -> None:
        if as_json:
            document = {
                "schema_version": JSON_SCHEMA_VERSION,
                "action": self.action,
                "dry_run": self.dry_run,
                "changed": self.changed,
                "target": self.target,
                **self.details,
            }
            print(json.dumps(document, indent=2, default=str))
        else:
            print(self.message)


def add_edit_options(parser: argparse.ArgumentParser) -> None:
    """The options every edit verb takes."""
    parser.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    parser.add_argument(
        "--organization",
        help="the organization of registry paths that name none (default: WANDB_ORGANIZATION, the wandb settings "
        "files, else the entity's only organization)",
    )
    add_connection_options(parser)


def register(commands: Any) -> None:
    link = commands.add_parser(
        "link",
        help="link a version into a collection or registry (idempotent)",
        description=(
            "Link VERSION (ENTITY/PROJECT/NAME:VERSION_OR_ALIAS) into TARGET, a portfolio ENTITY/PROJECT/NAME or a "
            "registry collection wandb-registry-REGISTRY/NAME (ORGANIZATION/wandb-registry-REGISTRY/NAME names the "
            "organization). A version linked there already is not linked again; only the missing aliases are added. "
            "Linking a link links its source."
        ),
    )
    link.add_argument("version", metavar="VERSION", help="the version to link, e.g. my-team/my-project/model:v3")
    link.add_argument("target", metavar="TARGET", help="e.g. wandb-registry-model/classifier")
    link.add_argument("-a", "--alias", action="append", default=[], help="alias to set on the link (repeatable)")
    add_edit_options(link)
    link.set_defaults(handler=run_link, on_interrupt="run the same command again: a finished link is kept")

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
    unlink.set_defaults(handler=run_unlink)


def _link_record(link: Artifact | None) -> dict[str, Any] | None:
    if link is None:
        return None
    return {
        "name": link.qualified_name,
        "version": link.version,
        "aliases": link.aliases,
        "linked_at": link.linked_at,
    }


def _aliases_text(aliases: list[str]) -> str:
    return f" [{', '.join(aliases)}]" if aliases else ""


def run_link(args: argparse.Namespace) -> int:
    with make_api(args) as api:
        version = api.artifact(args.version)
        source = version.source_artifact if version.is_link else version
        target = source.link_target(args.target)
        existing = target.existing
        missing = (
            list(dict.fromkeys(args.alias))
            if existing is None
            else [a for a in dict.fromkeys(args.alias) if a not in existing.aliases]
        )
        changed = existing is None or bool(missing)
        verb = "would link" if args.dry_run else "linked"
        link = existing
        if changed and not args.dry_run:
            link = source.link(args.target, aliases=args.alias)
    if existing is None:
        message = f"{verb} {source.qualified_name} to {target.path}"
        if link is not None:
            message += f" as {link.version}{_aliases_text(link.aliases)}"
        elif missing:
            message += f" with aliases {', '.join(missing)}"
    elif missing:
        added = "would add" if args.dry_run else "added"
        message = (
            f"{source.qualified_name} is linked to {target.path} as {existing.version}; "
            f"{added} aliases {', '.join(missing)}"
        )
    else:
        message = (
            f"{source.qualified_name} is already linked to {target.path} as {existing.version}"
            f"{_aliases_text(existing.aliases)}: nothing to change"
        )
    Edit(
        "link",
        target.path,
        args.dry_run,
        changed,
        message,
        {"source": source.qualified_name, "aliases_added": missing, "link": _link_record(link)},
    ).emit(args.json)
    return EXIT_OK


def run_unlink(args: argparse.Namespace) -> int:
    with make_api(args) as api:
        version = api.artifact(args.version)
        if args.target is None:
            if not version.is_link:
                raise ValueError(
                    f"{version.qualified_name} is a version, not a link: pass the link "
                    "(e.g. wandb-registry-model/classifier:v2), or VERSION TARGET"
                )
            link: Artifact | None = version
            where = f"{version.entity}/{version.project}/{version.collection_name}"
            source = version.source_qualified_name
        else:
            target = version.link_target(args.target)
            link, where = target.existing, target.path
            source = version.source_qualified_name
        if link is not None and not args.dry_run:
            link.unlink()
    if link is None:
        message = f"{source} is not linked to {where}: nothing to change"
    else:
        verb = "would unlink" if args.dry_run else "unlinked"
        message = f"{verb} {link.qualified_name} (the link of {source})"
    Edit("unlink", where, args.dry_run, link is not None, message, {"source": source, "link": _link_record(link)}).emit(
        args.json
    )
    return EXIT_OK
