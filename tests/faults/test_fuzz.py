"""Fuzzing: whatever users or clients send, the answer is a typed error or a 4xx, never a crash.

SDK side: arbitrary names, paths, aliases and filters given to the SDK raise only
`ArtifactkitError`s (or succeed). Server side: arbitrary GraphQL documents and variables get 2xx
or 4xx JSON answers from the emulator, never a 500.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from artifactkit import Api, errors
from artifactkit.server.embedded import EmbeddedEmulator
from tests.faults.conftest import SOAK

EXAMPLES = 1500 if SOAK else 120
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

segment = st.one_of(
    st.from_regex(r"[A-Za-z0-9_.\-]{0,12}", fullmatch=True),
    st.text(max_size=12),
    st.sampled_from(["..", ".", "latest", "v0", "v999999999999999999999", ":", "%2e%2e", "a b", "é", "\x00"]),
)
paths = st.lists(segment, min_size=0, max_size=5).map("/".join) | st.text(max_size=80)
artifact_paths = st.tuples(paths, st.one_of(st.none(), segment)).map(
    lambda p: p[0] if p[1] is None else f"{p[0]}:{p[1]}"
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
filter_keys = st.sampled_from(
    [
        "state",
        "versionIndex",
        "createdAt",
        "alias",
        "tag",
        "metadata.x",
        "metadata.a.b",
        "$and",
        "$or",
        "$not",
        "$nor",
        "$regex",
        "nope",
        "metadata.",
        "metadata.'; DROP TABLE artifacts; --",
        "$gt",
    ]
) | st.text(max_size=10)
filters = st.dictionaries(
    filter_keys,
    json_values
    | st.dictionaries(
        st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$regex", "$bogus"]),
        json_values,
        max_size=3,
    ),
    max_size=4,
)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedEmulator, Api]]:
    root = tmp_path_factory.mktemp("fuzz")
    with (
        EmbeddedEmulator(root / "server") as emu,
        Api(api_key=emu.api_key, base_url=emu.url, cache_dir=root / "cache") as api,
    ):
        source = root / "f.txt"
        source.write_text("fuzz")
        api.upload({"f.txt": source}, "local/fuzz/target", "dataset", aliases=["best"])
        yield emu, api


@FUZZ
@given(path=artifact_paths)
def test_any_artifact_path_gives_a_typed_answer(fuzzed: tuple[EmbeddedEmulator, Api], path: str) -> None:
    _, api = fuzzed
    try:
        artifact = api.artifact(path)
    except errors.ArtifactkitError:
        return
    assert artifact.collection_name == "target"


@FUZZ
@given(path=paths, type_name=segment)
def test_any_collection_path_gives_a_typed_answer(
    fuzzed: tuple[EmbeddedEmulator, Api], path: str, type_name: str
) -> None:
    _, api = fuzzed
    try:
        assert isinstance(api.artifact_collection_exists(path, type_name), bool)
        list(api.artifacts(type_name, path, per_page=5))
    except errors.ArtifactkitError:
        pass


@FUZZ
@given(query=filters, order=st.one_of(st.none(), st.text(max_size=15), st.sampled_from(["-createdAt", "versionIndex"])))
def test_any_filter_gives_a_typed_answer(
    fuzzed: tuple[EmbeddedEmulator, Api], query: dict[str, Any], order: str | None
) -> None:
    _, api = fuzzed
    try:
        versions = list(api.artifacts("dataset", "local/fuzz/target", filters=query, order=order))
    except errors.ArtifactkitError:
        return
    assert all(v.collection_name == "target" for v in versions)


@FUZZ
@given(alias=st.text(max_size=140))
def test_any_alias_gives_a_typed_answer(fuzzed: tuple[EmbeddedEmulator, Api], alias: str) -> None:
    _, api = fuzzed
    artifact = api.artifact("local/fuzz/target:v0")
    artifact.aliases = [*artifact.aliases, alias]
    try:
        artifact.save()
    except (errors.ArtifactkitError, errors.InvalidNameError):
        return
    assert alias in api.artifact("local/fuzz/target:v0").aliases


VALID = [
    '{ project(entityName: "local", name: "fuzz") { artifactTypes { edges { node { name } } } } }',
    'query Q($n: String!) { project(entityName: "local", name: "fuzz") { artifactCollectionMembership(name: $n) '
    "{ versionIndex aliases { alias } files { totalCount edges { node { name directUrl } } } } } }",
    "mutation M($i: UpdateArtifactInput!) { updateArtifact(input: $i) { artifact { id description } } }",
    "{ serverInfo { cliVersionInfo features { name isEnabled } } }",
]


@st.composite
def documents(draw: st.DrawFn) -> str:
    base = draw(st.sampled_from(VALID))
    edits = draw(st.lists(st.tuples(st.integers(0, len(base)), st.integers(0, 8), st.text(max_size=6)), max_size=4))
    for position, cut, insert in edits:
        base = base[:position] + insert + base[position + cut :]
    return base


@FUZZ
@given(
    document=documents() | st.text(max_size=200),
    variables=st.dictionaries(st.text(max_size=8), json_values, max_size=4),
    operation=st.one_of(st.none(), st.just(""), st.text(max_size=8)),
)
def test_the_emulator_never_answers_500(
    fuzzed: tuple[EmbeddedEmulator, Api], document: str, variables: dict[str, Any], operation: str | None
) -> None:
    emu, _ = fuzzed
    body = {"query": document, "variables": variables, "operationName": operation}
    response = httpx.post(f"{emu.url}/graphql", json=body, auth=("api", emu.api_key), timeout=30)
    assert response.status_code < 500, response.text
    answer = response.json()
    assert "data" in answer or "errors" in answer


@FUZZ
@given(
    raw=st.binary(max_size=300)
    | st.text(max_size=300).map(str.encode)
    | json_values.map(lambda v: json.dumps(v).encode())
)
def test_the_emulator_never_answers_500_to_a_malformed_body(fuzzed: tuple[EmbeddedEmulator, Api], raw: bytes) -> None:
    emu, _ = fuzzed
    response = httpx.post(
        f"{emu.url}/graphql",
        content=raw,
        auth=("api", emu.api_key),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert 400 <= response.status_code < 500 or response.status_code == 200
    assert "errors" in response.json() or "data" in response.json()
