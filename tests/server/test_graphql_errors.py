"""Bad requests get GraphQL errors as JSON with a 4xx status and a message that says what is wrong;
things that do not exist are `null` data, as on W&B."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from artifactkit.server import ids
from artifactkit.server.embedded import EmbeddedEmulator
from tests.server.support import Client, upload


def send(emu: EmbeddedEmulator, **body: Any) -> httpx.Response:
    return httpx.post(f"{emu.url}/graphql", json=body, auth=("api", emu.api_key), timeout=30)


def errors_of(response: httpx.Response) -> list[dict[str, Any]]:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    assert "Traceback" not in response.text
    errors: list[dict[str, Any]] = response.json()["errors"]
    return errors


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"query": "{ viewer { id "}, "GRAPHQL_PARSE_FAILED", "Syntax Error: Expected Name, found <EOF>."),
        ({"query": "{ viewer { zzz } }"}, "GRAPHQL_VALIDATION_FAILED", 'Cannot query field "zzz" on type "User".'),
        (
            {"query": "query($n: Int!) { viewer { id } }"},
            "GRAPHQL_VALIDATION_FAILED",
            "Variable '$n' is never used.",
        ),
        (
            {"query": "query($n: String!) { project(name: $n) { id } }", "variables": {}},
            "GRAPHQL_VALIDATION_FAILED",
            "Variable '$n' of required type 'String!' was not provided.",
        ),
        (
            {"query": "query($n: String) { project(name: $n) { id } }", "variables": {"n": 5}},
            "GRAPHQL_VALIDATION_FAILED",
            "Variable '$n' got invalid value 5; String cannot represent a non string value: 5",
        ),
        (
            {"query": "query A { viewer { id } } query B { viewer { id } }"},
            "GRAPHQL_VALIDATION_FAILED",
            "Must provide operation name if query contains multiple operations.",
        ),
        (
            {"query": "query A { viewer { id } }", "operationName": "B"},
            "GRAPHQL_VALIDATION_FAILED",
            "Unknown operation named 'B'.",
        ),
    ],
    ids=["syntax", "unknown field", "unused variable", "missing variable", "wrong type", "ambiguous", "unknown op"],
)
def test_invalid_documents_and_variables(
    emulator: EmbeddedEmulator, body: dict[str, Any], code: str, message: str
) -> None:
    errors = errors_of(send(emulator, **body))
    assert errors[0]["message"] == message
    assert errors[0]["extensions"]["code"] == code


def test_a_mutation_input_without_required_fields_names_them(emulator: EmbeddedEmulator) -> None:
    response = send(
        emulator,
        query="mutation($input: CreateArtifactTypeInput!) { createArtifactType(input: $input) { __typename } }",
        variables={"input": {"entityName": "local"}},
    )
    messages = " ".join(e["message"] for e in errors_of(response))
    assert "Field 'projectName' of required type 'String!' was not provided." in messages
    assert "Field 'name' of required type 'String!' was not provided." in messages


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", "the body must be a JSON object with a `query`"),
        (b"[1, 2]", "the body must be a JSON object with a `query`"),
        (b'{"variables": {}}', "the body must be a JSON object with a `query`"),
        (b'{"query": "{ viewer { id } }", "variables": [1]}', "`variables` must be an object"),
        (b'{"query": "{ viewer { id } }", "operationName": 7}', "`operationName` a string"),
        (b"\xff\xfe", "the body must be a JSON object with a `query`"),
    ],
)
def test_malformed_bodies(emulator: EmbeddedEmulator, content: bytes, message: str) -> None:
    response = httpx.post(f"{emulator.url}/graphql", content=content, auth=("api", emulator.api_key))
    errors = errors_of(response)
    assert message in errors[0]["message"]
    assert errors[0]["extensions"]["code"] == "BAD_REQUEST"


def test_wrong_methods_and_unknown_routes_answer_json(emulator: EmbeddedEmulator) -> None:
    assert errors_of(httpx.get(f"{emulator.url}/graphql"))[0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    response = httpx.delete(f"{emulator.url}/health")
    assert errors_of(response)[0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert response.headers["allow"]
    assert errors_of(httpx.get(f"{emulator.url}/no/such/route"))[0]["extensions"]["code"] == "NOT_FOUND"


def test_an_empty_operation_name_means_no_name(emulator: EmbeddedEmulator) -> None:
    response = send(emulator, query="query Viewer { viewer { username } }", operationName="", variables={})
    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": {"username": emulator.user}}}
    named = send(emulator, query="query A { viewer { id } } query B { viewer { username } }", operationName="B")
    assert named.json() == {"data": {"viewer": {"username": emulator.user}}}


def test_what_does_not_exist_is_null(emulator: EmbeddedEmulator, client: Client, project: str) -> None:
    entity, name = project.split("/")
    upload(client, project, "seq", {"a": b"exists"})
    data = client.data(
        """query($e: String!, $p: String!, $missing: ID!, $other: ID!) {
          nothing: project(entityName: $e, name: "no-such-project") { id }
          project(entityName: $e, name: $p) {
            artifactType(name: "no-type") { id }
            artifactCollection(name: "no-collection") { id }
            noVersion: artifactCollectionMembership(name: "seq:v7") { id }
            noAlias: artifactCollectionMembership(name: "seq:no-alias") { id }
            noCollection: artifactCollectionMembership(name: "nope:latest") { id }
            artifact(name: "seq:v9") { id }
            run(name: "no-run") { id }
            artifactTypes { edges { node { name artifactCollection(name: "nope") { id } } } }
          }
          garbage: artifact(id: "not an id") { id }
          missing: artifact(id: $missing) { id }
          otherKind: artifact(id: $other) { id }
          collection: artifactCollection(id: $missing) { id }
        }""",
        e=entity,
        p=name,
        missing=ids.encode("Artifact", 10**9),
        other=ids.encode("Run", 1),
    )
    assert data == {
        "nothing": None,
        "project": {
            "artifactType": None,
            "artifactCollection": None,
            "noVersion": None,
            "noAlias": None,
            "noCollection": None,
            "artifact": None,
            "run": None,
            "artifactTypes": {"edges": [{"node": {"name": "dataset", "artifactCollection": None}}]},
        },
        "garbage": None,
        "missing": None,
        "otherKind": None,
        "collection": None,
    }


def test_a_failing_mutation_names_the_problem_and_changes_nothing(client: Client, project: str) -> None:
    entity, name = project.split("/")
    status, errors = client.error(
        "mutation($e: String!, $p: String!) { createArtifactType(input: "
        '{entityName: $e, projectName: $p, name: "bad/type"}) { artifactType { id } } }',
        e=entity,
        p=name,
    )
    assert status == 400
    assert errors[0]["message"].startswith("invalid artifact type name 'bad/type'")
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert client.data(
        "query($e: String!, $p: String!) { project(entityName: $e, name: $p) { id } }", e=entity, p=name
    ) == {"project": None}  # the transaction rolled back: not even the project was created
