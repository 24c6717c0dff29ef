"""The filter and order vocabulary of registry search, checked before anything is sent.

Registry listings (`Api.registries()`, `Registry.collections()`, `.versions()`, ...) take filters in
W&B's JSON filter language (MongoDB-style: `{"name": {"$regex": "model"}}`, `{"$or": [{"tag":
"prod"}, {"alias": "best"}]}`). Each level (registries, collections, versions) accepts its own field
names, as wandb 0.31.0 does; some fields have aliases, which are sent under their canonical name.
Versions use the *advanced* vocabulary (and may be ordered) where the organization offers advanced
search, the *basic* one otherwise. A registry `name` is a project name: a plain value (also inside
`$eq`, `$ne`, `$in`, `$nin`, `$contains`, ...) gets the `wandb-registry-` prefix, a `$regex` does not.

Only the field names are checked here (their root: `metadata.accuracy` is `metadata`); operators
and values are the server's to judge. Everything raises `InvalidNameError` naming what is allowed.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from ._paths import REGISTRY_PREFIX
from .errors import InvalidNameError

Vocabulary = Mapping[str, str]
"""Accepted field name -> the canonical name sent."""


def _vocabulary(*fields: tuple[str, ...]) -> dict[str, str]:
    """`("project_id", "id")` accepts both names and sends `project_id`."""
    return {alias: names[0] for names in fields for alias in names}


REGISTRY_FILTER = _vocabulary(("id",), ("name",), ("entity_id",), ("description",), ("created_at",), ("updated_at",))
COLLECTION_FILTER = _vocabulary(
    ("artifact_collection_id", "collection_id", "id"),
    ("name",),
    ("tag",),
    ("description",),
    ("created_at",),
    ("updated_at",),
)
VERSION_FILTER = _vocabulary(
    ("id",), ("version",), ("tag",), ("alias",), ("metadata",), ("created_at",), ("updated_at",)
)

ADVANCED_REGISTRY_FILTER = _vocabulary(("project_id", "id"), ("name",), ("entity_id",))
ADVANCED_COLLECTION_FILTER = _vocabulary(
    ("artifact_collection_id", "collection_id", "id"),
    ("name", "collection_name", "artifact_collection_name"),
    ("tag", "tags"),
)
ADVANCED_VERSION_FILTER = _vocabulary(
    ("artifact_id", "id"),
    ("version", "version_index"),
    ("tag", "tags"),
    ("alias", "aliases"),
    ("metadata", "artifact_metadata"),
    ("artifact_created_at", "created_at"),
    ("artifact_size",),
    ("acm_created_at", "linked_at"),
)

REGISTRY_ORDER = _vocabulary(("name",), ("created_at",), ("updated_at",))
COLLECTION_ORDER = REGISTRY_ORDER
VERSION_ORDER = _vocabulary(("artifact_created_at", "created_at"), ("artifact_size",), ("acm_created_at", "linked_at"))

_LISTS = ("$and", "$or", "$nor")
# The operators of W&B's filter language; under a registry `name`, the operands of every one of
# these but `$regex` are names (and get the prefix); operands of unknown operators pass untouched.
KNOWN_OPERATORS = frozenset(
    {"$and", "$or", "$nor", "$not", "$lt", "$gt", "$lte", "$gte", "$eq", "$ne", "$in", "$nin", "$exists"}
    | {"$regex", "$contains", "$size", "$all"}
)
_ORDER = re.compile(r"([+-])?([A-Za-z_]\w*)", re.ASCII)


def _choices(vocabulary: Vocabulary) -> str:
    return ", ".join(repr(name) for name in sorted(vocabulary))


def prefix_registry_names(operand: Any) -> Any:
    """A registry-name operand with `wandb-registry-` before each plain name (not before a `$regex`)."""
    if isinstance(operand, str):
        return operand if operand.startswith(REGISTRY_PREFIX) else REGISTRY_PREFIX + operand
    if isinstance(operand, Mapping):
        return {
            key: value
            if isinstance(key, str) and (key == "$regex" or (key.startswith("$") and key not in KNOWN_OPERATORS))
            else prefix_registry_names(value)
            for key, value in operand.items()
        }
    if isinstance(operand, (list, tuple)):
        return [prefix_registry_names(value) for value in operand]
    return operand


def _fields(document: Mapping[str, Any]) -> set[str]:
    """The roots of the field names a filter document tests, at every level of `$and`/`$or`/`$nor`/`$not`."""
    found: set[str] = set()
    for key, value in document.items():
        if key in _LISTS and isinstance(value, list):
            for child in value:
                if isinstance(child, Mapping):
                    found |= _fields(child)
        elif key == "$not" and isinstance(value, Mapping):
            found |= _fields(value)
        elif not key.startswith("$"):
            found.add(key.partition(".")[0])
    return found


def _rename(document: Mapping[str, Any], vocabulary: Vocabulary, registry_names: bool) -> dict[str, Any]:
    renamed: dict[str, Any] = {}
    for key, value in document.items():
        new_key, new_value = key, value
        if key in _LISTS and isinstance(value, list):
            new_value = [_rename(c, vocabulary, registry_names) if isinstance(c, Mapping) else c for c in value]
        elif key == "$not" and isinstance(value, Mapping):
            new_value = _rename(value, vocabulary, registry_names)
        elif not key.startswith("$"):
            root, dot, rest = key.partition(".")
            new_key = f"{vocabulary.get(root, root)}{dot}{rest}"
            if registry_names and new_key == "name":
                new_value = prefix_registry_names(value)
        if new_key in renamed:
            raise InvalidNameError(
                f"the filter names the field {new_key!r} twice (by its aliases)", expected="each field once per object"
            )
        renamed[new_key] = new_value
    return renamed


def check_filter(
    document: Mapping[str, Any] | None, vocabulary: Vocabulary, level: str, *, registry_names: bool = False
) -> dict[str, Any] | None:
    """The filter to send: its field names checked against `vocabulary` and made canonical.

    `level` says what is filtered (`registries`, `collections`, `versions`) in the error;
    `registry_names` prefixes the operands of `name`.
    """
    if document is None:
        return None
    if not isinstance(document, Mapping) or not all(isinstance(k, str) for k in document):
        raise InvalidNameError(
            f"a {level} filter must be a dict with string keys, not {type(document).__name__}",
            expected='a filter such as {"name": {"$regex": "model"}}',
        )
    unknown = _fields(document) - set(vocabulary)
    if unknown:
        raise InvalidNameError(
            f"{level} cannot be filtered by {', '.join(repr(f) for f in sorted(unknown))}",
            expected=f"fields among {_choices(vocabulary)}",
        )
    return _rename(document, vocabulary, registry_names)


def check_order(order: str | None, vocabulary: Vocabulary, level: str) -> str | None:
    """`+name` for `name`, `-created_at` as given; the field checked against `vocabulary` and made canonical."""
    if order is None:
        return None
    match = _ORDER.fullmatch(order) if isinstance(order, str) else None
    if match is None or match.group(2) not in vocabulary:
        raise InvalidNameError(
            f"{level} cannot be ordered by {order!r}",
            expected=f"a field among {_choices(vocabulary)}, optionally after '+' (ascending) or '-' (descending)",
        )
    sign, name = match.groups()
    return f"{sign or '+'}{vocabulary[name]}"


def project_number(internal_id: str) -> int | None:
    """The integer a project's `internalId` stands for (base64 of `Project:N` or `ProjectInternalId:N`)."""
    try:
        kind, _, number = base64.b64decode(internal_id, validate=True).decode("ascii").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return int(number) if kind in ("Project", "ProjectInternalId") and number.isdigit() else None
