"""Helpers for the emulator's own tests: raw GraphQL over HTTP and the upload path step by step.

Nothing here goes through the SDK: these tests look at the emulator the way any W&B client sees
it, one request at a time, so each step of an upload can be skipped or spoiled on purpose.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from artifactkit.server.embedded import EmbeddedEmulator, EmulatorProcess


def team(emu: EmbeddedEmulator, name: str, *usernames: str) -> str:
    """A team of the emulator's home organization with these users as members (created as
    needed, with the users); returns its name. What `artifactkit admin` does, in-process."""
    from artifactkit.server import organizations
    from artifactkit.server.accounts import ensure_user

    store = emu.store
    home = organizations.home_organization(store)
    assert home is not None
    row = store.entity_by_name(name) or organizations.create_team(store, name, int(home["id"]))
    for username in usernames:
        organizations.set_team_member(store, row, ensure_user(store, username), "member")
    return name


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def artifact_digest(contents: Mapping[str, str]) -> str:
    """W&B's artifact digest (wandb-wire.md §6.2) from `path -> entry digest`, written out independently."""
    text = "wandb-artifact-manifest-v1\n" + "".join(f"{p}:{contents[p]}\n" for p in sorted(contents))
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def manifest_bytes(files: Mapping[str, bytes], references: Mapping[str, str] | None = None) -> bytes:
    """A `version: 1` manifest as the official clients write it."""
    contents: dict[str, Any] = {p: {"digest": md5_b64(b), "size": len(b)} for p, b in files.items()}
    for path, url in (references or {}).items():
        contents[path] = {"digest": md5_hex(url.encode()), "ref": url, "size": 0}
    document = {
        "version": 1,
        "storagePolicy": "wandb-storage-policy-v1",
        "storagePolicyConfig": {"storageLayout": "V2"},
        "contents": contents,
    }
    return json.dumps(document).encode()


class Client:
    """A GraphQL client for one emulator and one API key (or none)."""

    def __init__(self, emu: EmbeddedEmulator | EmulatorProcess, key: str | None = "default") -> None:
        self.emu = emu
        auth = None if key is None else ("api", emu.api_key if key == "default" else key)
        self.http = httpx.Client(base_url=emu.url, auth=auth, timeout=60)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def post(self, query: str, variables: Mapping[str, Any] | None = None, **extra: Any) -> httpx.Response:
        body: dict[str, Any] = {"query": query, **extra}
        if variables is not None:
            body["variables"] = dict(variables)
        return self.http.post("/graphql", json=body)

    def data(self, query: str, **variables: Any) -> dict[str, Any]:
        """`data` of a request that must succeed."""
        response = self.post(query, variables)
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, (response.status_code, body)
        result: dict[str, Any] = body["data"]
        return result

    def error(self, query: str, **variables: Any) -> tuple[int, list[dict[str, Any]]]:
        """(status, errors) of a request that must fail with a JSON answer."""
        response = self.post(query, variables)
        assert response.headers["content-type"].startswith("application/json"), response.text[:500]
        body = response.json()
        assert body.get("errors"), body
        return response.status_code, body["errors"]


@dataclass
class Upload:
    """One version going through the upload path; each step is a method so a test can stop anywhere."""

    client: Client
    project: str  # entity/project
    name: str
    files: Mapping[str, bytes]
    type: str = "dataset"
    aliases: Sequence[str] = ()
    metadata: Mapping[str, Any] | None = None
    run: str | None = None
    references: Mapping[str, str] = field(default_factory=dict)
    artifact_id: str = ""
    manifest_url: str = ""
    upload_urls: dict[str, str | None] = field(default_factory=dict)

    @property
    def entity_name(self) -> str:
        return self.project.split("/")[0]

    @property
    def project_name(self) -> str:
        return self.project.split("/")[1]

    @property
    def manifest(self) -> bytes:
        return manifest_bytes(self.files, self.references)

    @property
    def digest(self) -> str:
        contents = {p: md5_b64(b) for p, b in self.files.items()}
        contents.update({p: md5_hex(u.encode()) for p, u in self.references.items()})
        return artifact_digest(contents)

    def create(self, digest: str | None = None) -> dict[str, Any]:
        variables: dict[str, Any] = {
            "entityName": self.entity_name,
            "projectName": self.project_name,
            "artifactTypeName": self.type,
            "artifactCollectionName": self.name,
            "digest": digest or self.digest,
            "digestAlgorithm": "MANIFEST_MD5",
            "aliases": [{"artifactCollectionName": self.name, "alias": a} for a in self.aliases],
            "enableDigestDeduplication": True,
        }
        if self.metadata is not None:
            variables["metadata"] = json.dumps(self.metadata)
        if self.run is not None:
            variables["runName"] = self.run
        data = self.client.data(
            "mutation($input: CreateArtifactInput!) { createArtifact(input: $input) { artifact { id state } } }",
            input=variables,
        )
        artifact: dict[str, Any] = data["createArtifact"]["artifact"]
        self.artifact_id = artifact["id"]
        return artifact

    def register_manifest(self, digest: str | None = None) -> None:
        data = self.client.data(
            "mutation($input: CreateArtifactManifestInput!) { createArtifactManifest(input: $input) "
            "{ artifactManifest { id file { uploadUrl } } } }",
            input={
                "artifactID": self.artifact_id,
                "name": "wandb_manifest.json",
                "digest": digest or md5_b64(self.manifest),
                "entityName": self.entity_name,
                "projectName": self.project_name,
                "runName": self.run or "",
            },
        )
        self.manifest_url = data["createArtifactManifest"]["artifactManifest"]["file"]["uploadUrl"]

    def register_files(self) -> None:
        data = self.client.data(
            "mutation($input: CreateArtifactFilesInput!) { createArtifactFiles(input: $input) "
            "{ files { edges { node { name uploadUrl uploadHeaders } } } } }",
            input={
                "storageLayout": "V2",
                "artifactFiles": [
                    {"artifactID": self.artifact_id, "name": p, "md5": md5_b64(b)} for p, b in self.files.items()
                ],
            },
        )
        for edge in data["createArtifactFiles"]["files"]["edges"]:
            self.upload_urls[edge["node"]["name"]] = edge["node"]["uploadUrl"]

    def put_file(self, path: str, body: bytes | None = None) -> httpx.Response:
        url = self.upload_urls[path]
        assert url is not None, f"the server holds {path} already"
        return httpx.put(url, content=self.files[path] if body is None else body, timeout=60)

    def put_files(self) -> None:
        for path, url in self.upload_urls.items():
            if url is not None:
                response = self.put_file(path)
                assert response.status_code == 200, response.text

    def put_manifest(self, body: bytes | None = None) -> httpx.Response:
        return httpx.put(self.manifest_url, content=self.manifest if body is None else body, timeout=60)

    def commit(self) -> httpx.Response:
        return self.client.post(
            "mutation($id: ID!) { commitArtifact(input: {artifactID: $id}) "
            "{ artifact { id state digest versionIndex } } }",
            {"id": self.artifact_id},
        )

    def run_all(self) -> dict[str, Any]:
        """Every step; returns the committed artifact."""
        created = self.create()
        if created["state"] == "COMMITTED":
            return created
        self.register_manifest()
        self.register_files()
        self.put_files()
        assert self.put_manifest().status_code == 200
        response = self.commit()
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        artifact: dict[str, Any] = body["data"]["commitArtifact"]["artifact"]
        return artifact


def upload(client: Client, project: str, name: str, files: Mapping[str, bytes], **options: Any) -> dict[str, Any]:
    return Upload(client, project, name, files, **options).run_all()


VERSIONS = """
query($entity: String!, $project: String!, $name: String!, $first: Int, $after: String,
      $filters: JSONString, $order: String) {
  project(entityName: $entity, name: $project) {
    artifactCollection(name: $name) {
      artifacts(first: $first, after: $after, filters: $filters, order: $order) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { version cursor node { id versionIndex } }
      }
    }
  }
}
"""


def versions_page(client: Client, path: str, **args: Any) -> dict[str, Any]:
    """One page of `project.artifactCollection(name).artifacts(...)` for `entity/project/name`."""
    entity, project, name = path.split("/")
    if isinstance(args.get("filters"), dict):
        args["filters"] = json.dumps(args["filters"])
    data = client.data(VERSIONS, entity=entity, project=project, name=name, **args)
    page: dict[str, Any] = data["project"]["artifactCollection"]["artifacts"]
    return page


def version_names(client: Client, path: str, **args: Any) -> list[str]:
    """Every version of a listing, following the cursors."""
    names: list[str] = []
    after = None
    while True:
        page = versions_page(client, path, after=after, **args)
        names.extend(edge["version"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return names
        after = page["pageInfo"]["endCursor"]
