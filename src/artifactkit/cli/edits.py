"""What every edit verb shares: `link`, `unlink`, `alias add|rm`, `tag add|rm`, `set`, `rm`.

Every edit verb works the same way, so a CI job can run it again and again:

* it first works out what would change (reads only) and then changes only that: running it
  twice leaves the same state, and the second run reports `"changed": false` and exits 0;
* `--dry-run` stops after working it out and sends no mutation;
* it prints one line per change (and per thing already as asked), or with `--json` one `Edit`
  document, the same shape for every verb (docs/json.md);
* every name may be a registry path (`wandb-registry-model/classifier:production`, its organization
  from the path, `--organization`, or as the library decides it: docs/registry.md);
* exit codes: 0 done or nothing to do, 2 a malformed name or an organization that cannot be
  decided, 3 a version, link or collection that is not there, 4 a key that may not change it,
  5 the server unreachable, 1 anything else (`rm` of a version that still has aliases), 130
  interrupted (the verb is idempotent: run it again).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import errors, names
from .output import EXIT_OK, JSON_SCHEMA_VERSION, add_connection_options, add_organization_option

if TYPE_CHECKING:
    from ..api import Api
    from ..artifacts import Artifact

INTERRUPTED = (
    "the server may or may not have applied the change; run the same command again to finish (it is idempotent)"
)


@dataclass
class Change:
    """One thing an edit changes (or would change, in a dry run), or finds already as asked."""

    what: str
    """`link`, `alias`, `tag`, `description`, `metadata`, `version`."""
    action: str
    """`add`, `move`, `remove`, `set`, `delete`; for metadata `added`, `removed`, `changed` (as `diff` says)."""
    value: Any = None
    """The alias or tag, the metadata path, the version a link is of; None where `what` says it all."""
    details: dict[str, Any] = field(default_factory=dict)
    """`from` (a moved alias's old holder), `old`/`new` values, `aliases` (deleted with a version), `reason`."""

    def to_json(self) -> dict[str, Any]:
        return {"what": self.what, "action": self.action, "value": self.value, **self.details}


_PAST = {"add": "added", "move": "moved", "remove": "removed", "set": "set", "delete": "deleted"}


@dataclass
class Edit:
    """What one edit verb did (or, with `--dry-run`, would do): the document `--json` prints."""

    action: str
    """The verb as typed: `link`, `unlink`, `alias add`, `alias rm`, `tag add`, `tag rm`, `set`, `rm`."""
    target: str
    """What the verb changes: the collection (`entity/project/name`) for `link`/`unlink`, else the version
    as named (`entity/project/name:vN`, a link's own name when it names a link)."""
    source: str | None
    """The version as logged (`entity/project/name:vN`); None for `rm` of a version that is gone."""
    dry_run: bool
    changes: list[Change] = field(default_factory=list)
    unchanged: list[Change] = field(default_factory=list)
    link: dict[str, Any] | None = None
    """The link the verb made, removed or edited (`link_record`); None when there is none."""

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": JSON_SCHEMA_VERSION,
            "action": self.action,
            "target": self.target,
            "source": self.source,
            "dry_run": self.dry_run,
            "changed": self.changed,
            "changes": [c.to_json() for c in self.changes],
            "unchanged": [c.to_json() for c in self.unchanged],
            "link": self.link,
        }

    def lines(self) -> list[str]:
        """One line per change and per thing already as asked: `TARGET: WHAT [VALUE] VERB[ ...]`."""
        lines = [_change_line(self, c) for c in self.changes]
        lines += [
            f"{self.target}: {_subject(c)} {c.details.get('reason', 'unchanged')}{_as(self, c)}" for c in self.unchanged
        ]
        if not lines:
            lines.append(f"{self.target}: nothing to do")
        return lines


def _change_line(edit: Edit, change: Change) -> str:
    verb = _PAST.get(change.action, change.action)
    text = f"{edit.target}: {_subject(change)} {f'would be {verb}' if edit.dry_run else verb}{_as(edit, change)}"
    if "from" in change.details:
        text += f" (from {change.details['from']})"
    if "old" in change.details or "new" in change.details:
        text += f": {_shown(change.details, 'old')} -> {_shown(change.details, 'new')}"
    return text


def _as(edit: Edit, change: Change) -> str:
    """` as v3`: which version of the target collection the link is (`link`/`unlink`), where known."""
    if change.what != "link" or edit.link is None or edit.action not in ("link", "unlink"):
        return ""
    return f" as {edit.link['version']}"


def _subject(change: Change) -> str:
    return change.what if change.value is None else f"{change.what} {change.value}"


def _shown(details: dict[str, Any], side: str) -> str:
    if side not in details:
        return "(none)"
    return json.dumps(details[side], ensure_ascii=False, sort_keys=True, default=str)


def link_record(link: Artifact | None) -> dict[str, Any] | None:
    """A link as the documents show it: `name`, `version`, `aliases`, `linked_at`."""
    if link is None or not link.is_link:
        return None
    return {"name": link.qualified_name, "version": link.version, "aliases": link.aliases, "linked_at": link.linked_at}


def add_edit_options(parser: argparse.ArgumentParser) -> None:
    """The options every edit verb takes: `--dry-run`, `--organization`, the connection and `--json`."""
    parser.add_argument(
        "--dry-run", action="store_true", help="say what would change and change nothing (no mutation is sent)"
    )
    add_organization_option(parser)
    add_connection_options(parser)


def emit(args: argparse.Namespace, edit: Edit) -> int:
    """Print the edit (its lines, or `--json`); an edit that found nothing to do succeeds too."""
    if getattr(args, "json", False):
        print(json.dumps(edit.to_json(), indent=2, ensure_ascii=False, default=str))
    else:
        print("\n".join(edit.lines()))
    return EXIT_OK


def add_aliases(edit: Edit, api: Api, collection: str, held: list[str], aliases: list[str], version_id: str) -> None:
    """Record giving the version `version_id` these aliases in `collection` (`entity/project/name`).

    An alias it holds already is unchanged; one another version of the collection holds moves (the
    server keeps one holder per alias), and the change says from which: one lookup per alias not held.
    """
    for alias in dict.fromkeys(aliases):
        if alias in held:
            edit.unchanged.append(Change("alias", "add", alias, {"reason": "already set"}))
            continue
        holder = _holder(api, collection, alias, version_id)
        edit.changes.append(Change("alias", "add", alias) if holder is None else Change("alias", "move", alias, holder))


def _holder(api: Api, collection: str, alias: str, version_id: str) -> dict[str, Any] | None:
    try:
        holder = api.artifact(f"{collection}:{alias}")
    except errors.NotFoundError:
        return None  # no version holds it, or the collection does not exist yet (a first link)
    return None if holder.id == version_id else {"from": holder.qualified_name}


def added_aliases(edit: Edit) -> list[str]:
    return [c.value for c in edit.changes if c.what == "alias" and c.action in ("add", "move")]


def check_aliases(aliases: list[str]) -> list[str]:
    """The aliases, checked before anything is sent (a dry run refuses what a real run would) and de-duplicated."""
    for alias in aliases:
        names.check_alias(alias)
        if names.version_index(alias) is not None:
            raise ValueError(f"{alias!r} is a version number, which the server assigns; choose another alias")
    return list(dict.fromkeys(aliases))


def check_tags(tags: list[str]) -> list[str]:
    """The tags, checked before anything is sent and de-duplicated."""
    return [names.check_tag("tag", tag) for tag in dict.fromkeys(tags)]
