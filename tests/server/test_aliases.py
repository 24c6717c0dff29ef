"""Alias rules: unique within a collection, `latest` follows commits and links, `vN` is the version."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.support import Client, Upload, upload

MEMBERSHIP = """
query($e: String!, $p: String!, $n: String!) {
  project(entityName: $e, name: $p) {
    artifactCollectionMembership(name: $n) {
      versionIndex
      aliases { alias }
      artifact { id }
    }
  }
}
"""


def membership(client: Client, project: str, name: str) -> dict[str, Any] | None:
    entity, project_name = project.split("/")
    found: dict[str, Any] | None = client.data(MEMBERSHIP, e=entity, p=project_name, n=name)["project"][
        "artifactCollectionMembership"
    ]
    return found


def aliases(client: Client, project: str, name: str) -> list[str]:
    found = membership(client, project, name)
    assert found is not None, name
    return [a["alias"] for a in found["aliases"]]


def alias_input(project: str, collection: str, alias: str) -> dict[str, str]:
    entity, project_name = project.split("/")
    return {"alias": alias, "artifactCollectionName": collection, "entityName": entity, "projectName": project_name}


def add_alias(client: Client, artifact_id: str, project: str, collection: str, alias: str) -> Any:
    return client.post(
        "mutation($input: AddAliasesInput!) { addAliases(input: $input) { success } }",
        {"input": {"artifactID": artifact_id, "aliases": [alias_input(project, collection, alias)]}},
    )


def link(client: Client, artifact_id: str, project: str, portfolio: str, *aliases: str) -> dict[str, Any]:
    entity, project_name = project.split("/")
    data = client.data(
        "mutation($input: LinkArtifactInput!) { linkArtifact(input: $input) { versionIndex "
        "artifactMembership { aliases { alias } } } }",
        input={
            "artifactID": artifact_id,
            "artifactPortfolioName": portfolio,
            "entityName": entity,
            "projectName": project_name,
            "aliases": [{"artifactCollectionName": portfolio, "alias": a} for a in aliases],
        },
    )
    result: dict[str, Any] = data["linkArtifact"]
    return result


def test_latest_moves_on_every_commit(client: Client, project: str) -> None:
    first = upload(client, project, "seq", {"a": b"one"})
    assert first["versionIndex"] == 0
    assert aliases(client, project, "seq:v0") == ["v0", "latest"]
    upload(client, project, "seq", {"a": b"two"})
    assert aliases(client, project, "seq:v0") == ["v0"]
    assert aliases(client, project, "seq:v1") == ["v1", "latest"]
    assert membership(client, project, "seq:latest")["versionIndex"] == 1  # type: ignore[index]
    assert membership(client, project, "seq")["versionIndex"] == 1  # type: ignore[index]  # bare name: latest


def test_an_alias_is_unique_within_its_collection(client: Client, project: str) -> None:
    v0 = upload(client, project, "seq", {"a": b"one"})
    v1 = upload(client, project, "seq", {"a": b"two"})
    assert add_alias(client, v0["id"], project, "seq", "best").status_code == 200
    assert aliases(client, project, "seq:v0") == ["v0", "best"]
    assert add_alias(client, v1["id"], project, "seq", "best").status_code == 200  # moves, not duplicated
    assert aliases(client, project, "seq:v0") == ["v0"]
    assert aliases(client, project, "seq:v1") == ["v1", "latest", "best"]
    assert membership(client, project, "seq:best")["artifact"]["id"] == v1["id"]  # type: ignore[index]
    other = upload(client, project, "other", {"a": b"three"})
    assert add_alias(client, other["id"], project, "other", "best").status_code == 200  # another collection
    assert aliases(client, project, "seq:v1") == ["v1", "latest", "best"]


def test_aliases_given_at_creation_appear_at_commit(client: Client, project: str) -> None:
    pending = Upload(client, project, "seq", {"a": b"one"}, aliases=["candidate"])
    pending.create()
    pending.register_manifest()
    pending.register_files()
    pending.put_files()
    assert pending.put_manifest().status_code == 200
    assert membership(client, project, "seq:candidate") is None  # a pending version has no aliases yet
    assert pending.commit().status_code == 200
    assert aliases(client, project, "seq:candidate") == ["v0", "latest", "candidate"]


def test_latest_moves_on_every_new_link(client: Client, project: str) -> None:
    v0 = upload(client, project, "seq", {"a": b"one"})
    v1 = upload(client, project, "seq", {"a": b"two"})
    first = link(client, v0["id"], project, "promoted", "prod")
    assert first == {
        "versionIndex": 0,
        "artifactMembership": {"aliases": [{"alias": "v0"}, {"alias": "latest"}, {"alias": "prod"}]},
    }
    second = link(client, v1["id"], project, "promoted")
    assert second["versionIndex"] == 1
    assert aliases(client, project, "promoted:v0") == ["v0", "prod"]
    assert aliases(client, project, "promoted:v1") == ["v1", "latest"]
    again = link(client, v0["id"], project, "promoted")  # linking again adds no version
    assert again["versionIndex"] == 0
    assert membership(client, project, "promoted:v2") is None
    # Links do not touch the aliases of the source sequence.
    assert aliases(client, project, "seq:v1") == ["v1", "latest"]
    assert aliases(client, project, "seq:v0") == ["v0"]


@pytest.mark.parametrize("alias", ["v3", "a/b", "a:b", "", "x" * 129])
def test_reserved_and_malformed_aliases_are_refused(client: Client, project: str, alias: str) -> None:
    v0 = upload(client, project, "seq", {"a": b"one"})
    response = add_alias(client, v0["id"], project, "seq", alias)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert aliases(client, project, "seq:v0") == ["v0", "latest"]


def test_delete_aliases(client: Client, project: str) -> None:
    v0 = upload(client, project, "seq", {"a": b"one"})
    assert add_alias(client, v0["id"], project, "seq", "best").status_code == 200
    client.data(
        "mutation($input: DeleteAliasesInput!) { deleteAliases(input: $input) { success } }",
        input={"artifactID": v0["id"], "aliases": [alias_input(project, "seq", "best")]},
    )
    assert aliases(client, project, "seq:v0") == ["v0", "latest"]
    assert membership(client, project, "seq:best") is None
