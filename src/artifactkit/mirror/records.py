"""What a mirror moves, as plain records: collections, versions, the links into portfolios, runs.

The same records come from a server (`sources.ServerSource`) and from a bundle
(`bundle.Bundle`); a bundle stores them as JSON (`to_json`) and reads them back with
`from_json`, which checks every field's type and every name by the rules both sides share
(`names.py`): a record that fails is a `BundleFormatError` naming the field.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .. import names
from ..errors import BundleFormatError


class RunKey(NamedTuple):
    """A run by its path: `entity/project/id`."""

    entity: str
    project: str
    id: str

    def __str__(self) -> str:
        return f"{self.entity}/{self.project}/{self.id}"


class ProjectKey(NamedTuple):
    """A project by its path."""

    entity: str
    project: str

    def __str__(self) -> str:
        return f"{self.entity}/{self.project}"


@dataclass(frozen=True)
class RunRecord:
    """A run that logged or used a mirrored version, with the fields a mirror copies."""

    key: RunKey
    display_name: str | None = None
    job_type: str | None = None
    group: str | None = None
    tags: tuple[str, ...] = ()
    notes: str | None = None
    state: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "entity": self.key.entity,
            "project": self.key.project,
            "id": self.key.id,
            "display_name": self.display_name,
            "job_type": self.job_type,
            "group": self.group,
            "tags": list(self.tags),
            "notes": self.notes,
            "state": self.state,
        }

    @classmethod
    def from_json(cls, doc: Any, where: str) -> RunRecord:
        fields = _object(doc, where)
        return cls(
            key=RunKey(
                _name(fields, "entity", where), _name(fields, "project", where), _name(fields, "id", where, "run")
            ),
            display_name=_optional_text(fields, "display_name", where),
            job_type=_optional_text(fields, "job_type", where),
            group=_optional_text(fields, "group", where),
            tags=tuple(_texts(fields, "tags", where)),
            notes=_optional_text(fields, "notes", where),
            state=_optional_text(fields, "state", where),
        )


@dataclass(frozen=True)
class CollectionRecord:
    """A sequence (versions are logged there) or a portfolio (links), with its description and tags."""

    project: ProjectKey
    name: str
    type: str
    kind: str  # "sequence" or "portfolio"
    description: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        return f"{self.project}/{self.name}"

    def to_json(self) -> dict[str, Any]:
        return {
            "entity": self.project.entity,
            "project": self.project.project,
            "name": self.name,
            "type": self.type,
            "kind": self.kind,
            "description": self.description,
            "tags": list(self.tags),
        }

    @classmethod
    def from_json(cls, doc: Any, where: str) -> CollectionRecord:
        fields = _object(doc, where)
        kind = fields.get("kind")
        if kind not in ("sequence", "portfolio"):
            raise BundleFormatError(f"{where}: kind must be 'sequence' or 'portfolio', not {kind!r}", path=where)
        return cls(
            project=ProjectKey(_name(fields, "entity", where), _name(fields, "project", where)),
            name=_name(fields, "name", where, "collection"),
            type=_name(fields, "type", where, "artifact type"),
            kind=kind,
            description=_optional_text(fields, "description", where),
            tags=tuple(_tag(t, where) for t in _texts(fields, "tags", where)),
        )


@dataclass(frozen=True)
class LinkRecord:
    """A version linked into a portfolio: the portfolio, its version number there and its aliases there."""

    project: ProjectKey
    portfolio: str
    index: int
    aliases: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        return f"{self.project}/{self.portfolio}"

    def to_json(self) -> dict[str, Any]:
        return {
            "entity": self.project.entity,
            "project": self.project.project,
            "portfolio": self.portfolio,
            "index": self.index,
            "aliases": list(self.aliases),
        }

    @classmethod
    def from_json(cls, doc: Any, where: str) -> LinkRecord:
        fields = _object(doc, where)
        return cls(
            project=ProjectKey(_name(fields, "entity", where), _name(fields, "project", where)),
            portfolio=_name(fields, "portfolio", where, "collection"),
            index=_count(fields, "index", where),
            aliases=tuple(_alias(a, where) for a in _texts(fields, "aliases", where)),
        )


@dataclass(frozen=True)
class VersionRecord:
    """One committed version as the source holds it (its files are in its manifest, fetched apart)."""

    source_id: str
    """The version's ID on the server it was first read from (kept through a bundle)."""
    project: ProjectKey
    collection: str
    type: str
    index: int
    """`N` of `vN` in its sequence."""
    digest: str
    description: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    """Its aliases in its sequence, `vN` left out."""
    tags: tuple[str, ...] = ()
    ttl_seconds: int | None = None
    """None: the TTL is inherited from the team; -2: none; else seconds after creation."""
    history_step: int | None = None
    created_at: str | None = None
    logged_by: RunKey | None = None
    used_by: tuple[RunKey, ...] = ()
    links: tuple[LinkRecord, ...] = ()
    selected: bool = True
    """False for a version mirrored only because a mirrored portfolio links it."""

    @property
    def name(self) -> str:
        return f"{self.project}/{self.collection}:v{self.index}"

    def to_json(self, manifest_file: str) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "entity": self.project.entity,
            "project": self.project.project,
            "collection": self.collection,
            "type": self.type,
            "index": self.index,
            "digest": self.digest,
            "description": self.description,
            "metadata": dict(self.metadata),
            "aliases": list(self.aliases),
            "tags": list(self.tags),
            "ttl_seconds": self.ttl_seconds,
            "history_step": self.history_step,
            "created_at": self.created_at,
            "logged_by": None if self.logged_by is None else str(self.logged_by),
            "used_by": [str(run) for run in self.used_by],
            "links": [link.to_json() for link in self.links],
            "selected": self.selected,
            "manifest": manifest_file,
        }

    @classmethod
    def from_json(cls, doc: Any, where: str) -> tuple[VersionRecord, str]:
        """The record and the name of its manifest file."""
        fields = _object(doc, where)
        digest = fields.get("digest")
        if not isinstance(digest, str) or len(digest) != 32 or any(c not in "0123456789abcdef" for c in digest):
            raise BundleFormatError(f"{where}: digest must be 32 lowercase hex digits", path=where)
        metadata = fields.get("metadata", {})
        if not isinstance(metadata, dict):
            raise BundleFormatError(f"{where}: metadata must be an object", path=where)
        ttl = fields.get("ttl_seconds")
        if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or (ttl <= 0 and ttl != -2)):
            raise BundleFormatError(f"{where}: ttl_seconds must be a positive number, -2 or null", path=where)
        step = fields.get("history_step")
        if step is not None and (not isinstance(step, int) or isinstance(step, bool)):
            raise BundleFormatError(f"{where}: history_step must be a whole number or null", path=where)
        logged_by = fields.get("logged_by")
        links = fields.get("links", [])
        if not isinstance(links, list):
            raise BundleFormatError(f"{where}: links must be a list", path=where)
        selected = fields.get("selected", True)
        if not isinstance(selected, bool):
            raise BundleFormatError(f"{where}: selected must be true or false", path=where)
        manifest = fields.get("manifest")
        if not isinstance(manifest, str):
            raise BundleFormatError(f"{where}: manifest must name the manifest file", path=where)
        source_id = fields.get("source_id")
        if not isinstance(source_id, str) or not source_id or len(source_id) > 256 or not source_id.isprintable():
            raise BundleFormatError(f"{where}: source_id must be a short printable string", path=where)
        record = cls(
            source_id=source_id,
            project=ProjectKey(_name(fields, "entity", where), _name(fields, "project", where)),
            collection=_name(fields, "collection", where, "collection"),
            type=_name(fields, "type", where, "artifact type"),
            index=_count(fields, "index", where),
            digest=digest,
            description=_optional_text(fields, "description", where),
            metadata=metadata,
            aliases=tuple(_alias(a, where) for a in _texts(fields, "aliases", where)),
            tags=tuple(_tag(t, where) for t in _texts(fields, "tags", where)),
            ttl_seconds=ttl,
            history_step=step,
            created_at=_optional_text(fields, "created_at", where),
            logged_by=None if logged_by is None else _run_key(logged_by, where),
            used_by=tuple(_run_key(run, where) for run in _texts(fields, "used_by", where)),
            links=tuple(LinkRecord.from_json(link, f"{where} link {i}") for i, link in enumerate(links)),
            selected=selected,
        )
        return record, manifest


def client_id(source_server: str, source_id: str, target: str) -> str:
    """The client ID a mirror gives the version it makes from `source_id` at `target` (a collection path).

    Derived, not random: a rerun, or an import of a bundle exported from the same server, finds the
    version (or the pending version a killed run left) under the same ID.
    """
    seed = f"artifactkit-mirror\n{source_server.rstrip('/')}\n{source_id}\n{target}"
    return "akm" + hashlib.sha256(seed.encode()).hexdigest()


# -- checking JSON fields -------------------------------------------------------------------------


def _object(doc: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(doc, dict):
        raise BundleFormatError(f"{where} must be a JSON object", path=where)
    return doc


def _name(fields: Mapping[str, Any], key: str, where: str, kind: str | None = None) -> str:
    try:
        return names.check_name(kind or key, fields.get(key))
    except names.InvalidName as exc:
        raise BundleFormatError(f"{where}: {exc.message}", path=where) from None


def _optional_text(fields: Mapping[str, Any], key: str, where: str) -> str | None:
    value = fields.get(key)
    if value is not None and not isinstance(value, str):
        raise BundleFormatError(f"{where}: {key} must be a string or null", path=where)
    return value


def _texts(fields: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = fields.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BundleFormatError(f"{where}: {key} must be a list of strings", path=where)
    return value


def _count(fields: Mapping[str, Any], key: str, where: str) -> int:
    value = fields.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >= 1 << 62:
        raise BundleFormatError(f"{where}: {key} must be a whole number from 0", path=where)
    return value


def _alias(value: str, where: str) -> str:
    try:
        alias = names.check_alias(value)
    except names.InvalidName as exc:
        raise BundleFormatError(f"{where}: {exc.message}", path=where) from None
    if names.version_index(alias) is not None:
        raise BundleFormatError(f"{where}: the version alias {alias!r} is the server's to give", path=where)
    return alias


def _tag(value: str, where: str) -> str:
    try:
        return names.check_tag("tag", value)
    except names.InvalidName as exc:
        raise BundleFormatError(f"{where}: {exc.message}", path=where) from None


def _run_key(value: Any, where: str) -> RunKey:
    parts = value.split("/") if isinstance(value, str) else []
    if len(parts) != 3:
        raise BundleFormatError(f"{where}: a run is named 'entity/project/id', not {value!r}", path=where)
    try:
        return RunKey(
            names.check_name("entity", parts[0]),
            names.check_name("project", parts[1]),
            names.check_name("run", parts[2]),
        )
    except names.InvalidName as exc:
        raise BundleFormatError(f"{where}: {exc.message}", path=where) from None


@dataclass(frozen=True)
class Selection:
    """What to mirror: a project, one collection of it, or chosen versions (`vN` or aliases) of one collection."""

    project: ProjectKey
    collection: str | None = None
    versions: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.collection is None:
            return str(self.project)
        chosen = f":{','.join(self.versions)}" if self.versions else ""
        return f"{self.project}/{self.collection}{chosen}"


@dataclass
class Snapshot:
    """Everything a mirror is to copy, as read from its source."""

    collections: list[CollectionRecord] = field(default_factory=list)
    versions: list[VersionRecord] = field(default_factory=list)
    """In order: by project, by collection, by version number."""
    runs: dict[RunKey, RunRecord] = field(default_factory=dict)
