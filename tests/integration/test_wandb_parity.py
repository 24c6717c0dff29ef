"""What issue 18's parity check made the same as wandb, over the emulator: each member as a wandb user
calls it (tests/compat/test_parity.py checks the names, kinds, parameters and value types against wandb)."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from artifactkit import Api, Artifact, ArtifactTTL, Project, Run, Runs, User, errors
from artifactkit.artifacts import CollectionView
from artifactkit.manifest import Manifest, ManifestEntry
from artifactkit.server.embedded import EmbeddedEmulator
from tests.conftest import graphql, make_api
from tests.integration.support import upload


def upsert_run(emu: EmbeddedEmulator, project: str, run_id: str, **fields: object) -> None:
    """A run as wandb.init() leaves it: display name, job type, tags, config in W&B's wrapped form, ..."""
    entity, name = project.split("/")
    graphql(
        emu,
        "mutation($input: UpsertBucketInput!) { upsertBucket(input: $input) { bucket { id } } }",
        input={"entityName": entity, "modelName": name, "name": run_id, **fields},
    )


@pytest.fixture
def trained(emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path) -> Artifact:
    """`train-1` (display name "Bright sun", job type train, tags, config, summary) logged `data:v0`."""
    upsert_run(
        emulator,
        project,
        "train-1",
        displayName="Bright sun",
        jobType="train",
        tags=["baseline"],
        notes="first try",
        groupName="sweepless",
        config=json.dumps({"lr": {"value": 0.01, "desc": None}, "_wandb": {"value": {"cli_version": "0.31.0"}}}),
        summaryMetrics=json.dumps({"acc": 0.9}),
    )
    return upload(api, tmp_path, f"{project}/data", files={"a.txt": "a\n", "b/c.txt": "c\n"}, run="train-1")


# -- Api -------------------------------------------------------------------------------------------------


def test_api_takes_wandbs_arguments_in_wandbs_order(emulator: EmbeddedEmulator, tmp_path: Path, project: str) -> None:
    upload_api = make_api(emulator, tmp_path / "cache")
    upload(upload_api, tmp_path, f"{project}/data")
    upload_api.close()
    entity, name = project.split("/")
    overrides = {"base_url": emulator.url, "api_key": emulator.api_key, "entity": entity, "project": name}
    with Api(overrides, 20, cache_dir=tmp_path / "cache") as api:  # wandb.Api(overrides, timeout, api_key)
        assert (api.timeout, api.default_project, api.api_key) == (20, name, emulator.api_key)
        assert api.settings == {"base_url": emulator.url, "entity": entity, "organization": None, "project": name}
        assert api.artifact("data:v0").qualified_name == f"{project}/data:v0"
        assert api.user_agent.startswith("artifactkit/")


def test_the_viewer_is_a_user(api: Api) -> None:
    viewer = api.viewer
    assert isinstance(viewer, User)
    assert (viewer.username, viewer.entity, viewer.name) == ("local", "local", "local")


def test_flush_asks_for_the_default_entity_again(emulator: EmbeddedEmulator, api: Api) -> None:
    emulator.stats.reset()
    assert api.default_entity == api.default_entity == "local"
    assert emulator.stats.operations["Viewer"] == 1
    api.flush()
    assert api.default_entity == "local"
    assert emulator.stats.operations["Viewer"] == 2


def test_project_is_a_method_returning_a_project_loaded_on_first_use(
    emulator: EmbeddedEmulator, api: Api, trained: Artifact, project: str
) -> None:
    entity, name = project.split("/")
    emulator.stats.reset()
    found = api.project(name, entity)
    assert isinstance(found, Project)
    assert (found.name, found.entity, found.path, found.path_str) == (name, entity, [entity, name], project)
    assert found.url == f"{emulator.url}/{project}/workspace"
    assert emulator.stats.operations == {}  # nothing asked yet, as in wandb
    assert base64.b64decode(found.id).decode().startswith("Project:")
    assert isinstance(found.created_at, str) and found.created_at_datetime.tzinfo is not None
    assert (found.entity_name, found.is_benchmark, found.owner.username) == (entity, False, "local")
    assert emulator.stats.operations["ProjectByName"] == 1  # one request for all of them
    assert found == api.project(name)  # the default entity
    assert [t.name for t in found.artifacts_types()] == ["dataset"]
    missing = api.project("no-such-project", entity)
    with pytest.raises(errors.NotFoundError, match="no-such-project") as caught:
        _ = missing.created_at
    assert caught.value.kind == "project"


def test_a_projects_collections_of_every_type(api: Api, project: str, tmp_path: Path) -> None:
    upload(api, tmp_path, f"{project}/data", "dataset")
    upload(api, tmp_path, f"{project}/weights", "model")
    found = api.project(project.split("/")[1], project.split("/")[0])
    listing = found.collections(order="name")
    assert [(c.name, c.type) for c in listing] == [("data", "dataset"), ("weights", "model")]
    assert len(listing) == 2
    assert [c.name for c in found.collections(filters={"name": "weights"})] == ["weights"]


def test_a_projects_collections_need_a_server_from_0_12_11(legacy_emulator: EmbeddedEmulator, tmp_path: Path) -> None:
    with make_api(legacy_emulator, tmp_path / "cache") as api:
        upload(api, tmp_path, "local/old-server/data")
        with pytest.raises(errors.UnsupportedError, match="per type"):
            list(api.project("old-server", "local").collections())


def test_create_project_and_create_run(api: Api, project: str) -> None:
    entity, name = project.split("/")
    assert api.create_project(name, entity) is None
    assert api.project(name, entity).name == name
    made = api.create_run(run_id="made-here", project=name, entity=entity)
    assert isinstance(made, Run) and made.path == [entity, name, "made-here"]
    random = api.create_run(project=name, entity=entity)
    assert len(random.id) == 8 and random.id.isalnum()
    assert api.run(f"{project}/{random.id}").storage_id == random.storage_id


def test_from_path_reads_projects_and_runs_as_wandb(api: Api, trained: Artifact, project: str) -> None:
    entity, name = project.split("/")
    assert api.from_path(project) == api.project(name, entity)
    assert api.from_path(name) == api.project(name)
    for path in (f"{project}/train-1", f"{project}/runs/train-1", f"/{project}/runs/train-1/"):
        found = api.from_path(path)
        assert isinstance(found, Run) and found.id == "train-1", path
    with pytest.raises(errors.UnsupportedError, match="names a sweep"):
        api.from_path(f"{project}/sweeps/abc")
    with pytest.raises(errors.InvalidNameError, match="names no project or run"):
        api.from_path(f"{project}/runs/a/b")


def test_artifact_versions_is_the_deprecated_name_of_artifacts(api: Api, project: str, tmp_path: Path) -> None:
    upload(api, tmp_path, f"{project}/data")
    upload(api, tmp_path, f"{project}/data")
    with pytest.warns(DeprecationWarning, match=r"use Api\.artifacts"):
        listing = api.artifact_versions("dataset", f"{project}/data", per_page=1)
    assert [a.version for a in listing] == ["v1", "v0"]


def test_listings_take_wandbs_positional_arguments(api: Api, project: str, tmp_path: Path) -> None:
    for _ in range(3):
        upload(api, tmp_path, f"{project}/data")
    first = api.artifacts("dataset", f"{project}/data", "versionIndex", 2)  # (type, name, order, per_page)
    assert [a.version for a in first] == ["v0", "v1", "v2"]
    pages = list(first.pages())
    rest = api.artifacts("dataset", f"{project}/data", "versionIndex", 2, None, pages[0].end_cursor)
    assert [a.version for a in rest] == ["v2"]
    assert rest.tags == []
    assert [c.name for c in api.artifact_collections(project, "dataset", "-createdAt", 1)] == ["data"]
    collection = api.artifact_collection("dataset", f"{project}/data")
    assert [a.version for a in collection.artifacts(2, pages[0].end_cursor)] == ["v0"]  # (per_page, start)
    artifact_type = api.artifact_type("dataset", project)
    assert artifact_type.type == "dataset"
    assert [c.name for c in artifact_type.collections({"name": "data"}, "-createdAt")] == ["data"]


# -- Runs ------------------------------------------------------------------------------------------------


def test_a_run_answers_as_wandbs_does(emulator: EmbeddedEmulator, api: Api, trained: Artifact, project: str) -> None:
    run = api.run(f"{project}/train-1")
    assert (run.id, run.name, run.display_name) == ("train-1", "Bright sun", "Bright sun")
    assert (run.job_type, run.tags, run.notes, run.group) == ("train", ["baseline"], "first try", "sweepless")
    assert [run.entity, run.project] == project.split("/")
    with pytest.warns(DeprecationWarning, match="use Run.entity"):
        assert run.username == run.entity
    assert run.url == f"{emulator.url}/{project}/runs/train-1"
    assert isinstance(run.user, User) and run.user.username == "local"
    assert isinstance(run.created_at, str) and run.created_at_datetime <= datetime.now(UTC)
    assert run.heartbeat_at_datetime is not None and run.history_line_count == 0
    emulator.stats.reset()
    assert run.config == {"lr": 0.01}
    assert run.rawconfig == {"_wandb": {"cli_version": "0.31.0"}, "lr": 0.01}
    assert json.loads(run.json_config) == {
        "_wandb": {"value": {"cli_version": "0.31.0"}, "desc": None},
        "lr": {"value": 0.01, "desc": None},
    }
    assert run.summary_metrics == run.summary == {"acc": 0.9}
    assert (run.system_metrics, run.lastHistoryStep) == ({}, -1)
    assert emulator.stats.operations["ProjectRunData"] == 1  # the JSON documents: one request, on first use
    loaded = run.load()
    assert (loaded["displayName"], loaded["config"], loaded["summaryMetrics"]) == (
        "Bright sun",
        {"lr": 0.01},
        {"acc": 0.9},
    )
    assert emulator.stats.operations["ProjectRunData"] == 1
    assert run.load(force=True)["jobType"] == "train"
    assert emulator.stats.operations["ProjectRunData"] == 2


def test_runs_lists_filters_and_orders_on_the_server(
    emulator: EmbeddedEmulator, api: Api, trained: Artifact, project: str
) -> None:
    for run_id, job in (("eval-1", "eval"), ("train-2", "train")):
        upsert_run(emulator, project, run_id, jobType=job, config=json.dumps({"lr": {"value": 0.1}}))
    every = api.runs(project, per_page=1)
    assert isinstance(every, Runs)
    assert ([r.id for r in every], len(every)) == (["train-1", "eval-1", "train-2"], 3)
    assert [r.id for r in api.runs(project, order="-created_at")] == ["train-2", "eval-1", "train-1"]
    assert [r.id for r in api.runs(project, {"jobType": "train"})] == ["train-1", "train-2"]
    assert [r.id for r in api.runs(project, filters={"config.lr": 0.1})] == ["eval-1", "train-2"]
    assert [r.id for r in api.runs(project.split("/")[1] if api.default_entity else project)] == [
        "train-1",
        "eval-1",
        "train-2",
    ]
    emulator.stats.reset()
    lazy = list(api.runs(project))
    assert [r.config for r in lazy] == [{"lr": 0.01}, {"lr": 0.1}, {"lr": 0.1}]
    assert emulator.stats.operations["ProjectRunData"] == 3  # one per run, on first use
    emulator.stats.reset()
    full = list(api.runs(project, lazy=False))
    assert [r.config for r in full] == [{"lr": 0.01}, {"lr": 0.1}, {"lr": 0.1}]
    assert emulator.stats.operations["ProjectRunData"] == 0  # came with the listing
    listing = api.runs(project)
    listing.upgrade_to_full()
    assert listing.lazy is False
    with pytest.raises(errors.NotFoundError, match="not found"):
        list(api.runs(f"{project}-nowhere"))


def test_wait_until_finished_polls_until_the_run_is_done(emulator: EmbeddedEmulator, api: Api, project: str) -> None:
    upsert_run(emulator, project, "finishing", state="running")
    run = api.run(f"{project}/finishing")
    assert run.state == "running"
    done = threading.Timer(0.5, upsert_run, (emulator, project, "finishing"), {"state": "finished"})
    done.start()
    try:
        run.wait_until_finished()
    finally:
        done.join()
    assert run.state == "finished"


def test_a_run_records_what_it_used_and_can_be_deleted(api: Api, trained: Artifact, project: str) -> None:
    consumer = api.create_run(run_id="consumer", project=project.split("/")[1], entity=project.split("/")[0])
    assert consumer.use_artifact(trained) is trained
    [used] = api.run(f"{project}/consumer").used_artifacts()
    assert used.id == trained.id
    assert [r.id for r in trained.used_by()] == ["consumer"]
    consumer.delete()
    with pytest.raises(errors.NotFoundError):
        api.run(f"{project}/consumer")
    assert api.artifact_exists(trained.qualified_name)  # what it used stays
    api.run(f"{project}/train-1").delete(delete_artifacts=True)
    assert not api.artifact_exists(trained.qualified_name)  # what it logged goes with it


# -- Artifact --------------------------------------------------------------------------------------------


def test_times_are_the_servers_text_with_datetimes_beside_them(api: Api, trained: Artifact, project: str) -> None:
    version = api.artifact(f"{project}/data:v0")
    assert isinstance(version.created_at, str)
    assert datetime.fromisoformat(version.created_at) == version.created_at_datetime
    assert version.created_at_datetime.tzinfo is not None
    assert version.updated_at == version.created_at or version.updated_at_datetime > version.created_at_datetime
    version.description = "now described"
    version.save()
    edited = api.artifact(f"{project}/data:v0")
    assert edited.updated_at_datetime >= edited.created_at_datetime
    assert edited.description == "now described"
    collection = edited.collection
    assert isinstance(collection.created_at, str) and collection.created_at_datetime.tzinfo is not None
    assert collection.updated_at_datetime is not None
    assert isinstance(api.artifact_type("dataset", project).created_at, str)


def test_a_versions_wandb_properties(emulator: EmbeddedEmulator, api: Api, trained: Artifact, project: str) -> None:
    version = api.artifact(f"{project}/data:v0")
    assert len(version.commit_hash) == 12 and int(version.commit_hash, 16) >= 0
    assert version.url == f"{emulator.url}/{project}/artifacts/dataset/data/v0"
    assert (version.linked_at, version.linked_at_datetime, version.ttl) == (None, None, None)
    assert (version.incremental, version.distributed_id, version.is_draft()) == (False, None, False)
    with pytest.warns(DeprecationWarning, match="use_as"):
        assert version.use_as is None
    assert version.json_encode() == {
        "_type": "artifactVersion",
        "_version": "v0",
        "id": version.id,
        "version": "v0",
        "sequenceName": "data",
        "usedAs": None,
    }
    assert version.source_collection is version.collection
    assert version.wait() is version  # committed: nothing to wait for
    assert [f.name for f in version.files(None, 1, None)] == ["a.txt", "b/c.txt"]


def test_a_link_says_when_it_was_made_and_where_it_lives(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path
) -> None:
    model = upload(api, tmp_path, f"{project}/weights", "model")
    before = datetime.now(UTC)
    model.link(f"{project}/best-models")
    link = api.artifact(f"{project}/best-models:v0")
    assert link.is_link and isinstance(link.linked_at, str)
    assert link.linked_at_datetime is not None and link.linked_at_datetime >= before - timedelta(seconds=5)
    selection = f"{project}/best-models".replace("/", "%2F")
    assert (
        link.url
        == f"{emulator.url}/{project.split('/')[0]}/registry/model?selectionPath={selection}&view=membership&version=v0"
    )
    assert (link.source_collection.name, link.collection.name) == ("weights", "best-models")
    assert [a.linked_at for a in api.artifacts("model", f"{project}/best-models")] == [None]  # listings do not say


def test_ttl_is_read_set_and_saved(emulator: EmbeddedEmulator, api: Api, trained: Artifact, project: str) -> None:
    version = api.artifact(f"{project}/data:v0")
    version.ttl = timedelta(days=2)
    assert version.ttl == timedelta(days=2)  # before saving, what was set
    version.save()
    assert api.artifact(f"{project}/data:v0").ttl == timedelta(days=2)
    version.ttl = ArtifactTTL.INHERIT
    with pytest.raises(errors.UnsupportedError, match="known after save"):
        _ = version.ttl
    version.save()
    assert version.ttl is None  # the emulator's teams have no default TTL
    version.ttl = None
    version.save()
    assert api.artifact(f"{project}/data:v0").ttl is None
    with pytest.raises(ValueError, match="positive"):
        version.ttl = timedelta(0)
    sent = [e for e in emulator.stats.graphql_log if e.get("operationName") == "UpdateArtifact"]
    assert [e["variables"]["input"]["ttlDurationSeconds"] for e in sent[-3:]] == [172800, -1, -2]


def test_ttl_cannot_be_set_on_a_link_or_on_a_server_without_ttls(
    api: Api, legacy_emulator: EmbeddedEmulator, project: str, tmp_path: Path
) -> None:
    upload(api, tmp_path, f"{project}/data").link(f"{project}/portfolio")
    link = api.artifact(f"{project}/portfolio:v0")
    with pytest.raises(errors.UnsupportedError, match="is a link"):
        link.ttl = timedelta(days=1)
    with make_api(legacy_emulator, tmp_path / "legacy-cache") as old:
        version = upload(old, tmp_path, "local/old-ttl/data")
        version.ttl = timedelta(days=1)
        with pytest.raises(errors.UnsupportedError, match="predates artifact TTLs"):
            version.save()


def _pending_version(emu: EmbeddedEmulator, api: Api, project: str) -> tuple[Artifact, Manifest]:
    """A version whose upload has begun and not finished (`createArtifact` only), as another client leaves it."""
    entity, name = project.split("/")
    manifest = Manifest.from_entries([ManifestEntry("ref.txt", "etag-1", 0, ref="https://example.test/ref.txt")])
    created = graphql(
        emu,
        "mutation($i: CreateArtifactInput!) { createArtifact(input: $i) { artifact { id state } } }",
        i={
            "entityName": entity,
            "projectName": name,
            "artifactTypeName": "dataset",
            "artifactCollectionName": "pending",
            "digest": manifest.digest(),
            "digestAlgorithm": "MANIFEST_MD5",
        },
    )
    artifact_id = created["createArtifact"]["artifact"]["id"]  # type: ignore[index]
    fields = api.client.operations.artifact_by_id(artifact_id, "test")
    assert fields is not None and fields.state.value == "PENDING"
    view = CollectionView(entity, name, "pending", fields.artifact_sequence.id, False, None)
    return Artifact._wrap(api.client, fields, view), manifest


def _commit(emu: EmbeddedEmulator, project: str, artifact_id: str, manifest: Manifest) -> None:
    entity, name = project.split("/")
    body = manifest.to_bytes()
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    registered = graphql(
        emu,
        "mutation($i: CreateArtifactManifestInput!) { createArtifactManifest(input: $i) "
        "{ artifactManifest { file { uploadUrl } } } }",
        i={
            "artifactID": artifact_id,
            "name": "wandb_manifest.json",
            "digest": md5,
            "entityName": entity,
            "projectName": name,
            "runName": "",
        },
    )
    url = registered["createArtifactManifest"]["artifactManifest"]["file"]["uploadUrl"]  # type: ignore[index]
    httpx.put(url, content=body, headers={"Content-MD5": md5}, timeout=30).raise_for_status()
    graphql(emu, "mutation($id: ID!) { commitArtifact(input: {artifactID: $id}) { artifact { id } } }", id=artifact_id)


def test_wait_polls_a_pending_version_until_it_is_committed(emulator: EmbeddedEmulator, api: Api, project: str) -> None:
    pending, manifest = _pending_version(emulator, api, project)
    with pytest.raises(TimeoutError, match="still PENDING"):
        pending.wait(timeout=0)
    finishing = threading.Timer(0.5, _commit, (emulator, project, pending.id, manifest))
    finishing.start()
    try:
        assert pending.wait(timeout=60) is pending
    finally:
        finishing.join()
    assert pending.state == "COMMITTED"


# -- files and listings ----------------------------------------------------------------------------------


def test_a_files_wandb_fields_and_download_forms(api: Api, trained: Artifact, project: str, tmp_path: Path) -> None:
    version = api.artifact(f"{project}/data:v0")
    [file] = version.files(names=["b/c.txt"])
    assert (file.size_bytes, file.run, file.updated_at_datetime) == (2, None, None)
    assert file.direct_url.startswith("http") and file.url is not None
    assert file.storage_path and file.path_uri == (file.direct_url if file.direct_url == file.url else "")
    with file.download(tmp_path / "out") as handle:  # wandb's form: the file, open for reading
        assert handle.read() == "c\n"
    (tmp_path / "out" / "b" / "c.txt").write_text("mine\n")
    with pytest.raises(errors.DownloadError, match="replace=True"):
        file.download_path(tmp_path / "out")
    kept = file.download_path(tmp_path / "out", exist_ok=True)  # kept as it is, nothing fetched
    assert kept.read_text() == "mine\n"
    with file.download(tmp_path / "out", True) as handle:  # replace, positionally as in wandb
        assert handle.read() == "c\n"


def test_a_file_downloads_through_another_api(
    emulator: EmbeddedEmulator, api: Api, trained: Artifact, tmp_path: Path
) -> None:
    [file] = api.artifact(trained.qualified_name).files(names=["a.txt"])
    with make_api(emulator, tmp_path / "other-cache") as other:
        path = file.download_path(tmp_path / "via-other", api=other)
    assert path.read_text() == "a\n"
    assert any((tmp_path / "other-cache").rglob("*"))  # the other Api's cache was used


def test_next_walks_a_listing_as_wandbs_iterators_do(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path
) -> None:
    for _ in range(3):
        upload(api, tmp_path, f"{project}/data")
    listing = api.artifacts("dataset", f"{project}/data", per_page=2)
    emulator.stats.reset()
    assert next(listing).version == "v2"
    assert listing.next().version == "v1"
    assert [a.version for a in listing] == ["v2", "v1", "v0"]  # a for loop starts from the beginning
    assert next(listing).version == "v0"  # and leaves next()'s place alone
    with pytest.raises(StopIteration):
        next(listing)
    assert emulator.stats.operations["CollectionVersions"] == 4  # next(): 2 pages, the for loop: 2 pages


def test_a_collections_project_ids(emulator: EmbeddedEmulator, api: Api, trained: Artifact, project: str) -> None:
    collection = api.artifact_collection("dataset", f"{project}/data")
    assert collection.project_id == api.project(*reversed(project.split("/"))).id
    emulator.stats.reset()
    internal = collection.project_internal_id
    assert internal is not None and base64.b64decode(internal).decode().split(":")[0] == "ProjectInternalId"
    assert collection.project_internal_id == internal
    assert emulator.stats.operations["ProjectInternalId"] == 1  # asked once


def test_a_run_id_made_by_create_run_is_new_each_time(api: Api, project: str) -> None:
    entity, name = project.split("/")
    ids = {api.create_run(project=name, entity=entity).id for _ in range(5)}
    assert len(ids) == 5
