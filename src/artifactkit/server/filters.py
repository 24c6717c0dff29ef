"""The `filters` / `order` language of version and collection listings, compiled to SQL.

W&B takes Mongo-style JSON filters. Supported here (documented in docs/emulator.md):

* combinators: `$and: [...]`, `$or: [...]`, `$nor: [...]`, `$not: {...}`
* field tests: a plain value (equality) or an object of operators
  `$eq $ne $gt $gte $lt $lte $in $nin $exists $regex $contains` (`$contains`: a substring)
* fields: see `ARTIFACT_FIELDS` / `COLLECTION_FIELDS` / `RUN_FIELDS`; `metadata.<key>` (dotted
  paths allowed) tests a key of the version's metadata; `alias` / `aliases` tests the aliases of
  the version in the listed collection; `tag` / `tags` tests tag names. For runs, `config.<key>`
  (or `config.<key>.value`) tests the value of a config key and `summary_metrics.<key>` a summary
  value.

Orders are `field`, `+field` or `-field`, several separated by commas, each field at most once.
The limits (nesting, tests, values, text, keys) are in docs/security.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import ids
from .errors import BadInput, NotFound
from .limits import leave_the_loop
from .pagination import SortKey
from .regex import RegexError, compile_pattern

# What one filter document may hold; past these it is refused (400) before any SQL is built.
MAX_FILTER_DEPTH = 16  # nested $and/$or/$nor/$not
MAX_FILTER_TERMS = 256  # field tests and combinators in all
MAX_IN_VALUES = 1000  # values of one $in / $nin
MAX_FILTER_BYTES = 64 * 1024
_INT64 = (-(2**63), 2**63 - 1)

_COMPARATORS = {"$eq": "=", "$ne": "!=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
# A key of `metadata.<key>` (`config.`, `summary_metrics.`): names separated by single dots, 128
# characters in all. It becomes a SQLite JSON path (`$.a.b`), where an empty name is an error.
_JSON_KEY_CHARS = 128
_JSON_KEY = re.compile(r"[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*")


def _normalise_time(value: Any) -> Any:
    """Bring a timestamp given in a filter to the stored form so string comparison is exact."""
    if not isinstance(value, str):
        raise BadInput(f"time value {value!r} must be an RFC 3339 string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except (ValueError, OverflowError):
        raise BadInput(f"time value {value!r} is not an RFC 3339 timestamp (years 1-9999, UTC)") from None


@dataclass(frozen=True)
class Field:
    """How a filter field maps to SQL: an expression, and a converter for the values compared."""

    expr: str
    convert: Callable[[Any], Any] = lambda value: value


@dataclass(frozen=True)
class Setfield:
    """A field that holds a set of names (aliases, tags): tested with `EXISTS (...)`."""

    # SQL selecting the names of the current row; `{row}` is replaced by the row alias.
    names_sql: str


def _int(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"value {value!r} must be an integer")
    return value


def _state(value: Any) -> Any:
    if value not in ("PENDING", "COMMITTED", "DELETED"):
        raise BadInput(f"unknown artifact state {value!r}")
    return value


class FilterCompiler:
    """Compiles a filter document for one kind of row into `(where_sql, params)`."""

    def __init__(
        self,
        fields: Mapping[str, Field | Setfield],
        json_prefixes: Mapping[str, Callable[[str], str]] | None = None,
    ) -> None:
        self._fields = fields
        # `prefix.` -> the SQL expression for the key after it (keys are checked against _JSON_KEY first).
        self._json_prefixes = dict(json_prefixes or {})

    def compile(self, filters: str | Mapping[str, Any] | None) -> tuple[str, list[Any]]:
        if filters is None or filters == "":
            return "1=1", []
        if isinstance(filters, str):
            if len(filters) > MAX_FILTER_BYTES:
                raise BadInput(f"filters are longer than {MAX_FILTER_BYTES} characters")
            try:
                doc = json.loads(filters)
            except (json.JSONDecodeError, RecursionError) as exc:
                raise BadInput(f"filters are not JSON (or nest too deeply): {exc}") from None
        else:
            doc = filters
        if not isinstance(doc, Mapping):
            raise BadInput("filters must be a JSON object")
        budget = [MAX_FILTER_TERMS]
        return self._document(doc, 0, budget)

    def _document(self, doc: Mapping[str, Any], depth: int, budget: list[int]) -> tuple[str, list[Any]]:
        if depth > MAX_FILTER_DEPTH:
            raise BadInput(f"filters nest deeper than {MAX_FILTER_DEPTH} levels")
        budget[0] -= len(doc)
        if budget[0] < 0:
            raise BadInput(f"filters hold more than {MAX_FILTER_TERMS} tests")
        clauses: list[str] = []
        params: list[Any] = []
        for key, value in doc.items():
            if key in ("$and", "$or", "$nor"):
                if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
                    raise BadInput(f"{key} takes a list of filter objects")
                parts = [self._document(v, depth + 1, budget) for v in value]
                if not parts:
                    clause = "1=1" if key == "$and" else ("1=0" if key == "$or" else "1=1")
                else:
                    joiner = " AND " if key == "$and" else " OR "
                    clause = "(" + joiner.join(p[0] for p in parts) + ")"
                    if key == "$nor":
                        clause = f"NOT {clause}"
                    for p in parts:
                        params.extend(p[1])
                clauses.append(clause)
            elif key == "$not":
                if not isinstance(value, Mapping):
                    raise BadInput("$not takes a filter object")
                sql, extra = self._document(value, depth + 1, budget)
                clauses.append(f"NOT ({sql})")
                params.extend(extra)
            elif key.startswith("$"):
                raise BadInput(f"unknown filter operator {key!r}")
            else:
                sql, extra = self._field(key, value)
                clauses.append(sql)
                params.extend(extra)
        return ("(" + " AND ".join(clauses) + ")" if clauses else "1=1"), params

    def _resolve(self, name: str) -> Field | Setfield:
        spec = self._fields.get(name)
        if spec is not None:
            return spec
        prefix, dot, key = name.partition(".")
        expression = self._json_prefixes.get(prefix) if dot else None
        if expression is not None:
            if len(key) > _JSON_KEY_CHARS or not _JSON_KEY.fullmatch(key):
                raise BadInput(
                    f"invalid {prefix} key {key[:200]!r}: names of letters, digits, '_' and '-' separated by "
                    f"single dots, at most {_JSON_KEY_CHARS} characters in all"
                )
            leave_the_loop()  # parsing each candidate's JSON costs what it holds: never on the event loop
            return Field(expression(key))
        known = [*self._fields, *(f"{p}.<key>" for p in self._json_prefixes)]
        raise BadInput(f"cannot filter on {name!r}; known: {', '.join(known)}")

    def _field(self, name: str, condition: Any) -> tuple[str, list[Any]]:
        spec = self._resolve(name)
        if isinstance(condition, Mapping) and condition and all(k.startswith("$") for k in condition):
            ops = dict(condition)
        else:
            ops = {"$eq": condition}
        clauses: list[str] = []
        params: list[Any] = []
        for op, operand in ops.items():
            sql, extra = (
                self._set_test(spec, op, operand)
                if isinstance(spec, Setfield)
                else self._scalar_test(spec, op, operand)
            )
            clauses.append(sql)
            params.extend(extra)
        return "(" + " AND ".join(clauses) + ")", params

    def _scalar_test(self, spec: Field, op: str, operand: Any) -> tuple[str, list[Any]]:
        expr = spec.expr
        if op in _COMPARATORS:
            if operand is None:
                if op == "$eq":
                    return f"{expr} IS NULL", []
                if op == "$ne":
                    return f"{expr} IS NOT NULL", []
                raise BadInput(f"{op} cannot compare with null")
            return f"{expr} {_COMPARATORS[op]} ?", [_plain(spec.convert(operand))]
        if op in ("$in", "$nin"):
            if not isinstance(operand, list):
                raise BadInput(f"{op} takes a list")
            _check_in_size(op, operand)
            if not operand:
                return ("1=0" if op == "$in" else "1=1"), []
            marks = ", ".join("?" for _ in operand)
            neg = "NOT " if op == "$nin" else ""
            return f"{expr} {neg}IN ({marks})", [_plain(spec.convert(v)) for v in operand]
        if op == "$exists":
            return (f"{expr} IS NOT NULL" if operand else f"{expr} IS NULL"), []
        if op == "$regex":
            if not isinstance(operand, str):
                raise BadInput("$regex takes a string")
            _check_regex(operand)
            return f"regexp(?, {expr})", [operand]
        if op == "$contains":
            if not isinstance(operand, str):
                raise BadInput("$contains takes a string")
            return f"instr({expr}, ?) > 0", [_plain(operand)]
        raise BadInput(f"unknown filter operator {op!r}")

    def _set_test(self, spec: Setfield, op: str, operand: Any) -> tuple[str, list[Any]]:
        exists = f"EXISTS (SELECT 1 FROM ({spec.names_sql}) AS s WHERE s.name"
        if op in ("$eq", "$ne"):
            if not isinstance(operand, str):
                raise BadInput("alias and tag filters compare with a string")
            sql = f"{exists} = ?)"
            return (sql if op == "$eq" else f"NOT {sql}"), [_plain(operand)]
        if op in ("$in", "$nin"):
            if not isinstance(operand, list) or not all(isinstance(v, str) for v in operand):
                raise BadInput(f"{op} takes a list of strings")
            _check_in_size(op, operand)
            if not operand:
                return ("1=0" if op == "$in" else "1=1"), []
            sql = f"{exists} IN ({', '.join('?' for _ in operand)}))"
            return (sql if op == "$in" else f"NOT {sql}"), [_plain(v) for v in operand]
        if op == "$regex":
            if not isinstance(operand, str):
                raise BadInput("$regex takes a string")
            _check_regex(operand)
            return f"EXISTS (SELECT 1 FROM ({spec.names_sql}) AS s WHERE regexp(?, s.name))", [operand]
        if op == "$exists":
            sql = f"EXISTS (SELECT 1 FROM ({spec.names_sql}) AS s)"
            return (sql if operand else f"NOT {sql}"), []
        if op == "$contains":
            if not isinstance(operand, str):
                raise BadInput("$contains takes a string")
            return f"EXISTS (SELECT 1 FROM ({spec.names_sql}) AS s WHERE instr(s.name, ?) > 0)", [_plain(operand)]
        raise BadInput(f"operator {op!r} does not apply to alias or tag filters")


def _check_in_size(op: str, operand: list[Any]) -> None:
    if len(operand) > MAX_IN_VALUES:
        raise BadInput(f"{op} takes at most {MAX_IN_VALUES} values")


def _plain(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        raise BadInput("filter values must be scalars")
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:
        raise BadInput(f"integer {value} does not fit in 64 bits")
    if isinstance(value, str):
        _check_text(value)
    return value


def _check_text(value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput("filter strings must be valid Unicode (no lone surrogates)") from None


def _check_regex(pattern: str) -> None:
    try:
        compile_pattern(pattern)
    except RegexError as exc:
        raise BadInput(str(exc)) from None


def compile_order(
    order: str | None, columns: Mapping[str, str], default: list[SortKey], tiebreak: str
) -> list[SortKey]:
    """Turn `-createdAt,name` into sort keys; the unique `tiebreak` follows the last direction.

    Each term is a known field with at most one sign, each field at most once (two names of one
    column count as one field): so there are never more terms than columns to sort by.
    """
    if not order:
        keys = list(default)
    else:
        keys = []
        fields = len(set(columns.values()))
        terms = order.split(",", fields)  # at most one more piece than there may be terms
        if len(terms) > fields:
            raise BadInput(f"`order` has more than {fields} terms (each field at most once)")
        for term in terms:
            term = term.strip()
            sign = term[:1] if term[:1] in ("+", "-") else ""
            name = term[len(sign) :]
            if name not in columns:
                raise BadInput(f"cannot order by {name[:100]!r}; known: {', '.join(sorted(columns))}")
            if any(key.expr == columns[name] for key in keys):
                raise BadInput(f"`order` names {name!r} twice")
            keys.append(SortKey(columns[name], sign == "-"))
    last_desc = keys[-1].descending if keys else False
    return [*keys, SortKey(tiebreak, last_desc)]


# Versions are listed from `memberships m JOIN artifacts a`; `m` is the membership in the
# collection being listed (for run listings, the artifact's own sequence membership).
ARTIFACT_FIELDS: dict[str, Field | Setfield] = {
    "state": Field("a.state", _state),
    "versionIndex": Field("m.version_index", _int),
    "createdAt": Field("a.created_at", _normalise_time),
    "updatedAt": Field("COALESCE(a.updated_at, a.created_at)", _normalise_time),
    "digest": Field("a.digest"),
    "description": Field("a.description"),
    "size": Field("a.size", _int),
    "fileCount": Field("a.file_count", _int),
    "id": Field("a.id"),
    "alias": Setfield("SELECT alias AS name FROM aliases WHERE artifact_id = a.id AND collection_id = m.collection_id"),
    "aliases": Setfield(
        "SELECT alias AS name FROM aliases WHERE artifact_id = a.id AND collection_id = m.collection_id"
    ),
    "tag": Setfield(
        "SELECT t.name AS name FROM artifact_tags x JOIN tags t ON t.id = x.tag_id WHERE x.artifact_id = a.id"
    ),
    "tags": Setfield(
        "SELECT t.name AS name FROM artifact_tags x JOIN tags t ON t.id = x.tag_id WHERE x.artifact_id = a.id"
    ),
}
ARTIFACT_ORDER = {
    "createdAt": "a.created_at",
    "updatedAt": "COALESCE(a.updated_at, a.created_at)",
    "versionIndex": "m.version_index",
    "size": "a.size",
}

COLLECTION_FIELDS: dict[str, Field | Setfield] = {
    "name": Field("c.name"),
    "description": Field("c.description"),
    "createdAt": Field("c.created_at", _normalise_time),
    "updatedAt": Field("COALESCE(c.updated_at, c.created_at)", _normalise_time),
    "type": Field("(SELECT name FROM artifact_types WHERE id = c.type_id)"),
    "tag": Setfield(
        "SELECT t.name AS name FROM collection_tags x JOIN tags t ON t.id = x.tag_id WHERE x.collection_id = c.id"
    ),
    "tags": Setfield(
        "SELECT t.name AS name FROM collection_tags x JOIN tags t ON t.id = x.tag_id WHERE x.collection_id = c.id"
    ),
}
COLLECTION_ORDER = {
    "createdAt": "c.created_at",
    "updatedAt": "COALESCE(c.updated_at, c.created_at)",
    "name": "c.name",
}


def _id_of(*kinds: str) -> Callable[[Any], Any]:
    """An id in a registry filter: the integer, its digits, or a global ID of one of `kinds`
    (`{"id": 20}`, `{"project_id": "UHJvamVjdDoyMA=="}`)."""

    def convert(value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            if value.isascii() and value.isdigit():
                return int(value)
            try:
                return ids.decode(value, *kinds)
            except NotFound:
                pass
        raise BadInput(f"{value!r} is not an id: give the number or the ID of a {' or '.join(kinds)}")

    return convert


def _version_number(value: Any) -> Any:
    """`3` or `"v3"`."""
    if isinstance(value, str) and re.fullmatch(r"v?[0-9]{1,18}", value):
        return int(value.lstrip("v"))
    return _int(value)


_PROJECT_ID = Field("p.id", _id_of("Project", "ProjectInternalId"))
# Registries (the projects of an entity) as wandb's registry search names their fields.
PROJECT_FIELDS: dict[str, Field | Setfield] = {
    "id": _PROJECT_ID,
    "project_id": _PROJECT_ID,
    "name": Field("p.name"),
    "entity_id": Field("p.entity_id", _id_of("Entity")),
    "description": Field("p.description"),
    "created_at": Field("p.created_at", _normalise_time),
    "updated_at": Field("COALESCE(p.updated_at, p.created_at)", _normalise_time),
}
PROJECT_ORDER = {
    "name": "p.name",
    "created_at": "p.created_at",
    "updated_at": "COALESCE(p.updated_at, p.created_at)",
}

# Collections across registries: the basic and the advanced names wandb 0.31.0 sends.
_COLLECTION_ID = Field("c.id", _id_of("ArtifactCollection"))
_COLLECTION_NAME = Field("c.name")
_COLLECTION_TAGS = COLLECTION_FIELDS["tag"]
REGISTRY_COLLECTION_FIELDS: dict[str, Field | Setfield] = {
    "id": _COLLECTION_ID,
    "collection_id": _COLLECTION_ID,
    "artifact_collection_id": _COLLECTION_ID,
    "name": _COLLECTION_NAME,
    "collection_name": _COLLECTION_NAME,
    "artifact_collection_name": _COLLECTION_NAME,
    "tag": _COLLECTION_TAGS,
    "tags": _COLLECTION_TAGS,
    "description": Field("c.description"),
    "type": COLLECTION_FIELDS["type"],
    "created_at": Field("c.created_at", _normalise_time),
    "updated_at": Field("COALESCE(c.updated_at, c.created_at)", _normalise_time),
}
REGISTRY_COLLECTION_ORDER = {
    "name": "c.name",
    "created_at": "c.created_at",
    "updated_at": "COALESCE(c.updated_at, c.created_at)",
}

# Versions across registries, listed as `memberships m JOIN artifacts a`; `m` is the membership in
# the registry's collection (its number, aliases and link time).
_ARTIFACT_ID = Field("a.id", _id_of("Artifact"))
_VERSION = Field("m.version_index", _version_number)
_CREATED = Field("a.created_at", _normalise_time)
_LINKED = Field("m.created_at", _normalise_time)
REGISTRY_VERSION_FIELDS: dict[str, Field | Setfield] = {
    "id": _ARTIFACT_ID,
    "artifact_id": _ARTIFACT_ID,
    "version": _VERSION,
    "version_index": _VERSION,
    "tag": ARTIFACT_FIELDS["tag"],
    "tags": ARTIFACT_FIELDS["tag"],
    "alias": ARTIFACT_FIELDS["alias"],
    "aliases": ARTIFACT_FIELDS["alias"],
    "created_at": _CREATED,
    "artifact_created_at": _CREATED,
    "updated_at": Field("COALESCE(a.updated_at, a.created_at)", _normalise_time),
    "artifact_size": Field("a.size", _int),
    "acm_created_at": _LINKED,
    "linked_at": _LINKED,
}
REGISTRY_VERSION_ORDER = {
    "created_at": "a.created_at",
    "artifact_created_at": "a.created_at",
    "artifact_size": "a.size",
    "acm_created_at": "m.created_at",
    "linked_at": "m.created_at",
    "version": "m.version_index",
}


def _config_value(key: str) -> str:
    """`lr` or `lr.value` -> the value of config key `lr`; `opt.beta` -> key `beta` inside `opt`'s value.

    W&B keeps a run's config as `{"key": {"value": ..., "desc": ...}}`.
    """
    head, _, rest = key.partition(".")
    if rest == "value" or rest.startswith("value."):
        rest = rest[len("value") :].lstrip(".")
    return f"json_extract(r.config, '$.{head}.value{'.' + rest if rest else ''}')"


def _json_key(column: str) -> Callable[[str], str]:
    return lambda key: f"json_extract({column}, '$.{key}')"


# Runs are listed from `runs r`. Both the camelCase names of the GraphQL fields and the snake_case
# names the W&B documentation uses are accepted.
_RUN_TAGS = Setfield("SELECT value AS name FROM json_each(r.tags)")
RUN_FIELDS: dict[str, Field | Setfield] = {
    "name": Field("r.name"),
    "displayName": Field("r.display_name"),
    "display_name": Field("r.display_name"),
    "state": Field("r.state"),
    "jobType": Field("r.job_type"),
    "job_type": Field("r.job_type"),
    "group": Field("r.group_name"),
    "host": Field("r.host"),
    "username": Field("(SELECT username FROM users WHERE id = r.user_id)"),
    "createdAt": Field("r.created_at", _normalise_time),
    "created_at": Field("r.created_at", _normalise_time),
    "heartbeatAt": Field("COALESCE(r.heartbeat_at, r.created_at)", _normalise_time),
    "heartbeat_at": Field("COALESCE(r.heartbeat_at, r.created_at)", _normalise_time),
    "tags": _RUN_TAGS,
    "tag": _RUN_TAGS,
}
RUN_ORDER = {
    "created_at": "r.created_at",
    "createdAt": "r.created_at",
    "heartbeat_at": "COALESCE(r.heartbeat_at, r.created_at)",
    "heartbeatAt": "COALESCE(r.heartbeat_at, r.created_at)",
    "name": "r.name",
}

artifact_filters = FilterCompiler(ARTIFACT_FIELDS, {"metadata": _json_key("a.metadata")})
collection_filters = FilterCompiler(COLLECTION_FIELDS)
registry_project_filters = FilterCompiler(PROJECT_FIELDS)
registry_collection_filters = FilterCompiler(REGISTRY_COLLECTION_FIELDS)
registry_version_filters = FilterCompiler(
    REGISTRY_VERSION_FIELDS, {"metadata": _json_key("a.metadata"), "artifact_metadata": _json_key("a.metadata")}
)
run_filters = FilterCompiler(
    RUN_FIELDS,
    {
        "config": _config_value,
        "summary_metrics": _json_key("r.summary_metrics"),
        "summaryMetrics": _json_key("r.summary_metrics"),
    },
)
