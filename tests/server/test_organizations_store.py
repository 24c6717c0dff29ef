"""Organizations in the store: a data directory from before them is migrated (schema version 3),
and the listing form of the visibility rule answers as the row form does, for every kind of caller."""

from __future__ import annotations

import sqlite3
from itertools import product
from pathlib import Path

from artifactkit.server import organizations, policy
from artifactkit.server.accounts import ensure_key_schema, ensure_user
from artifactkit.server.embedded import EmbeddedEmulator
from artifactkit.server.policy import Caller, Grants
from artifactkit.server.records import PROJECT_COLUMNS, PROJECT_SOURCE, visible_projects_sql
from artifactkit.server.store import SCHEMA_VERSION, Store
from tests.server.support import Client, upload

V3_TABLES = ("organizations", "organization_members", "team_members", "project_members", "project_team_members")
V3_COLUMNS = (
    ("entities", "organization_id"),
    ("entities", "kind"),
    ("projects", "allow_all_types"),
    ("projects", "access"),
    ("artifact_types", "registry_allowed"),
)


def downgrade_to_version_2(database: Path) -> None:
    """What version 2 made of the same data: no organizations, members, kinds or registry columns."""
    conn = sqlite3.connect(database)
    conn.execute("PRAGMA foreign_keys=OFF")
    for index in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").fetchall():
        conn.execute(f"DROP INDEX {index[0]}")
    organization_entities = "(SELECT id FROM entities WHERE kind = 'organization')"
    registries = f"(SELECT id FROM projects WHERE entity_id IN {organization_entities})"
    conn.execute(f"DELETE FROM artifact_types WHERE project_id IN {registries}")
    conn.execute(f"DELETE FROM projects WHERE id IN {registries}")
    conn.execute(f"DELETE FROM entities WHERE id IN {organization_entities}")
    for table in V3_TABLES:
        conn.execute(f"DROP TABLE {table}")
    for table, column in V3_COLUMNS:
        conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    conn.execute("DELETE FROM meta WHERE key = 'home_organization'")
    conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()


def test_a_version_2_data_directory_is_migrated(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with EmbeddedEmulator(data) as emu:
        alice_key, bob_key = emu.create_key("alice"), emu.create_key("bob")
        with Client(emu, alice_key) as alice:
            upload(alice, "shared-team/p", "made-by-alice", {"a.txt": b"alice"})
        # A link into `wandb-registry-model` under a personal entity made an ordinary project of that
        # name before (issue 19), which version 3 refuses to make: data like this exists.
        with emu.store.write():
            emu.store.insert_project(
                int(emu.store.entity_by_name("local")["id"]), "wandb-registry-model", None, None, True
            )
        database = emu.settings.database_path
    conn = sqlite3.connect(database)
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("DELETE FROM team_members")  # version 2 had no members: bob never joined shared-team
    conn.commit()
    conn.close()
    downgrade_to_version_2(database)

    with EmbeddedEmulator(data) as emu:
        store: Store = emu.store
        assert store.scalar("SELECT value FROM meta WHERE key = 'schema_version'") == str(SCHEMA_VERSION)
        assert store.all("PRAGMA foreign_key_check") == []
        kinds = {r["name"]: r["kind"] for r in store.all("SELECT name, kind FROM entities")}
        assert kinds == {
            "local": "user",
            "alice": "user",
            "bob": "user",
            "shared-team": "team",
            "local-org-entity": "organization",
        }
        # The oldest user administers the home organization, every other user is a member, and
        # every team joined it with every user as a member: no one lost a write they had.
        home = organizations.home_organization(store)
        assert home is not None
        assert [(m["username"], m["role"]) for m in store.organization_members(int(home["id"]))] == [
            ("local", "admin"),
            ("alice", "member"),
            ("bob", "member"),
        ]
        team = store.entity_by_name("shared-team")
        assert team is not None and team["organization_id"] == home["id"]
        assert {m["username"] for m in store.team_members(int(team["id"]))} == {"local", "alice", "bob"}
        with Client(emu, bob_key) as bob:
            upload(bob, "shared-team/p", "made-by-bob", {"b.txt": b"bob"})
        # The old project named like a registry stays an ordinary project of local's.
        legacy = store.one(
            "SELECT p.access FROM projects p JOIN entities e ON e.id = p.entity_id WHERE e.name = 'local'"
        )
        assert legacy is not None and legacy["access"] is None
        assert {r["name"] for r in store.registry_types(_registry_id(store, "wandb-registry-model"))} == {"model"}

    # The same schema as a fresh data directory, and a second start changes nothing.
    fresh = Store(tmp_path / "fresh.sqlite3")
    ensure_key_schema(fresh)  # (the key columns come from accounts, as at every start)
    migrated = Store(database)
    assert _schema(migrated) == _schema(fresh)
    assert len(migrated.organizations()) == 1


def _registry_id(store: Store, name: str) -> int:
    row = store.one(
        "SELECT p.id FROM projects p JOIN entities e ON e.id = p.entity_id"
        " WHERE e.kind = 'organization' AND p.name = ?",
        (name,),
    )
    assert row is not None
    return int(row["id"])


def _schema(store: Store) -> dict[str, object]:
    tables = [r["name"] for r in store.all("SELECT name FROM sqlite_master WHERE type = 'table'")]
    indexes = {r["name"] for r in store.all("SELECT name FROM sqlite_master WHERE type = 'index'")}
    return {
        "tables": {t: [tuple(r) for r in store.all(f"PRAGMA table_info({t})")] for t in sorted(tables)},
        "indexes": indexes,
    }


def test_listings_and_lookups_agree_on_who_sees_which_project(tmp_path: Path) -> None:
    """`policy.may_see_project` (lookups) and `records.visible_projects_sql` (listings), for every
    kind of caller against every kind of project."""
    store = Store(tmp_path / "db.sqlite3")
    users = {name: ensure_user(store, name) for name in ("owner", "member", "viewer", "teamed", "roled", "outsider")}
    home = organizations.home_organization(store)
    assert home is not None
    home_id = int(home["id"])
    organizations.set_organization_member(store, home_id, users["viewer"], "viewer")
    organizations.remove_organization_member(store, home_id, users["outsider"])
    other = organizations.create_organization(store, "other", "other-entity", admin=users["outsider"])
    team = organizations.create_team(store, "team-a", home_id, admin=users["teamed"])
    readers = organizations.create_team(store, "readers", home_id, admin=users["roled"])
    other_team = organizations.create_team(store, "team-b", int(other["id"]), admin=users["outsider"])
    with store.write():
        for entity in ("owner", "team-a", "team-b"):
            entity_id = int(store.entity_by_name(entity)["id"])  # type: ignore[index]
            store.insert_project(entity_id, f"{entity}-project", None, None, True)
    open_registry = organizations.create_registry(
        store, "local-org-entity", "wandb-registry-open", creator=users["owner"]
    )
    closed = organizations.create_registry(
        store, "local-org-entity", "wandb-registry-closed", creator=users["owner"], access="RESTRICTED"
    )
    other_closed = organizations.create_registry(
        store, "other-entity", "wandb-registry-closed", creator=users["outsider"], access="RESTRICTED"
    )
    with store.write():
        store.put_registry_team(int(closed["id"]), int(readers["id"]), "restricted_viewer")
    assert team["kind"] == other_team["kind"] == "team" and open_registry["access"] == "PRIVATE"
    assert other_closed["entity_name"] == "other-entity"

    projects = store.all(f"SELECT {PROJECT_COLUMNS} FROM {PROJECT_SOURCE} ORDER BY p.id")
    callers = [Caller(user_id, "write", _loader(store, user_id)) for user_id in users.values()]
    callers += [Caller(users["outsider"], "admin", _loader(store, users["outsider"])), Caller(users["member"], "read")]
    seen: dict[tuple[int | None, str], set[str]] = {}
    for caller, project in product(callers, projects):
        sql, params = visible_projects_sql(caller)
        listed = store.one(f"SELECT 1 FROM {PROJECT_SOURCE} WHERE p.id = ? AND {sql}", (project["id"], *params))
        assert policy.may_see_project(caller, project) == (listed is not None), (caller, dict(project))
        if listed is not None:
            seen.setdefault((caller.user_id, caller.role), set()).add(f"{project['entity_name']}/{project['name']}")
    # And the rule is the one docs/security.md states, e.g.:
    roled = seen[(users["roled"], "write")]
    assert "local-org-entity/wandb-registry-closed" in roled  # through the team `readers`
    assert "team-a/team-a-project" not in roled
    assert "local-org-entity/wandb-registry-closed" not in seen[(users["member"], "write")]
    assert "local-org-entity/wandb-registry-closed" in seen[(users["owner"], "write")]  # the creator is its admin
    assert "local-org-entity/wandb-registry-open" in seen[(users["viewer"], "write")]
    outsider = seen[(users["outsider"], "write")]
    assert not any(p.startswith("local-org-entity/") for p in outsider)
    assert "team-b/team-b-project" in outsider and "owner/owner-project" in outsider
    assert len(seen[(users["outsider"], "admin")]) == len(projects)


def _loader(store: Store, user_id: int) -> object:
    return lambda: Grants.from_rows(store.caller_grants(user_id))
