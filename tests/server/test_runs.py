"""A project's runs over HTTP: `Project.runs` / `runCount` (pages, filters, order), `deleteRun`, `updateRunState`.

The documents have the shape wandb 0.19.9-0.31.0 send from `Api.runs()` and `Run.delete()`
(`wandb/apis/public/runs.py`); the official clients themselves run them in tests/compat.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from artifactkit.server.embedded import EmbeddedEmulator
from tests.server.support import Client, upload

# What `Api.runs()` sends (0.22.3's document, with the fields of its lightweight run fragment).
RUNS = """
query Runs($project: String!, $entity: String!, $cursor: String, $perPage: Int = 50, $order: String,
           $filters: JSONString) {
  project(name: $project, entityName: $entity) {
    runCount(filters: $filters)
    readOnly
    runs(filters: $filters, after: $cursor, first: $perPage, order: $order) {
      totalCount
      edges { node { id name displayName state jobType group tags projectId config } cursor }
      pageInfo { endCursor hasNextPage }
    }
  }
}
"""

UPSERT = """
mutation($input: UpsertBucketInput!) { upsertBucket(input: $input) { bucket { id name } inserted } }
"""

# Five runs, created in this order.
SEEDED: list[dict[str, Any]] = [
    {"name": "r-a", "displayName": "alpha", "jobType": "train", "tags": ["base"], "config": {"lr": 0.1}},
    {"name": "r-b", "displayName": "beta", "jobType": "eval", "tags": [], "config": {"lr": 0.01}},
    {"name": "r-c", "displayName": "gamma", "jobType": "train", "tags": ["base", "wide"], "config": {"lr": 0.01}},
    {"name": "r-d", "displayName": "alpha", "jobType": "train", "tags": ["wide"], "groupName": "g1"},
    {"name": "r-e", "displayName": "epsilon", "jobType": None, "tags": [], "summaryMetrics": {"acc": 0.9}},
]


def upsert_run(client: Client, project: str, **fields: Any) -> dict[str, Any]:
    entity, name = project.split("/")
    payload = {k: v for k, v in fields.items() if v is not None}
    if "config" in payload:  # W&B keeps each config key as {"value": ..., "desc": ...}
        payload["config"] = json.dumps({k: {"value": v, "desc": None} for k, v in payload["config"].items()})
    if "summaryMetrics" in payload:
        payload["summaryMetrics"] = json.dumps(payload["summaryMetrics"])
    bucket: dict[str, Any] = client.data(UPSERT, input={"entityName": entity, "modelName": name, **payload})[
        "upsertBucket"
    ]
    return bucket


def runs_page(client: Client, project: str, **variables: Any) -> dict[str, Any]:
    entity, name = project.split("/")
    if isinstance(variables.get("filters"), dict):
        variables["filters"] = json.dumps(variables["filters"])
    found: dict[str, Any] = client.data(RUNS, entity=entity, project=name, **variables)["project"]
    return found


def run_names(client: Client, project: str, **variables: Any) -> list[str]:
    """Every run of a listing, following the cursors the way the official paginator does."""
    names: list[str] = []
    cursor = None
    for _ in range(20):
        page = runs_page(client, project, cursor=cursor, **variables)["runs"]
        names += [edge["node"]["name"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return names
        cursor = page["edges"][-1]["cursor"]
    raise AssertionError(f"the listing did not end: {names}")


@pytest.fixture(scope="module")
def seeded(emulator: EmbeddedEmulator) -> Iterator[tuple[Client, str]]:
    project = "local/runs-listing"
    with Client(emulator) as client:
        for fields in SEEDED:
            upsert_run(client, project, **fields)
        yield client, project


def test_pages_follow_the_cursor_and_count_every_run(seeded: tuple[Client, str]) -> None:
    client, project = seeded
    first = runs_page(client, project, perPage=2)
    assert (first["runCount"], first["runs"]["totalCount"], first["readOnly"]) == (5, 5, False)
    assert [e["node"]["name"] for e in first["runs"]["edges"]] == ["r-a", "r-b"]  # oldest first by default
    assert first["runs"]["pageInfo"] == {"endCursor": first["runs"]["edges"][-1]["cursor"], "hasNextPage": True}
    second = runs_page(client, project, perPage=2, cursor=first["runs"]["pageInfo"]["endCursor"])
    assert [e["node"]["name"] for e in second["runs"]["edges"]] == ["r-c", "r-d"]
    last = runs_page(client, project, perPage=2, cursor=second["runs"]["pageInfo"]["endCursor"])
    assert [e["node"]["name"] for e in last["runs"]["edges"]] == ["r-e"]
    assert last["runs"]["pageInfo"]["hasNextPage"] is False
    node = first["runs"]["edges"][0]["node"]
    assert node | {"id": None, "projectId": None} == {
        "id": None,
        "projectId": None,
        "name": "r-a",
        "displayName": "alpha",
        "state": "running",
        "jobType": "train",
        "group": None,
        "tags": ["base"],
        "config": json.dumps({"lr": {"value": 0.1, "desc": None}}),
    }
    assert int(node["projectId"]) > 0  # the clients int() it


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (None, ["r-a", "r-b", "r-c", "r-d", "r-e"]),
        ("+created_at", ["r-a", "r-b", "r-c", "r-d", "r-e"]),
        ("created_at", ["r-a", "r-b", "r-c", "r-d", "r-e"]),
        ("-created_at", ["r-e", "r-d", "r-c", "r-b", "r-a"]),
        ("-createdAt", ["r-e", "r-d", "r-c", "r-b", "r-a"]),
        ("-name", ["r-e", "r-d", "r-c", "r-b", "r-a"]),
    ],
)
def test_order_holds_across_pages(seeded: tuple[Client, str], order: str | None, expected: list[str]) -> None:
    client, project = seeded
    assert run_names(client, project, order=order, perPage=2) == expected


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["r-a", "r-b", "r-c", "r-d", "r-e"]),
        ({"displayName": "alpha"}, ["r-a", "r-d"]),
        ({"display_name": "gamma"}, ["r-c"]),
        ({"jobType": "train"}, ["r-a", "r-c", "r-d"]),
        ({"jobType": None}, ["r-e"]),
        ({"name": {"$in": ["r-b", "r-e", "nope"]}}, ["r-b", "r-e"]),
        ({"group": "g1"}, ["r-d"]),
        ({"username": "local", "host": None}, ["r-a", "r-b", "r-c", "r-d", "r-e"]),
        ({"state": "running"}, ["r-a", "r-b", "r-c", "r-d", "r-e"]),
        ({"tags": "wide"}, ["r-c", "r-d"]),
        ({"tags": {"$in": ["base"]}}, ["r-a", "r-c"]),
        ({"config.lr": 0.01}, ["r-b", "r-c"]),
        ({"config.lr.value": {"$gt": 0.05}}, ["r-a"]),
        ({"config.lr": {"$exists": False}}, ["r-d", "r-e"]),
        ({"summary_metrics.acc": {"$gte": 0.5}}, ["r-e"]),
        ({"$or": [{"displayName": "beta"}, {"tags": "wide"}]}, ["r-b", "r-c", "r-d"]),
        ({"$and": [{"jobType": "train"}, {"displayName": {"$ne": "alpha"}}]}, ["r-c"]),
        ({"displayName": {"$regex": "^(alpha|beta)$"}}, ["r-a", "r-b", "r-d"]),
    ],
    ids=lambda value: json.dumps(value, separators=(",", ":")) if isinstance(value, dict) else None,
)
def test_filters(seeded: tuple[Client, str], filters: dict[str, Any], expected: list[str]) -> None:
    client, project = seeded
    assert run_names(client, project, filters=filters, perPage=2) == expected
    assert runs_page(client, project, filters=filters)["runCount"] == len(expected)


@pytest.mark.parametrize(
    ("filters", "order", "message"),
    [
        ('{"displayName": {"$near": "alpha"}}', None, "unknown filter operator '$near'"),
        ('{"$where": "1"}', None, "unknown filter operator '$where'"),
        ('{"duration": {"$gt": 60}}', None, "cannot filter on 'duration'"),
        ('{"config.l\'r": 1}', None, "invalid config key"),
        ('{"createdAt": {"$gt": "last week"}}', None, "not an RFC 3339 timestamp"),
        ('{"tags": {"$gt": "a"}}', None, "does not apply to alias or tag filters"),
        ("[]", None, "filters must be a JSON object"),
        (None, "-summary_metrics.acc", "cannot order by 'summary_metrics.acc'"),
    ],
)
def test_what_the_emulator_does_not_support_is_refused(
    seeded: tuple[Client, str], filters: str | None, order: str | None, message: str
) -> None:
    client, project = seeded
    entity, name = project.split("/")
    status, errors = client.error(RUNS, entity=entity, project=name, filters=filters, order=order)
    assert status == 400
    assert message in errors[0]["message"]
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_backward_pages_are_refused(seeded: tuple[Client, str]) -> None:
    client, project = seeded
    entity, name = project.split("/")
    status, errors = client.error(
        "query($e: String!, $p: String!) { project(entityName: $e, name: $p) { runs(last: 1) { totalCount } } }",
        e=entity,
        p=name,
    )
    assert (status, errors[0]["extensions"]["code"]) == (400, "BAD_USER_INPUT")


DELETE = "mutation($id: ID!, $all: Boolean) { deleteRun(input: {id: $id, deleteArtifacts: $all}) { clientMutationId } }"
LINEAGE = """
query($e: String!, $p: String!, $n: String!) { project(entityName: $e, name: $p) { artifact(name: $n) {
  state createdBy { __typename ... on Run { name } } usedBy { edges { node { name } } } } } }
"""
USE = """
mutation($input: UseArtifactInput!) { useArtifact(input: $input) { artifact { id } } }
"""


def lineage(client: Client, project: str, name: str) -> dict[str, Any] | None:
    entity, project_name = project.split("/")
    found: dict[str, Any] | None = client.data(LINEAGE, e=entity, p=project_name, n=name)["project"]["artifact"]
    return found


def test_deleting_a_run_keeps_what_it_logged_and_used(client: Client, project: str) -> None:
    logger = upsert_run(client, project, name="logger")["bucket"]
    upsert_run(client, project, name="keeper")
    logged = upload(client, project, "kept", {"k.txt": b"kept"}, run="logger")
    entity, name = project.split("/")
    client.data(USE, input={"entityName": entity, "projectName": name, "runName": "logger", "artifactID": logged["id"]})
    assert lineage(client, project, "kept:v0") == {
        "state": "COMMITTED",
        "createdBy": {"__typename": "Run", "name": "logger"},
        "usedBy": {"edges": [{"node": {"name": "logger"}}]},
    }
    assert client.data(DELETE, id=logger["id"]) == {"deleteRun": {"clientMutationId": None}}
    assert run_names(client, project) == ["keeper"]
    assert runs_page(client, project)["runCount"] == 1
    # The version stays, without its creator and user.
    assert lineage(client, project, "kept:v0") == {"state": "COMMITTED", "createdBy": None, "usedBy": {"edges": []}}
    # The name stays taken, as on W&B; deleting again finds nothing.
    status, errors = client.error(UPSERT, input={"entityName": entity, "modelName": name, "name": "logger"})
    assert status == 409
    assert errors[0]["message"] == "run logger was previously created and deleted; try a new run name"
    status, errors = client.error(DELETE, id=logger["id"])
    assert (status, errors[0]["extensions"]["code"]) == (404, "NOT_FOUND")


def test_deleting_a_run_with_its_artifacts(client: Client, project: str) -> None:
    run = upsert_run(client, project, name="producer")["bucket"]
    upload(client, project, "made", {"m.txt": b"one"}, run="producer")
    upload(client, project, "made", {"m.txt": b"two"}, run="producer", aliases=["best"])
    upload(client, project, "other", {"o.txt": b"other"})
    client.data(DELETE, id=run["id"], all=True)
    assert lineage(client, project, "made:v0") is None
    assert lineage(client, project, "made:best") is None  # aliased versions go too
    assert lineage(client, project, "other:v0") is not None  # not the run's


UPDATE_STATE = "mutation($input: UpdateRunStateInput!) { updateRunState(input: $input) { success } }"


def test_run_state_transitions(client: Client, project: str) -> None:
    run = upsert_run(client, project, name="queued")["bucket"]
    assert client.data(UPDATE_STATE, input={"id": run["id"], "state": "failed"}) == {
        "updateRunState": {"success": True}
    }
    assert client.data(UPDATE_STATE, input={"id": run["id"], "state": "pending"})["updateRunState"]["success"]
    assert runs_page(client, project)["runs"]["edges"][0]["node"]["state"] == "pending"
    status, errors = client.error(UPDATE_STATE, input={"id": run["id"], "state": "pending"})
    assert (status, errors[0]["message"]) == (400, "a pending run cannot become pending")
    status, errors = client.error(UPDATE_STATE, input={"id": run["id"], "state": "finished"})
    assert status == 400 and "can only be set to failed or pending" in errors[0]["message"]


def test_a_legacy_server_lists_and_deletes_runs_but_has_no_state_updates(legacy_emulator: EmbeddedEmulator) -> None:
    with Client(legacy_emulator) as client:
        project = "local/legacy-runs"
        run = upsert_run(client, project, name="old-run", jobType="train")["bucket"]
        assert run_names(client, project, filters={"jobType": "train"}) == ["old-run"]
        status, errors = client.error(UPDATE_STATE, input={"id": run["id"], "state": "failed"})
        assert status == 200 and 'Cannot query field "updateRunState" on type "Mutation"' in errors[0]["message"]
        client.data(DELETE, id=run["id"])
        assert run_names(client, project) == []


STOP = "mutation StopRun($id: ID!) { stopRun(input: {id: $id}) { success } }"
STOPPED = """
query RunStoppedStatus($projectName: String, $entityName: String, $runId: String!) {
  project(name: $projectName, entityName: $entityName) { run(name: $runId) { stopped state } }
}
"""


def test_stopping_a_run_sets_the_flag_its_process_polls(client: Client, project: str) -> None:
    run = upsert_run(client, project, name="long-job")["bucket"]
    upsert_run(client, project, name="bystander")
    entity, name = project.split("/")

    def status(run_name: str) -> dict[str, Any]:
        found: dict[str, Any] = client.data(STOPPED, projectName=name, entityName=entity, runId=run_name)
        return found["project"]["run"]

    assert status("long-job") == {"stopped": False, "state": "running"}
    assert client.data(STOP, id=run["id"]) == {"stopRun": {"success": True}}
    assert client.data(STOP, id=run["id"]) == {"stopRun": {"success": True}}  # again: nothing changes
    assert status("long-job") == {"stopped": True, "state": "running"}  # the run's process ends it
    assert status("bystander")["stopped"] is False
    client.data(DELETE, id=run["id"])
    status_code, errors = client.error(STOP, id=run["id"])
    assert (status_code, errors[0]["extensions"]["code"]) == (404, "NOT_FOUND")
