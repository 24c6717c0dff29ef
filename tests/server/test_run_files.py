"""A run's files over HTTP: `createRunFiles` + PUT keeps them, `Run.files`/`fileCount` list them, `deleteFiles`.

The documents have the shape wandb 0.19.9-0.31.0 send from `Run.upload_file()`, `Run.files()` and
`File.delete()` (`wandb/apis/public/files.py`); the official clients themselves run them in tests/compat.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx

from artifactkit.server.embedded import EmbeddedEmulator
from tests.server.support import Client, md5_b64
from tests.server.test_runs import DELETE, upsert_run

CREATE_RUN_FILES = """
mutation CreateRunFiles($entity: String!, $project: String!, $run: String!, $files: [String!]!) {
  createRunFiles(input: {entityName: $entity, projectName: $project, runName: $run, files: $files}) {
    runID uploadHeaders files { name uploadUrl }
  }
}
"""
# 0.22.3's RunFiles document, with the `pattern` argument 0.19.9 does not send.
RUN_FILES = """
query RunFiles($project: String!, $entity: String!, $name: String!, $fileCursor: String,
    $fileLimit: Int = 50, $fileNames: [String] = [], $upload: Boolean = false, $pattern: String) {
  project(name: $project, entityName: $entity) {
    internalId
    run(name: $name) {
      fileCount
      files(names: $fileNames, after: $fileCursor, first: $fileLimit, pattern: $pattern) {
        edges { node { id name url(upload: $upload) directUrl sizeBytes mimetype updatedAt md5 } cursor }
        pageInfo { endCursor hasNextPage }
      }
    }
  }
}
"""
DELETE_FILES = """
mutation deleteFiles($files: [ID!]!, $projectId: Int) {
  deleteFiles(input: {files: $files, projectId: $projectId}) { success }
}
"""
PROJECT_ID = (
    "query($e: String!, $p: String!, $n: String!) { project(entityName: $e, name: $p) { run(name: $n) { projectId } } }"
)

FILES = {
    "wandb-metadata.json": b'{"python": "3.11"}',
    "config.yaml": b"lr: 0.1\n",
    "media/plot_1.png": b"\x89PNG not really",
    "media/plot_2.png": b"\x89PNG neither",
}


def put_files(client: Client, project: str, run: str, files: dict[str, bytes]) -> None:
    entity, name = project.split("/")
    answer = client.data(CREATE_RUN_FILES, entity=entity, project=name, run=run, files=sorted(files))["createRunFiles"]
    for spec in answer["files"]:
        response = httpx.put(spec["uploadUrl"], content=files[spec["name"]], timeout=30)
        assert response.status_code == 200, response.text


def listing(client: Client, project: str, run: str, **variables: Any) -> dict[str, Any]:
    entity, name = project.split("/")
    found: dict[str, Any] = client.data(RUN_FILES, entity=entity, project=name, name=run, **variables)["project"]["run"]
    return found


def names_of(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["name"] for edge in page["files"]["edges"]]


def test_uploaded_run_files_are_listed_and_served(client: Client, project: str) -> None:
    upsert_run(client, project, name="with-files")
    assert listing(client, project, "with-files") == {
        "fileCount": 0,
        "files": {"edges": [], "pageInfo": {"endCursor": None, "hasNextPage": False}},
    }
    put_files(client, project, "with-files", FILES)
    everything = listing(client, project, "with-files")
    assert everything["fileCount"] == 4
    assert names_of(everything) == sorted(FILES)  # `names: []` means every file, by name
    node = everything["files"]["edges"][0]["node"]
    assert node["name"] == "config.yaml" and node["sizeBytes"] == len(FILES["config.yaml"])
    assert node["md5"] == md5_b64(FILES["config.yaml"])
    assert base64.b64decode(node["id"]).decode().startswith("RunFile:")
    assert node["url"] == node["directUrl"]  # upload: false
    assert httpx.get(node["directUrl"], timeout=30).content == FILES["config.yaml"]
    mimetypes = {edge["node"]["name"]: edge["node"]["mimetype"] for edge in everything["files"]["edges"]}
    assert mimetypes["wandb-metadata.json"] == "application/json" and mimetypes["media/plot_1.png"] == "image/png"

    named = listing(client, project, "with-files", fileNames=["config.yaml", "absent.txt", None])
    assert names_of(named) == ["config.yaml"]
    assert names_of(listing(client, project, "with-files", pattern="media/%")) == [
        "media/plot_1.png",
        "media/plot_2.png",
    ]
    assert names_of(listing(client, project, "with-files", pattern="media/plot\\_2%")) == ["media/plot_2.png"]

    paged, cursor = [], None
    for _ in range(5):
        page = listing(client, project, "with-files", fileLimit=3, fileCursor=cursor)
        paged += names_of(page)
        if not page["files"]["pageInfo"]["hasNextPage"]:
            break
        cursor = page["files"]["pageInfo"]["endCursor"]
    assert paged == sorted(FILES)

    # The same name again replaces the file.
    put_files(client, project, "with-files", {"config.yaml": b"lr: 0.2\n"})
    again = listing(client, project, "with-files", fileNames=["config.yaml"])
    assert again["fileCount"] == 4
    assert again["files"]["edges"][0]["node"]["md5"] == md5_b64(b"lr: 0.2\n")
    upload_url = listing(client, project, "with-files", fileNames=["config.yaml"], upload=True)
    assert "/storage/runfiles/" in upload_url["files"]["edges"][0]["node"]["url"]


def test_deleting_files(client: Client, project: str, emulator: EmbeddedEmulator) -> None:
    upsert_run(client, project, name="pruned")
    put_files(client, project, "pruned", FILES)
    ids = {edge["node"]["name"]: edge["node"]["id"] for edge in listing(client, project, "pruned")["files"]["edges"]}
    entity, name = project.split("/")
    project_id = int(client.data(PROJECT_ID, e=entity, p=name, n="pruned")["project"]["run"]["projectId"])

    with Client(emulator, key=emulator.create_key(read_only=True)) as reader:
        status, errors = reader.error(DELETE_FILES, files=[ids["config.yaml"]])
        assert (status, errors[0]["extensions"]["code"]) == (403, "PERMISSION_DENIED")
    # All or nothing: one ID of another kind, or outside the named project, and nothing goes.
    artifact_file = base64.b64encode(b"File:1").decode()
    status, errors = client.error(DELETE_FILES, files=[ids["config.yaml"], artifact_file])
    assert (status, errors[0]["extensions"]["code"]) == (404, "NOT_FOUND")
    status, errors = client.error(DELETE_FILES, files=[ids["config.yaml"]], projectId=project_id + 1000)
    assert (status, errors[0]["extensions"]["code"]) == (404, "NOT_FOUND")
    assert listing(client, project, "pruned")["fileCount"] == 4

    answer = client.data(DELETE_FILES, files=[ids["config.yaml"], ids["media/plot_1.png"]], projectId=project_id)
    assert answer == {"deleteFiles": {"success": True}}
    left = listing(client, project, "pruned")
    assert (left["fileCount"], names_of(left)) == (2, ["media/plot_2.png", "wandb-metadata.json"])
    status, _ = client.error(DELETE_FILES, files=[ids["config.yaml"]])
    assert status == 404  # already gone


def test_a_deleted_runs_files_go_with_it(client: Client, project: str, emulator: EmbeddedEmulator) -> None:
    run = upsert_run(client, project, name="short-lived")["bucket"]
    entity, name = project.split("/")
    answer = client.data(CREATE_RUN_FILES, entity=entity, project=name, run="short-lived", files=["late.txt"])
    put_files(client, project, "short-lived", {"early.txt": b"early"})
    client.data(DELETE, id=run["id"])
    # An upload URL handed out before the run was deleted no longer records a file: what it was
    # signed for is gone, so the signature no longer checks out.
    late = httpx.put(answer["createRunFiles"]["files"][0]["uploadUrl"], content=b"late", timeout=30)
    assert (late.status_code, late.json()["errors"][0]["extensions"]["code"]) == (403, "FORBIDDEN")
    assert client.data(PROJECT_ID, e=entity, p=name, n="short-lived")["project"]["run"] is None
    run_pk = int(base64.b64decode(run["id"]).decode().split(":")[1])
    assert emulator.store.run_file_count(run_pk) == 0  # early.txt went with the run


def test_refused_listings(client: Client, project: str) -> None:
    upsert_run(client, project, name="asked")
    entity, name = project.split("/")
    many = [f"f{i}" for i in range(1001)]
    status, errors = client.error(RUN_FILES, entity=entity, project=name, name="asked", fileNames=many)
    assert (status, errors[0]["extensions"]["code"]) == (400, "BAD_USER_INPUT")
    status, errors = client.error(RUN_FILES, entity=entity, project=name, name="asked", pattern="%" * 257)
    assert (status, errors[0]["extensions"]["code"]) == (400, "BAD_USER_INPUT")
