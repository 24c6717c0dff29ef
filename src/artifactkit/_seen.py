"""What was seen online, kept for offline use: which version each name meant, and when.

An online lookup (`Api.artifact()`, `Api.download_many()`) records, for one server, each name the
answer vouches for (the name asked, `entity/project/name:vN`, every alias of the version in that
collection, `entity/project/name:<digest>` and the version's ID) with the version it meant and the
time it was seen, and the version's fields as the server described them. Offline, `Api(offline=True)`
resolves names from here, and says when each was last seen: an alias may have moved since.

The index is one SQLite database in the cache root (`seen.sqlite3`, WAL), written in one
transaction per lookup or batch, so any number of processes may share it; a newer observation
replaces an older one, never the reverse. A broken or read-only database costs only offline
use: recording failures are logged and ignored.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("artifactkit")

INDEX_FILE = "seen.sqlite3"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS names (server TEXT, name TEXT, version_id TEXT, view TEXT, seen_at REAL, "
    "PRIMARY KEY (server, name))",
    "CREATE TABLE IF NOT EXISTS versions (server TEXT, version_id TEXT, fields TEXT, seen_at REAL, "
    "PRIMARY KEY (server, version_id))",
    "CREATE TABLE IF NOT EXISTS facts (server TEXT, fact TEXT, value TEXT, seen_at REAL, PRIMARY KEY (server, fact))",
)


@dataclass(frozen=True)
class Sighting:
    """A version seen online under some names: what `record` keeps."""

    version_id: str
    fields: str
    """The version's fields as JSON (the facade's own encoding)."""
    view: str
    """The collection it was seen through, as JSON (the facade's own encoding)."""
    names: tuple[str, ...]
    seen_at: float
    """Seconds since the epoch."""


@dataclass(frozen=True)
class Seen:
    """A name resolved from the index: the version, the collection it was seen through, and when."""

    name: str
    version_id: str
    fields: str
    view: str
    seen_at: float


class SeenIndex:
    """The index of one cache root; safe to share between threads (one connection, one lock)."""

    def __init__(self, cache_root: Path) -> None:
        self.path = cache_root / INDEX_FILE
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connection(self, *, create: bool) -> sqlite3.Connection | None:
        """The open database (call with `_lock` held); None when there is none and `create` is False."""
        if self._conn is None:
            if not create and not self.path.exists():
                return None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                for statement in _SCHEMA:
                    conn.execute(statement)
            except sqlite3.Error:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def record(self, server: str, sightings: list[Sighting]) -> None:
        """Keep what was seen, in one transaction; an older observation never replaces a newer one."""
        if not sightings:
            return
        names = [(server, n, s.version_id, s.view, s.seen_at) for s in sightings for n in dict.fromkeys(s.names)]
        versions = [(server, s.version_id, s.fields, s.seen_at) for s in sightings]
        with self._lock:
            try:
                conn = self._connection(create=True)
                assert conn is not None
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(
                        "INSERT INTO names VALUES (?, ?, ?, ?, ?) ON CONFLICT (server, name) DO UPDATE SET "
                        "version_id = excluded.version_id, view = excluded.view, seen_at = excluded.seen_at "
                        "WHERE excluded.seen_at >= names.seen_at",
                        names,
                    )
                    conn.executemany(
                        "INSERT INTO versions VALUES (?, ?, ?, ?) ON CONFLICT (server, version_id) DO UPDATE SET "
                        "fields = excluded.fields, seen_at = excluded.seen_at "
                        "WHERE excluded.seen_at >= versions.seen_at",
                        versions,
                    )
                    conn.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise
            except (sqlite3.Error, OSError) as exc:
                log.warning(
                    "could not record what was seen online in %s (offline use will lack it): %s", self.path, exc
                )

    def resolve(self, server: str, name: str) -> Seen | None:
        """What `name` meant when last seen online on `server`, or None."""
        return self.resolve_many(server, [name]).get(name)

    def resolve_many(self, server: str, names: list[str]) -> dict[str, Seen]:
        """What each of `names` meant when last seen online on `server` (those never seen are absent),
        in one query."""
        with self._lock:
            try:
                conn = self._connection(create=False)
                if conn is None:
                    return {}
                rows = conn.execute(
                    "SELECT n.name, n.version_id, v.fields, n.view, n.seen_at FROM names n JOIN versions v "
                    "ON v.server = n.server AND v.version_id = n.version_id "
                    "WHERE n.server = ? AND n.name IN (SELECT value FROM json_each(?))",
                    (server, json.dumps(names)),
                ).fetchall()
            except (sqlite3.Error, OSError) as exc:
                log.warning("could not read %s: %s", self.path, exc)
                return {}
        return {str(r[0]): Seen(str(r[0]), str(r[1]), str(r[2]), str(r[3]), float(r[4])) for r in rows}

    def names_of(self, server: str, version_id: str) -> dict[str, float]:
        """Every name last seen meaning this version, with when it was seen."""
        with self._lock:
            try:
                conn = self._connection(create=False)
                if conn is None:
                    return {}
                rows = conn.execute(
                    "SELECT name, seen_at FROM names WHERE server = ? AND version_id = ?", (server, version_id)
                ).fetchall()
            except (sqlite3.Error, OSError):
                return {}
        return {str(name): float(seen_at) for name, seen_at in rows}

    def note_fact(self, server: str, fact: str, value: str, seen_at: float) -> None:
        """Keep one fact about a server (the API key's default entity) for offline use."""
        with self._lock:
            try:
                conn = self._connection(create=True)
                assert conn is not None
                conn.execute("INSERT OR REPLACE INTO facts VALUES (?, ?, ?, ?)", (server, fact, value, seen_at))
            except (sqlite3.Error, OSError) as exc:
                log.warning("could not record in %s: %s", self.path, exc)

    def fact(self, server: str, fact: str) -> str | None:
        with self._lock:
            try:
                conn = self._connection(create=False)
                if conn is None:
                    return None
                row = conn.execute("SELECT value FROM facts WHERE server = ? AND fact = ?", (server, fact)).fetchone()
            except (sqlite3.Error, OSError):
                return None
        return None if row is None else str(row[0])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
