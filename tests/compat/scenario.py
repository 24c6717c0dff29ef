"""The compat scenario, executed by the python of a virtual environment holding an official `wandb`.

This file is not a test module: `test_official_client.py` runs it as
`<venv>/bin/python scenario.py CONFIG.json` against a live emulator. It imports only the
standard library, `wandb` and its neighbours `seed_data` and `scenario_runner`. Each step prints one
JSON line on stdout:

    {"step": "<name>", "ok": true, "result": {...}}
    {"step": "<name>", "ok": false, "error": "<ExceptionType>: <message>", "traceback": "..."}

A failing step does not stop the scenario; later steps are written to depend on as little
earlier state as possible, so one client bug shows up as one failed step.

The data is seeded by the client itself (`seed` step): `wandb.init()` runs that log and use
artifacts, i.e. the official upload path (createArtifact, createArtifactManifest,
createArtifactFiles, PUT of the bytes, commitArtifact, useArtifact) as wandb-core sends it.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import wandb
from scenario_runner import run_steps  # next to this file
from seed_data import DATASET_V0, DATASET_V1, MODEL_V0, SCRATCH_V0  # next to this file

CONFIG: dict[str, Any] = json.loads(Path(sys.argv[1]).read_text())
BASE_URL: str = CONFIG["base_url"]
API_KEY: str = CONFIG["api_key"]
ENTITY: str = CONFIG["entity"]
PROJECT: str = CONFIG["project"]
WORK = Path(CONFIG["workdir"])
ONLY: set[str] = set(CONFIG.get("only") or [])
PREFIX = f"{ENTITY}/{PROJECT}"
CLIENT_VERSION = tuple(int(part) for part in wandb.__version__.split(".")[:2])

_state: dict[str, Any] = {}
STEPS: list[tuple[str, Callable[[], Any]]] = []


def step(fn: Callable[[], Any]) -> Callable[[], Any]:
    STEPS.append((fn.__name__, fn))
    return fn


def api() -> Any:
    """One `wandb.Api` for the whole scenario, created by the first step that needs it."""
    if "api" not in _state:
        _state["api"] = wandb.Api(api_key=API_KEY, overrides={"base_url": BASE_URL}, timeout=30)
    return _state["api"]


def fresh_api() -> Any:
    """A new `wandb.Api`: nothing cached from earlier steps (used to re-read what a step wrote)."""
    return wandb.Api(api_key=API_KEY, overrides={"base_url": BASE_URL}, timeout=30)


def write_files(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def make_artifact(name: str, kind: str, files: dict[str, str], **kwargs: Any) -> Any:
    artifact = wandb.Artifact(name, type=kind, **kwargs)
    _state["sources"] = _state.get("sources", 0) + 1
    root = write_files(WORK / "sources" / str(_state["sources"]), files)
    for path in sorted(files):
        artifact.add_file(str(root / path), name=path)
    return artifact


def collection_view(collection: Any) -> dict[str, Any]:
    return {
        "name": collection.name,
        "type": collection.type,
        "description": collection.description,
        "tags": sorted(collection.tags),
        "is_sequence": collection.is_sequence(),
    }


def id_kind(value: str | None) -> str | None:
    """What a GraphQL ID names (`Project` for base64 of `Project:12`), without its volatile number."""
    import base64

    return None if value is None else base64.b64decode(value).decode().split(":")[0]


def artifact_view(artifact: Any) -> dict[str, Any]:
    return {
        "name": artifact.name,
        "qualified_name": artifact.qualified_name,
        "version": artifact.version,
        "type": artifact.type,
        "aliases": sorted(artifact.aliases),
        "tags": sorted(artifact.tags),
        "description": artifact.description,
        "metadata": artifact.metadata,
        "state": artifact.state,
        "size": artifact.size,
        "file_count": artifact.file_count,
        "digest": artifact.digest,
        "id": artifact.id,
        "source_name": artifact.source_name,
    }


# --------------------------------------------------------------------------- seeding


@step
def seed() -> Any:
    """Log and use artifacts from runs, exactly as a user of the official client does."""
    settings = wandb.Settings(silent=True, console="off", x_disable_stats=True, save_code=False)
    versions = {}
    with wandb.init(
        entity=ENTITY, project=PROJECT, id="run1", name="Seeding run", job_type="seed", settings=settings
    ) as run:
        v0 = make_artifact("my-dataset", "dataset", DATASET_V0, description="first cut", metadata={"rows": 2})
        run.log_artifact(v0, aliases=["best"], tags=["art-tag"])
        v0.wait()
        v1 = make_artifact("my-dataset", "dataset", DATASET_V1, metadata={"rows": 3})
        run.log_artifact(v1)
        v1.wait()
        model = make_artifact("my-model", "model", MODEL_V0)
        run.log_artifact(model)
        model.wait()
        scratch = make_artifact("scratch", "dataset", SCRATCH_V0)
        run.log_artifact(scratch)
        scratch.wait()
        versions = {a.name: a.digest for a in (v0, v1, model, scratch)}
    with wandb.init(entity=ENTITY, project=PROJECT, id="run2", job_type="train", settings=settings) as run:
        used = run.use_artifact(f"{PREFIX}/my-dataset:v0")
        used_name = used.name
    return {"digests": versions, "used": used_name}


# --------------------------------------------------------------------------- reading


@step
def api_init() -> Any:
    return {"default_entity": api().default_entity}


@step
def viewer_and_entity() -> Any:
    check = fresh_api()
    viewer = check.viewer
    return {"viewer": [viewer.username, viewer.entity], "default_entity": check.default_entity}


@step
def projects_and_runs() -> Any:
    """Creating a project and a run through the public API, then reading them back."""
    api().create_project("made-here", ENTITY)
    made = fresh_api().project("made-here", ENTITY)
    created = api().create_run(run_id="made-run", project="made-here", entity=ENTITY)
    run = fresh_api().run(f"{ENTITY}/made-here/made-run")  # a created Run cannot update() itself (no `group`)
    run.name = "Renamed run"  # the display name
    run.update()
    reloaded = fresh_api().run(f"{ENTITY}/made-here/made-run")
    seeded = fresh_api().run(f"{PREFIX}/run1")
    return {
        "project": [made.name, made.entity, made.path],
        "project_id_loaded": isinstance(made.id, str) if hasattr(type(made), "id") else None,  # 0.19.9: no id
        "run": [created.id, reloaded.id, reloaded.name, reloaded.state],
        "seeded_run": [seeded.id, seeded.name, seeded.job_type],
        "types_of_new_project": [t.name for t in made.artifacts_types()],
    }


@step
def internal_api_run() -> Any:
    """The internal API's run creation (0.19.9/0.22.3) first probes the `ServerSettings` type."""
    try:
        from wandb.apis.internal import Api as InternalApi
    except ImportError:  # 0.31.0 has no Python internal API
        return "not in this client"
    run, inserted, messages = InternalApi().upsert_run(
        name="run3", project=PROJECT, entity=ENTITY, display_name="Third run", job_type="probe"
    )
    reloaded = fresh_api().run(f"{PREFIX}/run3")
    return {"sent": [run["name"], run["displayName"], inserted, messages], "read": [reloaded.name, reloaded.job_type]}


@step
def paths_and_project_details() -> Any:
    """`Api.from_path()` for a project and a run, `Api.flush()`, and what a loaded project answers."""
    check = fresh_api()
    project = check.from_path(PREFIX)
    run = check.from_path(f"{PREFIX}/runs/run1")
    short = check.from_path(f"{PREFIX}/run1")
    check.flush()  # forgets what the Api cached; the next call asks the server again
    again = check.project(PROJECT, ENTITY)
    result: dict[str, Any] = {
        "project": [type(project).__name__, project.name, project.entity, project.path],
        "runs": [[type(found).__name__, found.id, found.name] for found in (run, short)],
        "url": project.url.split("/", 3)[-1],  # after scheme://host/
        "again": again.path,
    }
    if hasattr(type(project), "owner"):  # Project.owner is new in 0.31.0
        result["owner"] = project.owner.username
    return result


@step
def artifact_types() -> Any:
    return {"names": sorted(t.name for t in api().artifact_types(PREFIX))}


@step
def artifact_type() -> Any:
    found = api().artifact_type("dataset", PREFIX)
    return {"name": found.name, "has_id": bool(found.id)}


@step
def type_collections() -> Any:
    found = api().artifact_type("dataset", PREFIX)
    return {"names": sorted(c.name for c in found.collections())}


@step
def type_collection() -> Any:
    found = api().artifact_type("dataset", PREFIX).collection("my-dataset")
    return collection_view(found)


@step
def artifact_collections() -> Any:
    listing = api().artifact_collections(PREFIX, "dataset", per_page=1)
    names = [c.name for c in listing]
    return {"names": sorted(names), "len": len(listing)}


@step
def artifact_collection() -> Any:
    found = api().artifact_collection("dataset", f"{PREFIX}/my-dataset")
    view = collection_view(found)
    view["aliases"] = sorted(found.aliases)
    return view


@step
def collection_details() -> Any:
    """What a loaded collection offers beyond its fragment: aliases, times, its project."""
    found = fresh_api().artifact_collection("dataset", f"{PREFIX}/my-dataset")
    result: dict[str, Any] = {
        "aliases": sorted(found.aliases),
        "created_at": isinstance(found.created_at, str) and found.created_at[:2] == "20",
        "project": [getattr(found, "entity", ENTITY), getattr(found, "project", PROJECT)],
        "id": bool(found.id),
    }
    if hasattr(type(found), "updated_at"):  # 0.31.0: the collection's times and its project's IDs
        result["updated_at"] = isinstance(found.updated_at, str) and found.updated_at[:2] == "20"
        result["project_ids"] = [id_kind(found.project_id), id_kind(found.project_internal_id)]
    if inspect.signature(found.load).parameters:  # 0.22.3 and newer name what to load
        found.load(ENTITY, PROJECT, "dataset", "my-dataset")
    else:
        found.load()
    result["reloaded"] = [found.name, found.type]
    return result


@step
def project_collections() -> Any:
    project = api().project(PROJECT, ENTITY)
    if not hasattr(project, "collections"):  # Project.collections() is new in 0.31.0
        return "not in this client"
    return {"names": sorted(c.name for c in project.collections())}


@step
def collection_artifacts() -> Any:
    found = api().artifact_collection("dataset", f"{PREFIX}/my-dataset")
    return {"versions": [a.version for a in found.artifacts()]}


@step
def api_artifacts_per_page() -> Any:
    listing = api().artifacts("dataset", f"{PREFIX}/my-dataset", per_page=1)
    versions = [a.version for a in listing]
    return {"versions": versions, "len": len(listing)}


@step
def artifact_versions_and_tags() -> Any:
    """`Api.artifact_versions` (deprecated) and `Api.artifacts(tags=)`."""
    check = fresh_api()
    return {
        "versions": [a.version for a in check.artifact_versions("dataset", f"{PREFIX}/my-dataset")],
        "tagged": [a.version for a in check.artifacts("dataset", f"{PREFIX}/my-dataset", tags=["art-tag"])],
    }


@step
def filtered_listings() -> Any:
    """The filter language through the client's own `Artifacts(filters=, order=)` paginator."""
    from wandb.apis.public import Artifacts

    client = getattr(api(), "_service_api", None) or api().client  # 0.31.0 / 0.19.9

    def versions(filters: dict[str, Any], order: str | None = None) -> list[str]:
        listing = Artifacts(client, ENTITY, PROJECT, "my-dataset", "dataset", filters=filters, order=order)
        return [a.version for a in listing]

    result = {
        "index_gte_1": versions({"$and": [{"state": "COMMITTED"}, {"versionIndex": {"$gte": 1}}]}),
        "oldest_first": versions({"state": "COMMITTED"}, order="+createdAt"),
        "metadata_rows_3": versions({"state": "COMMITTED", "metadata.rows": 3}),
        "alias_best_or_v1": versions({"$or": [{"alias": "best"}, {"versionIndex": 1}]}, order="versionIndex"),
    }
    if "filters" in inspect.signature(wandb.apis.public.ArtifactType.collections).parameters:  # 0.31.0, not 0.22.3
        found = api().artifact_type("dataset", PREFIX).collections(filters={"name": "my-dataset"}, order="-createdAt")
        result["collections_named"] = [c.name for c in found]
    return result


@step
def artifact_by_version() -> Any:
    return artifact_view(api().artifact(f"{PREFIX}/my-dataset:v0"))


@step
def artifact_by_alias() -> Any:
    return artifact_view(api().artifact(f"{PREFIX}/my-dataset:latest", type="dataset"))


@step
def artifact_lookups() -> Any:
    """A bare collection name means its latest version; `type=` is checked against the version's type."""
    check = fresh_api()
    bare = check.artifact(f"{PREFIX}/my-dataset")
    model = check.artifact(f"{PREFIX}/my-model:v0", type="model")
    try:
        check.artifact(f"{PREFIX}/my-model:v0", type="dataset")
        wrong_type = None
    except Exception as exc:  # the client wraps its own ValueError
        wrong_type = type(exc).__name__
    return {"bare": [bare.version, bare.name], "model": [model.name, model.type], "wrong_type": wrong_type}


@step
def artifact_properties() -> Any:
    """What a fetched version answers beyond `artifact_view`: where it lives, its times, its own encoding."""
    artifact = fresh_api().artifact(f"{PREFIX}/my-dataset:v1")
    encoded = artifact.json_encode()
    result: dict[str, Any] = {
        "where": [artifact.entity, artifact.project],
        "source": [
            artifact.source_entity,
            artifact.source_project,
            artifact.source_version,
            artifact.source_qualified_name,
        ],
        "commit_hash": len(artifact.commit_hash),
        "times": [isinstance(t, str) and t[:2] == "20" for t in (artifact.created_at, artifact.updated_at)],
        "draft_state": [artifact.is_draft(), artifact.incremental, artifact.use_as, artifact.distributed_id],
        "wait": artifact.wait() is artifact,
        "json_encode": {key: value for key, value in encoded.items() if key != "id"},
        "json_encode_id": encoded.get("id") == artifact.id,
    }
    for name in ("history_step", "linked_at", "digest_algorithm"):  # newer clients only
        if hasattr(type(artifact), name):
            result[name] = str(getattr(artifact, name))
    return result


@step
def artifact_collection_properties() -> Any:
    """`Artifact.collection`, `source_collection` and `url`: the client loads the collection object."""
    artifact = fresh_api().artifact(f"{PREFIX}/my-dataset:v1")
    collection, source = artifact.collection, artifact.source_collection
    return {
        "collection": [collection.name, collection.type],
        "source": [source.name, source.type],
        "url": artifact.url.split("/", 3)[-1],  # after scheme://host/; built from the collection's kind
    }


@step
def artifact_exists() -> Any:
    return {
        "v1": api().artifact_exists(f"{PREFIX}/my-dataset:v1"),
        "best": api().artifact_exists(f"{PREFIX}/my-dataset:best"),
        "v9": api().artifact_exists(f"{PREFIX}/my-dataset:v9"),
        "nope": api().artifact_exists(f"{PREFIX}/nope:latest"),
    }


@step
def artifact_collection_exists() -> Any:
    return {
        "my-dataset": api().artifact_collection_exists(f"{PREFIX}/my-dataset", "dataset"),
        "nope": api().artifact_collection_exists(f"{PREFIX}/nope", "dataset"),
    }


@step
def artifact_files() -> Any:
    artifact = api().artifact(f"{PREFIX}/my-dataset:v0")
    files = artifact.files()
    listed = [(f.name, f.size, f.md5) for f in files]
    return {"files": sorted(listed), "len": len(files)}


def clear_client_cache() -> None:
    """Forget the bytes the client cached while uploading, so downloads really come from the server."""
    import shutil

    shutil.rmtree(Path(os.environ["WANDB_CACHE_DIR"]) / "artifacts" / "obj", ignore_errors=True)


@step
def file_listings() -> Any:
    """`files(names=)`, a listing across pages, and the manifest the client reads."""
    artifact = fresh_api().artifact(f"{PREFIX}/my-dataset:v0")
    named = artifact.files(names=["a.txt"])
    paged = [f.name for f in artifact.files(per_page=1)]
    manifest = artifact.manifest
    return {
        "named": [[f.name for f in named], len(named)],
        "paged": sorted(paged),
        "manifest": sorted((path, entry.digest, entry.size) for path, entry in manifest.entries.items()),
    }


@step
def file_objects() -> Any:
    """The `File` objects an artifact lists: their URLs and sizes, and `File.download()`."""
    clear_client_cache()
    artifact = fresh_api().artifact(f"{PREFIX}/my-dataset:v0")
    (found,) = list(artifact.files(names=["dir/b.txt"]))
    handle = found.download(root=str(WORK / "file-object"))
    with handle:
        text = handle.read()
    try:
        found.download(root=str(WORK / "file-object"))  # already there: refused unless replace/exist_ok
        refused = None
    except Exception as exc:
        refused = type(exc).__name__
    found.download(root=str(WORK / "file-object"), replace=True).close()
    return {
        "file": [found.name, found.size, found.md5, found.mimetype],
        "text": text,
        "path": str(Path(handle.name).relative_to(WORK)),
        "refused_again": refused,
        "path_uri": re.sub(r"^https?://[^/]+|\?.*$", "", found.path_uri),  # 0.19.9: only s3:// URIs
        "url_is_http": found.url.startswith("http"),
    }


@step
def download_verify() -> Any:
    clear_client_cache()
    artifact = api().artifact(f"{PREFIX}/my-dataset:v1")
    root = Path(artifact.download(str(WORK / "download-v1")))
    on_disk = {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}
    artifact.verify(str(root))
    # verify() must notice a changed file: corrupt one and check that it complains.
    (root / "c.txt").write_text("tampered\n")
    try:
        artifact.verify(str(root))
        detected = False
    except ValueError:
        detected = True
    return {"files": on_disk, "verified": True, "corruption_detected": detected}


@step
def downloads() -> Any:
    """checkout(), file(), download(skip_cache=, multipart=), and a single entry by path."""
    clear_client_cache()
    check = fresh_api()
    dataset = check.artifact(f"{PREFIX}/my-dataset:v0")
    target = WORK / "checkout"
    (target / "stray.txt").parent.mkdir(parents=True, exist_ok=True)
    (target / "stray.txt").write_text("not part of the artifact\n")
    root = Path(dataset.checkout(str(target)))
    checked_out = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    single = Path(check.artifact(f"{PREFIX}/my-model:v0").file(str(WORK / "single")))
    kwargs: dict[str, Any] = {"skip_cache": True}
    if "multipart" in inspect.signature(dataset.download).parameters:  # 0.22.3 and 0.31.0
        kwargs["multipart"] = True
    fresh = Path(check.artifact(f"{PREFIX}/my-dataset:v1").download(str(WORK / "fresh"), **kwargs))
    entry = Path(dataset.get_path("dir/b.txt").download(str(WORK / "by-path")))
    return {
        "checked_out": checked_out,
        "single": [single.name, single.stat().st_size],
        "fresh": sorted(str(p.relative_to(fresh)) for p in fresh.rglob("*") if p.is_file()),
        "entry": [entry.name, entry.read_text()],
    }


@step
def entry_download() -> Any:
    """`get_entry().download()` has no direct URL: the client builds the authenticated fallback URL."""
    clear_client_cache()
    entry = fresh_api().artifact(f"{PREFIX}/my-dataset:v1").get_entry("c.txt")
    path = Path(entry.download(str(WORK / "entry-download")))
    return {"name": path.name, "text": path.read_text()}


@step
def lineage() -> Any:
    artifact = api().artifact(f"{PREFIX}/my-dataset:v0")
    creator = artifact.logged_by()
    return {"logged_by": creator.id if creator else None, "used_by": sorted(r.id for r in artifact.used_by())}


@step
def run_logged_artifacts() -> Any:
    run = api().run(f"{PREFIX}/run1")
    logged = run.logged_artifacts(per_page=2)
    return {"state": run.state, "names": sorted(a.name for a in logged), "len": len(logged)}


@step
def run_used_artifacts() -> Any:
    run = api().run(f"{PREFIX}/run2")
    return {"names": sorted(a.name for a in run.used_artifacts())}


# --------------------------------------------------------------------------- writing


@step
def public_run_use_and_log() -> Any:
    """The public API's `Run.use_artifact` and `Run.log_artifact` on an existing run and version."""
    run = fresh_api().run(f"{PREFIX}/run2")
    run.use_artifact(fresh_api().artifact(f"{PREFIX}/my-model:v0"))
    # Without aliases: 0.19.9/0.22.3 send them as plain strings where the input wants ArtifactAliasInput.
    logged = run.log_artifact(fresh_api().artifact(f"{PREFIX}/my-dataset:v1"))
    return {
        "used": sorted(a.name for a in fresh_api().run(f"{PREFIX}/run2").used_artifacts()),
        "logged": [logged.name, logged.version],
    }


@step
def collection_edit() -> Any:
    collection = api().artifact_collection("dataset", f"{PREFIX}/my-dataset")
    collection.description = "edited description"
    collection.tags = ["tag-b", "tag-c"]
    collection.save()
    after_edit = collection_view(fresh_api().artifact_collection("dataset", f"{PREFIX}/my-dataset"))
    collection.tags = ["tag-c"]
    collection.save()
    after_untag = collection_view(fresh_api().artifact_collection("dataset", f"{PREFIX}/my-dataset"))
    return {"after_edit": after_edit, "after_untag": after_untag}


@step
def collection_rename() -> Any:
    collection = api().artifact_collection("model", f"{PREFIX}/my-model")
    collection.name = "my-model-renamed"
    collection.save()
    check = fresh_api()
    renamed = collection_view(check.artifact_collection("model", f"{PREFIX}/my-model-renamed"))
    old_exists = check.artifact_collection_exists(f"{PREFIX}/my-model", "model")
    collection.name = "my-model"
    collection.save()
    return {"renamed": renamed, "old_name_exists": old_exists}


@step
def collection_type_change() -> Any:
    collection = api().artifact_collection("dataset", f"{PREFIX}/scratch")
    collection.type = "model"
    collection.save()
    moved = collection_view(fresh_api().artifact_collection("model", f"{PREFIX}/scratch"))
    artifact_type = fresh_api().artifact(f"{PREFIX}/scratch:v0").type
    collection.type = "dataset"
    collection.save()
    back = collection_view(fresh_api().artifact_collection("dataset", f"{PREFIX}/scratch"))
    return {"moved": moved, "artifact_type": artifact_type, "back": back}


@step
def collection_change_type() -> Any:
    """The deprecated `ArtifactCollection.change_type()`, there and back."""
    collection = api().artifact_collection("dataset", f"{PREFIX}/scratch")
    collection.change_type("model")
    moved = fresh_api().artifact_collection("model", f"{PREFIX}/scratch").type
    fresh_api().artifact_collection("model", f"{PREFIX}/scratch").change_type("dataset")
    return {"moved": moved, "back": fresh_api().artifact_collection("dataset", f"{PREFIX}/scratch").type}


@step
def artifact_edit() -> Any:
    artifact = api().artifact(f"{PREFIX}/my-dataset:v0")
    artifact.aliases = [a for a in artifact.aliases if a != "best"] + ["new-alias"]
    artifact.tags = ["t2"]
    artifact.description = "edited"
    artifact.metadata = {"x": 1}
    artifact.save()
    return {
        "returned": artifact_view(artifact),
        "reloaded": artifact_view(fresh_api().artifact(f"{PREFIX}/my-dataset:v0")),
        "by_new_alias": fresh_api().artifact(f"{PREFIX}/my-dataset:new-alias").version,
        "best_exists": fresh_api().artifact_exists(f"{PREFIX}/my-dataset:best"),
    }


@step
def artifact_ttl() -> Any:
    from datetime import timedelta

    artifact = fresh_api().artifact(f"{PREFIX}/my-dataset:v1")
    artifact.ttl = timedelta(days=1)
    artifact.save()
    ttl = fresh_api().artifact(f"{PREFIX}/my-dataset:v1").ttl
    return {"ttl_seconds": None if ttl is None else ttl.total_seconds()}


@step
def link_to_portfolio() -> Any:
    artifact = api().artifact(f"{PREFIX}/my-dataset:v1")
    artifact.link(f"{PREFIX}/linked-portfolio", aliases=["foo"])
    check = fresh_api()
    linked = check.artifact(f"{PREFIX}/linked-portfolio:foo")
    return {
        "linked": artifact_view(linked),
        "same_id": linked.id == artifact.id,
        "latest_exists": check.artifact_exists(f"{PREFIX}/linked-portfolio:latest"),
    }


@step
def link_views() -> Any:
    """How a linked version and its source see each other (0.22.3 and newer)."""
    linked = fresh_api().artifact(f"{PREFIX}/linked-portfolio:foo")
    if not hasattr(linked, "is_link"):
        return "not in this client"
    source = fresh_api().artifact(f"{PREFIX}/my-dataset:v1")
    return {
        "is_link": [linked.is_link, source.is_link],
        "source_of_link": linked.source_artifact.qualified_name,
        "links_of_source": sorted(a.qualified_name for a in source.linked_artifacts),
    }


@step
def unlink() -> Any:
    source = api().artifact(f"{PREFIX}/my-dataset:v0")
    source.link(f"{PREFIX}/unlink-portfolio")
    linked = fresh_api().artifact(f"{PREFIX}/unlink-portfolio:v0")
    linked.unlink()
    check = fresh_api()
    return {
        "linked_exists": check.artifact_exists(f"{PREFIX}/unlink-portfolio:v0"),
        "source_exists": check.artifact_exists(f"{PREFIX}/my-dataset:v0"),
    }


@step
def linked_delete() -> Any:
    """Deleting a linked version removes the link only."""
    fresh_api().artifact(f"{PREFIX}/my-dataset:v0").link(f"{PREFIX}/delete-portfolio")
    fresh_api().artifact(f"{PREFIX}/delete-portfolio:v0").delete()
    check = fresh_api()
    return {
        "linked_exists": check.artifact_exists(f"{PREFIX}/delete-portfolio:v0"),
        "source_exists": check.artifact_exists(f"{PREFIX}/my-dataset:v0"),
    }


@step
def portfolio_collection() -> Any:
    portfolio = api().artifact_collection("dataset", f"{PREFIX}/linked-portfolio")
    view = collection_view(portfolio)
    versions = [a.version for a in portfolio.artifacts()]
    portfolio.delete()
    check = fresh_api()
    return {
        "portfolio": view,
        "versions": versions,
        "exists_after_delete": check.artifact_collection_exists(f"{PREFIX}/linked-portfolio", "dataset"),
        "source_still_exists": check.artifact_exists(f"{PREFIX}/my-dataset:v1"),
    }


@step
def artifact_delete() -> Any:
    artifact = api().artifact(f"{PREFIX}/scratch:v0")
    try:
        artifact.delete()  # still aliased (`latest`): the server must refuse
        refused = None
    except Exception as exc:  # the client wraps the server error in its own type
        refused = type(exc).__name__
    exists_after_refusal = fresh_api().artifact_exists(f"{PREFIX}/scratch:v0")
    artifact.delete(delete_aliases=True)
    return {
        "refused_with": refused,
        "exists_after_refusal": exists_after_refusal,
        "exists_after_delete": fresh_api().artifact_exists(f"{PREFIX}/scratch:v0"),
    }


@step
def collection_delete() -> Any:
    collection = api().artifact_collection("model", f"{PREFIX}/my-model")
    collection.delete()
    check = fresh_api()
    return {
        "exists": check.artifact_collection_exists(f"{PREFIX}/my-model", "model"),
        "version_exists": check.artifact_exists(f"{PREFIX}/my-model:v0"),
        "remaining": sorted(c.name for c in check.artifact_type("dataset", PREFIX).collections()),
    }


# --------------------------------------------------------------------------- runs


@step
def run_update() -> Any:
    """`Run.update()` of tags, config, notes, group and summary, read back by a fresh client."""
    run = fresh_api().run(f"{PREFIX}/run2")
    run.tags = ["baseline", "second"]
    run.config["lr"] = 0.01
    run.notes = "some notes"
    run.group = "grp"
    run.summary["acc"] = 0.9  # written by the summary's own upsertBucket, which update() sends last
    run.update()
    back = fresh_api().run(f"{PREFIX}/run2")
    config = {key: value for key, value in back.config.items() if not key.startswith("_")}
    return {
        "tags": sorted(back.tags),
        "config": config,
        "notes": back.notes,
        "group": back.group,
        "summary_acc": back.summary["acc"],
    }


@step
def run_reads() -> Any:
    """What a loaded run answers without history: its state (`wait_until_finished`), path and last step."""
    run = fresh_api().run(f"{PREFIX}/run1")
    run.wait_until_finished()
    return {
        "state": run.state,
        "path": run.path,
        "last_history_step": run.lastHistoryStep,
        "user": run.user.username,
    }


@step
def run_details() -> Any:
    """A loaded run's derived views (config, summary, URL, storage ID), `load(force=True)`, and `save()`."""
    run = fresh_api().run(f"{PREFIX}/run2")
    result: dict[str, Any] = {
        "url": run.url.split("/", 3)[-1],  # after scheme://host/
        "username": run.username,
        "storage_id": isinstance(run.storage_id, str) and bool(run.storage_id),
        "entity_project": [run.entity, run.project],
        "json_config": {k: v for k, v in json.loads(run.json_config).items() if not k.startswith("_")},
        "summary": {k: v for k, v in run.summary.items() if not k.startswith("_")},
    }
    for name in ("rawconfig", "summary_metrics"):  # 0.22.3 and newer
        if hasattr(type(run), name):
            result[name] = {k: v for k, v in getattr(run, name).items() if not k.startswith("_")}
    if hasattr(type(run), "sweep_name"):
        result["sweep_name"] = run.sweep_name
    run.notes = "saved notes"
    run.save()  # the older name of update()
    result["saved_notes"] = fresh_api().run(f"{PREFIX}/run2").load(force=True)["notes"]
    if hasattr(type(run), "load_full_data"):  # lazily listed runs (0.22.3 and newer)
        listed = fresh_api().runs(PREFIX, filters={"name": "run2"})
        (lazy,) = list(listed)
        lazy.load_full_data()
        result["full_config"] = {k: v for k, v in lazy.config.items() if not k.startswith("_")}
        listed.upgrade_to_full()
        result["upgraded"] = [[r.id, r.summary_metrics.get("acc")] for r in listed]
    return result


@step
def run_files() -> Any:
    """A run's files: what wandb.init() uploaded, `upload_file()`, `files()`, `file()`, `File.download()`,
    `File.delete()`, and `Run.metadata` (read from wandb-metadata.json)."""
    source = write_files(WORK / "run-files", {"notes/readme.txt": "# about run1\n"})
    uploaded = fresh_api().run(f"{PREFIX}/run1").upload_file(str(source / "notes/readme.txt"), root=str(source))
    run = fresh_api().run(f"{PREFIX}/run1")
    listed = run.files()
    names = [f.name for f in listed]
    found = run.file("notes/readme.txt")
    handle = found.download(root=str(WORK / "run-file-download"))
    with handle:
        text = handle.read()
    metadata = run.metadata or {}
    result: dict[str, Any] = {
        "uploaded": [uploaded.name, uploaded.size],
        "names": names,
        "len": len(listed),
        "paged": [f.name for f in run.files(per_page=2)],
        "named": [f.name for f in run.files(names=["config.yaml", "nope"])],
        "file": [found.name, found.size, found.md5, found.mimetype],
        "text": text,
        "metadata": sorted(key for key in ("python", "startedAt") if key in metadata),
    }
    if "pattern" in inspect.signature(run.files).parameters:  # 0.22.3 and newer
        result["pattern"] = [f.name for f in run.files(pattern="%.json")]
    found.delete()
    result["after_delete"] = [f.name for f in fresh_api().run(f"{PREFIX}/run1").files()]
    return result


@step
def projects_listing() -> Any:
    """`Api.projects()` one project per page."""
    return {"names": sorted(p.name for p in fresh_api().projects(ENTITY, per_page=1))}


@step
def runs_listing() -> Any:
    """`Api.runs()`: pages, len(), order, and filters on fields the clients document."""
    check = fresh_api()

    def label(run: Any) -> str:
        # 0.19.9's Artifact.link() starts a run of its own (job type "auto", a random ID) when none is active.
        return "auto" if run.job_type == "auto" else str(run.id)

    def ids(filters: dict[str, Any] | None = None, order: str = "+created_at") -> list[str]:
        return [label(r) for r in check.runs(PREFIX, filters=filters, order=order)]

    every = check.runs(PREFIX, per_page=1)
    paged = [label(r) for r in every]
    seeding = check.runs(PREFIX, filters={"displayName": "Seeding run"})
    tuned = check.runs(PREFIX, filters={"config.lr": 0.01})
    kwargs = {"lazy": False} if "lazy" in inspect.signature(check.runs).parameters else {}  # 0.22.3 and 0.31.0
    full = check.runs(PREFIX, filters={"summary_metrics.acc": {"$gte": 0.5}}, **kwargs)
    return {
        "paged": paged,
        "len": len(every),
        "newest_first": ids(order="-created_at"),
        "seeding": [[r.id, r.name, r.job_type, r.state] for r in seeding],
        "train": ids({"jobType": "train"}),
        "tagged": ids({"tags": "baseline"}),
        "tuned": [[r.id, r.config.get("lr")] for r in tuned],  # listed runs load their config on first use
        "accurate": [[r.id, r.summary["acc"]] for r in full],
        "run1_or_probe": ids({"$or": [{"name": "run1"}, {"jobType": "probe"}]}),
        "finished": ids({"state": {"$in": ["finished"]}}),
    }


@step
def runs_refused_filter() -> Any:
    """An operator the emulator does not implement is refused, never ignored."""
    try:
        listed = [r.id for r in fresh_api().runs(PREFIX, filters={"displayName": {"$near": "run"}})]
    except Exception as exc:  # the client wraps the server's 400 in its own type
        response = getattr(exc, "response", None)  # 0.19.9/0.22.3 raise requests' HTTPError
        status = getattr(response, "status_code", None)
        said = f"{exc} {getattr(response, 'text', '')}"
        if status != 400 and "$near" not in said:
            raise  # refused for another reason: the step fails with that error
        return {"refused_with": type(exc).__name__, "names_operator": "unknown filter operator '$near'" in said}
    return {"listed": listed}


@step
def run_delete() -> Any:
    """`Run.delete()`: the run goes and what it used stays; `delete_artifacts=True` takes its versions along."""
    settings = wandb.Settings(silent=True, console="off", x_disable_stats=True, save_code=False)
    with wandb.init(entity=ENTITY, project=PROJECT, id="gone-logger", job_type="doomed", settings=settings) as run:
        logged = make_artifact("gone-data", "dataset", {"g.txt": "gone\n"})
        run.log_artifact(logged)
        logged.wait()
    api().create_run(run_id="gone-user", project=PROJECT, entity=ENTITY)
    user = fresh_api().run(f"{PREFIX}/gone-user")
    user.use_artifact(fresh_api().artifact(f"{PREFIX}/my-dataset:v1"))
    used_before = sorted(r.id for r in fresh_api().artifact(f"{PREFIX}/my-dataset:v1").used_by())
    user.delete()
    fresh_api().run(f"{PREFIX}/gone-logger").delete(delete_artifacts=True)
    check = fresh_api()

    def lookup(run_id: str) -> str | None:
        try:
            check.run(f"{PREFIX}/{run_id}")
        except Exception as exc:  # each client has its own not-found type
            return type(exc).__name__
        return None

    return {
        "used_by_before": used_before,
        "used_by_after": sorted(r.id for r in check.artifact(f"{PREFIX}/my-dataset:v1").used_by()),
        "lookups_after": [lookup("gone-user"), lookup("gone-logger")],
        "used_version_exists": check.artifact_exists(f"{PREFIX}/my-dataset:v1"),
        "logged_version_exists": check.artifact_exists(f"{PREFIX}/gone-data:v0"),
    }


@step
def run_update_state() -> Any:
    """0.31.0's `Run.update_state()`: a running run marked failed, then requeued as pending."""
    if not hasattr(wandb.apis.public.Run, "update_state"):
        return "not in this client"
    api().create_run(run_id="requeued", project=PROJECT, entity=ENTITY)
    run = fresh_api().run(f"{PREFIX}/requeued")
    states = [run.state, run.update_state("failed"), fresh_api().run(f"{PREFIX}/requeued").state]
    states += [run.update_state("pending"), fresh_api().run(f"{PREFIX}/requeued").state]
    return {"states": states}


# What a live run's process polls to learn that someone asked it to stop (the internal API's document).
RUN_STOPPED_STATUS = """
query RunStoppedStatus($projectName: String, $entityName: String, $runId: String!) {
    project(name:$projectName, entityName:$entityName) { run(name:$runId) { stopped } }
}
"""


@step
def run_stop() -> Any:
    """0.31.0's `Run.stop()`: the run's `stopped` flag, which its own process polls, turns true."""
    if not hasattr(wandb.apis.public.Run, "stop"):
        return "not in this client"
    api().create_run(run_id="stop-me", project=PROJECT, entity=ENTITY)
    service = fresh_api()._service_api  # the client's own transport sends the poll's document

    def stopped() -> Any:
        variables = {"projectName": PROJECT, "entityName": ENTITY, "runId": "stop-me"}
        return service.execute_graphql(RUN_STOPPED_STATUS, variables)["project"]["run"]["stopped"]

    before = stopped()
    run = fresh_api().run(f"{PREFIX}/stop-me")
    run.stop()
    run.stop()  # again: no effect
    return {"stopped": [before, stopped()], "state": fresh_api().run(f"{PREFIX}/stop-me").state}


@step
def new_draft_saved() -> Any:
    """`new_draft()` of a logged version, edited (add_file, new_file, add_dir, remove) and `save()`d in a run."""
    settings = wandb.Settings(silent=True, console="off", x_disable_stats=True, save_code=False)
    base = fresh_api().artifact(f"{PREFIX}/my-dataset:v1")
    draft = base.new_draft()
    extra = write_files(WORK / "draft", {"d.txt": "added to a draft\n", "more/e.txt": "a directory\n"})
    draft.add_file(str(extra / "d.txt"), name="d.txt")
    draft.add_dir(str(extra / "more"), name="more")
    with draft.new_file("notes.txt") as handle:
        handle.write("written in place\n")
    draft.remove("c.txt")
    before = [draft.is_draft(), draft.state]
    with wandb.init(entity=ENTITY, project=PROJECT, id="drafter", job_type="draft", settings=settings):
        draft.save()
        draft.wait()
    saved = fresh_api().artifact(f"{PREFIX}/my-dataset:latest")
    return {
        "before": before,
        "after": [draft.is_draft(), draft.state, draft.version],
        "saved": [saved.version, saved.state, saved.metadata, saved.logged_by().id],
        "files": sorted(f.name for f in saved.files()),
        "base_unchanged": sorted(f.name for f in fresh_api().artifact(f"{PREFIX}/my-dataset:v1").files()),
    }


@step
def artifact_references() -> Any:
    """`add_reference()` of a `wandb-artifact://` URL (`ArtifactManifestEntry.ref_url()`), logged, then downloaded:
    the client resolves the reference through the version it points at."""
    settings = wandb.Settings(silent=True, console="off", x_disable_stats=True, save_code=False)
    entry = fresh_api().artifact(f"{PREFIX}/my-dataset:v1").get_entry("a.txt")
    url = entry.ref_url()
    with wandb.init(entity=ENTITY, project=PROJECT, id="ref-run", job_type="references", settings=settings) as run:
        refs = wandb.Artifact("refs", type="dataset")
        refs.add_reference(url, name="borrowed/a.txt")
        run.log_artifact(refs)
        refs.wait()
    clear_client_cache()
    fetched = fresh_api().artifact(f"{PREFIX}/refs:v0")
    (reference,) = fetched.manifest.entries.values()
    root = Path(fetched.download(str(WORK / "refs")))
    return {
        "url": [url.split("://")[0], url.rsplit("/", 1)[-1]],
        "entry": [reference.path, reference.ref == url, reference.digest == entry.digest],
        "files": {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()},
    }


@step
def artifact_saved_without_run() -> Any:
    """`Artifact.save()` outside any run: the client starts a run of its own (job type "auto") to log it."""
    settings = wandb.Settings(silent=True, console="off", x_disable_stats=True, save_code=False)
    standalone = make_artifact("standalone", "dataset", {"s.txt": "saved without a run\n"})
    standalone.save(project=PROJECT, settings=settings)
    standalone.wait()
    saved = fresh_api().artifact(f"{PREFIX}/standalone:v0")
    creator = saved.logged_by()
    return {
        "saved": [saved.version, saved.state, sorted(saved.aliases)],
        "logged_by_job_type": None if creator is None else creator.job_type,
    }


@step
def artifact_get_media() -> Any:
    """`Artifact.get()` of a `wandb.Table` the client logged, read back from the server."""
    settings = wandb.Settings(silent=True, console="off", x_disable_stats=True, save_code=False)
    with wandb.init(entity=ENTITY, project=PROJECT, id="media-run", job_type="media", settings=settings) as run:
        media = wandb.Artifact("media", type="dataset")
        media.add(wandb.Table(columns=["n", "word"], data=[[1, "one"], [2, "two"]]), "table")
        run.log_artifact(media)
        media.wait()
    clear_client_cache()
    fetched = fresh_api().artifact(f"{PREFIX}/media:v0")
    table = fetched.get("table")
    return {
        "files": sorted(f.name for f in fetched.files()),
        "table": [type(table).__name__, table.columns, table.data],
        "missing": fetched.get("no-such-entry"),
    }


def main() -> int:
    return run_steps(STEPS, ONLY)


if __name__ == "__main__":
    os.chdir(WORK)
    sys.exit(main())
