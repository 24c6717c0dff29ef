"""Helpers for the facade's integration tests: seeding data over the wire, normalising what was sent."""

from __future__ import annotations

import hashlib
import itertools
import re
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from artifactkit import Api, Artifact
from artifactkit.manifest import Manifest, ManifestEntry
from artifactkit.server.embedded import EmbeddedEmulator
from tests.server.support import team as team  # one home for it, the emulator's test helpers

_contents = itertools.count()


def upload(
    api: Api,
    root: Path,
    name: str,
    type_name: str = "dataset",
    *,
    files: Mapping[str, str] | None = None,
    **options: Any,
) -> Artifact:
    """Log a new version of `name` through the SDK's own upload path, with unique content unless given."""
    directory = root / f"upload-{next(_contents)}"
    directory.mkdir(parents=True)
    for path, text in (files or {"data.txt": f"content {directory.name}"}).items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return api.upload(directory, name, type_name, **options)


def _reference_manifest(path: str, index: int) -> Manifest:
    """A one-entry manifest referencing an external URL: unique per version, with no bytes to upload."""
    tag = hashlib.md5(f"{path}:{index}".encode()).hexdigest()
    return Manifest.from_entries([ManifestEntry("ref.txt", tag, 0, ref=f"https://example.test/{tag}")])


def seed_versions(emu: EmbeddedEmulator, path: str, type_name: str, count: int, *, batch: int = 250) -> None:
    """Commit `count` versions of `entity/project/name` quickly: each step is one GraphQL request
    with many aliased mutations (as any client may send), instead of one upload per version."""
    entity, project, name = path.split("/")
    with httpx.Client(auth=("api", emu.api_key), timeout=120) as client:

        def mutate(fields: list[str]) -> dict[str, Any]:
            response = client.post(f"{emu.url}/graphql", json={"query": "mutation { " + " ".join(fields) + " }"})
            body = response.json()
            assert response.status_code == 200 and "errors" not in body, str(body)[:2000]
            data: dict[str, Any] = body["data"]
            return data

        for start in range(0, count, batch):
            manifests = [_reference_manifest(path, start + i) for i in range(min(batch, count - start))]
            created = mutate(
                [
                    f'a{i}: createArtifact(input: {{entityName: "{entity}", projectName: "{project}", '
                    f'artifactTypeName: "{type_name}", artifactCollectionName: "{name}", '
                    f'digest: "{manifest.digest()}", digestAlgorithm: MANIFEST_MD5}}) {{ artifact {{ id }} }}'
                    for i, manifest in enumerate(manifests)
                ]
            )
            ids = [created[f"a{i}"]["artifact"]["id"] for i in range(len(manifests))]
            registered = mutate(
                [
                    f'm{i}: createArtifactManifest(input: {{artifactID: "{artifact_id}", name: "wandb_manifest.json", '
                    f'digest: "{manifests[i].digest()}", entityName: "{entity}", projectName: "{project}", '
                    'runName: ""}) { artifactManifest { file { uploadUrl } } }'
                    for i, artifact_id in enumerate(ids)
                ]
            )
            for i, manifest in enumerate(manifests):
                url = registered[f"m{i}"]["artifactManifest"]["file"]["uploadUrl"]
                assert client.put(url, content=manifest.to_bytes()).status_code == 200
            mutate(
                [
                    f'c{i}: commitArtifact(input: {{artifactID: "{artifact_id}"}}) {{ artifact {{ id }} }}'
                    for i, artifact_id in enumerate(ids)
                ]
            )


# -- what went over the wire, with volatile values normalised --------------------------------

_VOLATILE_KEYS = re.compile(r"(^id$|ID$|^cursor$)")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")
_PORT = re.compile(r"127\.0\.0\.1:\d+")


def _normalise_value(key: str, value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _normalise_value(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise_value(key, v) for v in value]
    if isinstance(value, str) and _VOLATILE_KEYS.search(key):
        return f"<{key}>"
    return value


def normalise(value: Any) -> Any:
    """Replace ids, cursors, timestamps and ports with placeholders so a snapshot is stable."""
    if isinstance(value, Mapping):
        return {k: normalise(_normalise_value(k, v)) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str):
        return _PORT.sub("127.0.0.1:<port>", _TIMESTAMP.sub("<time>", value))
    return value


def wire(emu: EmbeddedEmulator) -> dict[str, Any]:
    """The requests the emulator received since `stats.reset()`: the sequence of operations with
    their (normalised) variables, and each distinct document once, dedented."""
    calls = []
    documents: dict[str, str] = {}
    for entry in list(emu.stats.graphql_log):
        name = entry["operationName"]
        calls.append({"operation": name, "variables": normalise(entry["variables"]), "status": entry["status"]})
        documents.setdefault(name, textwrap.dedent(entry["query"]).strip())
    return {"calls": calls, "documents": documents}


def operation_names(emu: EmbeddedEmulator) -> list[str]:
    return [entry["operationName"] for entry in list(emu.stats.graphql_log)]


def names(items: Sequence[Any]) -> list[str]:
    return [item.name for item in items]


# -- organizations, teams and users of an emulator (what `artifactkit admin` does, in-process) ------


def user_key(emu: EmbeddedEmulator, username: str, *, role: str = "write") -> str:
    """A new API key of `username` (created, and joining the home organization, on first use)."""
    from artifactkit.server.accounts import create_key

    return create_key(emu.store, username, role=role).key


def leave_home_organization(emu: EmbeddedEmulator, username: str) -> None:
    from artifactkit.server import organizations
    from artifactkit.server.accounts import ensure_user

    store = emu.store
    home = organizations.home_organization(store)
    assert home is not None
    organizations.remove_organization_member(store, int(home["id"]), ensure_user(store, username))


def join_organization(emu: EmbeddedEmulator, username: str, organization: str, entity: str) -> None:
    """`username` joins the organization `organization` (created with its entity `entity` if needed)."""
    from artifactkit.server import organizations
    from artifactkit.server.accounts import ensure_user

    store = emu.store
    row = store.organization_by_name(organization) or organizations.create_organization(store, organization, entity)
    organizations.set_organization_member(store, int(row["id"]), ensure_user(store, username), "member")


def registry_projects_outside_organizations(emu: EmbeddedEmulator) -> list[str]:
    """Every `wandb-registry-*` project of an entity that is not an organization's own (must be none)."""
    rows = emu.store.conn.execute(
        "SELECT e.name AS entity, p.name AS project FROM projects p JOIN entities e ON e.id = p.entity_id "
        "WHERE p.name LIKE 'wandb-registry-%' AND e.kind != 'organization'"
    ).fetchall()
    return [f"{r['entity']}/{r['project']}" for r in rows]
