"""`User`: who owns a project, who ran a run, who the API key belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._generated.fragments import UserFields


@dataclass(frozen=True)
class User:
    """A W&B user, as the server describes them (nothing is fetched on access)."""

    id: str
    """The user's GraphQL ID."""
    name: str
    """The user's full name."""
    username: str | None
    """The user's login name."""
    email: str | None
    """The user's e-mail address, where the server shows it to this API key."""
    entity: str | None
    """The user's default entity (where their runs and artifacts go when no entity is named)."""

    @classmethod
    def _from_fields(cls, fields: UserFields) -> User:
        return cls(fields.id, fields.name, fields.username, fields.email, fields.entity)
