"""Deleting versions and collections: refused while aliased unless `deleteAliases`, numbers never reused."""

from __future__ import annotations

from typing import Any

from tests.server.support import Client, upload, version_names
from tests.server.test_aliases import add_alias, link, membership

DELETE = (
    "mutation($id: ID!, $all: Boolean) { deleteArtifact(input: {artifactID: $id, deleteAliases: $all}) "
    "{ artifact { id state } } }"
)


def delete(client: Client, artifact_id: str, delete_aliases: bool | None = None) -> Any:
    return client.post(DELETE, {"id": artifact_id, "all": delete_aliases})


def by_id(client: Client, artifact_id: str) -> Any:
    return client.data("query($id: ID!) { artifact(id: $id) { id } }", id=artifact_id)["artifact"]


def test_an_aliased_version_is_only_deleted_with_its_aliases(client: Client, project: str) -> None:
    v0 = upload(client, project, "seq", {"a": b"0"})
    assert add_alias(client, v0["id"], project, "seq", "best").status_code == 200
    for refused in (delete(client, v0["id"]), delete(client, v0["id"], False)):
        assert refused.status_code == 409
        error = refused.json()["errors"][0]
        assert error["extensions"]["code"] == "CONFLICT"
        assert "still has aliases ['best', 'latest']" in error["message"]
    assert version_names(client, f"{project}/seq") == ["v0"]  # untouched

    deleted = delete(client, v0["id"], True)
    assert deleted.status_code == 200
    assert deleted.json()["data"]["deleteArtifact"]["artifact"] == {"id": v0["id"], "state": "DELETED"}
    assert version_names(client, f"{project}/seq") == []
    assert membership(client, project, "seq:best") is None
    assert membership(client, project, "seq:v0") is None
    assert by_id(client, v0["id"]) is None


def test_a_version_without_aliases_needs_no_flag_and_its_number_is_not_reused(client: Client, project: str) -> None:
    v0 = upload(client, project, "seq", {"a": b"0"})
    upload(client, project, "seq", {"a": b"1"})  # takes `latest` from v0
    assert delete(client, v0["id"]).status_code == 200
    v2 = upload(client, project, "seq", {"a": b"2"})
    assert v2["versionIndex"] == 2
    assert version_names(client, f"{project}/seq") == ["v2", "v1"]
    assert membership(client, project, "seq")["versionIndex"] == 2  # type: ignore[index]


def test_deleting_a_linked_version_removes_its_links(client: Client, project: str) -> None:
    v0 = upload(client, project, "seq", {"a": b"0"})
    link(client, v0["id"], project, "promoted", "prod")
    assert delete(client, v0["id"], True).status_code == 200
    assert membership(client, project, "promoted:prod") is None
    assert version_names(client, f"{project}/promoted") == []


def test_deleting_a_portfolio_keeps_the_versions(client: Client, project: str) -> None:
    v0 = upload(client, project, "seq", {"a": b"0"})
    link(client, v0["id"], project, "promoted")
    entity, name = project.split("/")
    portfolio = client.data(
        'query($e: String!, $p: String!) { project(entityName: $e, name: $p) { artifactCollection(name: "promoted") '
        "{ id } } }",
        e=entity,
        p=name,
    )["project"]["artifactCollection"]["id"]
    result = client.data(
        "mutation($id: ID!) { deleteArtifactPortfolio(input: {artifactPortfolioID: $id}) "
        "{ artifactCollection { __typename state } } }",
        id=portfolio,
    )
    deleted = result["deleteArtifactPortfolio"]["artifactCollection"]
    assert deleted == {"__typename": "ArtifactPortfolio", "state": "DELETED"}
    assert membership(client, project, "promoted:v0") is None
    assert version_names(client, f"{project}/seq") == ["v0"]
    assert by_id(client, v0["id"]) == {"id": v0["id"]}


def test_deleting_a_sequence_deletes_its_versions_and_frees_the_name(client: Client, project: str) -> None:
    v0 = upload(client, project, "seq", {"a": b"0"})
    upload(client, project, "seq", {"a": b"1"})
    link(client, v0["id"], project, "promoted")
    entity, name = project.split("/")
    sequence = client.data(
        'query($e: String!, $p: String!) { project(entityName: $e, name: $p) { artifactCollection(name: "seq") '
        "{ id } } }",
        e=entity,
        p=name,
    )["project"]["artifactCollection"]["id"]
    result = client.data(
        "mutation($id: ID!) { deleteArtifactSequence(input: {artifactSequenceID: $id}) "
        "{ artifactCollection { __typename state } } }",
        id=sequence,
    )
    deleted = result["deleteArtifactSequence"]["artifactCollection"]
    assert deleted == {"__typename": "ArtifactSequence", "state": "DELETED"}
    assert by_id(client, v0["id"]) is None
    assert version_names(client, f"{project}/promoted") == []  # its links went with it
    again = upload(client, project, "seq", {"a": b"0"})  # a new sequence of the same name starts afresh
    assert again["versionIndex"] == 0
    assert again["id"] != v0["id"]
