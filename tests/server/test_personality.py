"""What the two personalities have: the modern schema, and a server older than 0.12.11 (`--legacy`).

The official clients pick their documents from `serverInfo.cliVersionInfo.max_cli_version` and from
introspection, so the personality has to be one consistent old server: the version it claims, the
fields it lacks and the few it alone has.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from artifactkit.server.embedded import EmbeddedEmulator, EmulatorProcess
from artifactkit.server.settings import Settings
from tests.server.support import Client

TYPE_FIELDS = '{ __type(name: "%s") { fields { name } } }'


def field_names(client: Client, type_name: str) -> set[str] | None:
    found = client.data(TYPE_FIELDS % type_name)["__type"]
    return None if found is None else {f["name"] for f in found["fields"]}


def test_a_modern_server_has_what_the_official_clients_select(client: Client) -> None:
    # 0.31.0's CreateProject selects Project.access and Project.views (client-quirks.md).
    created = client.data(
        'mutation { upsertModel(input: {name: "quirks", entityName: "local"}) '
        "{ project { id name entityName description access views user { name } } inserted } }"
    )["upsertModel"]
    assert created["inserted"] is True
    assert created["project"] | {"id": None} == {
        "id": None,
        "name": "quirks",
        "entityName": "local",
        "description": None,
        "access": "PRIVATE",
        "views": "{}",
        "user": {"name": "local"},
    }
    # 0.19.9/0.22.3 create runs only after finding ServerSettings, and then read serverMessages.
    assert field_names(client, "ServerSettings") == {"serverMessages"}
    bucket = client.data(
        'mutation { upsertBucket(input: {name: "r1", modelName: "quirks", entityName: "local", displayName: "One"}) '
        "{ bucket { name displayName } serverSettings { serverMessages { utfText messageLevel } } } }"
    )["upsertBucket"]
    assert bucket == {"bucket": {"name": "r1", "displayName": "One"}, "serverSettings": {"serverMessages": []}}
    # The legacy-only alias field is not part of the modern schema.
    assert "artifactSequence" not in (field_names(client, "ArtifactAlias") or set())


def test_the_legacy_personality_lacks_what_old_servers_lacked(tmp_path: Path) -> None:
    with EmbeddedEmulator(tmp_path / "old", legacy=True) as emu, Client(emu) as client:
        # ServerSettings stays (real W&B defines it; 0.19.9/0.22.3 crash on a null probe before creating a run).
        assert field_names(client, "ServerSettings") == {"serverMessages"}
        bucket = client.data(
            'mutation { upsertBucket(input: {name: "r1", modelName: "old", entityName: "local"}) '
            "{ bucket { name } serverSettings { serverMessages { utfText messageLevel } } } }"
        )["upsertBucket"]
        assert bucket == {"bucket": {"name": "r1"}, "serverSettings": {"serverMessages": []}}
        assert "features" not in (field_names(client, "ServerInfo") or set())
        type_fields = field_names(client, "ArtifactType") or set()
        assert {"artifactSequence", "artifactSequences"} <= type_fields
        assert not {"artifactCollection", "artifactCollections"} & type_fields
        # Newer fields and arguments (0.22.3 finds `enableTracking` missing by introspection and leaves it out).
        assert not {"artifactCollectionMembership", "internalId"} & (field_names(client, "Project") or set())
        assert not {"tags", "ttlDurationSeconds", "ttlIsInherited"} & (field_names(client, "Artifact") or set())
        assert "tags" not in (field_names(client, "ArtifactSequence") or set())
        assert "files" not in (field_names(client, "ArtifactCollectionMembership") or set())
        project = client.data('{ __type(name: "Project") { fields { name args { name } } } }')["__type"]
        args = {f["name"]: {a["name"] for a in f["args"]} for f in project["fields"]}
        assert (args["artifact"], "includeAll" in args["artifactTypes"]) == ({"name"}, False)
        # Registry search, team members of registries and advanced search came much later.
        assert "artifactMemberships" not in (field_names(client, "Entity") or set())
        assert "teamMembers" not in (field_names(client, "Project") or set())
        assert "advancedRegistryFeatures" not in (field_names(client, "Organization") or set())
        assert "updateProjectTeamMember" not in (field_names(client, "Mutation") or set())
        # What it alone has: an alias names its sequence (0.22.3 renames the nested field to it).
        assert "artifactSequence" in (field_names(client, "ArtifactAlias") or set())


@pytest.mark.parametrize(
    ("version", "legacy"),
    [("0.12.10", True), ("0.12.11", False), ("0.9.0", True), ("0.31.0", False)],
)
def test_the_claimed_version_decides_the_personality(tmp_path: Path, version: str, legacy: bool) -> None:
    settings = Settings(data_dir=tmp_path, cli_version=version)
    assert (settings.legacy, settings.max_cli_version) == (legacy, version)


def test_a_legacy_server_cannot_claim_a_modern_version(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"older than 0\.12\.11"):
        Settings(data_dir=tmp_path, legacy=True, cli_version="0.12.11")
    with pytest.raises(ValueError, match="not a version number"):
        Settings(data_dir=tmp_path, cli_version="latest")


def test_serve_claims_the_version_it_is_given(tmp_path: Path) -> None:
    """`artifactkit serve --max-cli-version 0.12.10` is the newest legacy server."""
    with EmulatorProcess(tmp_path / "data", extra_args=("--max-cli-version", "0.12.10")) as server:
        assert httpx.get(f"{server.url}/health").json()["legacy"] is True
        answer = httpx.post(
            f"{server.url}/graphql",
            json={"query": "{ serverInfo { cliVersionInfo } }"},
            auth=("api", server.api_key),
        ).json()
        assert answer["data"]["serverInfo"]["cliVersionInfo"]["max_cli_version"] == "0.12.10"
