"""Seeding a project worth mirroring, and reading back what a server holds, for comparing two servers."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from artifactkit import Api, Artifact, ManifestEntry
from artifactkit.server.embedded import EmbeddedEmulator

_dirs = itertools.count()


def mutations(emu: EmbeddedEmulator) -> list[str]:
    """The writes (GraphQL mutations) the emulator received since its stats were last reset."""
    return [
        str(entry["operationName"])
        for entry in list(emu.stats.graphql_log)
        if str(entry.get("query", "")).lstrip().startswith("mutation")
    ]


def graphql(emu: EmbeddedEmulator, document: str, **variables: object) -> dict[str, Any]:
    response = httpx.post(
        f"{emu.url}/graphql", json={"query": document, "variables": variables}, auth=("api", emu.api_key), timeout=30
    )
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def make_run(emu: EmbeddedEmulator, path: str, *, display_name: str, job_type: str, **fields: Any) -> None:
    """A run with a display name and a job type, as `wandb.init(name=..., job_type=...)` makes it."""
    entity, project, name = path.split("/")
    graphql(
        emu,
        "mutation($input: UpsertBucketInput!) { upsertBucket(input: $input) { bucket { id } } }",
        input={
            "entityName": entity,
            "modelName": project,
            "name": name,
            "displayName": display_name,
            "jobType": job_type,
            **fields,
        },
    )


def log(api: Api, root: Path, name: str, type_name: str, files: dict[str, str], **options: Any) -> Artifact:
    directory = root / f"files-{next(_dirs)}"
    for path, text in files.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return api.upload(directory, name, type_name, **options)


def weights(project: str, epoch: int) -> str:
    """The weights file of `model:v<epoch>` of a seeded project (each project's bytes are its own)."""
    return f"{project}#" + "wvu"[epoch] * (4000 + 1000 * epoch)


def seed_project(api: Api, emu: EmbeddedEmulator, project: str, root: Path) -> None:
    """Three sequences (dataset, model, eval), a portfolio, aliases, tags, metadata, descriptions, a TTL,
    an http reference, and the runs that logged and used the versions. Every file's bytes are the
    project's own, so that what a server already holds from another test is never among them."""
    make_run(emu, f"{project}/prep-1", display_name="Prepare the data", job_type="preprocess", tags=["etl"])
    make_run(emu, f"{project}/train-1", display_name="Train baseline", job_type="train", groupName="sweep-a")
    make_run(emu, f"{project}/eval-1", display_name="Evaluate", job_type="eval", notes="held-out split")
    reference = ManifestEntry("external/readme.txt", digest="etag-123", size=11, ref="https://example.test/readme.txt")
    data0 = log(
        api,
        root,
        f"{project}/dataset",
        "dataset",
        {
            "train/a.csv": f"{project}\nx,y\n1,2\n",
            "train/b.csv": f"{project}\nx,y\n3,4\n",
            "labels.txt": f"{project}: cat dog",
        },
        aliases=["raw"],
        tags=["first"],
        metadata={"rows": 2, "source": {"kind": "survey", "year": 2024}},
        description="The raw survey data",
        run="prep-1",
    )
    data1 = log(
        api,
        root,
        f"{project}/dataset",
        "dataset",
        {
            "train/a.csv": f"{project}\nx,y\n1,2\n",
            "train/b.csv": f"{project}\nx,y\n3,5\n",
            "labels.txt": f"{project}: cat dog bird",
        },
        aliases=["clean"],
        tags=["curated", "large"],
        metadata={"rows": 2, "cleaned": True},
        run="prep-1",
        references=[reference],
    )
    models = []
    for i in range(3):
        api.use_artifact(data1, f"{project}/train-1")
        models.append(
            log(
                api,
                root,
                f"{project}/model",
                "model",
                {"weights.bin": weights(project, i), "config.json": f'{{"layers": 3, "project": "{project}"}}'},
                metadata={"epoch": i, "acc": 0.8 + i / 20},
                description=f"epoch {i}",
                run="train-1",
            )
        )
    models[0].ttl = timedelta(days=30)
    models[0].save()
    models[1].aliases = ["best"]
    models[1].save()
    models[2].aliases = ["candidate", "latest"]
    models[2].tags = ["release"]
    models[2].save()
    api.use_artifact(models[1], f"{project}/eval-1")
    api.use_artifact(data0, f"{project}/eval-1")
    log(
        api, root, f"{project}/results", "eval", {"scores.json": f"{project}: f1 0.9"}, run="eval-1", aliases=["report"]
    )
    models[1].link(f"{project}/production", aliases=["prod"])
    models[2].link(f"{project}/production", aliases=["staging"])
    collection = api.artifact_collection("dataset", f"{project}/dataset")
    collection.description = "Survey data, raw and cleaned"
    collection.tags = ["team-a"]
    collection.save()


def project_view(api: Api, project: str) -> dict[str, Any]:
    """What a user reads about a project's artifacts, without server IDs and times."""
    entity, name = project.split("/")
    collections: dict[str, Any] = {}
    for artifact_type in api.artifact_types(project):
        for collection in artifact_type.collections():
            versions = []
            for version in sorted(collection.artifacts(), key=lambda v: int(v.version[1:])):
                logger = version.logged_by()
                versions.append(
                    {
                        "version": version.version,
                        "source": version.source_name if version.is_link else None,
                        "digest": version.digest,
                        "aliases": sorted(version.aliases),
                        "tags": sorted(version.tags),
                        "metadata": version.metadata,
                        "description": version.description,
                        "ttl": None if version.is_link else str(version.ttl),
                        "files": {e.path: (e.digest, e.size, e.ref) for e in version.manifest.entries.values()},
                        "logged_by": None if logger is None else [logger.id, logger.display_name, logger.job_type],
                        "used_by": sorted([r.id, r.display_name, r.job_type] for r in version.used_by()),
                    }
                )
            collections[collection.name] = {
                "type": collection.type,
                "kind": "sequence" if collection.is_sequence() else "portfolio",
                "description": collection.description,
                "tags": sorted(collection.tags),
                "versions": versions,
            }
    runs = {
        run.id: {"name": run.display_name, "job_type": run.job_type, "group": run.group, "notes": run.notes}
        for run in api.runs(f"{entity}/{name}")
    }
    return {"collections": collections, "runs": runs}


def counts(emu: EmbeddedEmulator) -> dict[str, int]:
    """Rows of the emulator's tables that a doubled mirror would double."""
    store = emu.store
    tables = ("artifacts", "memberships", "runs", "artifact_usage", "aliases", "collections")
    return {table: int(store.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]) for table in tables}


def differences(left: Any, right: Any, path: str = "") -> list[str]:
    """Where two `project_view`s differ, one line per difference (empty when they are the same)."""
    if isinstance(left, dict) and isinstance(right, dict):
        found = []
        for key in sorted(set(left) | set(right), key=str):
            found += differences(left.get(key, "<missing>"), right.get(key, "<missing>"), f"{path}/{key}")
        return found
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return [
            line for i, (a, b) in enumerate(zip(left, right, strict=True)) for line in differences(a, b, f"{path}[{i}]")
        ]
    return [] if left == right else [f"{path}: {left!r} != {right!r}"]
