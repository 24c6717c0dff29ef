"""The W&B Registry scenario, run by the python of a virtual environment holding an official `wandb`.

Like `scenario.py` (which it mirrors, steps printed as JSON lines), but about organizations and
registries: `test_registries.py` runs it against a live emulator whose home organization is
`local-org` and whose users are `local` (this scenario's key, an admin key) and `bob` (a write key,
a member of the organization and of no team). Versions are logged in the team `ml-team`, which
the first `wandb.init(entity="ml-team")` creates. It imports only the standard library, wandb and
`scenario_runner` next to it. A step that is not in the client's version returns "not in this client".
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import wandb
from scenario_runner import run_steps  # next to this file

CONFIG: dict[str, Any] = json.loads(Path(sys.argv[1]).read_text())
BASE_URL: str = CONFIG["base_url"]
API_KEY: str = CONFIG["api_key"]
SECOND_KEY: str = CONFIG["second_key"]
WORK = Path(CONFIG["workdir"])
ONLY: set[str] = set(CONFIG.get("only") or [])
TEAM, PROJECT = "ml-team", "registry-compat"
SETTINGS: dict[str, Any] = {"silent": True, "console": "off", "save_code": False}

_state: dict[str, Any] = {}
STEPS: list[tuple[str, Callable[[], Any]]] = []


def step(fn: Callable[[], Any]) -> Callable[[], Any]:
    STEPS.append((fn.__name__, fn))
    return fn


def api(key: str = API_KEY) -> Any:
    return wandb.Api(api_key=key, overrides={"base_url": BASE_URL}, timeout=30)


def has(name: str) -> bool:
    return hasattr(wandb.Api, name)


def new_artifact(name: str, kind: str, text: str) -> Any:
    artifact = wandb.Artifact(name, type=kind)
    path = WORK / "sources" / f"{name}-{len(text)}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    artifact.add_file(str(path), name="weights.txt")
    return artifact


def registry_view(registry: Any) -> dict[str, Any]:
    view = {
        "name": registry.name,
        "full_name": registry.full_name,
        "entity": registry.entity,
        "organization": registry.organization,
        "description": registry.description,
        "allow_all_artifact_types": registry.allow_all_artifact_types,
        "artifact_types": list(registry.artifact_types),
    }
    if hasattr(registry, "visibility"):
        view["visibility"] = registry.visibility
    return view


def linked_view(artifact: Any) -> dict[str, Any]:
    return {
        "qualified_name": artifact.qualified_name,
        "version": artifact.version,
        "aliases": sorted(artifact.aliases),
        "is_link": getattr(artifact, "is_link", None),
        "source_qualified_name": artifact.source_qualified_name,
        "type": artifact.type,
    }


def error_of(fn: Callable[[], Any]) -> str:
    try:
        fn()
    except Exception as exc:  # the client's own exception type and message are the result
        return f"{type(exc).__name__}: {exc}"
    return "no error"


# --------------------------------------------------------------------------- runs


@step
def run_start() -> Any:
    """Runs start in a personal and in a team entity (the team is made by this first write)."""
    names = []
    for entity in ("local", TEAM):
        with wandb.init(entity=entity, project=PROJECT, settings=wandb.Settings(**SETTINGS)) as run:
            run.log({"loss": 0.5})
            names.append(run.entity)
    return {"entities": names}


# --------------------------------------------------------------------------- organizations and registries


@step
def organization() -> Any:
    if not has("organization"):
        return "not in this client"
    org = api().organization()
    return {"name": org.name, "org_entity": org.org_entity.name, "entity_type": org.org_entity.entity_type}


@step
def registries() -> Any:
    return {"registries": sorted((registry_view(r) for r in api().registries()), key=lambda v: v["name"])}


@step
def registries_filtered() -> Any:
    found = api().registries(filter={"name": {"$regex": "mod"}})
    names = [r.name for r in found]
    both = [r.name for r in api().registries(filter={"name": {"$in": ["model", "dataset"]}})]
    return {"regex": names, "in": sorted(both)}


@step
def create_registry() -> Any:
    if not has("create_registry"):
        return "not in this client"
    made = api().create_registry(
        "compat", "restricted", description="made by the compat scenario", artifact_types=["model"]
    )
    again = error_of(lambda: api().create_registry("compat", "organization"))
    return {"created": registry_view(made), "id_kind": _id_kind(made.id), "again": again}


@step
def registry_load() -> Any:
    if not has("registry"):
        return "not in this client"
    loaded = api().registry("compat")
    return {"registry": registry_view(loaded), "missing": error_of(lambda: api().registry("no-such-registry"))}


@step
def registry_save() -> Any:
    if not has("registry"):
        return "not in this client"
    registry = api().registry("compat")
    registry.description = "changed"
    registry.artifact_types.append("code")
    registry.save()
    registry.name = "compat-renamed"
    registry.visibility = "organization"
    registry.save()
    reloaded = api().registry("compat-renamed")
    return {"saved": registry_view(reloaded), "old_name": error_of(lambda: api().registry("compat"))}


# --------------------------------------------------------------------------- linking and using


@step
def link_from_a_run() -> Any:
    """Log a model in the team and link it from the run (0.31.0: `Artifact.link()`; 0.19.9: wandb-core's linker)."""
    with wandb.init(entity=TEAM, project=PROJECT, settings=wandb.Settings(**SETTINGS)) as run:
        artifact = new_artifact("clf", "model", "weights 0")
        run.log_artifact(artifact)
        artifact.wait()
        linked = run.link_artifact(artifact, "wandb-registry-model/classifier", aliases=["production"])
    return {"returned": None if linked is None else linked_view(linked)}


@step
def link_public_api() -> Any:
    if not has("registry"):
        return "not in this client"
    with wandb.init(entity=TEAM, project=PROJECT, settings=wandb.Settings(**SETTINGS)) as run:
        second = new_artifact("clf", "model", "weights 1")
        run.log_artifact(second)
        second.wait()
    source = api().artifact(f"{TEAM}/{PROJECT}/clf:v1")
    linked = source.link("wandb-registry-model/classifier", aliases=["staging"])
    into_custom = source.link("wandb-registry-compat-renamed/custom")
    return {"linked": linked_view(linked), "custom": linked_view(into_custom)}


@step
def link_refused() -> Any:
    """What the server refuses: a personal entity's version into a registry; a dataset into the model registry."""
    if not has("registry"):
        return "not in this client"
    with wandb.init(entity="local", project=PROJECT, settings=wandb.Settings(**SETTINGS)) as run:
        personal = new_artifact("mine", "model", "personal weights")
        run.log_artifact(personal)
        personal.wait()
    with wandb.init(entity=TEAM, project=PROJECT, settings=wandb.Settings(**SETTINGS)) as run:
        data = new_artifact("data", "dataset", "a dataset")
        run.log_artifact(data)
        data.wait()
    client = api()
    return {
        "personal": error_of(lambda: client.artifact(f"local/{PROJECT}/mine:v0").link("wandb-registry-model/mine")),
        "wrong_type": error_of(lambda: client.artifact(f"{TEAM}/{PROJECT}/data:v0").link("wandb-registry-model/data")),
    }


@step
def registry_artifact() -> Any:
    found = api().artifact("wandb-registry-model/classifier:production")
    by_org = api().artifact("local-org/wandb-registry-model/classifier:production")
    return {"artifact": linked_view(found), "by_org": by_org.qualified_name}


@step
def use_from_registry() -> Any:
    with wandb.init(entity=TEAM, project=PROJECT, settings=wandb.Settings(**SETTINGS)) as run:
        used = run.use_artifact("wandb-registry-model/classifier:production")
        root = Path(used.download(root=str(WORK / "used")))
        files = {p.name: p.read_text() for p in sorted(root.iterdir())}
    return {"qualified_name": used.qualified_name, "files": files}


@step
def second_user_resolves() -> Any:
    """bob is in the organization, not in ml-team: he reads the registry's version, not its source project."""
    found = api(SECOND_KEY).artifact("wandb-registry-model/classifier:production")
    view = linked_view(found)
    view["source_entity"] = found.source_entity
    view["files"] = sorted(f.name for f in found.files())
    return view


@step
def linked_and_source() -> Any:
    if not hasattr(wandb.Artifact, "linked_artifacts"):
        return "not in this client"
    source = api().artifact(f"{TEAM}/{PROJECT}/clf:v0")
    link = api().artifact("wandb-registry-model/classifier:production")
    return {
        "linked": sorted(a.qualified_name for a in source.linked_artifacts),
        "source_of_link": link.source_artifact.qualified_name,
        "is_link": [source.is_link, link.is_link],
    }


# --------------------------------------------------------------------------- search


@step
def collections() -> Any:
    across = api().registries(filter={"name": "model"}).collections()
    names = sorted((c.name, c.type, c.entity, c.project) for c in across)
    direct = sorted(c.name for c in api().registry("model").collections()) if has("registry") else None
    return {"across": [list(n) for n in names], "direct": direct}


@step
def versions() -> Any:
    found = api().registries(filter={"name": "model"}).versions(filter={"alias": "production"})
    views = [[a.qualified_name, sorted(a.aliases)] for a in found]
    direct = sorted(a.qualified_name for a in api().registry("model").versions()) if has("registry") else None
    return {"production": views, "direct": direct}


# --------------------------------------------------------------------------- members


@step
def members() -> Any:
    if not has("registry") or not hasattr(wandb.apis.public.Registry, "user_members"):
        return "not in this client"
    client = api()
    registry = client.registry("compat-renamed")
    before = sorted((m.user.username, m.role) for m in registry.user_members())
    bob, team = client.user("bob"), client.team(TEAM)
    registry.add_members(bob, team)
    added = (
        sorted((m.user.username, m.role) for m in registry.user_members()),
        sorted((m.team.name, m.role) for m in registry.team_members()),
    )
    registry.update_member(bob, "member").update_member(team, "restricted_viewer")
    updated = (
        sorted((m.user.username, m.role) for m in registry.user_members()),
        sorted((m.team.name, m.role) for m in registry.team_members()),
    )
    registry.remove_members(team)
    after = sorted((m.team.name, m.role) for m in registry.team_members())
    return {"before": before, "added": added, "updated": updated, "teams_after_remove": after}


# --------------------------------------------------------------------------- unlink and delete


@step
def unlink() -> Any:
    """Unlink one link (0.31.0: the `staging` one `link_public_api` made; 0.19.9: `production`)."""
    alias = "staging" if has("registry") else "production"
    linked = api().artifact(f"wandb-registry-model/classifier:{alias}")
    source = linked.source_qualified_name
    linked.unlink()
    check = api()
    return {
        "linked_exists": check.artifact_exists(f"wandb-registry-model/classifier:{alias}"),
        "source_exists": check.artifact_exists(source),
    }


@step
def delete_registry() -> Any:
    if not has("registry"):
        return "not in this client"
    registry = api().registry("compat-renamed")
    registry.delete()
    return {
        "load": error_of(registry.load),
        "again": error_of(registry.delete),
        "source_exists": api().artifact_exists(f"{TEAM}/{PROJECT}/clf:v1"),
    }


def _id_kind(value: str) -> str:
    import base64

    return base64.b64decode(value).decode().split(":")[0]


def main() -> int:
    return run_steps(STEPS, ONLY)


if __name__ == "__main__":
    os.chdir(WORK)
    sys.exit(main())
