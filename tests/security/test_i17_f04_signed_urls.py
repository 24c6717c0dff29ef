"""Issue 17, finding 4: a signed URL names what it was signed for, and IDs are never reused.

Before, a run-file upload URL of a deleted run wrote into another user's new run, because SQLite
gave the new run the deleted one's id. Now both protections hold, each on its own: ids are
AUTOINCREMENT (also in a database made before, which is migrated at start), and an upload URL
is signed for its object's id *and* creation stamp, so it fails for anything else with that id.
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from artifactkit.server.embedded import EmbeddedEmulator
from artifactkit.server.store import _DDL, SCHEMA_VERSION, Store
from tests.security.support import TIMEOUT
from tests.server.support import Client, Upload, md5_hex, upload

UPSERT = "mutation($input: UpsertBucketInput!) { upsertBucket(input: $input) { bucket { id name } } }"
CREATE_RUN_FILES = """mutation($input: CreateRunFilesInput!) { createRunFiles(input: $input) {
  runID files { name uploadUrl } } }"""
DELETE_RUN = "mutation($id: ID!) { deleteRun(input: {id: $id}) { clientMutationId } }"
RUN_FILES = """query($e: String!, $p: String!, $n: String!) { project(entityName: $e, name: $p) { run(name: $n) {
  fileCount files { edges { node { name } } } } } }"""
DELETE_VERSION = "mutation($id: ID!) { deleteArtifact(input: {artifactID: $id}) { artifact { id } } }"


@pytest.fixture(scope="module")
def bob(emu: EmbeddedEmulator) -> Iterator[Client]:
    with Client(emu, emu.create_key("bob")) as client:
        yield client


def number(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().split(":")[1])


def new_run(client: Client, entity: str, project: str, name: str) -> str:
    created = client.data(UPSERT, input={"entityName": entity, "modelName": project, "name": name})
    return str(created["upsertBucket"]["bucket"]["id"])


def run_file_url(client: Client, entity: str, project: str, run: str, name: str) -> str:
    variables = {"entityName": entity, "projectName": project, "runName": run, "files": [name]}
    answer = client.data(CREATE_RUN_FILES, input=variables)["createRunFiles"]
    return str(answer["files"][0]["uploadUrl"])


def refused(response: httpx.Response) -> tuple[int, str | None]:
    """Status and error code of an answer (None: no error body, e.g. an upload that was taken)."""
    errors = response.json().get("errors") if response.content else None
    return response.status_code, (errors[0]["extensions"]["code"] if errors else None)


def test_a_deleted_runs_upload_url_never_writes_into_a_new_run(alice: Client, bob: Client) -> None:
    doomed = new_run(alice, "alice", "f4", "doomed")  # the newest run: the id SQLite used to hand out again
    stale = run_file_url(alice, "alice", "f4", "doomed", "out.txt")
    alice.data(DELETE_RUN, id=doomed)
    fresh = new_run(bob, "bob", "f4", "fresh")
    assert number(fresh) > number(doomed)
    assert refused(httpx.put(stale, content=b"stale write", timeout=TIMEOUT)) == (403, "FORBIDDEN")
    assert bob.data(RUN_FILES, e="bob", p="f4", n="fresh")["project"]["run"]["fileCount"] == 0


def test_an_upload_url_fails_for_another_object_given_the_same_id(emu: EmbeddedEmulator, alice: Client) -> None:
    # What an older database did: a new run took a deleted run's id. The URL signed for the old
    # run names it by id and creation stamp, so it does not write into the new one.
    run_id = new_run(alice, "alice", "f4b", "first")
    url = run_file_url(alice, "alice", "f4b", "first", "out.txt")
    with emu.store.write() as conn:
        conn.execute(
            "UPDATE runs SET name = 'second', created_at = ? WHERE id = ?",
            ("2030-01-01T00:00:00.000000Z", number(run_id)),
        )
    assert refused(httpx.put(url, content=b"for the first run", timeout=TIMEOUT)) == (403, "FORBIDDEN")
    assert alice.data(RUN_FILES, e="alice", p="f4b", n="second")["project"]["run"]["fileCount"] == 0
    # The same run's fresh URL works.
    fresh = run_file_url(alice, "alice", "f4b", "second", "out.txt")
    assert httpx.put(fresh, content=b"for the second run", timeout=TIMEOUT).status_code == 200


def test_a_deleted_versions_upload_urls_stop_working(emu: EmbeddedEmulator, alice: Client) -> None:
    files = {"a.txt": b"never to be uploaded"}
    pending = Upload(alice, "alice/f4c", "gone", files)
    pending.create()
    pending.register_manifest()
    pending.register_files()
    alice.data(DELETE_VERSION, id=pending.artifact_id)
    assert refused(pending.put_file("a.txt")) == (404, "NOT_FOUND")
    assert refused(pending.put_manifest()) == (404, "NOT_FOUND")
    assert not emu.emulator.blobs.exists(md5_hex(files["a.txt"]))
    # A committed version's URLs no longer write either.
    done = Upload(alice, "alice/f4c", "done", {"b.txt": b"committed once"})
    done.create()
    done.register_manifest()
    done.register_files()
    done.put_files()
    assert done.put_manifest().status_code == 200
    assert done.commit().status_code == 200
    assert refused(done.put_manifest()) == (409, "CONFLICT")


def test_a_file_upload_url_is_for_one_version(alice: Client) -> None:
    first = Upload(alice, "alice/f4d", "one", {"a.txt": b"shared content"})
    first.create()
    first.register_files()
    second = Upload(alice, "alice/f4d", "two", {"b.txt": b"other content"})
    second.create()
    url = httpx.URL(first.upload_urls["a.txt"] or "")
    moved = url.copy_set_param("version", str(number(second.artifact_id)))
    assert refused(httpx.put(str(moved), content=b"shared content", timeout=TIMEOUT)) == (403, "FORBIDDEN")
    assert httpx.put(str(url), content=b"shared content", timeout=TIMEOUT).status_code == 200


def test_every_id_is_autoincrement(emu: EmbeddedEmulator) -> None:
    tables = emu.store.all("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql LIKE '%id INTEGER%'")
    with_ids = {r["name"]: r["sql"] for r in tables if "  id INTEGER PRIMARY KEY" in r["sql"]}
    assert len(with_ids) >= 13
    assert [name for name, sql in with_ids.items() if "AUTOINCREMENT" not in sql] == []


# ---------------------------------------------------------------- an older data directory


def downgrade(database: Path) -> None:
    """Turn a database of this emulator into what version 1 made: no AUTOINCREMENT, no
    `logged_by_run`, no creator on versions a run logged."""
    source = sqlite3.connect(database)
    dump = [line for line in source.iterdump() if "sqlite_sequence" not in line]
    source.close()
    for suffix in ("", "-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)
    target = sqlite3.connect(database)
    target.executescript("\n".join(dump).replace(" AUTOINCREMENT", ""))
    target.executescript(
        "ALTER TABLE artifacts DROP COLUMN logged_by_run;"
        "UPDATE artifacts SET created_by_user_id = NULL WHERE created_by_run_id IS NOT NULL;"
        "UPDATE meta SET value = '1' WHERE key = 'schema_version';"
    )
    target.close()


def test_an_older_data_directory_is_migrated(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with EmbeddedEmulator(data) as emu, Client(emu, emu.create_key("alice")) as alice:
        run_ids = [new_run(alice, "alice", "old", f"r{i}") for i in range(3)]
        logged = Upload(alice, "alice/old", "logged", {"x.txt": b"logged by r1"}, run="r1")
        committed = logged.run_all()
        pending = Upload(alice, "alice/old", "pending", {"y.txt": b"still pending"}, run="r0")
        pending.create()
        alice.data(DELETE_RUN, id=run_ids[2])  # the newest run: version 1 gave its id out again
        database = emu.settings.database_path
    downgrade(database)
    old = sqlite3.connect(database)
    assert "AUTOINCREMENT" not in old.execute("SELECT sql FROM sqlite_master WHERE name = 'runs'").fetchone()[0]
    counts = {t: old.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("runs", "artifacts", "manifests")}
    old.close()

    with EmbeddedEmulator(data) as emu, Client(emu, emu.create_key("alice")) as alice:
        store: Store = emu.store
        schema = {r["name"]: r["sql"] for r in store.all("SELECT name, sql FROM sqlite_master WHERE type = 'table'")}
        assert "AUTOINCREMENT" in schema["runs"] and "AUTOINCREMENT" in schema["artifacts"]
        assert {t: store.integer(f"SELECT COUNT(*) FROM {t}") for t in counts} == counts
        assert store.all("PRAGMA foreign_key_check") == []
        assert store.scalar("SELECT value FROM meta WHERE key = 'schema_version'") == str(SCHEMA_VERSION)
        # Versions a run logged have that run's user as creator again: the pending one is alice's alone.
        rows = store.all("SELECT id, created_by_user_id, logged_by_run FROM artifacts ORDER BY id")
        alice_id = store.user_id_by_name("alice")
        assert [(r["created_by_user_id"], r["logged_by_run"]) for r in rows] == [(alice_id, 1), (alice_id, 1)]
        with Client(emu, emu.create_key("mallory")) as mallory:
            assert mallory.data("query($id: ID!) { artifact(id: $id) { id } }", id=pending.artifact_id) == {
                "artifact": None
            }
        # What was there still answers, and new ids start past every id the table holds.
        lineage: dict[str, Any] = alice.data(
            "query($id: ID!) { artifact(id: $id) { state createdBy { ... on Run { name } } } }", id=committed["id"]
        )
        assert lineage == {"artifact": {"state": "COMMITTED", "createdBy": {"name": "r1"}}}
        assert number(new_run(alice, "alice", "old", "r9")) > number(run_ids[1])
        upload(alice, "alice/old", "after", {"z.txt": b"after the migration"})
    # A second start finds nothing to do.
    with EmbeddedEmulator(data) as emu:
        assert emu.store.scalar("SELECT value FROM meta WHERE key = 'schema_version'") == str(SCHEMA_VERSION)


def test_a_fresh_schema_and_a_migrated_one_are_the_same(tmp_path: Path) -> None:
    fresh = Store(tmp_path / "fresh.sqlite3")
    old = sqlite3.connect(tmp_path / "old.sqlite3")
    old.executescript(_DDL.replace(" AUTOINCREMENT", "").replace("  logged_by_run INTEGER NOT NULL DEFAULT 0,\n", ""))
    old.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '1')")
    old.commit()
    old.close()
    migrated = Store(tmp_path / "old.sqlite3")

    def schema(store: Store) -> dict[str, list[tuple[Any, ...]]]:
        tables = [r["name"] for r in store.all("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: [tuple(r) for r in store.all(f"PRAGMA table_info({t})")] for t in sorted(tables)}

    def indexes(store: Store) -> set[str]:
        return {r["name"] for r in store.all("SELECT name FROM sqlite_master WHERE type = 'index'")}

    assert schema(migrated) == schema(fresh)
    assert indexes(migrated) == indexes(fresh)
