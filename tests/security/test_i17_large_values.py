"""Issue 17, own issue of findings 5/6: large stored values must not hold the event loop.

Before: stored values were bounded only by the 8 MiB body and answers only in rows. After a write
key stored 50 versions with 4 MB of metadata each, one page of them (read key) held the event loop
0.6-1.1 s: the rows were converted and the 200 MB answer encoded in one orjson call, which holds
the GIL wherever it runs; a filter over them held it 150-500 ms, the slice being looked at every
10,000 SQLite steps. Now:

* a mutation stores at most `max_metadata_chars` of metadata (100 top-level keys), a run's config
  and summary `max_run_json_chars` each, any other text `max_text_chars`, tags in lists of
  `max_tags_per_list` (a run's tag `max_run_tag_chars`): refused with 400 before anything changes;
* a request reads at most `max_answer_chars` of stored text and answers at most as much (counted
  as the rows arrive and as the answer is built): past either, 400 `ANSWER_TOO_LARGE` asking for
  smaller pages, at once;
* on the event loop a request may read and answer 1 Mi characters (`INLINE_TEXT`), and its slice is
  looked at every 100 SQLite instructions; past either it runs again in a worker thread;
* an answer larger than a piece is encoded and sent in pieces (`answers.PIECE_CHARS`).

Values stored before the caps existed still read, within the budget.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from artifactkit.server import graphql_route, limits
from artifactkit.server.answers import PIECE_CHARS, encode, pieces
from artifactkit.server.auth import Principal
from artifactkit.server.context import UrlSigner
from artifactkit.server.embedded import EmbeddedEmulator
from artifactkit.server.settings import Settings
from tests.security.support import TIMEOUT
from tests.server.support import Client, upload

MIB = 1024 * 1024
DEFAULTS = Settings(data_dir=Path("unused"))

UPDATE_ARTIFACT = (
    "mutation($input: UpdateArtifactInput!) { updateArtifact(input: $input) { artifact { id description } } }"
)
UPSERT_BUCKET = "mutation($input: UpsertBucketInput!) { upsertBucket(input: $input) { bucket { id name } } }"
VERSION = """query($id: ID!) { artifact(id: $id) { description metadata tags { name attributes } } }"""
RUN = """query { project(entityName: "local", name: "caps") { run(name: "r") { config summaryMetrics notes tags } } }"""


def json_text(size: int) -> str:
    """A JSON object whose text is exactly `size` characters."""
    text = json.dumps({"v": "x" * (size - len('{"v": ""}'))})
    assert len(text) == size
    return text


def measure(value: Any) -> int:
    """An answer's size as the budget counts it: every object and list adds 8 per value it holds
    and the characters of its text values (written out here independently of the executor)."""
    if isinstance(value, dict):
        return sum(8 + (len(v) if isinstance(v, str) else measure(v)) for v in value.values())
    if isinstance(value, list):
        return sum(8 + (len(v) if isinstance(v, str) else measure(v)) for v in value)
    return 0


@pytest.fixture(scope="module")
def version(emu: EmbeddedEmulator) -> Iterator[tuple[Client, str]]:
    with Client(emu) as client:
        created = upload(client, "local/caps", "capped", {"f": b"1"}, metadata={"kept": True})
        assert client.data(UPSERT_BUCKET, input={"entityName": "local", "modelName": "caps", "name": "r"})
        yield client, created["id"]


# --------------------------------------------------------------------------- caps at write time


def _stored(client: Client, artifact_id: str) -> dict[str, Any]:
    return {
        "version": client.data(VERSION, id=artifact_id)["artifact"],
        "run": client.data(RUN)["project"]["run"],
    }


CAPS: list[tuple[str, Any]] = [
    # (case, builds (mutation, input) from the value of the capped size)
    ("metadata", lambda aid, n: (UPDATE_ARTIFACT, {"artifactID": aid, "metadata": json_text(n)})),
    ("description", lambda aid, n: (UPDATE_ARTIFACT, {"artifactID": aid, "description": "d" * n})),
    (
        "tag attributes",
        lambda aid, n: (
            UPDATE_ARTIFACT,
            {"artifactID": aid, "tagsToAdd": [{"tagName": f"t{n}", "attributes": json_text(n)}]},
        ),
    ),
    (
        "config",
        lambda aid, n: (
            UPSERT_BUCKET,
            {"entityName": "local", "modelName": "caps", "name": "r", "config": json_text(n)},
        ),
    ),
    (
        "summaryMetrics",
        lambda aid, n: (
            UPSERT_BUCKET,
            {"entityName": "local", "modelName": "caps", "name": "r", "summaryMetrics": json_text(n)},
        ),
    ),
    (
        "notes",
        lambda aid, n: (UPSERT_BUCKET, {"entityName": "local", "modelName": "caps", "name": "r", "notes": "n" * n}),
    ),
    (
        "run tag",
        lambda aid, n: (UPSERT_BUCKET, {"entityName": "local", "modelName": "caps", "name": "r", "tags": ["g" * n]}),
    ),
    (
        "run tags",
        lambda aid, n: (
            UPSERT_BUCKET,
            {"entityName": "local", "modelName": "caps", "name": "r", "tags": [f"t{i}" for i in range(n)]},
        ),
    ),
]
LIMITS = {
    "metadata": (
        DEFAULTS.max_metadata_chars,
        "`metadata` holds {n:,} characters; at most {cap:,} may be stored; keep large data in the version's files",
    ),
    "description": (
        DEFAULTS.max_text_chars,
        "the text value `description` holds {n:,} characters; at most {cap:,} may be stored",
    ),
    "tag attributes": (
        DEFAULTS.max_text_chars,
        "the text value `attributes` holds {n:,} characters; at most {cap:,} may be stored",
    ),
    "config": (DEFAULTS.max_run_json_chars, "`config` holds {n:,} characters; at most {cap:,} may be stored"),
    "summaryMetrics": (
        DEFAULTS.max_run_json_chars,
        "`summaryMetrics` holds {n:,} characters; at most {cap:,} may be stored",
    ),
    "notes": (DEFAULTS.max_text_chars, "the text value `notes` holds {n:,} characters; at most {cap:,} may be stored"),
    "run tag": (
        DEFAULTS.max_run_tag_chars,
        "a run's tag may hold at most {cap} characters, not {n:,}: 'gggggggggggggggggggggggggggggggggggggggg'...",
    ),
    "run tags": (DEFAULTS.max_tags_per_list, "`tags` lists {n:,} tags; at most {cap:,} may be sent at once"),
}


@pytest.mark.parametrize(("case", "build"), CAPS, ids=[case for case, _ in CAPS])
def test_a_stored_value_at_its_cap_is_kept_and_one_past_it_refused_with_nothing_changed(
    version: tuple[Client, str], case: str, build: Any
) -> None:
    client, artifact_id = version
    cap, message = LIMITS[case]
    mutation, accepted_input = build(artifact_id, cap)
    accepted = client.post(mutation, {"input": accepted_input})
    assert accepted.status_code == 200 and "errors" not in accepted.json(), accepted.text[:300]
    before = _stored(client, artifact_id)
    mutation, refused_input = build(artifact_id, cap + 1)
    status, errors = client.error(mutation, input=refused_input)
    assert status == 400
    assert errors[0]["message"] == message.format(n=cap + 1, cap=cap)
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert _stored(client, artifact_id) == before  # nothing of the refused mutation was stored


def test_a_version_may_have_100_top_level_metadata_keys_as_w_b_documents(version: tuple[Client, str]) -> None:
    client, artifact_id = version
    keys = DEFAULTS.max_metadata_keys
    assert keys == 100  # wandb's Artifact docs: "no more than 100 total keys"
    nested = {f"k{i}": {"deep": list(range(3))} for i in range(keys)}  # only the top level counts
    client.data(UPDATE_ARTIFACT, input={"artifactID": artifact_id, "metadata": json.dumps(nested)})
    status, errors = client.error(
        UPDATE_ARTIFACT, input={"artifactID": artifact_id, "metadata": json.dumps({**nested, "one-more": 1})}
    )
    assert status == 400
    assert errors[0]["message"] == "`metadata` has 101 top-level keys; a version may have at most 100"
    assert json.loads(client.data(VERSION, id=artifact_id)["artifact"]["metadata"]) == nested


def test_a_new_version_s_metadata_is_capped_too(emu: EmbeddedEmulator) -> None:
    with Client(emu) as client:
        status, errors = client.error(
            "mutation($input: CreateArtifactInput!) { createArtifact(input: $input) { artifact { id } } }",
            input={
                "entityName": "local",
                "projectName": "caps",
                "artifactTypeName": "dataset",
                "artifactCollectionName": "too-big",
                "digest": "0" * 32,
                "digestAlgorithm": "MANIFEST_MD5",
                "metadata": json_text(DEFAULTS.max_metadata_chars + 1),
            },
        )
        assert status == 400 and errors[0]["message"].startswith("`metadata` holds 1,048,577 characters")
        assert client.data(
            '{ project(entityName: "local", name: "caps") { artifactCollection(name: "too-big") { id } } }'
        ) == {"project": {"artifactCollection": None}}


# --------------------------------------------------------------------------- old data, budgets


@pytest.fixture(scope="module")
def old_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedEmulator, list[str]]]:
    """A data directory written before the caps existed (caps lifted to write it), served with the defaults."""
    data = tmp_path_factory.mktemp("old-data")
    ids = []
    lifted = {"max_metadata_chars": 1 << 30, "max_text_chars": 1 << 30}
    with EmbeddedEmulator(data, **lifted) as before, Client(before) as client:
        for i in range(20):
            metadata = {"v": "m" * 4_000_000, "k": i}
            created = upload(client, "local/old", "big", {"f": str(i).encode()}, metadata=metadata)
            client.data(UPDATE_ARTIFACT, input={"artifactID": created["id"], "description": "d" * 200_000})
            ids.append(created["id"])
    with EmbeddedEmulator(data) as emu:
        yield emu, ids


PAGE = """query($first: Int) { project(entityName: "local", name: "old") { artifactCollection(name: "big") {
  artifacts(first: $first) { edges { node { id description metadata } } } } } }"""


def test_values_stored_before_the_caps_still_read_and_their_versions_still_change(
    old_data: tuple[EmbeddedEmulator, list[str]],
) -> None:
    emu, ids = old_data
    with Client(emu) as client:
        version = client.data(VERSION, id=ids[3])["artifact"]
        assert json.loads(version["metadata"]) == {"v": "m" * 4_000_000, "k": 3}
        assert version["description"] == "d" * 200_000
        # Changing something else of such a version is no attempt to store the old value again.
        client.data(UPDATE_ARTIFACT, input={"artifactID": ids[3], "tagsToAdd": [{"tagName": "kept"}]})
        status, errors = client.error(UPDATE_ARTIFACT, input={"artifactID": ids[3], "metadata": version["metadata"]})
        assert status == 400
        assert errors[0]["message"].startswith(f"`metadata` holds {len(version['metadata']):,} characters")


def test_a_page_past_the_text_budget_is_refused_at_once_and_a_smaller_page_answered(
    old_data: tuple[EmbeddedEmulator, list[str]],
) -> None:
    """Before: 200 with every value (a 200 MB answer for 50 such versions), the loop held ~0.6-1.1 s."""
    emu, _ = old_data
    budget = DEFAULTS.max_answer_chars
    with Client(emu) as client:
        # 15 versions (16 rows read: the page looks one past) of 4.2 M characters: 67 M > 64 Mi
        status, errors = client.error(PAGE, first=15)
        assert status == 400
        assert errors == [
            {
                "message": f"the request reads more than {budget:,} characters of stored values (large metadata, "
                "descriptions or configs); ask for smaller pages (`first:`)",
                "extensions": {"code": "ANSWER_TOO_LARGE"},
            }
        ]
        edges = client.data(PAGE, first=12)["project"]["artifactCollection"]["artifacts"]["edges"]
        found = [json.loads(e["node"]["metadata"]) for e in edges]
        assert len(found) == 12 and all(value["v"] == "m" * 4_000_000 for value in found)
    assert httpx.get(f"{emu.url}/health", timeout=TIMEOUT).status_code == 200


def test_copies_of_one_large_value_count_each_time_they_are_answered(
    old_data: tuple[EmbeddedEmulator, list[str]],
) -> None:
    """One stored value of 4 MB, asked for under 20 aliases: 80 MB of answer from one row read."""
    emu, ids = old_data
    fields = " ".join(f"m{i}: metadata" for i in range(20))
    with Client(emu) as client:
        status, errors = client.error(f"query($id: ID!) {{ artifact(id: $id) {{ {fields} }} }}", id=ids[0])
        assert status == 400
        assert errors[0]["message"] == (
            f"the answer would hold more than {DEFAULTS.max_answer_chars:,} characters; ask for smaller pages "
            "(`first:`), fewer fields or fewer aliases"
        )
        assert errors[0]["extensions"]["code"] == "ANSWER_TOO_LARGE"


SHARED = """query($first: Int) { project(entityName: "local", name: "caps") { artifactCollection(name: "shared") {
  artifacts(first: $first) { edges { cursor node { id a: metadata b: metadata description
    artifactSequence { name description } aliases { alias } } } } } } }"""


def test_an_answer_at_the_budget_is_answered_and_one_past_it_refused(
    emu: EmbeddedEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exactly at `max_answer_chars` (as `measure` counts, with the sequence every version shares
    counted each time it appears) it is answered; one less and it is refused."""
    with Client(emu) as client:
        for i in range(3):
            upload(client, "local/caps", "shared", {"f": str(i).encode()}, metadata={"v": "s" * 50_000, "i": i})
        sequence = client.data(
            '{ project(entityName: "local", name: "caps") { artifactCollection(name: "shared") { id } } }'
        )["project"]["artifactCollection"]["id"]
        client.data(
            "mutation($input: UpdateArtifactSequenceInput!) { updateArtifactSequence(input: $input) { __typename } }",
            input={"artifactSequenceID": sequence, "description": "q" * 40_000},
        )
        data = client.data(SHARED, first=3)
        size = measure(data)
        assert size > 3 * (2 * 50_000 + 40_000)  # the shared description counted per version
        settings = emu.emulator.settings
        monkeypatch.setattr(emu.emulator, "settings", dataclasses.replace(settings, max_answer_chars=size))
        assert client.data(SHARED, first=3) == data
        monkeypatch.setattr(emu.emulator, "settings", dataclasses.replace(settings, max_answer_chars=size - 1))
        status, errors = client.error(SHARED, first=3)
        assert status == 400 and errors[0]["extensions"]["code"] == "ANSWER_TOO_LARGE"
        assert errors[0]["message"].startswith(f"the answer would hold more than {size - 1:,} characters")


def test_rows_are_counted_as_they_arrive_to_the_character() -> None:
    """A statement reading exactly the budget is answered; one character less, and it stops at that
    row. Text a client writes freely is counted (`limits.LARGE_COLUMNS`), names are not."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (metadata TEXT, attributes BLOB, c INTEGER, name TEXT)")
    rows = [("x" * 1000, b"y" * 500, i, "n" * 100) for i in range(10)]
    conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
    per_row = 1000 + 500 + 4 * limits.VALUE_OVERHEAD  # `name` is not one of the LARGE_COLUMNS
    budget = limits.TimeBudget()
    for allowance, fails in ((10 * per_row, False), (10 * per_row - 1, True)):
        budget.start(conn, 60.0, text=allowance)
        try:
            if fails:
                with pytest.raises(limits.TooMuchText, match="reads more than"):
                    conn.execute("SELECT * FROM t").fetchall()
            else:
                assert len(conn.execute("SELECT * FROM t").fetchall()) == 10
        finally:
            budget.stop()
    assert conn.row_factory is sqlite3.Row  # outside a request, rows are plain again


# --------------------------------------------------------------------------- the event loop


def _execute(emu: EmbeddedEmulator, query: str, variables: dict[str, Any], *, inline: bool) -> Any:
    user = emu.store.one("SELECT * FROM users WHERE username = ?", (emu.user,))
    return emu.emulator.graphql.execute(
        query, variables, None, Principal(user, "read"), True, UrlSigner("http://t", b"k" * 32), inline=inline
    )


def test_a_page_of_large_values_runs_in_a_worker_thread_not_on_the_event_loop(
    old_data: tuple[EmbeddedEmulator, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: any cached query under 20 ms of SQLite CPU and 1,000 rows ran on the loop, however
    many megabytes its rows held; converting and encoding them is Python's work, not SQLite's."""
    emu, _ = old_data
    monkeypatch.setattr(graphql_route, "INLINE_SECONDS", 3600.0)  # only the text decides here
    assert _execute(emu, PAGE, {"first": 1}, inline=False)[0] == 200  # checked and cached
    assert _execute(emu, PAGE, {"first": 1}, inline=True) is None  # 2 rows of 4.2 M characters
    small = """query { project(entityName: "local", name: "old") { artifactCollection(name: "big") {
      artifacts(first: 1) { edges { node { id } } } } } }"""
    assert _execute(emu, small, {}, inline=False)[0] == 200
    assert _execute(emu, small, {}, inline=True) is None  # the rows are read whole, selected or not
    tiny = '{ project(entityName: "local", name: "old") { name } }'
    assert _execute(emu, tiny, {}, inline=False)[0] == 200
    assert _execute(emu, tiny, {}, inline=True)[0] == 200


def test_a_filter_on_metadata_keys_never_runs_on_the_event_loop(
    old_data: tuple[EmbeddedEmulator, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filter parsing every version's 4 MB of metadata, and matching none, reads no row: SQLite's
    progress handler, looking every 10,000 instructions, saw the whole scan as one slice and let
    it run on the loop (150-500 ms held). A JSON path costs what the values hold, so such a filter
    goes to a worker thread before its statement starts, however short the slice looks."""
    emu, _ = old_data
    monkeypatch.setattr(graphql_route, "INLINE_SECONDS", 3600.0)
    query = """query($f: JSONString) { project(entityName: "local", name: "old") { artifactCollection(name: "big") {
      artifacts(first: 5, filters: $f) { edges { node { id } } } } } }"""
    for filters in ({"metadata.k": -1}, {"$or": [{"state": "COMMITTED"}, {"metadata.v": {"$exists": False}}]}):
        variables = {"f": json.dumps(filters)}
        assert _execute(emu, query, variables, inline=False)[0] == 200  # checked and cached
        assert _execute(emu, query, variables, inline=True) is None
    plain = {"f": json.dumps({"state": "COMMITTED"})}
    assert _execute(emu, query, plain, inline=False)[0] == 200
    assert _execute(emu, query, plain, inline=True) is None  # 6 rows of 4 MB: the rows' text decides
    light = {"f": json.dumps({"state": "PENDING"})}
    assert _execute(emu, query, light, inline=False)[0] == 200
    assert _execute(emu, query, light, inline=True)[0] == 200  # no JSON path, no rows: on the loop


def test_a_large_answer_is_encoded_in_pieces_and_arrives_whole(
    old_data: tuple[EmbeddedEmulator, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: one orjson call encoded the whole answer (50 MB here), holding the GIL throughout."""
    emu, _ = old_data
    largest = [0]
    dumps = orjson.dumps

    def recording(value: Any, *args: Any, **kwargs: Any) -> bytes:
        encoded = dumps(value, *args, **kwargs)
        largest[0] = max(largest[0], len(encoded))
        return encoded

    monkeypatch.setattr(orjson, "dumps", recording)
    response = httpx.post(
        f"{emu.url}/graphql",
        json={"query": PAGE, "variables": {"first": 12}},
        auth=("api", emu.api_key),
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content) > 50_000_000
    edges = response.json()["data"]["project"]["artifactCollection"]["artifacts"]["edges"]
    assert len({json.loads(e["node"]["metadata"])["k"] for e in edges}) == 12
    assert 0 < largest[0] <= PIECE_CHARS + 64, largest[0]  # no orjson call encoded more than a piece


DOCUMENTS: list[Any] = [
    {"data": None},
    {"a": "x" * (3 * PIECE_CHARS + 5), "b": [1, 2.5, None, True, 'é\u2028\x00"\\'], "c": {}},
    [{"k": "\x01" * PIECE_CHARS}, [], [["y" * PIECE_CHARS] * 3]],
    {"nested": {"deeper": [{"v": "w" * 1000, "n": i} for i in range(2000)]}},
    "z" * (2 * PIECE_CHARS),
]


@pytest.mark.parametrize("document", DOCUMENTS, ids=["small", "long-string", "escapes", "many-objects", "string"])
def test_pieces_join_to_exactly_what_one_call_encodes(document: Any) -> None:
    shared = {"s": "v" * (PIECE_CHARS // 2)}  # one object appearing twice (the executor reuses completions)
    for value in (document, {"twice": [shared, shared], "doc": document}):
        parts = list(pieces(value))
        assert b"".join(parts) == orjson.dumps(value)
        assert all(len(part) <= 8 * PIECE_CHARS for part in parts)
    assert encode({"a": 1}, 10) == b'{"a":1}'
