"""Relay pagination: keyset cursors that stay valid while the listing changes, and `totalCount`."""

from __future__ import annotations

import pytest

from tests.server.support import Client, Upload, upload, version_names, versions_page


def seed(client: Client, path: str, count: int) -> None:
    project, name = path.rsplit("/", 1)
    for i in range(count):
        upload(client, project, name, {"data.txt": f"{path} version {i}".encode()})


def test_pages_cover_every_version_once_with_a_total(client: Client, project: str) -> None:
    path = f"{project}/seq"
    seed(client, path, 7)

    first = versions_page(client, path, first=3)
    assert first["totalCount"] == 7
    assert [e["version"] for e in first["edges"]] == ["v6", "v5", "v4"]  # newest first
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]

    assert version_names(client, path, first=3) == [f"v{i}" for i in range(6, -1, -1)]
    last = versions_page(client, path, first=3, after=versions_page(client, path, first=6)["pageInfo"]["endCursor"])
    assert [e["version"] for e in last["edges"]] == ["v0"]
    assert last["pageInfo"]["hasNextPage"] is False
    assert last["totalCount"] == 7  # the total counts the whole listing, not the page


def test_a_cursor_stays_valid_while_versions_are_added_and_deleted(client: Client, project: str) -> None:
    path = f"{project}/seq"
    seed(client, path, 6)
    first = versions_page(client, path, first=2)  # v5, v4
    cursor = first["pageInfo"]["endCursor"]

    seed(client, path, 1)  # v6 appears before the cursor ...
    seen_v4 = first["edges"][1]["node"]["id"]
    deleted = client.post(
        "mutation($id: ID!) { deleteArtifact(input: {artifactID: $id, deleteAliases: true}) { artifact { id } } }",
        {"id": seen_v4},
    )  # ... and a version the client has already seen goes away
    assert deleted.status_code == 200, deleted.text

    rest = []
    while True:
        page = versions_page(client, path, first=2, after=cursor)
        rest.extend(e["version"] for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
    assert rest == ["v3", "v2", "v1", "v0"]  # nothing skipped, nothing repeated


def test_an_empty_listing_has_no_cursor(client: Client, project: str) -> None:
    path = f"{project}/seq"
    seed(client, path, 1)
    page = versions_page(client, path, filters={"versionIndex": {"$gt": 100}})
    assert page == {"totalCount": 0, "pageInfo": {"hasNextPage": False, "endCursor": None}, "edges": []}


def test_filtered_total_counts_only_matches(client: Client, project: str) -> None:
    path = f"{project}/seq"
    seed(client, path, 5)
    page = versions_page(client, path, first=1, filters={"versionIndex": {"$gte": 2}})
    assert page["totalCount"] == 3
    assert [e["version"] for e in page["edges"]] == ["v4"]


@pytest.mark.parametrize(
    ("cursor", "message"),
    [
        ("not a cursor", "invalid cursor"),
        ("WzEsMiwzXQ==", "does not belong to this listing"),  # base64 of [1,2,3]: wrong width
        ("e30=", "does not belong to this listing"),  # base64 of {}
    ],
)
def test_a_foreign_or_broken_cursor_is_a_client_error(client: Client, project: str, cursor: str, message: str) -> None:
    path = f"{project}/seq"
    seed(client, path, 1)
    entity, name = project.split("/")
    status, errors = client.error(
        "query($e: String!, $p: String!, $after: String) { project(entityName: $e, name: $p) { "
        'artifactCollection(name: "seq") { artifacts(after: $after) { totalCount } } } }',
        e=entity,
        p=name,
        after=cursor,
    )
    assert status == 400
    assert message in errors[0]["message"]
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_negative_page_sizes_and_backward_paging_are_refused(client: Client, project: str) -> None:
    entity, name = project.split("/")
    Upload(client, project, "seq", {"a": b"a"}).run_all()
    base = 'query($e: String!, $p: String!) { project(entityName: $e, name: $p) { artifactCollection(name: "seq") '
    status, errors = client.error(base + "{ artifacts(first: -1) { totalCount } } } }", e=entity, p=name)
    assert (status, errors[0]["message"]) == (400, "`first` must not be negative")
    status, errors = client.error(base + '{ artifacts(last: 1, before: "x") { totalCount } } } }', e=entity, p=name)
    assert status == 400 and "backward pagination" in errors[0]["message"]


def test_artifact_types_and_files_page_too(client: Client, project: str) -> None:
    entity, name = project.split("/")
    for kind in ("a", "b", "c"):
        upload(client, project, f"coll-{kind}", {"x.txt": kind.encode()}, type=f"type-{kind}")
    types_query = (
        "query($e: String!, $p: String!, $after: String) { project(entityName: $e, name: $p) { "
        "artifactTypes(first: 2, after: $after) { pageInfo { hasNextPage endCursor } edges { node { name } } } } }"
    )
    first = client.data(types_query, e=entity, p=name)["project"]["artifactTypes"]
    second = client.data(types_query, e=entity, p=name, after=first["pageInfo"]["endCursor"])["project"][
        "artifactTypes"
    ]
    names = [e["node"]["name"] for e in first["edges"] + second["edges"]]
    assert names == ["type-a", "type-b", "type-c"]
    assert (first["pageInfo"]["hasNextPage"], second["pageInfo"]["hasNextPage"]) == (True, False)

    upload(client, project, "many-files", {f"f{i}.txt": f"{i}".encode() for i in range(5)})
    files_query = (
        "query($e: String!, $p: String!, $after: String) { project(entityName: $e, name: $p) { "
        'artifactCollectionMembership(name: "many-files:v0") { files(first: 2, after: $after) { totalCount '
        "pageInfo { hasNextPage endCursor } edges { node { name } } } } } }"
    )
    names, after = [], None
    while True:
        files = client.data(files_query, e=entity, p=name, after=after)["project"]["artifactCollectionMembership"][
            "files"
        ]
        assert files["totalCount"] == 5
        names.extend(e["node"]["name"] for e in files["edges"])
        if not files["pageInfo"]["hasNextPage"]:
            break
        after = files["pageInfo"]["endCursor"]
    assert names == [f"f{i}.txt" for i in range(5)]


@pytest.mark.parametrize("order", ["size", "-size", "-size,versionIndex", "size,-createdAt"])
def test_pages_over_a_sort_key_with_ties_hold_every_version_once(client: Client, project: str, order: str) -> None:
    """Most versions share a size: a page boundary falls inside a run of equal sizes, where only the
    unique tiebreak (the id) tells the versions after the cursor from those before it."""
    path = f"{project}/seq"
    sizes = [3, 3, 1, 3, 5, 3, 5, 1, 3, 3, 5]
    for i, size in enumerate(sizes):
        upload(client, project, "seq", {"data.txt": bytes([97 + i]) * size})
    listed = versions_page(client, path, first=100, order=order)["edges"]
    everything = [edge["version"] for edge in listed]
    assert sorted(everything) == sorted(f"v{i}" for i in range(len(sizes)))
    by_size = [sizes[int(version[1:])] for version in everything]
    assert by_size == sorted(by_size, reverse=order.startswith("-"))
    for per_page in (1, 2, 3, 4):
        assert version_names(client, path, first=per_page, order=order) == everything, per_page
