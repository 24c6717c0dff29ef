"""Authentication like W&B: HTTP Basic `api:<key>`; server information and introspection stay open."""

from __future__ import annotations

import base64
import re

import httpx
import pytest

from artifactkit.server.embedded import EmbeddedEmulator
from tests.server.support import Client, upload

VIEWER = "{ viewer { username } }"


def post(emu: EmbeddedEmulator, query: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{emu.url}/graphql", json={"query": query}, headers=headers or {}, timeout=30)


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"api:{key}".encode()).decode()}


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "authentication required: send HTTP Basic api:<key>"),
        (basic("local-" + "0" * 40), "invalid API key"),
        ({"Authorization": "Basic !!not-base64!!"}, "invalid API key"),
        ({"Authorization": "Digest something"}, "invalid API key"),
    ],
    ids=["no key", "unknown key", "garbled basic", "other scheme"],
)
def test_requests_without_a_valid_key_get_401(
    emulator: EmbeddedEmulator, headers: dict[str, str], message: str
) -> None:
    response = post(emulator, VIEWER, headers)
    assert response.status_code == 401
    assert response.json() == {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]}


def test_a_valid_key_works_as_basic_or_bearer(emulator: EmbeddedEmulator) -> None:
    for headers in (basic(emulator.api_key), {"Authorization": f"Bearer {emulator.api_key}"}):
        response = post(emulator, VIEWER, headers)
        assert response.status_code == 200
        assert response.json() == {"data": {"viewer": {"username": emulator.user}}}


def test_keys_look_like_on_premises_keys(emulator: EmbeddedEmulator) -> None:
    assert re.fullmatch(r"local-[0-9a-f]{40}", emulator.api_key)  # 0.31.0 refuses keys under 40 characters
    assert re.fullmatch(r"local-[0-9a-f]{40}", emulator.create_key())


def test_server_information_is_open_and_introspection_needs_a_key(emulator: EmbeddedEmulator) -> None:
    # What the official clients send before they know a key (wandb-wire.md: ServerFeaturesQuery
    # with `api:` and an empty key) stays open.
    info = post(emulator, "{ serverInfo { cliVersionInfo features { name isEnabled } } }", basic(""))
    assert info.status_code == 200
    server_info = info.json()["data"]["serverInfo"]
    assert server_info["cliVersionInfo"]["max_cli_version"] == "0.31.0"
    assert {"name": "TOTAL_COUNT_IN_FILE_CONNECTION", "isEnabled": True} in server_info["features"]
    introspection = '{ __type(name: "Artifact") { fields { name } } __schema { queryType { name } } }'
    assert post(emulator, introspection).status_code == 401
    probe = post(emulator, introspection, basic(emulator.api_key))
    assert probe.status_code == 200
    assert "ttlDurationSeconds" in [f["name"] for f in probe.json()["data"]["__type"]["fields"]]
    # Anything beyond that needs a key, also when it rides along with server information.
    assert post(emulator, "{ serverInfo { cliVersionInfo } viewer { id } }").status_code == 401
    assert post(emulator, 'mutation { upsertModel(input: {name: "x"}) { inserted } }').status_code == 401


def test_a_read_only_key_reads_but_cannot_write(emulator: EmbeddedEmulator, project: str) -> None:
    entity, name = project.split("/")
    with Client(emulator) as writer:
        upload(writer, project, "seq", {"a": b"read me"})
    with Client(emulator, key=emulator.create_key(read_only=True)) as reader:
        listed = reader.data(
            "query($e: String!, $p: String!) { project(entityName: $e, name: $p) { "
            'artifactCollection(name: "seq") { name } } }',
            e=entity,
            p=name,
        )
        assert listed["project"]["artifactCollection"] == {"name": "seq"}
        status, errors = reader.error(
            "mutation($e: String!, $p: String!) { createArtifactType(input: "
            '{entityName: $e, projectName: $p, name: "refused"}) { artifactType { id } } }',
            e=entity,
            p=name,
        )
        assert status == 403
        assert errors[0]["message"] == "this API key is read-only"
        assert errors[0]["extensions"]["code"] == "PERMISSION_DENIED"
        types = reader.data(
            "query($e: String!, $p: String!) { project(entityName: $e, name: $p) { "
            "artifactTypes { edges { node { name } } } } }",
            e=entity,
            p=name,
        )
        assert [e["node"]["name"] for e in types["project"]["artifactTypes"]["edges"]] == ["dataset"]


def test_operational_routes(emulator: EmbeddedEmulator) -> None:
    health = httpx.get(f"{emulator.url}/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"  # open, for load balancers and scripts
    assert httpx.get(f"{emulator.url}/_emulator/stats").status_code == 401
    assert httpx.get(f"{emulator.url}/_emulator/stats", auth=("api", emulator.api_key)).status_code == 200
