"""The store layer under the listings: pages deep into a listing, batched lookups, cached counts.

These run the real executor and SQLite in this thread (no HTTP), so the statements a request
issues can be counted and their query plans read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from artifactkit.server import graphql_route, listings
from artifactkit.server.auth import Principal
from artifactkit.server.context import UrlSigner
from artifactkit.server.embedded import EmbeddedEmulator
from artifactkit.server.pagination import Connection, page_statement
from artifactkit.server.records import create_collection, ensure_project, ensure_type
from artifactkit.server.store import Store, utcnow

VERSIONS = 300

PAGE = """
query Page($cursor: String, $first: Int) {
  project(entityName: "local", name: "p") {
    artifactCollection(name: "many") {
      artifacts(after: $cursor, first: $first, filters: "{\\"state\\": \\"COMMITTED\\"}") {
        totalCount
        pageInfo { endCursor hasNextPage }
        edges { version node { id digest versionIndex createdAt
          aliases { alias artifactCollection { id name project { name entityName } } }
          tags { name } artifactType { name } artifactSequence { id name } } }
      }
    }
  }
}
"""


def _add_versions(store: Store, sequence_id: int, type_id: int, count: int) -> None:
    with store.write():
        for _ in range(count):
            now = utcnow()
            artifact_id = store.create_pending_artifact(
                {"sequence_id": sequence_id, "type_id": type_id, "digest": "0" * 32, "pending_aliases": "[]"}
            )
            store.add_membership(sequence_id, artifact_id, now)
            store.mark_committed(artifact_id, 1, 1, "V2", now)
            store.point_alias(sequence_id, artifact_id, "latest")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedEmulator, int, int]]:
    emulator = EmbeddedEmulator(Path(tmp_path_factory.mktemp("store")))
    store = emulator.store
    with store.write():
        project = ensure_project(store, "local", "p")
        type_row = ensure_type(store, project["id"], "dataset")
        sequence = create_collection(store, project["id"], type_row["id"], "SEQUENCE", "many", None)
    _add_versions(store, sequence["id"], type_row["id"], VERSIONS)
    yield emulator, int(sequence["id"]), int(type_row["id"])


def _execute(emulator: EmbeddedEmulator, **variables: Any) -> dict[str, Any]:
    user = emulator.store.one("SELECT * FROM users WHERE username = ?", (emulator.user,))
    route = emulator.emulator.graphql
    outcome = route.execute(PAGE, variables, None, Principal(user, "write"), True, UrlSigner("http://test", b"k" * 32))
    assert outcome is not None
    status, answer = outcome
    assert status == 200, answer
    data: dict[str, Any] = answer["data"]["project"]["artifactCollection"]["artifacts"]
    return data


def test_a_page_deep_into_a_listing_is_an_index_range(seeded: tuple[EmbeddedEmulator, int, int]) -> None:
    emulator, sequence_id, _ = seeded
    store = emulator.store
    query = listings.versions("collection", sequence_id, filters='{"state": "COMMITTED"}')
    first = Connection(store, query, lambda row: row, first=200)
    sql, params = page_statement(query, first.page_info()["endCursor"], 51)

    plan = " / ".join(str(row["detail"]) for row in store.all("EXPLAIN QUERY PLAN " + sql, params))
    assert "TEMP B-TREE" not in plan  # no sort of the 200 rows before the cursor
    assert [row["m_version_index"] for row in store.all(sql, params)] == list(range(VERSIONS - 201, VERSIONS - 252, -1))


def test_a_page_costs_the_same_statements_whatever_its_size(seeded: tuple[EmbeddedEmulator, int, int]) -> None:
    emulator, _, _ = seeded
    _execute(emulator, first=1)  # the listing's count is now known (and reused: nothing was written since)
    statements: list[str] = []
    emulator.store.conn.set_trace_callback(statements.append)
    try:
        counts = []
        for first in (5, 50):
            statements.clear()
            page = _execute(emulator, first=first)
            assert len(page["edges"]) == first
            counts.append(len(statements))
    finally:
        emulator.store.conn.set_trace_callback(None)
    # The project, the collection, the page, then memberships, aliases, tags, types and collections
    # (one query each for the whole page), and the check that the count is still current.
    assert counts[0] == counts[1] <= 12


def test_the_batched_fields_match_each_version(seeded: tuple[EmbeddedEmulator, int, int]) -> None:
    emulator, _, _ = seeded
    page = _execute(emulator, first=3)
    newest, *older = page["edges"]
    assert newest["version"] == f"v{VERSIONS - 1}"
    assert newest["node"]["versionIndex"] == VERSIONS - 1
    assert [a["alias"] for a in newest["node"]["aliases"]] == [f"v{VERSIONS - 1}", "latest"]
    assert {a["artifactCollection"]["name"] for a in newest["node"]["aliases"]} == {"many"}
    for edge in older:
        assert [a["alias"] for a in edge["node"]["aliases"]] == [edge["version"]]
        assert edge["node"]["versionIndex"] == int(edge["version"][1:])
        assert edge["node"]["artifactType"] == {"name": "dataset"}
        assert edge["node"]["artifactSequence"]["name"] == "many"


def test_total_count_follows_writes_from_any_connection(tmp_path: Path) -> None:
    emulator = EmbeddedEmulator(tmp_path)
    store = emulator.store
    with store.write():
        project = ensure_project(store, "local", "p")
        type_row = ensure_type(store, project["id"], "dataset")
        sequence = create_collection(store, project["id"], type_row["id"], "SEQUENCE", "many", None)
    assert _execute(emulator, first=1)["totalCount"] == 0

    _add_versions(store, sequence["id"], type_row["id"], 2)  # this thread's connection
    assert _execute(emulator, first=1)["totalCount"] == 2

    writer = threading.Thread(target=_add_versions, args=(store, sequence["id"], type_row["id"], 3))
    writer.start()  # another thread: another connection
    writer.join()
    assert _execute(emulator, first=1)["totalCount"] == 5


def _run(emulator: EmbeddedEmulator, query: str, inline: bool, **variables: Any) -> tuple[int, dict[str, Any]] | None:
    user = emulator.store.one("SELECT * FROM users WHERE username = ?", (emulator.user,))
    return emulator.emulator.graphql.execute(
        query, variables, None, Principal(user, "write"), True, UrlSigner("http://test", b"k" * 32), inline=inline
    )


def test_a_checked_query_runs_on_the_event_loop_with_the_same_answer(
    seeded: tuple[EmbeddedEmulator, int, int],
) -> None:
    emulator, _, _ = seeded
    fresh = PAGE + " "  # a text never checked: it is not run on the loop (parsing stays off it)
    assert _run(emulator, fresh, inline=True, first=50) is None
    in_thread = _run(emulator, fresh, inline=False, first=50)
    on_loop = _run(emulator, fresh, inline=True, first=50)
    assert in_thread is not None and in_thread[0] == 200
    assert on_loop == in_thread


def test_a_query_outgrowing_its_slice_of_the_loop_runs_again_in_a_thread(
    seeded: tuple[EmbeddedEmulator, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator, _, _ = seeded
    _execute(emulator, first=50)  # checked and cached
    monkeypatch.setattr(graphql_route, "INLINE_ROWS", 49)
    assert _run(emulator, PAGE, inline=True, first=50) is None
    assert _run(emulator, PAGE, inline=True, first=10) is not None
    monkeypatch.setattr(graphql_route, "INLINE_SECONDS", -1.0)  # every statement is past the slice
    assert _run(emulator, PAGE, inline=True, first=10) is None
    answer = _run(emulator, PAGE, inline=False, first=50)  # the full budgets in a worker thread
    assert answer is not None and answer[0] == 200
    assert len(answer[1]["data"]["project"]["artifactCollection"]["artifacts"]["edges"]) == 50


def test_mutations_never_run_on_the_event_loop(seeded: tuple[EmbeddedEmulator, int, int]) -> None:
    emulator, _, _ = seeded
    mutation = 'mutation M { upsertModel(input: {entityName: "local", name: "p"}) { model { name } } }'
    assert _run(emulator, mutation, inline=False) is not None  # checked (and run) once
    assert _run(emulator, mutation, inline=True) is None
