"""The official `wandb` client, unchanged, against the emulator: one test per scenario step.

Each combination (client version x server personality) runs `scenario.py` once in the client's
own virtual environment; every test below checks one step's result. A step that breaks inside
the client itself is listed in `CLIENT_FAILURES` with the evidence and becomes a strict xfail:
it must fail exactly that way, and the test turns red if the client starts to pass.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.compat.conftest import ENTITY, PROJECT, Combination, ScenarioRun
from tests.compat.seed_data import (
    DATASET_V0,
    DATASET_V1,
    MODEL_V0,
    SCRATCH_V0,
    manifest_digest,
    md5_b64,
    total_size,
)

pytestmark = pytest.mark.compat


class ClientStepFailed(Exception):
    """A scenario step failed inside the client in the way recorded in `CLIENT_FAILURES`."""


@dataclass(frozen=True)
class ClientFailure:
    error: str  # regular expression the step's error must match
    raised_in: str  # regular expression for the client frame the error must be raised from
    evidence: str


# wandb 0.19.9 and 0.22.3 select `tags` in every collection fragment, whatever the server. Collection tags are
# absent from the printed SDL of Dec 2022 (wandb-schema-notes.md §2.3: "T23 D24 G26, absent in S22"), so a
# server older than 0.12.11 refuses each such document and the client raises the server's validation error
# from its GraphQL transport. Every step that loads a collection object fails this way against such a server:
# listing or loading collections, editing them, and what goes through `artifact.collection` first (unlink,
# deleting a link, and in 0.19.9 deleting a version).
_NO_COLLECTION_TAGS = (
    "wandb 0.19.9/0.22.3 select ArtifactCollection.tags unconditionally; servers older than 0.12.11 have no "
    'collection tags and refuse the document (Cannot query field "tags")'
)
_TAGS_ERROR = r'Cannot query field "tags" on type "Artifact(Collection|Sequence)"'
_GQL_FRAME = r'wandb_gql/client\.py", line \d+, in execute\n\s+raise Exception\(str\(result\.errors\[0\]\)\)'
_COLLECTION_STEPS = (
    "type_collections",
    "type_collection",
    "artifact_collections",
    "artifact_collection",
    "collection_details",
    "artifact_collection_properties",
    "collection_artifacts",
    "collection_edit",
    "collection_rename",
    "collection_type_change",
    "collection_change_type",
    "unlink",
    "linked_delete",
    "portfolio_collection",
    "collection_delete",
)
# wandb 0.22.3 rewrites every field named `artifactCollection` in its ProjectArtifacts document to
# `artifactSequence` on such a server, the one nested under `aliases` too. That one has no alias, so the answer
# comes back under the key `artifactSequence` and the client's own pydantic model, which expects
# `artifactCollection`, refuses it (client-quirks.md; wandb-wire.md §3.3). A server older than 0.12.11 has
# `ArtifactAlias.artifactSequence` and answers the document, so the failure is the client's.
_RENAMED_ALIASES = (
    "wandb 0.22.3 renames the nested `aliases { artifactCollection }` to `artifactSequence` on servers older "
    "than 0.12.11; the server answers and the client's own ProjectArtifacts model rejects the answer"
)
_RENAMED_FRAME = r'wandb/apis/public/artifacts\.py", line \d+, in _update_response\n\s+result = ProjectArtifacts'


# wandb 0.19.9's `Runs` and `RunFiles` documents select `Project.internalId` unconditionally (0.22.3 probes the
# Project type for it first; 0.31.0 needs a modern server anyway). `internalId` is dated D24/G26 and absent from the
# 2022 SDL (wandb-schema-notes.md §2.5), so a server older than 0.12.11 refuses the document: `Api.runs()` cannot
# list, and `Run.files()`/`file()` cannot list a run's files (the upload before it goes through).
_NO_INTERNAL_ID = (
    "wandb 0.19.9's Runs and RunFiles documents select Project.internalId, which servers older than 0.12.11 lack; "
    'the server refuses them (Cannot query field "internalId")'
)
_INTERNAL_ID_ERROR = r'Cannot query field "internalId" on type "Project"'


def _legacy_failures(version: str) -> dict[tuple[str, str, str], ClientFailure]:
    steps = [*_COLLECTION_STEPS, "artifact_delete"] if version == "0.19.9" else _COLLECTION_STEPS
    failures = {
        (version, "legacy", step): ClientFailure(error=_TAGS_ERROR, raised_in=_GQL_FRAME, evidence=_NO_COLLECTION_TAGS)
        for step in steps
    }
    if version == "0.19.9":
        for step in ("runs_listing", "runs_refused_filter", "run_files"):
            failures[(version, "legacy", step)] = ClientFailure(
                error=_INTERNAL_ID_ERROR, raised_in=_GQL_FRAME, evidence=_NO_INTERNAL_ID
            )
    if version == "0.22.3":
        for step in ("api_artifacts_per_page", "artifact_versions_and_tags", "filtered_listings"):
            failures[(version, "legacy", step)] = ClientFailure(
                error=r"^ValidationError: \d+ validation errors? for ProjectArtifacts\n"
                r".*aliases\.0\.artifactCollection",
                raised_in=_RENAMED_FRAME,
                evidence=_RENAMED_ALIASES,
            )
    return failures


CLIENT_FAILURES: dict[tuple[str, str, str], ClientFailure] = {
    **_legacy_failures("0.19.9"),
    **_legacy_failures("0.22.3"),
}


def result_of(scenario: ScenarioRun, step: str, request: pytest.FixtureRequest) -> Any:
    """The step's result; a recorded client failure becomes a strict xfail, any other failure fails."""
    combination = scenario.combination
    known = CLIENT_FAILURES.get((combination.version, combination.personality, step))
    if known is not None:
        request.applymarker(pytest.mark.xfail(strict=True, raises=ClientStepFailed, reason=known.evidence))
    record = scenario.record(step)
    if record["ok"]:
        return record["result"]
    if known and re.search(known.error, record["error"], re.S) and re.search(known.raised_in, record["traceback"]):
        raise ClientStepFailed(record["error"])  # exactly the recorded failure, raised where it was recorded
    pytest.fail(f"step {step} failed in the client: {record['error']}\n{record['traceback']}")


PREFIX = f"{ENTITY}/{PROJECT}"
DATASET_V0_FILES = sorted((path, len(text.encode()), md5_b64(text)) for path, text in DATASET_V0.items())


# OLD_SERVER_HAS_NO_TAGS: a server older than 0.12.11 has no `Artifact.tags`. 0.19.9/0.22.3 find that out by
# introspection (`__type(name: "Artifact")`), leave the field out of their documents and show no tags; 0.19.9
# filters `api.artifacts(tags=)` on its side, so nothing matches.


def dataset_view(version: str, **changes: Any) -> dict[str, Any]:
    """How the client shows a seeded my-dataset version fetched by its version name."""
    files = DATASET_V0 if version == "v0" else DATASET_V1
    view: dict[str, Any] = {
        "name": f"my-dataset:{version}",
        "qualified_name": f"{PREFIX}/my-dataset:{version}",
        "version": version,
        "type": "dataset",
        "aliases": ["best"] if version == "v0" else ["latest"],
        "tags": ["art-tag"] if version == "v0" else [],
        "description": "first cut" if version == "v0" else None,
        "metadata": {"rows": 2} if version == "v0" else {"rows": 3},
        "state": "COMMITTED",
        "size": total_size(files),
        "file_count": len(files),
        "digest": manifest_digest(files),
        "source_name": f"my-dataset:{version}",
    }
    view.update(changes)
    return view


def without_id(view: dict[str, Any]) -> dict[str, Any]:
    assert isinstance(view.pop("id"), str) and view  # every version carries a GraphQL ID
    return view


# --------------------------------------------------------------------------- seeding


def test_seed_through_the_clients_own_upload_path(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    result = result_of(scenario, "seed", request)
    assert result == {
        "digests": {
            "my-dataset:v0": manifest_digest(DATASET_V0),
            "my-dataset:v1": manifest_digest(DATASET_V1),
            "my-model:v0": manifest_digest(MODEL_V0),
            "scratch:v0": manifest_digest(SCRATCH_V0),
        },
        "used": "my-dataset:v0",
    }
    operations = scenario.stats["operations"]
    # The versions went through the upload path (wandb-core names its operations like this).
    for operation in ("CreateArtifact", "CreateArtifactManifest", "CreateArtifactFiles", "CommitArtifact"):
        assert operations.get(operation, 0) >= 4, (operation, operations)
    assert operations.get("UseArtifact", 0) >= 1, operations
    assert scenario.stats["requests"].get("upload", 0) >= 4  # PUTs of file bytes and manifests


def test_no_request_failed_on_the_server(scenario: ScenarioRun) -> None:
    statuses = scenario.stats["statuses"]
    assert not [s for s in statuses if s.startswith("5")], (statuses, scenario.server_log[-4000:])
    assert "Traceback" not in scenario.server_log
    # The refusals the scenario provokes on purpose: deleting a version that still has aliases (409), a run filter
    # with an operator the emulator does not implement (400). (0.19.9 on legacy stops earlier in both steps.)
    refusals = {"409": 1} if scenario.records["artifact_delete"]["ok"] else {}
    if scenario.records["runs_refused_filter"]["ok"]:
        refusals["400"] = 1
    assert {s: n for s, n in statuses.items() if s not in ("200", "206")} == refusals, statuses
    # download(multipart=True) (0.22.3 and 0.31.0) fetches ranges: one partial answer per file of my-dataset:v1.
    multipart = scenario.combination.version != "0.19.9"
    assert statuses.get("206", 0) == (len(DATASET_V1) if multipart else 0), statuses


# --------------------------------------------------------------------------- reading


def test_api_construction(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "api_init", request) == {"default_entity": ENTITY}


def test_viewer_and_default_entity(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "viewer_and_entity", request) == {"viewer": [ENTITY, ENTITY], "default_entity": ENTITY}


def test_projects_and_runs(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    result = result_of(scenario, "projects_and_runs", request)
    assert result == {
        "project": ["made-here", ENTITY, [ENTITY, "made-here"]],
        # 0.31.0's Project.id loads the project (GetProject); 0.22.3's Project.id reads what it was given
        "project_id_loaded": None if scenario.combination.version == "0.19.9" else True,
        "run": ["made-run", "made-run", "Renamed run", "running"],  # Run.name is the display name
        "seeded_run": ["run1", "Seeding run", "seed"],  # the name given to wandb.init()
        "types_of_new_project": [],
    }
    # 0.31.0's CreateProject selects Project.access and Project.views (client-quirks.md).
    assert scenario.stats["operations"].get(
        "CreateProject" if scenario.combination.version == "0.31.0" else "upsertModel"
    )


def test_internal_api_run_creation(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    result = result_of(scenario, "internal_api_run", request)
    if scenario.combination.version == "0.31.0":
        assert result == "not in this client"
        return
    assert result == {"sent": ["run3", "Third run", True, []], "read": ["Third run", "probe"]}
    assert scenario.stats["operations"]["ProbeServerSettings"] == 1


def test_paths_and_project_details(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    expected: dict[str, Any] = {
        "project": ["Project", PROJECT, ENTITY, [ENTITY, PROJECT]],
        "runs": [["Run", "run1", "Seeding run"], ["Run", "run1", "Seeding run"]],  # ENTITY/PROJECT/[runs/]ID
        "url": f"{ENTITY}/{PROJECT}/workspace",
        "again": [ENTITY, PROJECT],
    }
    if scenario.combination.version == "0.31.0":
        expected["owner"] = ENTITY  # Project.owner loads the project's user
    assert result_of(scenario, "paths_and_project_details", request) == expected


def test_artifact_types(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "artifact_types", request) == {"names": ["dataset", "model"]}


def test_artifact_type(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "artifact_type", request) == {"name": "dataset", "has_id": True}


def test_type_collections(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "type_collections", request) == {"names": ["my-dataset", "scratch"]}


def test_type_collection(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "type_collection", request) == {
        "name": "my-dataset",
        "type": "dataset",
        "description": None,
        "tags": [],
        "is_sequence": True,
    }


def test_artifact_collections_across_pages(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "artifact_collections", request) == {"names": ["my-dataset", "scratch"], "len": 2}


def test_artifact_collection(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "artifact_collection", request) == {
        "name": "my-dataset",
        "type": "dataset",
        "description": None,
        "tags": [],
        "is_sequence": True,
        "aliases": ["best", "latest"],
    }


def test_collection_details(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    expected: dict[str, Any] = {
        "aliases": ["best", "latest"],
        "created_at": True,
        "project": [ENTITY, PROJECT],
        "id": True,
        "reloaded": ["my-dataset", "dataset"],  # ArtifactCollection.load()
    }
    if scenario.combination.version == "0.31.0":
        expected |= {"updated_at": True, "project_ids": ["Project", "ProjectInternalId"]}  # base64 of Kind:N
    assert result_of(scenario, "collection_details", request) == expected


def test_project_collections(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    result = result_of(scenario, "project_collections", request)
    if scenario.combination.version != "0.31.0":
        assert result == "not in this client"
    else:  # every collection of the project, of every type
        assert result == {"names": ["my-dataset", "my-model", "scratch"]}


def test_collection_artifacts_newest_first(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "collection_artifacts", request) == {"versions": ["v1", "v0"]}


def test_api_artifacts_one_per_page(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "api_artifacts_per_page", request) == {"versions": ["v1", "v0"], "len": 2}


def test_artifact_versions_and_tag_filter(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    tagged = ["v0"] if scenario.combination.personality == "modern" else []  # see OLD_SERVER_HAS_NO_TAGS
    assert result_of(scenario, "artifact_versions_and_tags", request) == {"versions": ["v1", "v0"], "tagged": tagged}


def test_filtered_and_ordered_listings(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    expected: dict[str, Any] = {
        "index_gte_1": ["v1"],
        "oldest_first": ["v0", "v1"],  # the default order is newest first
        "metadata_rows_3": ["v1"],
        "alias_best_or_v1": ["v0", "v1"],
    }
    if scenario.combination.version == "0.31.0":  # ArtifactType.collections(filters=, order=) is new in it
        expected["collections_named"] = ["my-dataset"]
    assert result_of(scenario, "filtered_listings", request) == expected


def test_artifact_by_version(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    tags = ["art-tag"] if scenario.combination.personality == "modern" else []  # see OLD_SERVER_HAS_NO_TAGS
    assert without_id(result_of(scenario, "artifact_by_version", request)) == dataset_view("v0", tags=tags)


def test_artifact_by_alias(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    view = without_id(result_of(scenario, "artifact_by_alias", request))
    assert view == dataset_view("v1", name="my-dataset:latest", qualified_name=f"{PREFIX}/my-dataset:latest")


def test_artifact_lookups(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "artifact_lookups", request) == {
        "bare": ["v1", "my-dataset:v1"],  # no version: the latest
        "model": ["my-model:v0", "model"],
        "wrong_type": "CommError",  # the client checks the type it asked for
    }


def test_artifact_properties(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    expected: dict[str, Any] = {
        "where": [ENTITY, PROJECT],
        "source": [ENTITY, PROJECT, "v1", f"{PREFIX}/my-dataset:v1"],
        "commit_hash": 12,
        "times": [True, True],
        "draft_state": [False, False, None, None],  # is_draft(), incremental, use_as, distributed_id
        "wait": True,  # a committed version has nothing to wait for
        # how a version is referenced from a logged media object or config
        "json_encode": {
            "_type": "artifactVersion",
            "_version": "v0",
            "version": "v1",
            "sequenceName": "my-dataset",
            "usedAs": None,
        },
        "json_encode_id": True,
    }
    if scenario.combination.version != "0.19.9":
        expected["history_step"] = "None"  # logged outside any history step
    if scenario.combination.version == "0.31.0":
        expected["linked_at"] = "None"  # not a link
        expected["digest_algorithm"] = "ArtifactDigestAlgorithm.MANIFEST_MD5"
    assert result_of(scenario, "artifact_properties", request) == expected


def test_artifact_collection_properties(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "artifact_collection_properties", request) == {
        "collection": ["my-dataset", "dataset"],
        "source": ["my-dataset", "dataset"],
        "url": f"{PREFIX}/artifacts/dataset/my-dataset/v1",
    }


def test_artifact_exists(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "artifact_exists", request) == {"v1": True, "best": True, "v9": False, "nope": False}


def test_artifact_collection_exists(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    # Against a server older than 0.12.11 the client's collection document is refused (collection tags, see
    # _NO_COLLECTION_TAGS) and artifact_collection_exists() turns every error into False.
    exists = scenario.combination.personality == "modern"
    assert result_of(scenario, "artifact_collection_exists", request) == {"my-dataset": exists, "nope": False}


def test_artifact_files_and_len(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    result = result_of(scenario, "artifact_files", request)
    assert result == {"files": [list(f) for f in DATASET_V0_FILES], "len": len(DATASET_V0)}


def test_file_listings_and_manifest(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    result = result_of(scenario, "file_listings", request)
    # len() of a file listing: 0.31.0 reads the connection's totalCount, 0.19.9/0.22.3 the artifact's file count.
    named_len = 1 if scenario.combination.version == "0.31.0" else len(DATASET_V0)
    assert result == {
        "named": [["a.txt"], named_len],
        "paged": sorted(DATASET_V0),
        "manifest": [[path, md5_b64(text), len(text.encode())] for path, text in sorted(DATASET_V0.items())],
    }


def test_file_objects_and_their_download(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    result = result_of(scenario, "file_objects", request)
    blob = f"/storage/blobs/{hashlib.md5(DATASET_V0['dir/b.txt'].encode(), usedforsecurity=False).hexdigest()}/b.txt"
    assert result == {
        "file": ["dir/b.txt", len(DATASET_V0["dir/b.txt"]), md5_b64(DATASET_V0["dir/b.txt"]), None],
        "text": DATASET_V0["dir/b.txt"],
        "path": "file-object/dir/b.txt",  # under the root, at the file's path
        "refused_again": "CommError",  # the client will not overwrite without replace=True
        # 0.22.3 and newer show the direct URL of a file outside S3; 0.19.9 only parses s3:// URLs
        "path_uri": "" if scenario.combination.version == "0.19.9" else blob,
        "url_is_http": True,
    }


def test_download_then_verify(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    result = result_of(scenario, "download_verify", request)
    assert result == {"files": DATASET_V1, "verified": True, "corruption_detected": True}


def test_checkout_file_and_fresh_downloads(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "downloads", request) == {
        "checked_out": sorted(DATASET_V0),  # the stray file is gone
        "single": ["weights.bin", len(MODEL_V0["weights.bin"])],
        "fresh": sorted(DATASET_V1),
        "entry": ["b.txt", DATASET_V0["dir/b.txt"]],
    }


def test_entry_download_through_the_fallback_route(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "entry_download", request) == {"name": "c.txt", "text": DATASET_V1["c.txt"]}
    assert scenario.stats["requests"].get("fallback_blob", 0) >= 1  # no direct URL: /artifacts(V2)/... with a key


def test_logged_by_and_used_by(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "lineage", request) == {"logged_by": "run1", "used_by": ["run2"]}


def test_run_logged_artifacts(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "run_logged_artifacts", request) == {
        "state": "finished",  # the run's last file_stream request carried exit code 0
        "names": ["my-dataset:v0", "my-dataset:v1", "my-model:v0", "scratch:v0"],
        "len": 4,  # two per page
    }


def test_run_used_artifacts(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "run_used_artifacts", request) == {"names": ["my-dataset:v0"]}


def test_public_run_use_and_log(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "public_run_use_and_log", request) == {
        "used": ["my-dataset:v0", "my-model:v0"],
        "logged": ["my-dataset:v1", "v1"],  # the same content: the existing version
    }


# --------------------------------------------------------------------------- writing


def test_collection_description_and_tags(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    result = result_of(scenario, "collection_edit", request)
    edited = {"name": "my-dataset", "type": "dataset", "description": "edited description", "is_sequence": True}
    assert result == {
        "after_edit": {**edited, "tags": ["tag-b", "tag-c"]},
        "after_untag": {**edited, "tags": ["tag-c"]},
    }


def test_collection_rename(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "collection_rename", request) == {
        "renamed": {"name": "my-model-renamed", "type": "model", "description": None, "tags": [], "is_sequence": True},
        "old_name_exists": False,
    }


def test_collection_type_change(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    scratch = {"name": "scratch", "description": None, "tags": [], "is_sequence": True}
    assert result_of(scenario, "collection_type_change", request) == {
        "moved": {**scratch, "type": "model"},
        "artifact_type": "model",  # the versions move with their collection
        "back": {**scratch, "type": "dataset"},
    }


def test_collection_change_type(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "collection_change_type", request) == {"moved": "model", "back": "dataset"}


def test_artifact_alias_and_tag_edits(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    result = result_of(scenario, "artifact_edit", request)
    tags = ["t2"] if scenario.combination.personality == "modern" else []  # see OLD_SERVER_HAS_NO_TAGS
    edited = dataset_view("v0", aliases=["new-alias"], tags=tags, description="edited", metadata={"x": 1})
    assert without_id(result["returned"]) == edited
    assert without_id(result["reloaded"]) == edited
    assert result["by_new_alias"] == "v0"
    assert result["best_exists"] is False


def test_artifact_ttl(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    # A server older than 0.12.11 has no TTL: the client finds no such field and reads none back.
    ttl = 86400.0 if scenario.combination.personality == "modern" else None
    assert result_of(scenario, "artifact_ttl", request) == {"ttl_seconds": ttl}


def test_link_to_portfolio(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    result = result_of(scenario, "link_to_portfolio", request)
    linked = dataset_view(
        "v0",  # the first version of the portfolio ...
        name="linked-portfolio:foo",
        qualified_name=f"{PREFIX}/linked-portfolio:foo",
        aliases=["foo", "latest"],  # ... gets the requested alias, and `latest` as the newest link
        tags=[],
        description=None,
        metadata={"rows": 3},  # ... and is my-dataset:v1 underneath
        size=total_size(DATASET_V1),
        digest=manifest_digest(DATASET_V1),
        source_name="my-dataset:v1",
    )
    assert without_id(result["linked"]) == linked
    assert result["same_id"] is True
    assert result["latest_exists"] is True


def test_link_views(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    result = result_of(scenario, "link_views", request)
    if scenario.combination.version == "0.19.9":
        assert result == "not in this client"
        return
    assert result == {
        "is_link": [True, False],
        "source_of_link": f"{PREFIX}/my-dataset:v1",
        "links_of_source": [f"{PREFIX}/linked-portfolio:v0"],
    }


def test_unlink(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "unlink", request) == {"linked_exists": False, "source_exists": True}


def test_deleting_a_linked_version_unlinks_it(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "linked_delete", request) == {"linked_exists": False, "source_exists": True}


def test_portfolio_collection_read_and_delete(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "portfolio_collection", request) == {
        "portfolio": {
            "name": "linked-portfolio",
            "type": "dataset",
            "description": None,
            "tags": [],
            "is_sequence": False,
        },
        "versions": ["v0"],
        "exists_after_delete": False,
        "source_still_exists": True,  # deleting a portfolio removes links, not the linked versions
    }


def test_artifact_delete(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "artifact_delete", request) == {
        "refused_with": "CommError",  # still aliased `latest`: refused without delete_aliases
        "exists_after_refusal": True,
        "exists_after_delete": False,
    }


def test_collection_delete(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    remaining = ["my-dataset", "scratch"]
    if scenario.combination.personality == "modern":
        remaining = sorted([*remaining, "delete-portfolio", "unlink-portfolio"])  # a portfolio outlives its last link
    # (an old server's type-level listing is `artifactSequences`: it never lists portfolios)
    assert result_of(scenario, "collection_delete", request) == {
        "exists": False,
        "version_exists": False,
        "remaining": remaining,
    }


# --------------------------------------------------------------------------- runs


def test_run_update_of_tags_config_notes_and_group(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "run_update", request) == {
        "tags": ["baseline", "second"],
        "config": {"lr": 0.01},
        "notes": "some notes",
        "group": "grp",
        "summary_acc": 0.9,
    }


def test_run_reads(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "run_reads", request) == {
        "state": "finished",  # wait_until_finished() returns at once
        "path": [ENTITY, PROJECT, "run1"],
        "last_history_step": -1,  # history is not emulated: no step
        "user": ENTITY,
    }


def test_run_details(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    expected: dict[str, Any] = {
        "url": f"{PREFIX}/runs/run2",
        "username": ENTITY,
        "storage_id": True,
        "entity_project": [ENTITY, PROJECT],
        "json_config": {"lr": {"value": 0.01, "desc": None}},  # the config as stored: values wrapped
        "summary": {"acc": 0.9},
        "saved_notes": "saved notes",  # Run.save() wrote them; load(force=True) read them back
    }
    if scenario.combination.version != "0.19.9":
        expected |= {
            "rawconfig": {"lr": 0.01},
            "summary_metrics": {"acc": 0.9},
            "sweep_name": None,
            "full_config": {"lr": 0.01},  # a lazily listed run's load_full_data()
            "upgraded": [["run2", 0.9]],  # Runs.upgrade_to_full(): the full fragment for every listed run
        }
    assert result_of(scenario, "run_details", request) == expected


def test_run_files(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    result = result_of(scenario, "run_files", request)
    # what wandb.init() uploaded when run1 finished (createRunFiles + PUT), plus the file upload_file() sent
    kept = ["config.yaml", "requirements.txt", "wandb-metadata.json", "wandb-summary.json"]
    every = sorted([*kept, "notes/readme.txt"])
    expected: dict[str, Any] = {
        "uploaded": ["notes/readme.txt", 13],  # named by its path below root=
        "names": every,  # by name
        "len": 5,  # Run.fileCount
        "paged": every,  # two per page
        "named": ["config.yaml"],  # a name the run does not hold is left out
        "file": ["notes/readme.txt", 13, md5_b64("# about run1\n"), "text/plain"],
        "text": "# about run1\n",
        "metadata": ["python", "startedAt"],  # Run.metadata: the uploaded wandb-metadata.json, parsed
        "after_delete": kept,  # File.delete()
    }
    if scenario.combination.version != "0.19.9":
        expected["pattern"] = ["wandb-metadata.json", "wandb-summary.json"]  # files(pattern="%.json")
    assert result == expected
    assert scenario.stats["operations"].get("deleteFiles") == 1


def test_projects_listing(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "projects_listing", request) == {"names": [PROJECT, "made-here"]}


def test_runs_listing(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    result = result_of(scenario, "runs_listing", request)
    # run3 comes from the internal API's run creation, which 0.31.0 does not have; 0.19.9's Artifact.link() starts a
    # run of job type "auto" for each of the three link steps.
    everyone = {"0.31.0": ["run1", "run2"], "0.22.3": ["run1", "run2", "run3"]}.get(
        scenario.combination.version, ["run1", "run2", "run3", "auto", "auto", "auto"]
    )
    finished = [r for r in everyone if r != "run3"]
    assert result == {
        "paged": everyone,  # one run per page, oldest first
        "len": len(everyone),  # runCount
        "newest_first": everyone[::-1],
        # run2 was started with the seed's `wandb.Settings` object, into which wandb.init() wrote run1's name: the
        # client sent displayName "Seeding run" for both (its upsertBucket variables say so).
        "seeding": [["run1", "Seeding run", "seed", "finished"], ["run2", "Seeding run", "train", "finished"]],
        "train": ["run2"],
        "tagged": ["run2"],  # the tags run_update gave it
        "tuned": [["run2", 0.01]],
        "accurate": [
            ["run2", 0.9]
        ],  # the summary run_update wrote; read from the full fragment where lazy=False exists
        "run1_or_probe": ["run1"] if scenario.combination.version == "0.31.0" else ["run1", "run3"],
        "finished": finished,
    }
    assert scenario.stats["operations"].get("Runs", 0) >= 7


def test_an_unsupported_run_filter_is_refused(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    result = result_of(scenario, "runs_refused_filter", request)
    # 0.31.0 passes the server's message on; 0.19.9/0.22.3 raise requests' HTTPError, whose body says it.
    refused_with = "WandbApiFailedError" if scenario.combination.version == "0.31.0" else "HTTPError"
    assert result == {"refused_with": refused_with, "names_operator": True}


def test_run_delete(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "run_delete", request) == {
        "used_by_before": ["gone-user"],
        "used_by_after": [],  # the deleted run no longer counts as a user ...
        "lookups_after": ["CommError", "CommError"],  # ... and cannot be loaded
        "used_version_exists": True,  # what it used stays
        "logged_version_exists": False,  # delete_artifacts=True took the version it logged
    }
    assert scenario.stats["operations"].get("DeleteRun") == 2


def test_run_update_state(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    result = result_of(scenario, "run_update_state", request)
    if scenario.combination.version != "0.31.0":
        assert result == "not in this client"
    else:
        assert result == {"states": ["running", True, "failed", True, "pending"]}


def test_run_stop(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    result = result_of(scenario, "run_stop", request)
    if scenario.combination.version != "0.31.0":
        assert result == "not in this client"
        return
    # the flag a live run polls turns true; the state is the run's own to change when it stops
    assert result == {"stopped": [False, True], "state": "running"}
    assert scenario.stats["operations"].get("StopRun") == 2


def test_new_draft_saved_in_a_run(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "new_draft_saved", request) == {
        "before": [True, "PENDING"],
        "after": [False, "COMMITTED", "v2"],
        "saved": ["v2", "COMMITTED", {"rows": 3}, "drafter"],  # the base's metadata, logged by the run
        "files": ["a.txt", "d.txt", "more/e.txt", "notes.txt"],  # c.txt removed, the others added
        "base_unchanged": sorted(DATASET_V1),
    }


def test_artifact_references(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "artifact_references", request) == {
        "url": ["wandb-artifact", "a.txt"],  # wandb-artifact://<the version's ID in hex>/a.txt
        "entry": ["borrowed/a.txt", True, True],  # the reference keeps the target's digest
        "files": {"borrowed/a.txt": DATASET_V1["a.txt"]},  # downloaded through the version it names
    }


def test_artifact_saved_without_a_run(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "artifact_saved_without_run", request) == {
        "saved": ["v0", "COMMITTED", ["latest"]],
        "logged_by_job_type": "auto",  # the run the client started for it
    }


def test_artifact_get_of_a_logged_table(scenario: ScenarioRun, request: pytest.FixtureRequest) -> None:
    assert result_of(scenario, "artifact_get_media", request) == {
        "files": ["table.table.json"],
        "table": ["Table", ["n", "word"], [[1, "one"], [2, "two"]]],
        "missing": None,  # get() of a name the version does not hold
    }


@pytest.mark.parametrize("client", ["0.19.9", "0.22.3"])
@pytest.mark.parametrize(("server", "edges"), [("0.12.10", "artifactSequences"), ("0.12.11", "artifactCollections")])
def test_the_clients_switch_edges_at_server_0_12_11(
    client: str, server: str, edges: str, scenario_runs: Callable[[Combination], ScenarioRun]
) -> None:
    """The newest legacy server and the oldest modern one: the official clients' own switch (wandb-wire.md §3.3)."""
    personality = "legacy" if server == "0.12.10" else "modern"
    run = scenario_runs(Combination(client, personality, cli_version=server, only=("seed", "type_collections")))
    assert run.record("seed")["ok"], run.record("seed")
    listed = run.record("type_collections")
    if personality == "modern":
        assert listed["result"] == {"names": ["my-dataset", "scratch"]}
    else:  # the newest legacy server lacks collection tags, which these clients select (_NO_COLLECTION_TAGS)
        assert not listed["ok"] and re.search(_TAGS_ERROR, listed["error"]), listed
    documents = [entry["query"] for entry in run.stats["graphql_log"]]
    other = {"artifactSequences": "artifactCollections", "artifactCollections": "artifactSequences"}[edges]
    assert [d for d in documents if f"{edges}(" in d], [e.get("operationName") for e in run.stats["graphql_log"]]
    assert not [d for d in documents if f"{other}(" in d]


def test_every_step_is_checked() -> None:
    """The scenario and this module stay in step: no step runs without a test checking it."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(__file__).with_name("scenario.py").read_text())
    steps = {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and any(getattr(d, "id", None) == "step" for d in node.decorator_list)
    }
    checked = set(re.findall(r'result_of\(scenario, "(\w+)"', Path(__file__).read_text()))
    assert steps == checked
