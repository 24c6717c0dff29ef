"""The planned executor answers exactly as graphql-core's own executor does.

`server/execution.py` plans each field once per document and completes an object that many
results share (the collection and project every listed version names) once. These tests run
the same documents through both executors on the same data and compare data and errors.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from graphql import ExecutionContext, ExecutionResult, execute, parse

from artifactkit.server.context import Context, UrlSigner
from artifactkit.server.embedded import EmbeddedEmulator
from artifactkit.server.execution import PlannedExecutionContext
from artifactkit.server.schema import field_resolver
from tests.server.support import Client, upload

pytestmark = pytest.mark.timeout(120)

LISTING = """
query($entity: String!, $project: String!, $filters: JSONString) {
  project(entityName: $entity, name: $project) {
    artifactCollection(name: "seq") {
      __typename
      name
      artifacts(first: 10, filters: $filters) {
        totalCount
        edges {
          version
          node {
            id versionIndex metadata
            artifactSequence { id name project { name entityName entity { name } } }
            aliases { alias artifactCollection { __typename id name project { name entityName } } }
            tags { name }
            artifactType { name project { name } }
          }
        }
      }
    }
    portfolio: artifactCollection(name: "port") {
      artifacts(first: 10) { edges { node { versionIndex aliases { alias } artifactSequence { name } } } }
    }
  }
}
"""

# The type every version shares, asked for a listing it cannot give: one error per version.
FAILING = """
query($entity: String!, $project: String!) {
  project(entityName: $entity, name: $project) {
    artifactCollection(name: "seq") {
      artifacts(first: 10) {
        edges { node { versionIndex artifactType { name artifactCollections(first: -1) { totalCount } } } }
      }
    }
  }
}
"""


@pytest.fixture(scope="module")
def seeded(emulator: EmbeddedEmulator) -> str:
    project = "local/planned-execution"
    with Client(emulator) as client:
        for index in range(4):
            aliases = ["best"] if index == 1 else []
            done = upload(client, project, "seq", {"f.txt": f"v{index}".encode()}, aliases=aliases)
            if index in (1, 3):
                client.data(
                    "mutation($input: LinkArtifactInput!) { linkArtifact(input: $input) { versionIndex } }",
                    input={
                        "artifactID": done["id"],
                        "artifactPortfolioName": "port",
                        "entityName": "local",
                        "projectName": "planned-execution",
                        "aliases": [{"artifactCollectionName": "port", "alias": f"linked-{index}"}],
                    },
                )
    return project


def run(emu: EmbeddedEmulator, document: str, variables: dict[str, Any], kind: type[ExecutionContext]) -> Any:
    store = emu.store
    context = Context(
        store=store,
        blobs=emu.emulator.blobs,
        urls=UrlSigner(base_url="http://127.0.0.1", secret=hashlib.sha256(b"test").digest()),
        settings=emu.settings,
        user=store.user_by_id(1),
    )
    result = execute(
        emu.emulator.schema,
        parse(document),
        variable_values=variables,
        context_value=context,
        field_resolver=field_resolver,
        execution_context_class=kind,
    )
    assert isinstance(result, ExecutionResult)
    errors = sorted((e.message, tuple(map(str, e.path or ()))) for e in result.errors or ())
    return result.data, errors


@pytest.mark.parametrize("filters", [None, '{"state": "COMMITTED"}'])
def test_shared_objects_answer_as_graphql_core_does(emulator: EmbeddedEmulator, seeded: str, filters: Any) -> None:
    entity, project = seeded.split("/")
    variables = {"entity": entity, "project": project, "filters": filters}
    planned = run(emulator, LISTING, variables, PlannedExecutionContext)
    assert planned == run(emulator, LISTING, variables, ExecutionContext)
    data, errors = planned
    assert errors == []
    versions = data["project"]["artifactCollection"]["artifacts"]["edges"]
    assert [v["node"]["versionIndex"] for v in versions] == [3, 2, 1, 0]
    # The collection every version names is completed once, and its answer is the same for each.
    sequences = [v["node"]["artifactSequence"] for v in versions]
    assert all(s == sequences[0] for s in sequences) and sequences[0]["project"]["entity"]["name"] == entity


def test_errors_in_a_shared_object_are_reported_at_every_path(emulator: EmbeddedEmulator, seeded: str) -> None:
    entity, project = seeded.split("/")
    variables = {"entity": entity, "project": project}
    planned = run(emulator, FAILING, variables, PlannedExecutionContext)
    assert planned == run(emulator, FAILING, variables, ExecutionContext)
    data, errors = planned
    assert len(errors) == 4  # one per listed version, none swallowed by the reuse of a completed object
    assert len({path for _, path in errors}) == 4
    types = [v["node"]["artifactType"] for v in data["project"]["artifactCollection"]["artifacts"]["edges"]]
    assert types == [{"name": "dataset", "artifactCollections": None}] * 4
