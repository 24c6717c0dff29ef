"""What every edit verb shares: the change report, `--dry-run`, `--json`, idempotence.

An edit verb (`alias add/rm`, `tag add/rm`, `rm`, `set`) first works out what would change, then
changes only that: a second run of the same command finds nothing to do and says so (`changed`
false, exit 0). `--dry-run` stops after working it out and sends no mutation. Every verb prints
one line per change (or per thing already as asked), or with `--json` one `EditReport` document
(docs/json.md).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from typing import Any

from .output import EXIT_OK, JSON_SCHEMA_VERSION, add_connection_options


@dataclass
class Change:
    """One thing an edit changes (or would change, in a dry run), or finds already as asked."""

    what: str
    """`alias`, `tag`, `description`, `metadata`, `version`, `link`."""
    action: str
    """`add`, `remove`, `move`, `set`, `delete`, `unlink`, `link`; metadata: `added`, `removed`, `changed`."""
    value: Any = None
    """The alias or tag, the metadata path; None where the `what` says it all."""
    details: dict[str, Any] = field(default_factory=dict)
    """`from` (a moved alias's old holder), `old`/`new` values, `reason` (why nothing changed)."""

    def to_json(self) -> dict[str, Any]:
        return {"what": self.what, "action": self.action, "value": self.value, **self.details}


_PAST = {"add": "added", "remove": "removed", "move": "moved", "set": "set", "delete": "deleted"}
_PAST.update({"unlink": "unlinked", "link": "linked", "changed": "changed", "added": "added", "removed": "removed"})


@dataclass
class EditReport:
    """What one edit verb did to one version: the document `--json` prints."""

    action: str
    """The verb as typed: `alias add`, `tag rm`, `rm`, `set` (the `action` of `link`/`unlink`'s documents too)."""
    target: str
    """The version edited, `entity/project/name:vN`."""
    dry_run: bool
    changes: list[Change] = field(default_factory=list)
    unchanged: list[Change] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": JSON_SCHEMA_VERSION,
            "action": self.action,
            "target": self.target,
            "dry_run": self.dry_run,
            "changed": self.changed,
            "changes": [c.to_json() for c in self.changes],
            "unchanged": [c.to_json() for c in self.unchanged],
        }

    def lines(self) -> list[str]:
        lines = [self.change_line(c) for c in self.changes]
        lines += [f"{self.target}: {_subject(c)} {c.details.get('reason', 'unchanged')}" for c in self.unchanged]
        if not lines:
            lines.append(f"{self.target}: nothing to do")
        return lines

    def change_line(self, change: Change) -> str:
        verb = _PAST.get(change.action, change.action)
        if self.dry_run:
            verb = f"would be {verb}"
        text = f"{self.target}: {_subject(change)} {verb}"
        if "from" in change.details:
            text += f" (from {change.details['from']})"
        if "old" in change.details or "new" in change.details:
            text += f": {_shown(change.details, 'old')} -> {_shown(change.details, 'new')}"
        return text


def _subject(change: Change) -> str:
    return change.what if change.value is None else f"{change.what} {change.value}"


def _shown(details: dict[str, Any], side: str) -> str:
    if side not in details:
        return "(none)"
    return json.dumps(details[side], ensure_ascii=False, sort_keys=True, default=str)


def add_edit_options(parser: argparse.ArgumentParser) -> None:
    """The options every edit verb takes: the connection, `--json`, `--dry-run`."""
    parser.add_argument(
        "--dry-run", action="store_true", help="say what would change and change nothing (no mutation is sent)"
    )
    add_connection_options(parser)


def emit_report(args: argparse.Namespace, report: EditReport) -> int:
    """Print the report (text or `--json`); an edit that found nothing to do succeeds too."""
    if getattr(args, "json", False):
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False, default=str))
    else:
        print("\n".join(report.lines()))
    return EXIT_OK
