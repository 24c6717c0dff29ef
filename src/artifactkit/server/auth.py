"""Who is calling: the API key of a request, its user and role, and what anonymous callers may do.

Authentication comes first on every route that needs it: a request without a valid key reaches
only the anonymous operations (`serverInfo` and `__typename` at the top of a query, which the
official clients send before they know a key), `/health`, and the signed blob URLs.
"""

from __future__ import annotations

import base64
import binascii
import sqlite3
from dataclasses import dataclass

from graphql import DocumentNode, FieldNode, OperationDefinitionNode
from starlette.requests import Request

from .accounts import find_key
from .policy import Caller
from .store import Store

ANONYMOUS_FIELDS = frozenset({"serverInfo", "__typename"})


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the user row and the role of the key used."""

    user: sqlite3.Row
    role: str

    @property
    def user_id(self) -> int:
        return int(self.user["id"])

    @property
    def username(self) -> str:
        return str(self.user["username"])

    @property
    def can_write(self) -> bool:
        return self.role in ("write", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def caller(self) -> Caller:
        """This caller as the permission rules (`policy`) see them."""
        return Caller(self.user_id, self.role)


def credentials(request: Request) -> str | None:
    """The key of `Authorization: Basic api:<key>` or `Bearer <key>`, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if len(value) > 1024:
        return None
    if scheme.lower() == "basic":
        try:
            _, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        return password or None
    if scheme.lower() == "bearer":
        return value or None
    return None


def authenticate(store: Store, request: Request) -> Principal | None:
    key = credentials(request)
    if key is None:
        return None
    found = find_key(store, key)
    return None if found is None else Principal(found[0], found[1])


def is_anonymous_operation(document: DocumentNode, operation_name: str | None) -> bool:
    """Whether the operation to run is a query of anonymous fields only (no fragments, no introspection)."""
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if operation_name and (definition.name is None or definition.name.value != operation_name):
            continue
        if definition.operation.value != "query":
            return False
        for selection in definition.selection_set.selections:
            if not isinstance(selection, FieldNode) or selection.name.value not in ANONYMOUS_FIELDS:
                return False
    return True
