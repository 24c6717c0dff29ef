"""What a mirror, export or import did (or, for a dry run, would do): `MirrorReport`.

`to_json()` is the `--json` document of `artifactkit mirror`, `export` and `import`
(docs/json.md): fields are only ever added within a `schema_version`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1

VERSION_ACTIONS = ("create", "resume", "update", "unchanged")
"""`create`: a new version; `resume`: a pending version a killed run left, finished; `update`: an
existing version whose aliases, tags, description, metadata, TTL, users or links were brought in
line; `unchanged`: nothing to do."""


@dataclass
class VersionResult:
    """One source version and what became of it on the target."""

    source: str
    """`entity/project/collection:vN` on the source."""
    target: str | None
    """`entity/project/collection:vM` on the target (None in a dry run for a version not made yet)."""
    action: str
    changes: list[str] = field(default_factory=list)
    """What was (or would be) changed on an existing version: `aliases`, `tags`, `description`,
    `metadata`, `ttl`, `used_by`."""
    files: int = 0
    size: int = 0
    sent_files: int = 0
    sent_bytes: int = 0
    verified: bool | None = None
    """True: the same files with the same digests on both sides; None: not checked (dry run, `verify=False`)."""
    selected: bool = True
    """False for a version mirrored because a mirrored portfolio links it."""

    def to_json(self) -> dict[str, Any]:
        """This result as the `--json` summary lists it (docs/json.md)."""
        return {
            "source": self.source,
            "target": self.target,
            "action": self.action,
            "changes": list(self.changes),
            "files": self.files,
            "size": self.size,
            "sent_files": self.sent_files,
            "sent_bytes": self.sent_bytes,
            "verified": self.verified,
            "selected": self.selected,
        }


@dataclass
class RunResult:
    """A run that logged or used a mirrored version, recorded on the target."""

    source: str
    target: str
    action: str
    """`create`, `update` (its name, job type, group, tags, notes or state differed) or `unchanged`."""

    def to_json(self) -> dict[str, Any]:
        """This result as the `--json` summary lists it (docs/json.md)."""
        return {"source": self.source, "target": self.target, "action": self.action}


@dataclass
class LinkResult:
    """A version linked into a portfolio on the target."""

    portfolio: str
    """`entity/project/portfolio` on the target."""
    version: str
    """The linked version, on the source."""
    action: str
    """`create` (linked now), `update` (its aliases there changed) or `unchanged`."""

    def to_json(self) -> dict[str, Any]:
        """This result as the `--json` summary lists it (docs/json.md)."""
        return {"portfolio": self.portfolio, "version": self.version, "action": self.action}


@dataclass
class CollectionResult:
    """A collection whose description or tags were brought in line (or already were)."""

    path: str
    kind: str
    action: str
    changes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """This result as the `--json` summary lists it (docs/json.md)."""
        return {"path": self.path, "kind": self.kind, "action": self.action, "changes": list(self.changes)}


@dataclass
class MirrorReport:
    """The account of one mirror, export or import; `to_json()` is its `--json` document."""

    source: str
    """The source server's URL or the bundle directory."""
    target: str
    """The target server's URL or the bundle directory."""
    selections: list[str]
    dry_run: bool = False
    versions: list[VersionResult] = field(default_factory=list)
    runs: list[RunResult] = field(default_factory=list)
    links: list[LinkResult] = field(default_factory=list)
    collections: list[CollectionResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What was left out, and why (lineage outside the mirrored entity, an empty portfolio, ...)."""
    bytes_to_send_at_most: int = 0
    """In a dry run: the bytes of the versions to create, each content once (the target may hold some)."""

    def count(self, action: str) -> int:
        """How many versions had `action` (`create`, `resume`, `update`, `unchanged`)."""
        return sum(v.action == action for v in self.versions)

    @property
    def sent_files(self) -> int:
        """Stored files sent to the target (into the bundle, for an export)."""
        return sum(v.sent_files for v in self.versions)

    @property
    def sent_bytes(self) -> int:
        """Bytes of those files: 0 when the target already held everything."""
        return sum(v.sent_bytes for v in self.versions)

    @property
    def verified(self) -> bool | None:
        """True when every version was checked and matched; None when none was checked."""
        checks = [v.verified for v in self.versions if v.verified is not None]
        if not checks:
            return None
        return all(checks)

    @property
    def created(self) -> int:
        """Versions, runs and links this mirror created."""
        return (
            self.count("create")
            + self.count("resume")
            + sum(r.action == "create" for r in self.runs)
            + sum(link.action == "create" for link in self.links)
        )

    def to_json(self) -> dict[str, Any]:
        """The `--json` document of `artifactkit mirror`, `export` and `import` (docs/json.md)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "source": self.source,
            "target": self.target,
            "selections": list(self.selections),
            "dry_run": self.dry_run,
            "summary": {
                "versions": len(self.versions),
                **{action: self.count(action) for action in VERSION_ACTIONS},
                "runs_created": sum(r.action == "create" for r in self.runs),
                "runs_updated": sum(r.action == "update" for r in self.runs),
                "links_created": sum(link.action == "create" for link in self.links),
                "links_updated": sum(link.action == "update" for link in self.links),
                "sent_files": self.sent_files,
                "sent_bytes": self.sent_bytes,
                "bytes_to_send_at_most": self.bytes_to_send_at_most,
                "verified": self.verified,
            },
            "versions": [v.to_json() for v in self.versions],
            "runs": [r.to_json() for r in self.runs],
            "links": [link.to_json() for link in self.links],
            "collections": [c.to_json() for c in self.collections],
            "warnings": list(self.warnings),
        }
