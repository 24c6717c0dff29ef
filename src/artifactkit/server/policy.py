"""Who may see and change what: every permission decision of the emulator, by object and verb.

Resolvers and routes ask these functions and never compare user ids themselves, so the rules
live in one place (and are written out per object in docs/security.md). Each takes the `Caller`
and what it needs of the object (a row, an owner's user id) and answers yes or no; the caller of
the check decides how a "no" reads (404 for what the caller may not even see, 403 for what they
see but may not change).

Today an entity is either a user's personal entity or a shared one that every write key may
write to (as a single-user W&B server behaves). Team entities with members and roles will come
with W&B Registry support: they extend `may_write_in_entity`, `may_change_collection` and
`may_change_run` (a team admin may manage members' runs) without changing their callers.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

Row = sqlite3.Row

ROLES = ("anonymous", "read", "write", "admin")


@dataclass(frozen=True)
class Caller:
    """Who is asking: a user (None when anonymous) and the role of the key they sent."""

    user_id: int | None
    role: str = "anonymous"

    @property
    def can_write(self) -> bool:
        return self.user_id is not None and self.role in ("write", "admin")

    @property
    def is_admin(self) -> bool:
        return self.user_id is not None and self.role == "admin"


ANONYMOUS = Caller(None)


# ---------------------------------------------------------------- users and keys


def may_see_api_keys(caller: Caller, user_id: int) -> bool:
    """A user's API keys (their ids and roles, never the keys): the user themselves, or an admin."""
    return caller.user_id == user_id or caller.is_admin


# ---------------------------------------------------------------- entities and projects


def may_write_in_entity(caller: Caller, entity: str) -> bool:
    """Create projects, runs, types, collections and versions in `entity`, and change its
    projects, types and collections and its committed versions: any write key, in any entity
    (there are no per-entity permissions yet)."""
    return caller.can_write


def may_change_collection(caller: Caller, collection: Row) -> bool:
    """Rename, describe, retype, tag or delete a sequence or portfolio, link versions into a
    portfolio, set aliases in it: any write key, as for `may_write_in_entity`."""
    return caller.can_write


# ---------------------------------------------------------------- runs and their files


def may_change_run(caller: Caller, owner_id: int | None) -> bool:
    """Change a run whose user is `owner_id`: its config, tags, state, files, file stream,
    outputs and inputs, stop or delete it. Its owner's write key, or an admin key. A run with
    no recorded user (none is made today) is changed by admins only."""
    if not caller.can_write:
        return False
    return caller.is_admin or (owner_id is not None and owner_id == caller.user_id)


# ---------------------------------------------------------------- versions, manifests, files


def may_see_version(caller: Caller, version: Row) -> bool:
    """A committed version: every key. A pending one (and its manifest, files and upload URLs):
    only the user whose key created it; nobody else, admins included, because an upload in
    flight is worth nothing to anyone else and taking it over is the attack."""
    if version["state"] != "PENDING":
        return True
    creator = version["created_by_user_id"]
    return creator is not None and creator == caller.user_id


def may_change_version(caller: Caller, version: Row) -> bool:
    """A pending version: its creator's write key (files, manifest, commit, description, delete).
    A committed one: any write key (metadata, aliases, tags, links, delete); its files and
    manifest never change."""
    return caller.can_write and may_see_version(caller, version)


def may_upload_to_version(caller: Caller, version: Row) -> bool:
    """Be handed upload URLs for a version's files and manifest: its creator, while it is pending."""
    return version["state"] == "PENDING" and may_change_version(caller, version)
