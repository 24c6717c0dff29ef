"""SQLite persistence for the emulator: one database file, WAL mode, one transaction per mutation.

Each thread gets its own connection. Reads run in autocommit mode; every mutation runs inside
`Store.write()`, which takes SQLite's write lock up front (`BEGIN IMMEDIATE`) so concurrent
writers queue instead of failing half-way.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .regex import regexp

SCHEMA_VERSION = 3
"""2: every `id` is AUTOINCREMENT (never reused), versions record their creating user and whether
a run logged them (`logged_by_run`). 3: organizations, team and registry members, an entity's
`kind` and organization, a registry's access and allowed types. `Store.__init__` migrates an
older database."""

ENTITY_KINDS = ("user", "team", "organization")
ORGANIZATION_ROLES = ("admin", "member", "viewer")
TEAM_ROLES = ("admin", "member")
REGISTRY_ROLES = ("admin", "member", "viewer", "restricted_viewer")

# Every table with an `id` is AUTOINCREMENT: an id once given out (in a global ID, a signed URL,
# a client's cache) never names another object, even after its row is deleted.
_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  username TEXT NOT NULL UNIQUE,
  email TEXT,
  admin INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS api_keys (
  key TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  name TEXT NOT NULL,
  read_only INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);

-- A user's personal entity (`user_id`), a team, or an organization's own entity (`kind`). Teams
-- and org entities belong to an organization; a personal entity belongs to none (its user may
-- belong to several).
CREATE TABLE IF NOT EXISTS entities (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  is_team INTEGER NOT NULL DEFAULT 0,
  user_id INTEGER REFERENCES users(id),
  kind TEXT NOT NULL DEFAULT 'team' CHECK (kind IN ('user', 'team', 'organization')),
  organization_id INTEGER REFERENCES organizations(id)
);

-- An organization: its display name and the entity that holds its registries.
CREATE TABLE IF NOT EXISTS organizations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  entity_id INTEGER NOT NULL UNIQUE REFERENCES entities(id),
  created_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS organization_members (
  organization_id INTEGER NOT NULL REFERENCES organizations(id),
  user_id INTEGER NOT NULL REFERENCES users(id),
  role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
  PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX IF NOT EXISTS organization_members_by_user ON organization_members (user_id);

CREATE TABLE IF NOT EXISTS team_members (
  entity_id INTEGER NOT NULL REFERENCES entities(id),
  user_id INTEGER NOT NULL REFERENCES users(id),
  role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
  PRIMARY KEY (entity_id, user_id)
);
CREATE INDEX IF NOT EXISTS team_members_by_user ON team_members (user_id);

-- A registry's `access` is PRIVATE (the organization) or RESTRICTED (its members only); other
-- projects keep it NULL (read as PRIVATE). `allow_all_types`: whether any type may be linked.
CREATE TABLE IF NOT EXISTS projects (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  entity_id INTEGER NOT NULL REFERENCES entities(id),
  name TEXT NOT NULL,
  description TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT,
  access TEXT,
  allow_all_types INTEGER NOT NULL DEFAULT 1,
  UNIQUE (entity_id, name)
);

-- A registry's members: users and teams, each with a role.
CREATE TABLE IF NOT EXISTS project_members (
  project_id INTEGER NOT NULL REFERENCES projects(id),
  user_id INTEGER NOT NULL REFERENCES users(id),
  role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer', 'restricted_viewer')),
  created_at TEXT NOT NULL,
  PRIMARY KEY (project_id, user_id)
);
CREATE INDEX IF NOT EXISTS project_members_by_user ON project_members (user_id);

CREATE TABLE IF NOT EXISTS project_team_members (
  project_id INTEGER NOT NULL REFERENCES projects(id),
  entity_id INTEGER NOT NULL REFERENCES entities(id),
  role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer', 'restricted_viewer')),
  created_at TEXT NOT NULL,
  PRIMARY KEY (project_id, entity_id)
);
CREATE INDEX IF NOT EXISTS project_team_members_by_team ON project_team_members (entity_id);

CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  project_id INTEGER NOT NULL REFERENCES projects(id),
  name TEXT NOT NULL,
  display_name TEXT,
  state TEXT NOT NULL DEFAULT 'running',
  config TEXT,
  summary_metrics TEXT,
  tags TEXT NOT NULL DEFAULT '[]',
  group_name TEXT,
  job_type TEXT,
  commit_hash TEXT,
  host TEXT,
  description TEXT,
  notes TEXT,
  sweep_name TEXT,
  user_id INTEGER REFERENCES users(id),
  created_at TEXT NOT NULL,
  updated_at TEXT,
  heartbeat_at TEXT,
  UNIQUE (project_id, name)
);
CREATE INDEX IF NOT EXISTS runs_by_creation ON runs (project_id, created_at);

-- The names of deleted runs: W&B never lets a project reuse one.
CREATE TABLE IF NOT EXISTS deleted_runs (
  project_id INTEGER NOT NULL REFERENCES projects(id),
  name TEXT NOT NULL,
  deleted_at TEXT NOT NULL,
  PRIMARY KEY (project_id, name)
);

-- A run's files (wandb-metadata.json, config.yaml, Run.upload_file): a name per run, the bytes a blob.
CREATE TABLE IF NOT EXISTS run_files (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id INTEGER NOT NULL REFERENCES runs(id),
  name TEXT NOT NULL,
  md5_hex TEXT NOT NULL,
  size INTEGER NOT NULL,
  mimetype TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (run_id, name)
);

-- Runs someone asked to stop (`stopRun`, the UI's stop button); a live run's heartbeat polls `Run.stopped`.
CREATE TABLE IF NOT EXISTS run_stop_requests (
  run_id INTEGER PRIMARY KEY REFERENCES runs(id),
  requested_at TEXT NOT NULL
);

-- `registry_allowed`: a type saved to a registry's accepted types (only those may be linked
-- when the registry does not allow all types).
CREATE TABLE IF NOT EXISTS artifact_types (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  project_id INTEGER NOT NULL REFERENCES projects(id),
  name TEXT NOT NULL,
  description TEXT,
  created_at TEXT NOT NULL,
  registry_allowed INTEGER NOT NULL DEFAULT 0,
  UNIQUE (project_id, name)
);

CREATE TABLE IF NOT EXISTS collections (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  project_id INTEGER NOT NULL REFERENCES projects(id),
  type_id INTEGER NOT NULL REFERENCES artifact_types(id),
  kind TEXT NOT NULL CHECK (kind IN ('SEQUENCE', 'PORTFOLIO')),
  name TEXT NOT NULL,
  description TEXT,
  state TEXT NOT NULL DEFAULT 'READY' CHECK (state IN ('READY', 'DELETED')),
  next_version INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS collections_live_name
  ON collections (project_id, name) WHERE state = 'READY';
CREATE INDEX IF NOT EXISTS collections_by_type ON collections (type_id, state);

CREATE TABLE IF NOT EXISTS artifacts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  sequence_id INTEGER NOT NULL REFERENCES collections(id),
  type_id INTEGER NOT NULL REFERENCES artifact_types(id),
  state TEXT NOT NULL CHECK (state IN ('PENDING', 'COMMITTED', 'DELETED')),
  digest TEXT NOT NULL,
  description TEXT,
  metadata TEXT,
  size INTEGER NOT NULL DEFAULT 0,
  file_count INTEGER NOT NULL DEFAULT 0,
  history_step INTEGER,
  ttl_duration_seconds INTEGER NOT NULL DEFAULT -2,
  ttl_is_inherited INTEGER NOT NULL DEFAULT 1,
  storage_layout TEXT NOT NULL DEFAULT 'V2',
  created_by_run_id INTEGER REFERENCES runs(id),
  created_by_user_id INTEGER REFERENCES users(id),
  logged_by_run INTEGER NOT NULL DEFAULT 0,
  client_id TEXT,
  pending_aliases TEXT NOT NULL DEFAULT '[]',
  created_at TEXT NOT NULL,
  updated_at TEXT
);
CREATE INDEX IF NOT EXISTS artifacts_by_sequence ON artifacts (sequence_id, state);
CREATE INDEX IF NOT EXISTS artifacts_by_run ON artifacts (created_by_run_id);

CREATE TABLE IF NOT EXISTS memberships (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  collection_id INTEGER NOT NULL REFERENCES collections(id),
  artifact_id INTEGER NOT NULL REFERENCES artifacts(id),
  version_index INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (collection_id, artifact_id),
  UNIQUE (collection_id, version_index)
);
CREATE INDEX IF NOT EXISTS memberships_by_artifact ON memberships (artifact_id);

CREATE TABLE IF NOT EXISTS aliases (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  collection_id INTEGER NOT NULL REFERENCES collections(id),
  artifact_id INTEGER NOT NULL REFERENCES artifacts(id),
  alias TEXT NOT NULL,
  UNIQUE (collection_id, alias)
);
CREATE INDEX IF NOT EXISTS aliases_by_artifact ON aliases (artifact_id);

CREATE TABLE IF NOT EXISTS tags (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  category TEXT NOT NULL DEFAULT '',
  attributes TEXT NOT NULL DEFAULT '{}',
  UNIQUE (name, category)
);
CREATE TABLE IF NOT EXISTS collection_tags (
  collection_id INTEGER NOT NULL REFERENCES collections(id),
  tag_id INTEGER NOT NULL REFERENCES tags(id),
  PRIMARY KEY (collection_id, tag_id)
);
CREATE TABLE IF NOT EXISTS artifact_tags (
  artifact_id INTEGER NOT NULL REFERENCES artifacts(id),
  tag_id INTEGER NOT NULL REFERENCES tags(id),
  PRIMARY KEY (artifact_id, tag_id)
);

CREATE TABLE IF NOT EXISTS manifests (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  artifact_id INTEGER NOT NULL REFERENCES artifacts(id),
  type TEXT NOT NULL DEFAULT 'FULL',
  digest TEXT NOT NULL,
  blob_md5 TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS manifests_by_artifact ON manifests (artifact_id);

CREATE TABLE IF NOT EXISTS artifact_files (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  artifact_id INTEGER NOT NULL REFERENCES artifacts(id),
  path TEXT NOT NULL,
  digest TEXT NOT NULL,
  md5_hex TEXT,
  size INTEGER NOT NULL DEFAULT 0,
  ref TEXT,
  birth_artifact_id TEXT,
  mimetype TEXT,
  UNIQUE (artifact_id, path)
);

CREATE TABLE IF NOT EXISTS blobs (
  md5_hex TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS artifact_usage (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  artifact_id INTEGER NOT NULL REFERENCES artifacts(id),
  used_as TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (run_id, artifact_id)
);
CREATE INDEX IF NOT EXISTS usage_by_artifact ON artifact_usage (artifact_id);
"""


def utcnow() -> str:
    """The current time as an RFC 3339 string with microseconds, the form stored everywhere."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _reference_schema() -> dict[str, tuple[str, str | None]]:
    """What `_DDL` makes, read back from SQLite: name -> (type, CREATE statement) of each table and index."""
    memory = sqlite3.connect(":memory:")
    try:
        memory.executescript(_DDL)
        rows = memory.execute("SELECT name, type, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchall()
    finally:
        memory.close()
    return {str(name): (str(kind), sql) for name, kind, sql in rows}


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")]


def _rebuild(conn: sqlite3.Connection, table: str, create_sql: str) -> None:
    """Remake `table` from its current DDL, rows and ids kept (SQLite's "12-step" table change).

    Foreign keys must be off: the old table is dropped while others still reference it by name,
    and the new one takes that name.
    """
    staging = f"{table}__rebuild"
    prefix = f"CREATE TABLE {table} ("
    assert create_sql.startswith(prefix), create_sql[:80]
    conn.execute(f"DROP TABLE IF EXISTS {staging}")
    conn.execute(f"CREATE TABLE {staging} (" + create_sql.removeprefix(prefix))
    kept = [c for c in _columns(conn, table) if c in set(_columns(conn, staging))]
    listed = ", ".join(kept)
    conn.execute(f"INSERT INTO {staging} ({listed}) SELECT {listed} FROM {table}")
    conn.execute(f"DROP TABLE {table}")
    conn.execute(f"ALTER TABLE {staging} RENAME TO {table}")


# Columns version 3 added to tables older databases have: (table, column, definition).
_V3_COLUMNS = (
    ("entities", "kind", "TEXT NOT NULL DEFAULT 'team' CHECK (kind IN ('user', 'team', 'organization'))"),
    ("entities", "organization_id", "INTEGER REFERENCES organizations(id)"),
    ("projects", "access", "TEXT"),
    ("projects", "allow_all_types", "INTEGER NOT NULL DEFAULT 1"),
    ("artifact_types", "registry_allowed", "INTEGER NOT NULL DEFAULT 0"),
)


def migrate(conn: sqlite3.Connection) -> None:
    """Bring a database made by an older artifactkit to `SCHEMA_VERSION`, in one transaction.

    Version 1 to 2: tables whose `id` lacks AUTOINCREMENT are rebuilt with it (SQLite had reused
    the id of a deleted row that had the highest id); `artifacts.logged_by_run` is added; runs
    without a user get their personal entity's user, and versions a run logged get that run's
    user as their creator (version 1 recorded none, which left them visible to everyone).

    Version 2 to 3: the columns of `_V3_COLUMNS` are added (the new tables come from `_DDL`);
    personal entities get `kind = 'user'`. Every team entity gets every user as a member: before
    version 3 any write key wrote into any team, and no team loses a writer it had. (Putting the
    users and teams into an organization is `accounts.ensure_home_organization`, at start.)

    Idempotent: every step looks at the database first. On any error nothing changes.
    """
    version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if version is not None and int(version[0]) >= SCHEMA_VERSION:
        return
    reference = _reference_schema()
    conn.execute("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction: set before BEGIN
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            live = {str(r[0]): r[1] for r in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'")}
            had_run_flag = "logged_by_run" in _columns(conn, "artifacts")
            had_kinds = "kind" in _columns(conn, "entities")
            for table, (kind, sql) in reference.items():
                if kind == "table" and sql and "AUTOINCREMENT" in sql and "AUTOINCREMENT" not in (live[table] or ""):
                    _rebuild(conn, table, sql)
            for statement in _DDL.split(";"):  # the indexes went with their rebuilt tables
                if "CREATE INDEX" in statement or "CREATE UNIQUE INDEX" in statement:
                    conn.execute(statement)
            if not had_run_flag:
                if "logged_by_run" not in _columns(conn, "artifacts"):  # (a rebuild adds it)
                    conn.execute("ALTER TABLE artifacts ADD COLUMN logged_by_run INTEGER NOT NULL DEFAULT 0")
                conn.execute("UPDATE artifacts SET logged_by_run = 1 WHERE created_by_run_id IS NOT NULL")
            conn.execute(
                "UPDATE runs SET user_id = (SELECT e.user_id FROM projects p JOIN entities e ON e.id = p.entity_id"
                " WHERE p.id = runs.project_id) WHERE user_id IS NULL"
            )
            conn.execute(
                "UPDATE artifacts SET created_by_user_id ="
                " (SELECT user_id FROM runs WHERE id = artifacts.created_by_run_id)"
                " WHERE created_by_user_id IS NULL AND created_by_run_id IS NOT NULL"
            )
            for table, column, definition in _V3_COLUMNS:
                if column not in _columns(conn, table):  # (a rebuild adds it)
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            if not had_kinds:
                conn.execute("UPDATE entities SET kind = 'user' WHERE is_team = 0 AND user_id IS NOT NULL")
                conn.execute(
                    "INSERT OR IGNORE INTO team_members (entity_id, user_id, role)"
                    " SELECT e.id, u.id, 'member' FROM entities e, users u WHERE e.kind = 'team'"
                )
            broken = conn.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise sqlite3.IntegrityError(
                    f"the database breaks {len(broken)} foreign key(s), e.g. {tuple(broken[0])}"
                )
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.execute("PRAGMA foreign_keys=ON")


class Store:
    """The emulator's database. Thread-safe: every thread uses its own connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        conn = self._connect()
        conn.executescript(_DDL)
        migrate(conn)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.create_function("regexp", 2, regexp, deterministic=True)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        self._local.conn = conn
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        return conn if conn is not None else self._connect()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """Run a block as one transaction holding the write lock; roll back on any error."""
        conn = self.conn
        if conn.in_transaction:  # nested: the outer block owns the transaction
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def one(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: tuple[object, ...] = ()) -> object:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def integer(self, sql: str, params: tuple[object, ...] = ()) -> int:
        """The first column of the first row as an int (0 when there is no row or it is NULL)."""
        row = self.conn.execute(sql, params).fetchone()
        return 0 if row is None or row[0] is None else int(row[0])

    def counted(self, sql: str, params: tuple[object, ...] = ()) -> int:
        """`SELECT COUNT(*) ...` answered from this thread's memory while the database is unchanged.

        Listings ask for `totalCount` on every page; counting thousands of rows each time was a
        fifth of a page's cost. The answer is reused only while neither this connection
        (`total_changes`) nor any other (`PRAGMA data_version`) has changed the database since.
        """
        conn = self.conn
        generation = (conn.total_changes, conn.execute("PRAGMA data_version").fetchone()[0])
        cache: dict[tuple[str, tuple[object, ...]], tuple[object, int]] | None = getattr(self._local, "counts", None)
        if cache is None or len(cache) > 1024:
            cache = self._local.counts = {}
        key = (sql, params)
        hit = cache.get(key)
        if hit is not None and hit[0] == generation:
            return hit[1]
        value = self.integer(sql, params)
        cache[key] = (generation, value)
        return value

    # ------------------------------------------------------------ named lookups

    def user_by_id(self, user_id: int) -> sqlite3.Row | None:
        return self.one("SELECT * FROM users WHERE id = ?", (user_id,))

    def api_keys_of(self, user_id: int) -> list[sqlite3.Row]:
        """A user's keys (`rowid`, `name`), oldest first; never the secrets' columns beyond those."""
        return self.all("SELECT rowid, name FROM api_keys WHERE user_id = ? ORDER BY rowid", (user_id,))

    def entity_by_id(self, entity_id: int) -> sqlite3.Row | None:
        return self.one("SELECT * FROM entities WHERE id = ?", (entity_id,))

    def entity_by_name(self, name: str | None) -> sqlite3.Row | None:
        return self.one("SELECT * FROM entities WHERE name = ?", (name,))

    def artifact_type_by_id(self, type_id: int) -> sqlite3.Row | None:
        return self.one("SELECT * FROM artifact_types WHERE id = ?", (type_id,))

    def run_by_id(self, run_id: int) -> sqlite3.Row | None:
        return self.one("SELECT * FROM runs WHERE id = ?", (run_id,))

    def artifact_by_client_id(self, client_id: str) -> sqlite3.Row | None:
        """The live version a client created under its own id (`clientIDMapping`)."""
        return self.one("SELECT * FROM artifacts WHERE client_id = ? AND state != 'DELETED'", (client_id,))

    def aliases_of(self, collection_id: int, artifact_id: int) -> list[sqlite3.Row]:
        """The alias rows of one version in one collection, oldest first."""
        return self.all(
            "SELECT * FROM aliases WHERE collection_id = ? AND artifact_id = ? ORDER BY id",
            (collection_id, artifact_id),
        )

    def latest_manifest(self, artifact_id: int) -> sqlite3.Row | None:
        return self.one("SELECT * FROM manifests WHERE artifact_id = ? ORDER BY id DESC LIMIT 1", (artifact_id,))

    def blob_size(self, md5_hex: str) -> int:
        return self.integer("SELECT size FROM blobs WHERE md5_hex = ?", (md5_hex,))

    def run_file_by_id(self, file_id: int) -> sqlite3.Row | None:
        """A run's file with its run's project (`project_id`) and user (`run_user_id`)."""
        return self.one(
            "SELECT f.*, r.project_id, r.user_id AS run_user_id FROM run_files f JOIN runs r ON r.id = f.run_id"
            " WHERE f.id = ?",
            (file_id,),
        )

    def run_stop_requested(self, run_id: int) -> bool:
        return self.one("SELECT 1 FROM run_stop_requests WHERE run_id = ?", (run_id,)) is not None

    def run_file_count(self, run_id: int) -> int:
        return self.counted("SELECT COUNT(*) FROM run_files WHERE run_id = ?", (run_id,))

    def usage_count(self, artifact_id: int) -> int:
        """How many runs used a version."""
        return self.counted("SELECT COUNT(*) FROM artifact_usage WHERE artifact_id = ?", (artifact_id,))

    def live_collection_count(self, project_id: int) -> int:
        return self.counted("SELECT COUNT(*) FROM collections WHERE project_id = ? AND state = 'READY'", (project_id,))

    # ------------------------------------------------------------ writes (inside `write()`)
    # Column names in `updates` dicts come from the callers' fixed tables, never from requests.

    def _update(self, table: str, row_id: int, updates: dict[str, object], *stamps: str) -> None:
        now = utcnow()
        assignments = ", ".join([*(f"{col} = ?" for col in updates), *(f"{col} = ?" for col in stamps)])
        self.conn.execute(
            f"UPDATE {table} SET {assignments} WHERE id = ?", (*updates.values(), *(now for _ in stamps), row_id)
        )

    def update_project(self, project_id: int, updates: dict[str, object]) -> None:
        self._update("projects", project_id, updates, "updated_at")

    def update_run(self, run_id: int, updates: dict[str, object]) -> None:
        self._update("runs", run_id, updates, "updated_at", "heartbeat_at")

    def run_name_was_deleted(self, project_id: int, name: str) -> bool:
        return self.one("SELECT 1 FROM deleted_runs WHERE project_id = ? AND name = ?", (project_id, name)) is not None

    def live_versions_logged_by(self, run_id: int, creator_id: int | None) -> list[int]:
        """The live versions a run logged that `creator_id` created (its owner's, never another user's)."""
        rows = self.all(
            "SELECT id FROM artifacts WHERE created_by_run_id = ? AND created_by_user_id IS ? AND state != 'DELETED'",
            (run_id, creator_id),
        )
        return [int(r["id"]) for r in rows]

    def delete_run(self, run_id: int) -> None:
        """Remove a run and keep its name reserved; the versions it logged or used stay (without it)."""
        conn = self.conn
        conn.execute(
            "INSERT OR IGNORE INTO deleted_runs (project_id, name, deleted_at) "
            "SELECT project_id, name, ? FROM runs WHERE id = ?",
            (utcnow(), run_id),
        )
        conn.execute("DELETE FROM artifact_usage WHERE run_id = ?", (run_id,))
        conn.execute("DELETE FROM run_files WHERE run_id = ?", (run_id,))
        conn.execute("DELETE FROM run_stop_requests WHERE run_id = ?", (run_id,))
        conn.execute("UPDATE artifacts SET created_by_run_id = NULL WHERE created_by_run_id = ?", (run_id,))
        conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    def put_run_file(self, run_id: int, name: str, md5_hex: str, size: int, mimetype: str | None) -> None:
        """Record (or replace) a run's file once its bytes are in the blob store."""
        now = utcnow()
        self.conn.execute(
            "INSERT INTO run_files (run_id, name, md5_hex, size, mimetype, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, name) DO UPDATE SET "
            "md5_hex = excluded.md5_hex, size = excluded.size, mimetype = excluded.mimetype, "
            "updated_at = excluded.updated_at",
            (run_id, name, md5_hex, size, mimetype, now, now),
        )

    def request_run_stop(self, run_id: int) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO run_stop_requests (run_id, requested_at) VALUES (?, ?)", (run_id, utcnow())
        )

    def delete_run_file(self, file_id: int) -> None:
        self.conn.execute("DELETE FROM run_files WHERE id = ?", (file_id,))

    def update_collection(self, collection_id: int, updates: dict[str, object]) -> None:
        self._update("collections", collection_id, updates, "updated_at")

    def update_artifact(self, artifact_id: int, updates: dict[str, object]) -> None:
        self._update("artifacts", artifact_id, updates, "updated_at")

    def artifact_type_in_project(self, type_id: int, project_id: int) -> sqlite3.Row | None:
        return self.one("SELECT * FROM artifact_types WHERE id = ? AND project_id = ?", (type_id, project_id))

    def retype_sequence(self, collection_id: int, type_id: int) -> None:
        """Move a sequence, and every version born in it, to another type."""
        self.update_collection(collection_id, {"type_id": type_id})
        self.conn.execute(
            "UPDATE artifacts SET type_id = ?, updated_at = ? WHERE sequence_id = ?", (type_id, utcnow(), collection_id)
        )

    def mark_collection_deleted(self, collection_id: int) -> None:
        """The collection is gone (its name free again) and so are the aliases set in it."""
        self.update_collection(collection_id, {"state": "DELETED"})
        self.conn.execute("DELETE FROM aliases WHERE collection_id = ?", (collection_id,))

    def versions_born_in(self, sequence_id: int) -> list[int]:
        return [int(r["id"]) for r in self.all("SELECT id FROM artifacts WHERE sequence_id = ?", (sequence_id,))]

    def drop_memberships_of(self, collection_id: int) -> None:
        self.conn.execute("DELETE FROM memberships WHERE collection_id = ?", (collection_id,))

    def mark_version_deleted(self, artifact_id: int, now: str) -> None:
        """Delete a version: its aliases and portfolio links go; its sequence membership stays, so its
        version number is never reused."""
        conn = self.conn
        conn.execute("UPDATE artifacts SET state = 'DELETED', updated_at = ? WHERE id = ?", (now, artifact_id))
        conn.execute("DELETE FROM aliases WHERE artifact_id = ?", (artifact_id,))
        conn.execute(
            "DELETE FROM memberships WHERE artifact_id = ? AND collection_id != "
            "(SELECT sequence_id FROM artifacts WHERE id = ?)",
            (artifact_id, artifact_id),
        )

    def tag_by_id(self, tag_id: int) -> sqlite3.Row | None:
        return self.one("SELECT * FROM tags WHERE id = ?", (tag_id,))

    def tag_collection(self, collection_id: int, tag_id: int) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO collection_tags (collection_id, tag_id) VALUES (?, ?)", (collection_id, tag_id)
        )

    def untag_collection(self, collection_id: int, name: str, category: str) -> None:
        self.conn.execute(
            "DELETE FROM collection_tags WHERE collection_id = ? AND tag_id IN "
            "(SELECT id FROM tags WHERE name = ? AND category = ?)",
            (collection_id, name, category),
        )

    def tag_artifact(self, artifact_id: int, tag_id: int) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO artifact_tags (artifact_id, tag_id) VALUES (?, ?)", (artifact_id, tag_id)
        )

    def untag_artifact(self, artifact_id: int, name: str, category: str) -> None:
        self.conn.execute(
            "DELETE FROM artifact_tags WHERE artifact_id = ? AND tag_id IN "
            "(SELECT id FROM tags WHERE name = ? AND category = ?)",
            (artifact_id, name, category),
        )

    def point_alias(self, collection_id: int, artifact_id: int, alias: str) -> None:
        """Point `alias` at a version; an alias is unique within its collection, so it moves."""
        self.conn.execute(
            "INSERT INTO aliases (collection_id, artifact_id, alias) VALUES (?, ?, ?) "
            "ON CONFLICT (collection_id, alias) DO UPDATE SET artifact_id = excluded.artifact_id",
            (collection_id, artifact_id, alias),
        )

    def remove_alias(self, collection_id: int, artifact_id: int, alias: str) -> None:
        self.conn.execute(
            "DELETE FROM aliases WHERE collection_id = ? AND artifact_id = ? AND alias = ?",
            (collection_id, artifact_id, alias),
        )

    def clear_aliases(self, collection_id: int, artifact_id: int) -> None:
        self.conn.execute(
            "DELETE FROM aliases WHERE collection_id = ? AND artifact_id = ?", (collection_id, artifact_id)
        )

    def alias_names_of(self, artifact_id: int) -> list[str]:
        """Every alias of a version, in any collection."""
        return [str(r["alias"]) for r in self.all("SELECT alias FROM aliases WHERE artifact_id = ?", (artifact_id,))]

    def committed_artifact_by_client_id(self, client_id: str) -> sqlite3.Row | None:
        return self.one("SELECT * FROM artifacts WHERE client_id = ? AND state = 'COMMITTED'", (client_id,))

    def add_membership(self, collection_id: int, artifact_id: int, now: str) -> sqlite3.Row:
        """Number a version in a collection (the collection's next number) and return the membership."""
        version = self.integer(
            "UPDATE collections SET next_version = next_version + 1, updated_at = ? WHERE id = ? "
            "RETURNING next_version - 1",
            (now, collection_id),
        )
        row = self.conn.execute(
            "INSERT INTO memberships (collection_id, artifact_id, version_index, created_at) VALUES (?, ?, ?, ?) "
            "RETURNING *",
            (collection_id, artifact_id, version, now),
        ).fetchone()
        assert row is not None
        return row  # type: ignore[no-any-return]

    def remove_membership(self, collection_id: int, artifact_id: int) -> None:
        """Unlink a version from a collection, with the aliases it had there."""
        self.conn.execute(
            "DELETE FROM memberships WHERE collection_id = ? AND artifact_id = ?", (collection_id, artifact_id)
        )
        self.clear_aliases(collection_id, artifact_id)

    def pending_artifact(
        self, sequence_id: int, digest: str, client_id: str | None, creator_id: int | None
    ) -> sqlite3.Row | None:
        """The pending version a retried `createArtifact` of the same user resumes (same sequence,
        digest and client id)."""
        return self.one(
            "SELECT * FROM artifacts WHERE sequence_id = ? AND digest = ? AND state = 'PENDING' "
            "AND COALESCE(client_id, '') = COALESCE(?, '') AND created_by_user_id IS ? ORDER BY id DESC LIMIT 1",
            (sequence_id, digest, client_id, creator_id),
        )

    def create_pending_artifact(self, fields: dict[str, object]) -> int:
        """Insert a `PENDING` version (`fields` names its columns) and return its id."""
        now = utcnow()
        columns = {**fields, "state": "PENDING", "created_at": now, "updated_at": now}
        cur = self.conn.execute(
            f"INSERT INTO artifacts ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
            tuple(columns.values()),
        )
        return int(cur.lastrowid or 0)

    def manifest_by_id(self, manifest_id: int) -> sqlite3.Row | None:
        return self.one("SELECT * FROM manifests WHERE id = ?", (manifest_id,))

    def set_manifest_digest(self, manifest_id: int, digest: str) -> None:
        self.conn.execute("UPDATE manifests SET digest = ? WHERE id = ?", (digest, manifest_id))

    def add_manifest(self, artifact_id: int, kind: str, digest: str) -> int:
        cur = self.conn.execute(
            "INSERT INTO manifests (artifact_id, type, digest, created_at) VALUES (?, ?, ?, ?)",
            (artifact_id, kind, digest, utcnow()),
        )
        return int(cur.lastrowid or 0)

    def stage_file(self, artifact_id: int, path: str, digest: str, md5_hex: str, mimetype: str | None) -> int:
        """Record a file a pending version will hold (again: the latest digest wins); returns its id."""
        cur = self.conn.execute(
            "INSERT INTO artifact_files (artifact_id, path, digest, md5_hex, mimetype) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (artifact_id, path) DO UPDATE SET digest = excluded.digest, md5_hex = excluded.md5_hex "
            "RETURNING id",
            (artifact_id, path, digest, md5_hex, mimetype),
        )
        return int(cur.fetchone()[0])

    def file_by_id(self, file_id: int) -> sqlite3.Row | None:
        return self.one("SELECT * FROM artifact_files WHERE id = ?", (file_id,))

    def replace_files(self, artifact_id: int, files: Sequence[tuple[object, ...]]) -> None:
        """Make a version's files exactly `files`: (path, digest, md5_hex, size, ref, birth_artifact_id)."""
        self.conn.execute("DELETE FROM artifact_files WHERE artifact_id = ?", (artifact_id,))
        self.conn.executemany(
            "INSERT INTO artifact_files (artifact_id, path, digest, md5_hex, size, ref, birth_artifact_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(artifact_id, *f) for f in files],
        )

    def mark_committed(self, artifact_id: int, size: int, file_count: int, storage_layout: str, now: str) -> None:
        self.conn.execute(
            "UPDATE artifacts SET state = 'COMMITTED', size = ?, file_count = ?, storage_layout = ?, updated_at = ?"
            " WHERE id = ?",
            (size, file_count, storage_layout, now, artifact_id),
        )

    def record_usage(self, run_id: int, artifact_id: int, used_as: str | None) -> None:
        self.conn.execute(
            "INSERT INTO artifact_usage (run_id, artifact_id, used_as, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (run_id, artifact_id) DO UPDATE SET used_as = COALESCE(excluded.used_as, used_as)",
            (run_id, artifact_id, used_as, utcnow()),
        )

    # ------------------------------------------------------------ batched lookups (one per listed page)

    def memberships_of_artifacts(self, artifact_ids: Sequence[int]) -> list[sqlite3.Row]:
        """Every membership of these versions, with its collection's name and state, oldest first."""
        return self.all(
            "SELECT m.*, c.name AS collection_name, c.state AS collection_state"
            " FROM memberships m JOIN collections c ON c.id = m.collection_id"
            f" WHERE m.artifact_id IN {_ID_LIST} ORDER BY m.id",
            (_ids(artifact_ids),),
        )

    def aliases_of_artifacts(self, artifact_ids: Sequence[int]) -> list[sqlite3.Row]:
        """Every alias row naming one of these versions, oldest first."""
        return self.all(f"SELECT * FROM aliases WHERE artifact_id IN {_ID_LIST} ORDER BY id", (_ids(artifact_ids),))

    def tags_of_artifacts(self, artifact_ids: Sequence[int]) -> list[sqlite3.Row]:
        """The tags of these versions (`artifact_id` says whose), in tag order."""
        return self.all(
            "SELECT t.*, x.artifact_id AS artifact_id FROM artifact_tags x JOIN tags t ON t.id = x.tag_id"
            f" WHERE x.artifact_id IN {_ID_LIST} ORDER BY t.id",
            (_ids(artifact_ids),),
        )

    def artifact_types_by_id(self, type_ids: Sequence[int]) -> dict[int, sqlite3.Row]:
        rows = self.all(f"SELECT * FROM artifact_types WHERE id IN {_ID_LIST}", (_ids(type_ids),))
        return {int(r["id"]): r for r in rows}

    def collections_by_id(self, collection_ids: Sequence[int]) -> dict[int, sqlite3.Row]:
        """These collections whatever their state (callers that want live ones check `state`)."""
        rows = self.all(f"SELECT * FROM collections WHERE id IN {_ID_LIST}", (_ids(collection_ids),))
        return {int(r["id"]): r for r in rows}

    # ------------------------------------------------------------ users and API keys

    def api_key_columns(self) -> set[str]:
        return {str(row["name"]) for row in self.all("PRAGMA table_info(api_keys)")}

    def secure_delete_on(self) -> None:
        """Overwrite freed pages from now on (so no copy of a replaced secret stays in the file)."""
        self.conn.execute("PRAGMA secure_delete = ON")

    def checkpoint_truncate(self) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def add_api_key_role_column(self) -> None:
        """Schema migration: `role` (older databases had only `read_only`)."""
        self.conn.execute("ALTER TABLE api_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'write'")
        self.conn.execute("UPDATE api_keys SET role = 'read' WHERE read_only = 1")

    def add_api_key_prefix_column(self) -> None:
        self.conn.execute("ALTER TABLE api_keys ADD COLUMN prefix TEXT NOT NULL DEFAULT ''")

    def plain_api_keys(self) -> list[sqlite3.Row]:
        """Keys stored in clear by older versions (`rowid`, `key`)."""
        return self.all("SELECT rowid, key FROM api_keys WHERE key NOT LIKE 'sha256:%'")

    def replace_api_key(self, rowid: int, hashed: str, prefix: str) -> None:
        self.conn.execute("UPDATE api_keys SET key = ?, prefix = ? WHERE rowid = ?", (hashed, prefix, rowid))

    def user_id_by_name(self, username: str) -> int | None:
        row = self.one("SELECT id FROM users WHERE username = ?", (username,))
        return None if row is None else int(row["id"])

    def create_user(self, username: str, email: str) -> int:
        cur = self.conn.execute(
            "INSERT INTO users (username, email, created_at) VALUES (?, ?, ?)", (username, email, utcnow())
        )
        return int(cur.lastrowid or 0)

    def make_personal_entity(self, entity_id: int, user_id: int) -> None:
        """Make an entity the personal entity of a user (a team of that name stops being a team)."""
        conn = self.conn
        conn.execute(
            "UPDATE entities SET is_team = 0, kind = 'user', organization_id = NULL, user_id = ? WHERE id = ?",
            (user_id, entity_id),
        )
        conn.execute("DELETE FROM team_members WHERE entity_id = ?", (entity_id,))
        conn.execute("DELETE FROM project_team_members WHERE entity_id = ?", (entity_id,))

    def put_api_key(self, hashed: str, user_id: int, role: str, prefix: str) -> None:
        """Store a key's hash with its role (the key's `name` is its role, as `keys list` shows)."""
        self.conn.execute(
            "INSERT OR REPLACE INTO api_keys (key, user_id, name, read_only, created_at, role, prefix) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (hashed, user_id, role, int(role == "read"), utcnow(), role, prefix),
        )

    def api_key_listing(self) -> list[sqlite3.Row]:
        """Every key's `prefix`, `role` and `username`, oldest first."""
        return self.all(
            "SELECT k.prefix, k.role, u.username FROM api_keys k JOIN users u ON u.id = k.user_id ORDER BY k.rowid"
        )

    def user_by_key_hash(self, hashed: str) -> sqlite3.Row | None:
        """The user owning a key (its row plus `key_role`), or None."""
        return self.one(
            "SELECT u.*, k.role AS key_role FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key = ?",
            (hashed,),
        )

    # ------------------------------------------------------------ organizations, teams, registry members

    def meta_value(self, key: str) -> str | None:
        row = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    def set_meta_value(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def user_ids(self) -> list[int]:
        """Every user, oldest first."""
        return [int(r["id"]) for r in self.all("SELECT id FROM users ORDER BY id")]

    def users_matching(self, text: str, limit: int, scope: tuple[int, list[int]] | None) -> list[sqlite3.Row]:
        """Users whose username or email contains `text` (ASCII case-insensitively), oldest first;
        with `scope` (a user id and organization ids), only that user and the organizations' users."""
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where = "(username LIKE ? ESCAPE '\\' OR email LIKE ? ESCAPE '\\')"
        params: list[object] = [pattern, pattern]
        if scope is not None:
            where += (
                f" AND (id = ? OR id IN (SELECT user_id FROM organization_members WHERE organization_id IN {_ID_LIST}))"
            )
            params += [scope[0], _ids(scope[1])]
        return self.all(f"SELECT * FROM users WHERE {where} ORDER BY id LIMIT ?", (*params, limit))

    def user_by_name(self, username: str) -> sqlite3.Row | None:
        return self.one("SELECT * FROM users WHERE username = ?", (username,))

    def insert_entity(self, name: str, kind: str, user_id: int | None, organization_id: int | None) -> int:
        cur = self.conn.execute(
            "INSERT INTO entities (name, is_team, user_id, kind, organization_id) VALUES (?, ?, ?, ?, ?)",
            (name, int(kind != "user"), user_id, kind, organization_id),
        )
        return int(cur.lastrowid or 0)

    def insert_project(
        self, entity_id: int, name: str, description: str | None, access: str | None, allow_all_types: bool
    ) -> int:
        cur = self.conn.execute(
            "INSERT INTO projects (entity_id, name, description, created_at, updated_at, access, allow_all_types)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (entity_id, name, description, (now := utcnow()), now, access, int(allow_all_types)),
        )
        return int(cur.lastrowid or 0)

    def set_entity_organization(self, entity_id: int, organization_id: int) -> None:
        self.conn.execute("UPDATE entities SET organization_id = ? WHERE id = ?", (organization_id, entity_id))

    def teams_of_organization(self, organization_id: int) -> list[sqlite3.Row]:
        return self.all(
            "SELECT * FROM entities WHERE kind = 'team' AND organization_id = ? ORDER BY id", (organization_id,)
        )

    def teams_without_organization(self) -> list[int]:
        return [
            int(r["id"]) for r in self.all("SELECT id FROM entities WHERE kind = 'team' AND organization_id IS NULL")
        ]

    def insert_organization(self, name: str, entity_id: int) -> int:
        cur = self.conn.execute(
            "INSERT INTO organizations (name, entity_id, created_at) VALUES (?, ?, ?)", (name, entity_id, utcnow())
        )
        return int(cur.lastrowid or 0)

    _ORGANIZATION = "SELECT o.*, e.name AS entity_name FROM organizations o JOIN entities e ON e.id = o.entity_id"

    def organization_by_name(self, name: str | None) -> sqlite3.Row | None:
        """An organization (`entity_name`: its org entity's name) by its display name."""
        return self.one(f"{self._ORGANIZATION} WHERE o.name = ?", (name,))

    def organization_by_id(self, organization_id: int | None) -> sqlite3.Row | None:
        return self.one(f"{self._ORGANIZATION} WHERE o.id = ?", (organization_id,))

    def organizations(self) -> list[sqlite3.Row]:
        return self.all(f"{self._ORGANIZATION} ORDER BY o.id")

    def organizations_of_user(self, user_id: int) -> list[sqlite3.Row]:
        """A user's organizations, with their `role` in each, oldest first."""
        return self.all(
            f"{self._ORGANIZATION.replace('SELECT o.*', 'SELECT o.*, m.role')}"
            " JOIN organization_members m ON m.organization_id = o.id WHERE m.user_id = ? ORDER BY o.id",
            (user_id,),
        )

    def organization_members(self, organization_id: int) -> list[sqlite3.Row]:
        """The users of an organization with their `role`, oldest user first."""
        return self.all(
            "SELECT u.*, m.role FROM organization_members m JOIN users u ON u.id = m.user_id"
            " WHERE m.organization_id = ? ORDER BY u.id",
            (organization_id,),
        )

    def organization_role(self, organization_id: int, user_id: int) -> str | None:
        row = self.one(
            "SELECT role FROM organization_members WHERE organization_id = ? AND user_id = ?",
            (organization_id, user_id),
        )
        return None if row is None else str(row["role"])

    def put_organization_member(self, organization_id: int, user_id: int, role: str) -> None:
        self.conn.execute(
            "INSERT INTO organization_members (organization_id, user_id, role) VALUES (?, ?, ?)"
            " ON CONFLICT (organization_id, user_id) DO UPDATE SET role = excluded.role",
            (organization_id, user_id, role),
        )

    def remove_organization_member(self, organization_id: int, user_id: int) -> None:
        """A user leaves an organization, and with it its teams and registries."""
        conn = self.conn
        conn.execute(
            "DELETE FROM organization_members WHERE organization_id = ? AND user_id = ?", (organization_id, user_id)
        )
        conn.execute(
            "DELETE FROM team_members WHERE user_id = ? AND entity_id IN"
            " (SELECT id FROM entities WHERE organization_id = ? AND kind = 'team')",
            (user_id, organization_id),
        )
        conn.execute(
            "DELETE FROM project_members WHERE user_id = ? AND project_id IN"
            " (SELECT p.id FROM projects p JOIN entities e ON e.id = p.entity_id WHERE e.organization_id = ?)",
            (user_id, organization_id),
        )

    def team_members(self, entity_id: int) -> list[sqlite3.Row]:
        """The users of a team with their `role`, oldest user first."""
        return self.all(
            "SELECT u.*, m.role FROM team_members m JOIN users u ON u.id = m.user_id"
            " WHERE m.entity_id = ? ORDER BY u.id",
            (entity_id,),
        )

    def teams_of_user(self, user_id: int) -> list[sqlite3.Row]:
        return self.all(
            "SELECT e.* FROM team_members m JOIN entities e ON e.id = m.entity_id WHERE m.user_id = ? ORDER BY e.id",
            (user_id,),
        )

    def put_team_member(self, entity_id: int, user_id: int, role: str) -> None:
        self.conn.execute(
            "INSERT INTO team_members (entity_id, user_id, role) VALUES (?, ?, ?)"
            " ON CONFLICT (entity_id, user_id) DO UPDATE SET role = excluded.role",
            (entity_id, user_id, role),
        )

    def remove_team_member(self, entity_id: int, user_id: int) -> None:
        self.conn.execute("DELETE FROM team_members WHERE entity_id = ? AND user_id = ?", (entity_id, user_id))

    def caller_grants(self, user_id: int) -> list[sqlite3.Row]:
        """What a user holds (`kind`, `id`, `role`): organizations, teams, and registries, directly
        (`registry`) or through a team that is a member (`registry_team`)."""
        return self.all(
            "SELECT 'organization' AS kind, organization_id AS id, role FROM organization_members WHERE user_id = ?"
            " UNION ALL SELECT 'team', entity_id, role FROM team_members WHERE user_id = ?"
            " UNION ALL SELECT 'registry', project_id, role FROM project_members WHERE user_id = ?"
            " UNION ALL SELECT 'registry_team', t.project_id, t.role FROM project_team_members t"
            " JOIN team_members m ON m.entity_id = t.entity_id WHERE m.user_id = ?",
            (user_id, user_id, user_id, user_id),
        )

    def registry_user_members(self, project_id: int) -> list[sqlite3.Row]:
        return self.all(
            "SELECT u.*, m.role FROM project_members m JOIN users u ON u.id = m.user_id"
            " WHERE m.project_id = ? ORDER BY m.created_at, u.id",
            (project_id,),
        )

    def registry_team_members(self, project_id: int) -> list[sqlite3.Row]:
        return self.all(
            "SELECT e.*, m.role FROM project_team_members m JOIN entities e ON e.id = m.entity_id"
            " WHERE m.project_id = ? ORDER BY m.created_at, e.id",
            (project_id,),
        )

    def registry_user_role(self, project_id: int, user_id: int) -> str | None:
        row = self.one("SELECT role FROM project_members WHERE project_id = ? AND user_id = ?", (project_id, user_id))
        return None if row is None else str(row["role"])

    def registry_team_role(self, project_id: int, entity_id: int) -> str | None:
        row = self.one(
            "SELECT role FROM project_team_members WHERE project_id = ? AND entity_id = ?", (project_id, entity_id)
        )
        return None if row is None else str(row["role"])

    def put_registry_user(self, project_id: int, user_id: int, role: str) -> None:
        self.conn.execute(
            "INSERT INTO project_members (project_id, user_id, role, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role",
            (project_id, user_id, role, utcnow()),
        )

    def put_registry_team(self, project_id: int, entity_id: int, role: str) -> None:
        self.conn.execute(
            "INSERT INTO project_team_members (project_id, entity_id, role, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (project_id, entity_id) DO UPDATE SET role = excluded.role",
            (project_id, entity_id, role, utcnow()),
        )

    def remove_registry_user(self, project_id: int, user_id: int) -> None:
        self.conn.execute("DELETE FROM project_members WHERE project_id = ? AND user_id = ?", (project_id, user_id))

    def remove_registry_team(self, project_id: int, entity_id: int) -> None:
        self.conn.execute(
            "DELETE FROM project_team_members WHERE project_id = ? AND entity_id = ?", (project_id, entity_id)
        )

    def registry_types(self, project_id: int) -> list[sqlite3.Row]:
        """The types a registry accepts, in the order they were added."""
        return self.all(
            "SELECT * FROM artifact_types WHERE project_id = ? AND registry_allowed = 1 ORDER BY id", (project_id,)
        )

    def allow_artifact_type(self, type_id: int) -> None:
        self.conn.execute("UPDATE artifact_types SET registry_allowed = 1 WHERE id = ?", (type_id,))

    def delete_registry(self, project_id: int) -> None:
        """Remove a registry and what it holds: its collections (portfolios of links), their
        aliases, tags and links, its types and members. The linked versions stay in their projects."""
        conn = self.conn
        collections = "(SELECT id FROM collections WHERE project_id = ?)"
        for statement in (
            f"DELETE FROM aliases WHERE collection_id IN {collections}",
            f"DELETE FROM memberships WHERE collection_id IN {collections}",
            f"DELETE FROM collection_tags WHERE collection_id IN {collections}",
            "DELETE FROM collections WHERE project_id = ?",
            "DELETE FROM artifact_types WHERE project_id = ?",
            "DELETE FROM project_members WHERE project_id = ?",
            "DELETE FROM project_team_members WHERE project_id = ?",
            "DELETE FROM projects WHERE id = ?",
        ):
            conn.execute(statement, (project_id,))

    def versions_logged_in(self, project_id: int) -> int:
        """How many versions were logged (not linked) into a project's collections."""
        return self.integer(
            "SELECT COUNT(*) FROM artifacts a JOIN collections c ON c.id = a.sequence_id WHERE c.project_id = ?",
            (project_id,),
        )

    def projects_of_version(self, artifact_id: int) -> list[int]:
        """The projects a version is in: its sequence's and those of every live collection it is linked into."""
        return [
            int(r["project_id"])
            for r in self.all(
                "SELECT DISTINCT c.project_id FROM memberships m JOIN collections c ON c.id = m.collection_id"
                " WHERE m.artifact_id = ? AND c.state = 'READY'"
                " UNION SELECT c.project_id FROM artifacts a JOIN collections c ON c.id = a.sequence_id WHERE a.id = ?",
                (artifact_id, artifact_id),
            )
        ]

    # ------------------------------------------------------------ file routes

    def entity_owns_blob(self, md5_hex: str, entity: str, readable: tuple[str, list[Any]]) -> bool:
        """Whether a committed version of `entity` that `readable` admits (`records.readable_versions_sql`
        of the caller) has a file with these bytes."""
        condition, params = readable
        row = self.one(
            "SELECT 1 FROM artifact_files f JOIN artifacts a ON a.id = f.artifact_id "
            "JOIN collections sc ON sc.id = a.sequence_id JOIN projects sp ON sp.id = sc.project_id "
            "JOIN entities se ON se.id = sp.entity_id WHERE f.md5_hex = ? AND se.name = ? AND a.state = 'COMMITTED' "
            f"AND {condition} LIMIT 1",
            (md5_hex, entity, *params),
        )
        return row is not None

    def register_blob(self, md5_hex: str, size: int) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO blobs (md5_hex, size, created_at) VALUES (?, ?, ?)", (md5_hex, size, utcnow())
        )

    def manifest_with_version(self, manifest_id: int) -> sqlite3.Row | None:
        """A manifest (`id`, `created_at`, `artifact_id`) with its version's `state` and
        `created_by_user_id`, or None."""
        return self.one(
            "SELECT m.id, m.created_at, m.artifact_id, a.state, a.created_by_user_id FROM manifests m"
            " JOIN artifacts a ON a.id = m.artifact_id WHERE m.id = ?",
            (manifest_id,),
        )

    def set_manifest_blob(self, manifest_id: int, md5_hex: str) -> None:
        self.conn.execute("UPDATE manifests SET blob_md5 = ? WHERE id = ?", (md5_hex, manifest_id))

    def run_by_path(self, entity: str, project: str, run: str) -> sqlite3.Row | None:
        """A run's `id` and `user_id`, by entity, project and run name."""
        return self.one(
            "SELECT r.id, r.user_id FROM runs r "
            "JOIN projects p ON p.id = r.project_id JOIN entities e ON e.id = p.entity_id"
            " WHERE e.name = ? AND p.name = ? AND r.name = ?",
            (entity, project, run),
        )

    def heartbeat_run(self, run_id: int, state: str | None) -> None:
        """Stamp a run's heartbeat; set its state when given."""
        self.conn.execute(
            "UPDATE runs SET heartbeat_at = ?, state = COALESCE(?, state) WHERE id = ?", (utcnow(), state, run_id)
        )

    def version_access(self, artifact_id: int) -> sqlite3.Row | None:
        """What deciding about a version needs: `id`, `state`, `created_by_user_id`, `created_at`."""
        return self.one("SELECT id, state, created_by_user_id, created_at FROM artifacts WHERE id = ?", (artifact_id,))

    # ------------------------------------------------------------ consistency checks

    def aliases_on_uncommitted(self) -> list[sqlite3.Row]:
        return self.all(
            "SELECT al.id, al.alias, al.artifact_id, a.state FROM aliases al JOIN artifacts a ON a.id = al.artifact_id "
            "WHERE a.state != 'COMMITTED'"
        )

    def aliases_outside_their_collection(self) -> list[sqlite3.Row]:
        return self.all(
            "SELECT al.alias, al.artifact_id, al.collection_id FROM aliases al "
            "LEFT JOIN memberships m ON m.collection_id = al.collection_id AND m.artifact_id = al.artifact_id "
            "WHERE m.id IS NULL"
        )

    def pending_memberships(self) -> list[sqlite3.Row]:
        return self.all(
            "SELECT m.collection_id, m.artifact_id, a.state FROM memberships m"
            " JOIN artifacts a ON a.id = m.artifact_id WHERE a.state = 'PENDING'"
        )

    def version_numbering(self) -> list[sqlite3.Row]:
        """Per collection: `next_version`, the highest number `top`, `n` members, `d` distinct numbers."""
        return self.all(
            "SELECT c.id, c.next_version, MAX(m.version_index) AS top, COUNT(*) AS n,"
            " COUNT(DISTINCT m.version_index) AS d"
            " FROM collections c JOIN memberships m ON m.collection_id = c.id GROUP BY c.id"
        )

    def committed_artifacts(self) -> list[sqlite3.Row]:
        return self.all("SELECT * FROM artifacts WHERE state = 'COMMITTED'")

    def files_of(self, artifact_id: int) -> list[sqlite3.Row]:
        return self.all("SELECT * FROM artifact_files WHERE artifact_id = ?", (artifact_id,))


# A list of ids bound as one JSON parameter: one statement text (cached by sqlite3) for any count.
_ID_LIST = "(SELECT value FROM json_each(?))"


def _ids(values: Sequence[int]) -> str:
    return "[" + ",".join(str(int(v)) for v in values) + "]"
