"""Users and API keys of an emulator instance.

Keys look like on-premises W&B keys: `local-` followed by 40 hex digits, which every official
client accepts. A key is read-write unless created read-only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from .records import ensure_entity
from .store import Store, utcnow


@dataclass(frozen=True)
class ApiKey:
    key: str
    username: str
    read_only: bool


def ensure_user(store: Store, username: str) -> int:
    with store.write():
        row = store.one("SELECT id FROM users WHERE username = ?", (username,))
        if row is not None:
            return int(row["id"])
        cur = store.conn.execute(
            "INSERT INTO users (username, email, created_at) VALUES (?, ?, ?)",
            (username, f"{username}@localhost", utcnow()),
        )
        user_id = int(cur.lastrowid or 0)
        entity_id = ensure_entity(store, username)
        store.conn.execute("UPDATE entities SET is_team = 0, user_id = ? WHERE id = ?", (user_id, entity_id))
        return user_id


def create_key(store: Store, username: str, *, read_only: bool = False, key: str | None = None) -> ApiKey:
    """Create (or register a given) API key for `username`, creating the user on first use."""
    user_id = ensure_user(store, username)
    key = key or "local-" + secrets.token_hex(20)
    name = "read-only" if read_only else "default"
    with store.write():
        store.conn.execute(
            "INSERT OR REPLACE INTO api_keys (key, user_id, name, read_only, created_at) VALUES (?, ?, ?, ?, ?)",
            (key, user_id, name, int(read_only), utcnow()),
        )
    return ApiKey(key=key, username=username, read_only=read_only)


def list_keys(store: Store) -> list[ApiKey]:
    rows = store.all(
        "SELECT k.key, k.read_only, u.username FROM api_keys k JOIN users u ON u.id = k.user_id ORDER BY k.rowid"
    )
    return [ApiKey(r["key"], r["username"], bool(r["read_only"])) for r in rows]


def first_key(store: Store, username: str) -> ApiKey:
    """The first read-write key of `username`, created if the user has none."""
    row = store.one(
        "SELECT k.key FROM api_keys k JOIN users u ON u.id = k.user_id "
        "WHERE u.username = ? AND k.read_only = 0 ORDER BY k.rowid LIMIT 1",
        (username,),
    )
    if row is not None:
        return ApiKey(str(row["key"]), username, False)
    return create_key(store, username)
