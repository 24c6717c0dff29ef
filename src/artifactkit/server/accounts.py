"""Users and API keys of an emulator instance.

Keys look like on-premises W&B keys: `local-` followed by 40 hex digits, which every official
client accepts. The database keeps only a SHA-256 of each key (and its first characters, to tell
keys apart in `keys list`); the key itself is shown once, when it is created.

Every key has a role:

* `read`: queries only; no mutation, upload, file stream or emulator admin route;
* `write`: everything a W&B user does (the default of `keys create`);
* `admin`: also the `/_emulator/*` routes. `serve` prints one admin key per user; it lives in
  `serve-keys.json` (mode 0600) in the data directory, so that it stays the same across restarts.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .organizations import join_home_organization
from .records import ensure_entity
from .store import Store

ROLES = ("read", "write", "admin")
SERVE_KEYS_FILE = "serve-keys.json"
_PREFIX_CHARS = 12  # "local-" and 6 hex digits: enough to tell keys apart, useless to an attacker


@dataclass(frozen=True)
class ApiKey:
    key: str  # the key itself when just created or read from the serve-key file; else "" (not stored)
    username: str
    role: str
    prefix: str = ""

    @property
    def read_only(self) -> bool:
        return self.role == "read"


def hash_key(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def ensure_key_schema(store: Store) -> None:
    """Add the `role` and `prefix` columns to an older database and replace stored keys by hashes."""
    columns = store.api_key_columns()
    plain = store.plain_api_keys()
    if plain:  # overwrite the old pages, not just unlink them, so no copy of a key stays in the file
        store.secure_delete_on()
    with store.write():
        if "role" not in columns:
            store.add_api_key_role_column()
        if "prefix" not in columns:
            store.add_api_key_prefix_column()
        for row in plain:
            plain_key = str(row["key"])
            store.replace_api_key(int(row["rowid"]), hash_key(plain_key), plain_key[:_PREFIX_CHARS])
    if plain:
        store.checkpoint_truncate()


def ensure_user(store: Store, username: str) -> int:
    """The user named `username`, created on first use with their personal entity; a new user
    joins the home organization (the first one creates it, see `organizations`)."""
    with store.write():
        existing = store.user_id_by_name(username)
        if existing is not None:
            return existing
        taken = store.entity_by_name(username)
        if taken is not None and taken["kind"] == "organization":
            raise ValueError(f"{username!r} is the entity of an organization; choose another user name")
        user_id = store.create_user(username, f"{username}@localhost")
        store.make_personal_entity(ensure_entity(store, username), user_id)
        join_home_organization(store, user_id)
        return user_id


def create_key(
    store: Store, username: str, *, role: str = "write", read_only: bool = False, key: str | None = None
) -> ApiKey:
    """Create (or register a given) API key for `username`, creating the user on first use.

    The returned `ApiKey.key` is the only time the key itself is available.
    """
    if read_only:
        role = "read"
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    ensure_key_schema(store)
    user_id = ensure_user(store, username)
    key = key or "local-" + secrets.token_hex(20)
    with store.write():
        store.put_api_key(hash_key(key), user_id, role, key[:_PREFIX_CHARS])
    return ApiKey(key=key, username=username, role=role, prefix=key[:_PREFIX_CHARS])


def list_keys(store: Store) -> list[ApiKey]:
    """Every key by its prefix (the keys themselves are not stored)."""
    ensure_key_schema(store)
    rows = store.api_key_listing()
    return [ApiKey("", r["username"], r["role"], r["prefix"]) for r in rows]


def find_key(store: Store, key: str) -> tuple[sqlite3.Row, str] | None:
    """The user a key belongs to and the key's role, or None for an unknown key."""
    if not key or len(key) > 256:
        return None
    row = store.user_by_key_hash(hash_key(key))
    return None if row is None else (row, str(row["key_role"]))


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` through a 0600 temporary file, replacing it atomically."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    tmp.replace(path)


def serve_key(store: Store, username: str, data_dir: Path | None = None) -> ApiKey:
    """The admin key `serve` prints for `username`: the same at every start, created on first use."""
    ensure_key_schema(store)
    path = (data_dir or store.path.parent) / SERVE_KEYS_FILE
    saved: dict[str, str] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text())
            saved = {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            saved = {}
    key = saved.get(username)
    if key is not None:
        found = find_key(store, key)
        if found is not None and found[0]["username"] == username and found[1] == "admin":
            return ApiKey(key, username, "admin", key[:_PREFIX_CHARS])
    created = create_key(store, username, role="admin")
    saved[username] = created.key
    write_private(path, json.dumps(saved))
    return created


def first_key(store: Store, username: str) -> ApiKey:
    """The key `serve` prints for `username` (kept for callers that start an emulator in-process)."""
    return serve_key(store, username)
