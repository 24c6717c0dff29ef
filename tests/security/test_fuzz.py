"""Fuzz the emulator over HTTP: documents, variables, headers, cursors and filters, valid or not.

Every answer must be a non-5xx with a JSON body (a GraphQL error body when it is a 4xx), on a
connection the server keeps, and the server must answer normally afterwards. CI runs a few
hundred examples; `make soak` (ARTIFACTKIT_SOAK=1) runs 10,000.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from artifactkit.server.embedded import EmbeddedEmulator
from tests.server.support import VERSIONS, Client, upload

SOAK = bool(os.environ.get("ARTIFACTKIT_SOAK"))
EXAMPLES = 10_000 if SOAK else 150

FIELDS = [
    "viewer",
    "project",
    "serverInfo",
    "artifact",
    "artifactCollection",
    "artifactType",
    "artifactTypes",
    "artifactCollections",
    "artifacts",
    "aliases",
    "edges",
    "node",
    "id",
    "name",
    "username",
    "features",
    "cliVersionInfo",
    "__typename",
    "__schema",
    "__type",
    "types",
    "fields",
    "totalCount",
    "pageInfo",
    "files",
    "currentManifest",
    "file",
    "uploadUrl",
    "nope",
]
ARGUMENT_NAMES = ["name", "entityName", "id", "first", "after", "filters", "order", "projectName", "names"]

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=8), inner, max_size=5)),
    max_leaves=20,
)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else "1.5"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))


@st.composite
def selection_sets(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["field", "field", "field", "spread", "inline"]))
        if kind == "spread":
            parts.append(f"...F{draw(st.integers(0, 2))}")
            continue
        if kind == "inline":
            inner = draw(selection_sets(depth + 1)) if depth < 4 else "{ __typename }"
            parts.append(f"... on {draw(st.sampled_from(['Query', 'Project', 'Artifact', 'User']))} {inner}")
            continue
        field = draw(st.sampled_from(FIELDS))
        alias = f"a{draw(st.integers(0, 99))}: " if draw(st.booleans()) else ""
        args = ""
        if draw(st.booleans()):
            names = draw(st.lists(st.sampled_from(ARGUMENT_NAMES), max_size=3, unique=True))
            values = [
                draw(st.one_of(st.builds(_literal, json_scalars), st.sampled_from(["$v", "$id", "[1, 2]", "{a: 1}"])))
                for _ in names
            ]
            args = "(" + ", ".join(f"{n}: {v}" for n, v in zip(names, values, strict=True)) + ")"
        sub = f" {draw(selection_sets(depth + 1))}" if depth < 5 and draw(st.booleans()) else ""
        parts.append(f"{alias}{field}{args}{sub}")
    return "{ " + " ".join(parts) + " }"


@st.composite
def documents(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=200))  # anything at all
    operation = draw(st.sampled_from(["query", "mutation", "subscription", ""]))
    head = (
        f"{operation} Q($v: {draw(st.sampled_from(['String', 'Int', 'ID!', 'JSONString', '[String]']))}) "
        if operation
        else ""
    )
    body = head + draw(selection_sets())
    for i in range(draw(st.integers(0, 3))):
        on = draw(st.sampled_from(["Query", "Project", "Artifact", "Nope"]))
        body += f"\nfragment F{i} on {on} {draw(selection_sets(3))}"
    return body


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


cursors = st.one_of(
    st.text(max_size=40),
    st.builds(lambda v: _b64(json.dumps(v).encode()), json_values),
    st.builds(_b64, st.binary(max_size=40)),
)
FILTER_KEYS = [
    "$and",
    "$or",
    "$nor",
    "$not",
    "state",
    "versionIndex",
    "alias",
    "tags",
    "metadata.a.b",
    "createdAt",
    "description",
    "size",
    "digest",
    "nope",
    "metadata.",
    "metadata..",
    "metadata.a..b",
    "metadata.a.b.",
    "metadata.a.b.c",
    "config.a..b",
    "config..",
    "summary_metrics.a.",
    "config.a.value.b",
    "$eq",
]
OPERATORS = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$regex", "$bad"]
filter_docs = st.recursive(
    st.dictionaries(
        st.sampled_from(FILTER_KEYS),
        st.one_of(json_scalars, st.dictionaries(st.sampled_from(OPERATORS), json_values, max_size=3)),
        max_size=3,
    ),
    lambda inner: st.one_of(
        st.dictionaries(st.sampled_from(["$and", "$or", "$nor"]), st.lists(inner, max_size=3), max_size=2),
        st.builds(lambda d: {"$not": d}, inner),
    ),
    max_leaves=12,
)
filters = st.one_of(st.builds(json.dumps, filter_docs), st.text(max_size=30), st.builds(json.dumps, json_values))


ORDER_TERMS = ["createdAt", "created_at", "size", "versionIndex", "updatedAt", "heartbeatAt", "name", "nope", ""]


def _order(terms: list[str], signs: list[str], repeat: int) -> str:
    """Signed terms, then the first term `repeat` more times (2,000: more columns than SQLite takes)."""
    return ",".join([sign + term for sign, term in zip(signs, terms, strict=False)] + [terms[0]] * repeat)


orders = st.one_of(
    st.text(max_size=20),
    st.builds(
        _order,
        st.lists(st.sampled_from(ORDER_TERMS), min_size=1, max_size=5),
        st.lists(st.sampled_from(["", "+", "-", "--", "+-"]), min_size=5, max_size=5),
        st.sampled_from([0, 0, 1, 2000]),
    ),
)
RUNS = """
query($filters: JSONString, $order: String, $after: String, $first: Int) {
  project(entityName: "local", name: "fuzz") {
    runs(filters: $filters, order: $order, after: $after, first: $first) { edges { cursor node { name } } }
  }
}
"""


@st.composite
def auth_headers(draw: st.DrawFn, key: str) -> dict[str, str]:
    choice = draw(st.integers(0, 5))
    if choice == 0:
        return {}
    if choice == 1:
        return {"Authorization": "Basic " + base64.b64encode(f"api:{key}".encode()).decode()}
    if choice == 2:
        return {"Authorization": "Basic " + base64.b64encode(draw(st.binary(max_size=60))).decode()}
    if choice == 3:
        printable = st.characters(min_codepoint=33, max_codepoint=126)
        return {"Authorization": f"Bearer {draw(st.text(alphabet=printable, max_size=60))}"}
    if choice == 4:
        return {
            "Authorization": draw(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60))
        }
    return {"Authorization": f"Bearer {key}", "Content-Type": draw(st.sampled_from(["text/plain", "application/json"]))}


@st.composite
def requests(draw: st.DrawFn, key: str) -> tuple[str, str, bytes, dict[str, str]]:
    """(method, path, body, headers) of one request."""
    headers = draw(auth_headers(key))
    kind = draw(st.sampled_from(["document", "document", "listing", "listing", "raw", "route"]))
    if kind == "document":
        payload: Any = {"query": draw(documents())}
        if draw(st.booleans()):
            payload["variables"] = draw(
                st.one_of(st.dictionaries(st.sampled_from(["v", "id", "x"]), json_values), json_values)
            )
        if draw(st.booleans()):
            payload["operationName"] = draw(st.one_of(st.none(), st.sampled_from(["Q", "Nope", ""]), json_scalars))
        return "POST", "/graphql", json.dumps(payload).encode(), headers
    if kind == "listing":
        query = draw(st.sampled_from([VERSIONS, RUNS]))
        variables = {"entity": "local", "project": "fuzz", "name": "seq"} if query == VERSIONS else {}
        if draw(st.booleans()):
            variables["after"] = draw(cursors)
        if draw(st.booleans()):
            variables["filters"] = draw(filters)
        if draw(st.booleans()):
            variables["order"] = draw(orders)
        if draw(st.booleans()):
            variables["first"] = draw(st.integers(min_value=-(2**40), max_value=2**40))
        return "POST", "/graphql", json.dumps({"query": query, "variables": variables}).encode(), headers
    if kind == "raw":
        return "POST", "/graphql", draw(st.binary(max_size=300)), headers
    method = draw(st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD"]))
    path = draw(
        st.sampled_from(
            [
                "/storage/blobs/" + "0" * 32,
                "/storage/upload/" + "0" * 32,
                "/storage/manifests/1",
                "/artifactsV2/default/local/QXJ0aWZhY3Q6MQ==/" + "0" * 32,
                "/files/local/fuzz/run/file_stream",
                "/_emulator/stats",
                "/_emulator/faults",
                "/nope",
            ]
        )
    )
    query = ""
    if draw(st.booleans()):
        query = "?" + urlencode({"exp": draw(st.text(max_size=12)), "sig": draw(st.text(max_size=12))})
    return method, path + query, draw(st.binary(max_size=200)), headers


@pytest.fixture(scope="module")
def fuzzed(emu: EmbeddedEmulator) -> Iterator[tuple[EmbeddedEmulator, httpx.Client]]:
    nested = {"a": {"b": {"c": 1}}, "x": [1, {"y": 2}]}  # JSON paths are walked only into values that exist
    with Client(emu) as writer:
        upload(writer, "local/fuzz", "seq", {"a": b"1"}, aliases=["best"], metadata=nested, run="r1")
        upload(writer, "local/fuzz", "seq", {"a": b"2"}, metadata=nested)
        writer.data(
            'mutation($c: JSONString) { upsertBucket(input: {entityName: "local", modelName: "fuzz", '
            'name: "r1", config: $c, summaryMetrics: $c}) { bucket { name } } }',
            c=json.dumps({"a": {"value": {"b": 1}}, "x": {"value": nested}}),
        )
    with httpx.Client(base_url=emu.url, timeout=30) as http:
        yield emu, http
    # Afterwards the server still answers, and normally.
    assert httpx.get(f"{emu.url}/health", timeout=10).status_code == 200
    with Client(emu) as after:
        assert after.data("{ viewer { username } }") == {"viewer": {"username": emu.user}}


def test_no_request_gets_a_5xx(fuzzed: tuple[EmbeddedEmulator, httpx.Client]) -> None:
    emu, http = fuzzed

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not SOAK,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(request=requests(emu.api_key))
    def check(request: tuple[str, str, bytes, dict[str, str]]) -> None:
        method, path, body, raw_headers = request
        headers = {k: v.strip() for k, v in raw_headers.items() if v.strip()}  # what HTTP can carry
        # The fault plan may be changed by a fuzzed PUT with the admin key: keep it off.
        response = http.request(method, path, content=body, headers=headers)
        assert response.status_code < 500, (method, path, body[:300], headers, response.text[:500])
        if response.status_code >= 400 and method != "HEAD":
            assert response.json()["errors"][0]["message"], response.text[:300]
        if path.startswith("/_emulator/faults") and method == "PUT":
            http.put("/_emulator/faults", json={"rate": 0}, headers={"Authorization": f"Bearer {emu.api_key}"})

    check()
