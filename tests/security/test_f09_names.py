"""Finding 9: one set of name rules: anchored at the very end, the same on both sides, with byte limits."""

from __future__ import annotations

import json

import pytest

from artifactkit._paths import check_alias
from artifactkit.errors import InvalidNameError
from artifactkit.server.embedded import EmbeddedEmulator
from tests.security.support import gql
from tests.server.support import Client, Upload, manifest_bytes

UPSERT = 'mutation($name: String!) { upsertModel(input: {entityName: "local", name: $name}) { inserted } }'


@pytest.mark.parametrize("name", ["ok\n", "ok\r\n", "..", "a" * 129, "naïve"])
def test_the_server_refuses_names_that_the_patterns_let_through(emu: EmbeddedEmulator, name: str) -> None:
    response = gql(emu, UPSERT, emu.api_key, name=name)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


ALIASES = [
    "best",
    "release 1",
    " best",
    "best ",
    "tab\tinside",
    "new\nline",
    "trailing\n",
    "a/b",
    "a:b",
    "x" * 128,
    "x" * 129,
    "ünïcode",
]


def sdk_accepts(alias: str) -> bool:
    try:
        check_alias(alias)
    except InvalidNameError:
        return False
    return True


def test_the_sdk_and_the_server_agree_on_every_alias(emu: EmbeddedEmulator) -> None:
    with Client(emu) as client:
        for i, alias in enumerate(ALIASES):
            pending = Upload(client, "local/names", f"a{i}", {"f": alias.encode()}, aliases=[alias])
            body = {
                "query": "mutation($input: CreateArtifactInput!) { createArtifact(input: $input) { artifact { id } } }"
            }
            variables = {
                "entityName": "local",
                "projectName": "names",
                "artifactTypeName": "dataset",
                "artifactCollectionName": pending.name,
                "digest": pending.digest,
                "digestAlgorithm": "MANIFEST_MD5",
                "aliases": [{"artifactCollectionName": pending.name, "alias": alias}],
            }
            response = client.http.post("/graphql", json={**body, "variables": {"input": variables}})
            assert (response.status_code == 200) == sdk_accepts(alias), (alias, response.text)


def test_a_manifest_path_component_over_255_bytes_is_refused(emu: EmbeddedEmulator) -> None:
    with Client(emu) as client:
        long_name = "é" * 128  # 128 characters, 256 bytes
        pending = Upload(client, "local/names", "long", {f"dir/{long_name}": b"x"})
        pending.create()
        pending.register_manifest()
        response = pending.put_manifest()
        assert response.status_code == 400
        assert "255 bytes" in json.loads(response.content)["errors"][0]["message"]
        assert len(manifest_bytes(pending.files)) > 0
