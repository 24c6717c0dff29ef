"""Findings 1 and 4: documents whose cost explodes are refused before any work, with or without a key."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from artifactkit.server.embedded import EmbeddedEmulator
from tests.security.support import TIMEOUT, basic, fragment_bomb, gql
from tests.server.support import Client, upload


def test_a_fragment_bomb_without_a_key_is_refused_at_once(emu: EmbeddedEmulator) -> None:
    response = gql(emu, fragment_bomb(40))
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_fragment_bomb_with_a_key_is_refused_by_the_cost_limit(emu: EmbeddedEmulator) -> None:
    response = gql(emu, fragment_bomb(40), emu.api_key)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "fragments counted per use" in error["message"]
    # Under an anonymous field too: serverInfo is open, its cost limit applies all the same.
    hidden = fragment_bomb(40, root="ServerInfo").replace("query Bomb { ...F40 }", "{ serverInfo { ...F40 } }")
    assert gql(emu, hidden).status_code == 400


def test_other_clients_are_served_while_bombs_arrive(emu: EmbeddedEmulator) -> None:
    bomb = fragment_bomb(40)

    def send_bomb(_: int) -> int:
        return gql(emu, bomb).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = pool.map(send_bomb, range(40))
        viewer = gql(emu, "{ viewer { username } }", emu.api_key)
        assert viewer.json() == {"data": {"viewer": {"username": emu.user}}}
        assert set(statuses) == {401}


def test_introspection_needs_a_key_and_stays_under_the_limit(emu: EmbeddedEmulator) -> None:
    """Finding 4: 1,000 aliased __schema selections in 24 KB."""
    aliased = "{ " + " ".join(f"a{i}: __schema {{ types {{ fields {{ name }} }} }}" for i in range(1001)) + " }"
    assert gql(emu, aliased).status_code == 401
    started = time.monotonic()
    response = gql(emu, aliased, emu.api_key)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert len(response.content) < 1000
    assert time.monotonic() - started < TIMEOUT
    # One introspection query, as a client sends it, is answered.
    probe = gql(emu, '{ __type(name: "Artifact") { fields { name } } }', emu.api_key)
    assert probe.status_code == 200


def test_wide_and_aliased_documents_are_refused(emu: EmbeddedEmulator) -> None:
    wide = "{ " + " ".join(f"v{i}: viewer {{ id }}" for i in range(600)) + " }"
    response = httpx.post(f"{emu.url}/graphql", json={"query": wide}, headers=basic(emu.api_key), timeout=TIMEOUT)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


def test_rows_of_nested_pages_are_bounded_per_request(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Selections are counted before execution; the rows nested pages multiply into are counted as they load."""
    with EmbeddedEmulator(tmp_path_factory.mktemp("rows"), max_rows_per_request=10) as small, Client(small) as writer:
        for name in ("a", "b", "c"):
            for i in range(3):
                upload(writer, "local/rows", name, {"f": f"{name}{i}".encode()})
        dataset = '{ project(entityName: "local", name: "rows") { artifactType(name: "dataset") { %s } } }'
        versions = "artifacts(first: 100) { edges { node { id } } }"
        nested = dataset % f"artifactCollections(first: 100) {{ edges {{ node {{ name {versions} }} }} }}"
        response = gql(small, nested, small.api_key)  # 3 collections + 3 x 3 versions = 12 rows > 10
        assert response.status_code == 400
        assert "rows in all" in response.json()["errors"][0]["message"]
        one = dataset % f'artifactCollection(name: "a") {{ {versions} }}'
        assert gql(small, one, small.api_key).status_code == 200  # 3 rows
