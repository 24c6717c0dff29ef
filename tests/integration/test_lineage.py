"""`Artifact.lineage()` on a seeded graph over HTTP: its shape, its requests per level, its outputs.

The seeded graph (six levels of runs and versions, fan-out and fan-in; see STEPS):
ingest logs raw, clean-run turns raw into clean, features joins clean and labels (label-run) into
feats, train-a and train-b each make a model from feats, eval turns both models into a report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pydot
import pytest

from artifactkit import Api, RetryPolicy
from artifactkit.lineage import LineageRun, LineageVersion, walk
from artifactkit.server.embedded import EmbeddedEmulator
from tests.integration.support import upload

STEPS = [  # (version logged, by run, using)
    ("raw", "ingest", []),
    ("labels", "label-run", []),
    ("clean", "clean-run", ["raw"]),
    ("feats", "features", ["clean", "labels"]),
    ("model-a", "train-a", ["feats"]),
    ("model-b", "train-b", ["feats"]),
    ("report", "eval", ["model-a", "model-b"]),
]


@pytest.fixture(scope="module")
def graph_project(emulator: EmbeddedEmulator, tmp_path_factory: pytest.TempPathFactory) -> str:
    project = "local/lineage"
    root = tmp_path_factory.mktemp("lineage")
    with Api(api_key=emulator.api_key, base_url=emulator.url, cache_dir=root / "cache") as api:
        for name, run, uses in STEPS:
            for used in uses:
                api.use_artifact(f"{project}/{used}:v0", f"{project}/{run}")
            upload(api, root, f"{project}/{name}", files={"f.txt": name}, run=run)
    return project


def labels(nodes: list[Any]) -> list[str]:
    return sorted(n.name if isinstance(n, LineageRun) else n.collection for n in nodes)


def test_the_graph_has_every_run_and_version_with_fan_in_and_fan_out(api: Api, graph_project: str) -> None:
    graph = api.artifact(f"{graph_project}/feats:v0").lineage(depth=5)
    assert labels(graph.runs) == ["clean-run", "eval", "features", "ingest", "label-run", "train-a", "train-b"]
    assert labels(graph.versions) == ["clean", "feats", "labels", "model-a", "model-b", "raw", "report"]
    by_name = {n.name if isinstance(n, LineageRun) else n.collection: n.id for n in graph.nodes.values()}
    assert labels(graph.parents(by_name["features"])) == ["clean", "labels"]  # fan-in upstream
    assert labels(graph.children(by_name["feats"])) == ["train-a", "train-b"]  # fan-out downstream
    assert labels(graph.parents(by_name["eval"])) == ["model-a", "model-b"]  # fan-in downstream
    assert labels(graph.parents(by_name["raw"])) == ["ingest"]
    assert graph.cycles == [] and graph.truncated == [] and graph.unexpanded == []
    assert [len(level) for level in graph.upstream_levels] == [1, 2, 1]
    assert [len(level) for level in graph.downstream_levels] == [2, 1]


def test_one_request_per_level(emulator: EmbeddedEmulator, api: Api, graph_project: str) -> None:
    version = api.artifact(f"{graph_project}/feats:v0")
    emulator.stats.reset()
    graph = version.lineage(depth=5)
    # The root, then levels 1-3 (level 1 and 2 go both ways in one request each); level 4 finds nothing.
    assert dict(emulator.stats.operations) == {"LineageRoot": 1, "LineageRuns": 3}
    assert graph.requests == 4
    assert len(graph.nodes) == 14  # one request per level, not one per node


def test_depth_bounds_the_walk_and_says_what_it_left(emulator: EmbeddedEmulator, api: Api, graph_project: str) -> None:
    version = api.artifact(f"{graph_project}/feats:v0")
    emulator.stats.reset()
    graph = version.lineage(depth=1, downstream=False)
    assert dict(emulator.stats.operations) == {"LineageRoot": 1, "LineageRuns": 1}
    assert labels(graph.runs) == ["clean-run", "features", "label-run"]
    assert labels([graph.nodes[i] for i in graph.unexpanded]) == ["clean-run", "label-run"]


def test_a_narrow_per_node_bound_is_reported(api: Api, graph_project: str) -> None:
    graph = api.artifact(f"{graph_project}/feats:v0").lineage(depth=2, per_node=1)
    assert f"inputs of {graph_project}/features: 1 of 2 shown" in graph.truncated
    assert f"runs that used {graph_project}/feats:v0: 1 of 2 shown" in graph.truncated


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pydot 4.0.1 calls pyparsing's older names
def test_dot_output_parses_back_to_the_same_graph(api: Api, graph_project: str) -> None:
    graph = api.artifact(f"{graph_project}/report:v0").lineage(depth=10)
    [parsed] = pydot.graph_from_dot_data(graph.to_dot())
    names = {node.get_name(): node.get("label").strip('"') for node in parsed.get_nodes()}
    edges = {(names[e.get_source()], names[e.get_destination()]) for e in parsed.get_edges()}
    expected = {(graph.nodes[e.source].label, graph.nodes[e.target].label) for e in graph.edges}
    assert edges == expected and len(edges) == len(graph.edges) == 14
    assert f"dataset {graph_project}/report:v0 [latest]" in names.values()


def test_mermaid_names_every_edge(api: Api, graph_project: str) -> None:
    graph = api.artifact(f"{graph_project}/feats:v0").lineage()
    text = graph.to_mermaid()
    assert text.startswith("flowchart LR")
    assert text.count("-->|") == len(graph.edges)


def test_a_version_shows_its_own_collections_aliases(api: Api, tmp_path: Path) -> None:
    """Not those of a portfolio it is linked into under the same name (as registries usually are)."""
    upload(api, tmp_path, "local/lineage-aliases/model", files={"w": "0"}, run="train")
    api.artifact("local/lineage-aliases/model:v0").link("local/lineage-aliases-portfolio/model", ["production"])
    graph = api.artifact("local/lineage-aliases/model:v0").lineage(depth=1)
    [version] = graph.versions
    assert version.aliases == ("latest",)


# -- a server whose data has a cycle (the emulator cannot make one: a version exists before its users) --------


def _run(name: str) -> dict[str, Any]:
    return {
        "__typename": "Run",
        "id": f"run-{name}",
        "name": name,
        "displayName": name,
        "state": "finished",
        "createdAt": "2025-01-01T00:00:00Z",
        "project": {"name": "p", "entityName": "e"},
    }


def _version(name: str) -> dict[str, Any]:
    return {
        "id": f"version-{name}",
        "digest": "0" * 32,
        "versionIndex": 0,
        "state": "COMMITTED",
        "artifactType": {"name": "dataset"},
        "artifactSequence": {"id": f"seq-{name}", "name": name, "project": {"name": "p", "entityName": "e"}},
        "aliases": [],
    }


class CyclicServer:
    """V is logged by run R1, which used W, which run R2 logged, which used V: a loop both ways."""

    MADE_BY: ClassVar[dict[str, str]] = {"V": "R1", "W": "R2"}
    USES: ClassVar[dict[str, list[str]]] = {"R1": ["W"], "R2": ["V"]}

    def __init__(self) -> None:
        self.requests = 0

    def version(self, name: str, *, nested: bool) -> dict[str, Any]:
        found = _version(name)
        if nested:
            found["createdBy"] = _run(self.MADE_BY[name])
            users = [run for run, used in self.USES.items() if name in used]
            found["usedBy"] = {"totalCount": len(users), "edges": [{"node": _run(u)} for u in users]}
        return found

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        body = json.loads(request.content)
        if body["operationName"] == "LineageRoot":
            root = self.version("V", nested=True)
            return httpx.Response(200, json={"data": {"artifact": root}})
        assert body["operationName"] == "LineageRuns", body["operationName"]
        names = body["variables"]["filters"]
        names = (json.loads(names) if isinstance(names, str) else names)["name"]["$in"]
        runs = []
        for name in [*names, "stranger"]:  # and a run nobody asked for, which must not be followed
            run = _run(name)
            inputs = [self.version(v, nested=True) for v in self.USES.get(name, [])]
            outputs = [self.version(v, nested=True) for v, maker in self.MADE_BY.items() if maker == name]
            run["inputArtifacts"] = {"totalCount": len(inputs), "edges": [{"node": v} for v in inputs]}
            run["outputArtifacts"] = {"totalCount": len(outputs), "edges": [{"node": v} for v in outputs]}
            runs.append({"node": run})
        return httpx.Response(200, json={"data": {"project": {"runs": {"edges": runs}}}})


def test_a_cycle_in_the_servers_data_ends_the_walk_and_is_reported() -> None:
    server = CyclicServer()
    with Api(
        api_key="k" * 40,
        base_url="https://wandb.example.test",
        http_transport=httpx.MockTransport(server),
        retry=RetryPolicy(max_attempts=1),
    ) as api:
        graph = walk(api.client, "version-V", name="e/p/V:v0", fallback=("e", "p"), depth=1000)
    assert server.requests <= 4  # root, then R1+R2 ... each run is expanded once, whatever the depth
    assert sorted(graph.nodes) == ["run-R1", "run-R2", "version-V", "version-W"]
    assert graph.cycles, "the loop is reported"
    assert {tuple(sorted(set(cycle))) for cycle in graph.cycles} == {("run-R1", "run-R2", "version-V", "version-W")}
    assert isinstance(graph.root, LineageVersion) and graph.root.id == "version-V"


def test_lineage_cli_prints_a_tree(emulator: EmbeddedEmulator, graph_project: str, tmp_path: Path, capsys: Any) -> None:
    from artifactkit.cli import main

    code = main(
        [
            "lineage",
            f"{graph_project}/model-a:v0",
            "--upstream",
            "--base-url",
            emulator.url,
            "--api-key",
            emulator.api_key,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[:4] == [
        f"dataset {graph_project}/model-a:v0 [latest]",
        "upstream:",
        f"└── run {graph_project}/train-a",
        f"    └── dataset {graph_project}/feats:v0 [latest]",
    ]
