"""W&B Registry with the official clients, unchanged, against the emulator (registry_scenario.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from artifactkit.server.accounts import create_key
from artifactkit.server.embedded import EmulatorProcess
from artifactkit.server.store import Store
from tests.compat.conftest import Combination, ScenarioRun, run_scenario

pytestmark = pytest.mark.compat

SCRIPT = Path(__file__).with_name("registry_scenario.py")
ORG, ORG_ENTITY, TEAM, PROJECT = "local-org", "local-org-entity", "ml-team", "registry-compat"


def second_user(emu: EmulatorProcess) -> dict[str, Any]:
    """bob: a write key of a user of the home organization (what `artifactkit keys create --user bob` makes)."""
    store = Store(emu.data_dir / "emulator.sqlite3")
    return {"second_key": create_key(store, "bob").key}


_RUNS: dict[Combination, ScenarioRun] = {}


@pytest.fixture(scope="session")
def registry_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[Combination], ScenarioRun]]:
    def get(combination: Combination) -> ScenarioRun:
        if combination not in _RUNS:
            workdir = tmp_path_factory.mktemp(f"registry-{combination.id}")
            _RUNS[combination] = run_scenario(combination, workdir, script=SCRIPT, prepare=second_user)
        return _RUNS[combination]

    yield get


def result(run: ScenarioRun, step: str) -> Any:
    record = run.record(step)
    if not record["ok"]:
        pytest.fail(f"step {step} failed in the client: {record['error']}\n{record['traceback']}")
    return record["result"]


MODERN = Combination("0.31.0", "modern")
OLD = Combination("0.19.9", "modern")
RUN_START_ONLY = Combination("0.31.0", "modern", only=("run_start",))

MODEL = {
    "name": "model",
    "full_name": "wandb-registry-model",
    "entity": ORG_ENTITY,
    "organization": ORG,
    "description": "The organization's models, linked from its teams' projects.",
    "allow_all_artifact_types": False,
    "artifact_types": ["model"],
}
DATASET = MODEL | {
    "name": "dataset",
    "full_name": "wandb-registry-dataset",
    "description": "The organization's datasets, linked from its teams' projects.",
    "artifact_types": ["dataset"],
}
PRODUCTION = f"{ORG_ENTITY}/wandb-registry-model/classifier:production"


def test_a_run_starts_without_a_single_4xx(registry_runs: Callable[[Combination], ScenarioRun]) -> None:
    """wandb 0.31.0's run start asks `Organization.coreWeaveOrganizationId` (a 400 before issue 19,
    whose field was missing), for a personal and for a team entity; nothing is refused."""
    run = registry_runs(RUN_START_ONLY)
    assert result(run, "run_start") == {"entities": ["local", TEAM]}
    statuses = run.stats["statuses"]
    assert [s for s in statuses if int(s) >= 400] == [], statuses
    asked = [e for e in run.stats["graphql_log"] if e["operationName"] == "OrganizationCoreWeaveOrganizationID"]
    assert [(e["variables"], e["status"]) for e in asked] == [
        ({"entityName": "local"}, 200),
        ({"entityName": TEAM}, 200),
    ]


def test_only_the_refusals_the_scenario_provokes_fail(registry_runs: Callable[[Combination], ScenarioRun]) -> None:
    run = registry_runs(MODERN)
    failed = [(e["operationName"], e["status"]) for e in run.stats["graphql_log"] if e["status"] != 200]
    # link_refused's two links (personal entity, dataset type) and delete_registry's second delete.
    assert failed == [("LinkArtifact", 400), ("LinkArtifact", 400), ("DeleteRegistry", 404)]
    assert "Traceback" not in run.server_log


def test_organization(registry_runs: Callable[[Combination], ScenarioRun]) -> None:
    assert result(registry_runs(MODERN), "organization") == {
        "name": ORG,
        "org_entity": ORG_ENTITY,
        "entity_type": "organization",
    }


@pytest.mark.parametrize("combination", [MODERN, OLD], ids=lambda c: c.id)
def test_registries(registry_runs: Callable[[Combination], ScenarioRun], combination: Combination) -> None:
    visibility = {"visibility": "organization"} if combination is MODERN else {}
    assert result(registry_runs(combination), "registries") == {
        "registries": [DATASET | visibility, MODEL | visibility]
    }
    assert result(registry_runs(combination), "registries_filtered") == {"regex": ["model"], "in": ["dataset", "model"]}


def test_create_load_and_save_a_registry(registry_runs: Callable[[Combination], ScenarioRun]) -> None:
    run = registry_runs(MODERN)
    compat = {
        "name": "compat",
        "full_name": "wandb-registry-compat",
        "entity": ORG_ENTITY,
        "organization": ORG,
        "description": "made by the compat scenario",
        "allow_all_artifact_types": False,
        "artifact_types": ["model"],
        "visibility": "restricted",
    }
    assert result(run, "create_registry") == {
        "created": compat,
        "id_kind": "Project",
        "again": "ValueError: Registry 'compat' already exists in organization 'local-org', "
        "please use a different name.",
    }
    assert result(run, "registry_load") == {
        "registry": compat,
        "missing": "ValueError: Failed to load registry 'no-such-registry' in organization 'local-org'.",
    }
    assert result(run, "registry_save") == {
        "saved": compat
        | {
            "name": "compat-renamed",
            "full_name": "wandb-registry-compat-renamed",
            "description": "changed",
            "artifact_types": ["model", "code"],
            "visibility": "organization",
        },
        "old_name": "ValueError: Failed to load registry 'compat' in organization 'local-org'.",
    }


def test_link_into_a_registry(registry_runs: Callable[[Combination], ScenarioRun]) -> None:
    run = registry_runs(MODERN)
    link = {
        "qualified_name": f"{ORG_ENTITY}/wandb-registry-model/classifier:v0",
        "version": "v0",
        "aliases": ["latest", "production"],
        "is_link": True,
        "source_qualified_name": f"{TEAM}/{PROJECT}/clf:v0",
        "type": "model",
    }
    assert result(run, "link_from_a_run") == {"returned": link}
    assert result(run, "link_public_api") == {
        "linked": link
        | {
            "qualified_name": f"{ORG_ENTITY}/wandb-registry-model/classifier:v1",
            "version": "v1",
            "aliases": ["latest", "staging"],
            "source_qualified_name": f"{TEAM}/{PROJECT}/clf:v1",
        },
        "custom": link
        | {
            "qualified_name": f"{ORG_ENTITY}/wandb-registry-compat-renamed/custom:v0",
            "aliases": ["latest"],
            "source_qualified_name": f"{TEAM}/{PROJECT}/clf:v1",
        },
    }
    refused = result(run, "link_refused")
    assert refused["personal"].startswith(
        "CommError: linking is only allowed within the same team or to a collection in your organization's registry"
    )
    assert "local is a personal entity" in refused["personal"]
    assert refused["wrong_type"] == (
        "CommError: registry wandb-registry-model accepts artifact types ['model']; "
        "'dataset' is not one of them (its admins can add it)"
    )


def test_link_from_a_run_of_the_old_client(registry_runs: Callable[[Combination], ScenarioRun]) -> None:
    """0.19.9's run.link_artifact goes through wandb-core's linker (FetchOrgEntityFromEntity on the
    team, LinkArtifact on the org entity) and returns nothing; the link is there."""
    run = registry_runs(OLD)
    assert result(run, "link_from_a_run") == {"returned": None}
    operations = [e["operationName"] for e in run.stats["graphql_log"]]
    assert "FetchOrgEntityFromEntity" in operations and "LinkArtifact" in operations
    assert result(run, "registry_artifact")["artifact"]["aliases"] == ["latest", "production"]


@pytest.mark.parametrize("combination", [MODERN, OLD], ids=lambda c: c.id)
def test_use_a_version_from_a_registry(
    registry_runs: Callable[[Combination], ScenarioRun], combination: Combination
) -> None:
    run = registry_runs(combination)
    found = result(run, "registry_artifact")
    assert found["by_org"] == PRODUCTION  # the organization's name resolves to its entity
    assert found["artifact"]["qualified_name"] == PRODUCTION
    assert found["artifact"]["source_qualified_name"] == f"{TEAM}/{PROJECT}/clf:v0"
    assert result(run, "use_from_registry") == {"qualified_name": PRODUCTION, "files": {"weights.txt": "weights 0"}}


@pytest.mark.parametrize("combination", [MODERN, OLD], ids=lambda c: c.id)
def test_a_second_user_resolves_without_seeing_the_team(
    registry_runs: Callable[[Combination], ScenarioRun], combination: Combination
) -> None:
    seen = result(registry_runs(combination), "second_user_resolves")
    assert seen["qualified_name"] == PRODUCTION and seen["files"] == ["weights.txt"]
    # The source project is ml-team's, hidden from bob: W&B answers its project as null.
    assert (seen["source_entity"], seen["source_qualified_name"]) == ("", "//clf:v0")


def test_linked_artifacts_and_source_artifact(registry_runs: Callable[[Combination], ScenarioRun]) -> None:
    assert result(registry_runs(MODERN), "linked_and_source") == {
        "linked": [f"{ORG_ENTITY}/wandb-registry-model/classifier:v0"],
        "source_of_link": f"{TEAM}/{PROJECT}/clf:v0",
        "is_link": [False, True],
    }


@pytest.mark.parametrize("combination", [MODERN, OLD], ids=lambda c: c.id)
def test_collections_and_versions(
    registry_runs: Callable[[Combination], ScenarioRun], combination: Combination
) -> None:
    run = registry_runs(combination)
    modern = combination is MODERN
    assert result(run, "collections") == {
        "across": [["classifier", "model", ORG_ENTITY, "wandb-registry-model"]],
        "direct": ["classifier"] if modern else None,
    }
    production = [PRODUCTION.replace(":production", ":v0"), ["production"] if modern else ["latest", "production"]]
    assert result(run, "versions") == {
        "production": [production],
        "direct": [f"{ORG_ENTITY}/wandb-registry-model/classifier:v{i}" for i in (0, 1)] if modern else None,
    }


def test_members(registry_runs: Callable[[Combination], ScenarioRun]) -> None:
    assert result(registry_runs(MODERN), "members") == {
        "before": [["local", "admin"]],
        "added": [[["bob", "viewer"], ["local", "admin"]], [[TEAM, "viewer"]]],
        "updated": [[["bob", "member"], ["local", "admin"]], [[TEAM, "restricted_viewer"]]],
        "teams_after_remove": [],
    }


@pytest.mark.parametrize("combination", [MODERN, OLD], ids=lambda c: c.id)
def test_unlink(registry_runs: Callable[[Combination], ScenarioRun], combination: Combination) -> None:
    assert result(registry_runs(combination), "unlink") == {"linked_exists": False, "source_exists": True}


def test_delete_a_registry(registry_runs: Callable[[Combination], ScenarioRun]) -> None:
    assert result(registry_runs(MODERN), "delete_registry") == {
        "load": "ValueError: Failed to load registry 'compat-renamed' in organization 'local-org'.",
        "again": "ValueError: Failed to delete registry 'compat-renamed' in organization 'local-org'",
        "source_exists": True,
    }
