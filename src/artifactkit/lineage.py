"""Where a version came from and where it went: a graph of runs and versions, fetched level by level.

The graph flows with the data: a version points to each run that used it, a run to each version it
logged. Going upstream from a version means: the run that logged it, that run's inputs, the runs
that logged those, and so on; downstream: the runs that used it, their outputs, the runs that used
those. `depth` counts runs along the way.

Requests: one for the version asked about, then one per level (per project the level's runs live
in), asking for all of the level's runs at once with a `$in` filter on their names, and for their
inputs (upstream) or outputs (downstream) nested in the same request. Widths are bounded
(`per_node` edges per node, `max_level_runs` runs per level) and whatever a bound cut is reported
in `Lineage.truncated`; a node already in the graph is never expanded twice, so a cycle (which
real data cannot have, but a faulty server could send) ends the walk and is reported in
`Lineage.cycles`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ._paths import version_index
from .errors import NotFoundError

if TYPE_CHECKING:
    from ._client import Client
    from ._generated.fragments import LineageRunFields, LineageVersionFields

logger = logging.getLogger("artifactkit")

DEFAULT_DEPTH = 3
PER_NODE = 50
"""Inputs, outputs or users fetched per node; more are reported as truncated."""
RUNS_PER_REQUEST = 100
MAX_LEVEL_RUNS = 500
"""Runs expanded per level and direction; more are reported as truncated."""


@dataclass(frozen=True)
class LineageRun:
    """A run in a lineage graph."""

    id: str
    entity: str
    project: str
    name: str
    """The run's ID in its project (the last part of `entity/project/run_id`)."""
    display_name: str | None
    state: str | None

    @property
    def path(self) -> str:
        """`entity/project/run_id`, as `Api.run()` takes it."""
        return f"{self.entity}/{self.project}/{self.name}"

    @property
    def label(self) -> str:
        shown = f" ({self.display_name})" if self.display_name and self.display_name != self.name else ""
        return f"run {self.path}{shown}"


@dataclass(frozen=True)
class LineageVersion:
    """An artifact version in a lineage graph, named by the sequence it was logged to."""

    id: str
    entity: str
    project: str
    collection: str
    version_index: int
    type: str
    digest: str
    aliases: tuple[str, ...]
    """Its aliases in that sequence (`latest`, `production`, ...)."""

    @property
    def qualified_name(self) -> str:
        """`entity/project/name:vN`, as `Api.artifact()` takes it."""
        return f"{self.entity}/{self.project}/{self.collection}:v{self.version_index}"

    @property
    def label(self) -> str:
        aliases = f" [{', '.join(self.aliases)}]" if self.aliases else ""
        return f"{self.type} {self.qualified_name}{aliases}"


LineageNode = LineageRun | LineageVersion


@dataclass(frozen=True)
class LineageEdge:
    """`source` -> `target` by ID: a version used by a run (`input`) or a run that logged a version (`output`)."""

    source: str
    target: str
    kind: Literal["input", "output"]


@dataclass
class Lineage:
    """The graph around `root`: its nodes by ID, its edges, and what bounded it."""

    root: LineageVersion
    depth: int
    nodes: dict[str, LineageNode] = field(default_factory=dict)
    edges: list[LineageEdge] = field(default_factory=list)
    upstream_levels: list[list[str]] = field(default_factory=list)
    """The runs expanded at each level upstream (level 1: the run that logged `root`), by ID."""
    downstream_levels: list[list[str]] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)
    """What a width bound cut (`per_node`, `max_level_runs`), one sentence each."""
    unexpanded: list[str] = field(default_factory=list)
    """Runs found at the depth limit and not followed further, by ID."""
    cycles: list[list[str]] = field(default_factory=list)
    """Each cycle found, as the IDs along it (a well-formed server never has one)."""
    requests: int = 0
    """GraphQL requests the walk sent."""

    @property
    def runs(self) -> list[LineageRun]:
        return [n for n in self.nodes.values() if isinstance(n, LineageRun)]

    @property
    def versions(self) -> list[LineageVersion]:
        return [n for n in self.nodes.values() if isinstance(n, LineageVersion)]

    def parents(self, node_id: str) -> list[LineageNode]:
        """What `node_id` came from (the run that logged a version; the versions a run used)."""
        return [self.nodes[e.source] for e in self.edges if e.target == node_id]

    def children(self, node_id: str) -> list[LineageNode]:
        """What came from `node_id` (the runs that used a version; the versions a run logged)."""
        return [self.nodes[e.target] for e in self.edges if e.source == node_id]

    # -- output --------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The body of `artifactkit lineage --json` (docs/json.md)."""

        def node(n: LineageNode) -> dict[str, Any]:
            if isinstance(n, LineageRun):
                return {"id": n.id, "kind": "run", "path": n.path, "display_name": n.display_name, "state": n.state}
            return {
                "id": n.id,
                "kind": "version",
                "name": n.qualified_name,
                "type": n.type,
                "digest": n.digest,
                "aliases": list(n.aliases),
            }

        return {
            "root": self.root.id,
            "depth": self.depth,
            "nodes": [node(n) for n in self.nodes.values()],
            "edges": [{"source": e.source, "target": e.target, "kind": e.kind} for e in self.edges],
            "upstream_levels": self.upstream_levels,
            "downstream_levels": self.downstream_levels,
            "truncated": self.truncated,
            "unexpanded": self.unexpanded,
            "cycles": self.cycles,
        }

    def _short_ids(self) -> dict[str, str]:
        """`n0`, `n1`, ... in node order: identifiers every graph language accepts."""
        return {node_id: f"n{i}" for i, node_id in enumerate(self.nodes)}

    def to_dot(self) -> str:
        """Graphviz DOT: versions as boxes, runs as ellipses, the root in bold."""
        ids = self._short_ids()
        lines = ["digraph lineage {", "  rankdir=LR;"]
        for node_id, n in self.nodes.items():
            shape = "ellipse" if isinstance(n, LineageRun) else "box"
            style = ', style="bold"' if node_id == self.root.id else ""
            lines.append(f"  {ids[node_id]} [label={_dot_string(n.label)}, shape={shape}{style}];")
        for e in self.edges:
            lines.append(f"  {ids[e.source]} -> {ids[e.target]} [label={_dot_string(e.kind)}];")
        lines.append("}")
        return "\n".join(lines)

    def to_mermaid(self) -> str:
        """A Mermaid flowchart (renders in GitHub and GitLab markdown)."""
        ids = self._short_ids()
        lines = ["flowchart LR"]
        for node_id, n in self.nodes.items():
            text = _mermaid_string(n.label)
            lines.append(f"  {ids[node_id]}([{text}])" if isinstance(n, LineageRun) else f"  {ids[node_id]}[{text}]")
        for e in self.edges:
            lines.append(f"  {ids[e.source]} -->|{e.kind}| {ids[e.target]}")
        return "\n".join(lines)

    def tree_lines(self) -> list[str]:
        """The graph as indented trees from the root: upstream (what it came from), then downstream."""
        lines = [self.root.label]
        for title, step in (("upstream", self.parents), ("downstream", self.children)):
            shown: set[str] = {self.root.id}
            below = step(self.root.id)
            if not below:
                continue
            lines.append(f"{title}:")
            lines += _tree(below, step, "", shown)
        return lines


def _tree(nodes: list[LineageNode], step: Any, indent: str, shown: set[str]) -> list[str]:
    lines = []
    for i, n in enumerate(nodes):
        last = i == len(nodes) - 1
        branch = "└── " if last else "├── "
        if n.id in shown:
            lines.append(f"{indent}{branch}{n.label} (shown above)")
            continue
        shown.add(n.id)
        lines.append(f"{indent}{branch}{n.label}")
        lines += _tree(step(n.id), step, indent + ("    " if last else "│   "), shown)
    return lines


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _mermaid_string(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


# -- the walk ------------------------------------------------------------------------------------------


def _run(attrs: LineageRunFields, fallback: tuple[str, str]) -> LineageRun:
    project = attrs.project
    entity, project_name = (project.entity_name, project.name) if project is not None else fallback
    return LineageRun(attrs.id, entity, project_name, attrs.name, attrs.display_name, attrs.state)


def _version(attrs: LineageVersionFields, fallback: tuple[str, str]) -> LineageVersion:
    sequence = attrs.artifact_sequence
    project = sequence.project
    entity, project_name = (project.entity_name, project.name) if project is not None else fallback
    aliases = tuple(
        a.alias
        for a in attrs.aliases
        # by ID: a portfolio or registry collection it is linked into often has the same name
        if a.artifact_collection is not None
        and a.artifact_collection.id == sequence.id
        and version_index(a.alias) is None
    )
    return LineageVersion(
        attrs.id,
        entity,
        project_name,
        sequence.name,
        attrs.version_index or 0,
        attrs.artifact_type.name,
        attrs.digest,
        aliases,
    )


class _Walk:
    """One lineage walk: the graph so far and the bookkeeping that bounds it."""

    def __init__(self, client: Client, root_id: str, what: str, depth: int, per_node: int, max_level_runs: int) -> None:
        self.client = client
        self.what = what
        self.per_node = per_node
        self.max_level_runs = max_level_runs
        self.depth = depth
        self.graph: Lineage | None = None
        self.root_id = root_id
        self._edges: set[LineageEdge] = set()
        self.expanded: dict[str, set[str]] = {"up": set(), "down": set()}

    @property
    def lineage(self) -> Lineage:
        assert self.graph is not None
        return self.graph

    def add(self, node: LineageNode) -> None:
        self.lineage.nodes.setdefault(node.id, node)

    def link(self, source: str, target: str, kind: Literal["input", "output"]) -> None:
        edge = LineageEdge(source, target, kind)
        if edge not in self._edges:
            self._edges.add(edge)
            self.lineage.edges.append(edge)

    def note_cut(self, total: int, shown: int, what: str) -> None:
        if total > shown:
            self.lineage.truncated.append(f"{what}: {shown} of {total} shown")

    def start(
        self, fallback: tuple[str, str], *, upstream: bool, downstream: bool
    ) -> tuple[list[LineageRun], list[LineageRun]]:
        """The root, the run that logged it and the runs that used it (one request)."""
        result = self.client.call(lambda c: c.lineage_root(self.root_id, self.per_node), self.what)
        artifact = result.artifact
        if artifact is None:
            raise NotFoundError(f"no version has the ID {self.root_id!r} ({self.what})", kind="version")
        root = _version(artifact, fallback)
        self.graph = Lineage(root=root, depth=self.depth, requests=1)
        self.add(root)
        creators: list[LineageRun] = []
        creator = artifact.created_by
        if upstream and creator is not None and creator.typename__ == "Run":
            run = _run(creator, fallback)
            self.add(run)
            self.link(run.id, root.id, "output")
            creators.append(run)
        users: list[LineageRun] = []
        for edge in artifact.used_by.edges if downstream else ():
            run = _run(edge.node, fallback)
            self.add(run)
            self.link(root.id, run.id, "input")
            users.append(run)
        if downstream:
            self.note_cut(artifact.used_by.total_count, len(users), f"runs that used {root.qualified_name}")
        return creators, users

    def level(self, up: list[LineageRun], down: list[LineageRun]) -> tuple[list[LineageRun], list[LineageRun]]:
        """Expand one level both ways; returns the next level's runs (one request per project and chunk)."""
        wanted: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: {"up": set(), "down": set()})
        for direction, runs in (("up", up), ("down", down)):
            for run in runs:
                wanted[(run.entity, run.project)][direction].add(run.name)
        next_up: dict[str, LineageRun] = {}
        next_down: dict[str, LineageRun] = {}
        for (entity, project), directions in sorted(wanted.items()):
            names = sorted(directions["up"] | directions["down"])
            for start in range(0, len(names), RUNS_PER_REQUEST):
                chunk = names[start : start + RUNS_PER_REQUEST]
                self._fetch(entity, project, chunk, directions, next_up, next_down)
        return list(next_up.values()), list(next_down.values())

    def _fetch(
        self,
        entity: str,
        project: str,
        names: list[str],
        directions: dict[str, set[str]],
        next_up: dict[str, LineageRun],
        next_down: dict[str, LineageRun],
    ) -> None:
        upstream = any(n in directions["up"] for n in names)
        downstream = any(n in directions["down"] for n in names)
        filters = {"name": {"$in": names}}
        result = self.client.call(
            lambda c: c.lineage_runs(
                entity, project, filters, len(names), self.per_node, upstream=upstream, downstream=downstream
            ),
            f"{self.what}: the runs {', '.join(names[:3])}{', ...' if len(names) > 3 else ''} in {entity}/{project}",
        )
        self.lineage.requests += 1
        if result.project is None or result.project.runs is None:
            return
        fallback = (entity, project)
        asked = set(names)
        for edge in result.project.runs.edges:
            node = edge.node
            if node.name not in asked:
                continue  # not asked for: a faulty filter; never followed
            run = _run(node, fallback)
            self.add(run)
            if node.name in directions["up"] and node.input_artifacts is not None:
                self._inputs(run, node.input_artifacts, fallback, next_up)
            if node.name in directions["down"] and node.output_artifacts is not None:
                self._outputs(run, node.output_artifacts, fallback, next_down)

    def _inputs(self, run: LineageRun, inputs: Any, fallback: tuple[str, str], next_up: dict[str, LineageRun]) -> None:
        """A run's inputs and the runs that logged them (the next level up)."""
        for node in self._expand(run, "up", inputs, "inputs"):
            version = _version(node, fallback)
            self.add(version)
            self.link(version.id, run.id, "input")
            creator = node.created_by
            if creator is not None and creator.typename__ == "Run":
                maker = self._neighbour(creator, fallback, "up", next_up)
                self.link(maker.id, version.id, "output")

    def _outputs(
        self, run: LineageRun, outputs: Any, fallback: tuple[str, str], next_down: dict[str, LineageRun]
    ) -> None:
        """A run's outputs and the runs that used them (the next level down)."""
        for node in self._expand(run, "down", outputs, "outputs"):
            version = _version(node, fallback)
            self.add(version)
            self.link(run.id, version.id, "output")
            users = node.used_by
            self.note_cut(users.total_count, len(users.edges), f"runs that used {version.qualified_name}")
            for use in users.edges:
                user = self._neighbour(use.node, fallback, "down", next_down)
                self.link(version.id, user.id, "input")

    def _expand(self, run: LineageRun, direction: str, versions: Any, what: str) -> list[Any]:
        """The version nodes of a run's inputs or outputs (`versions`), the first time the run is
        expanded in `direction` (none after that); a listing cut short is noted."""
        if run.id in self.expanded[direction]:
            return []
        self.expanded[direction].add(run.id)
        self.note_cut(versions.total_count, len(versions.edges), f"{what} of {run.path}")
        return [item.node for item in versions.edges if item.node is not None]

    def _neighbour(
        self, node: Any, fallback: tuple[str, str], direction: str, next_level: dict[str, LineageRun]
    ) -> LineageRun:
        """A run met beside a version: added, and kept for the next level unless expanded already."""
        neighbour = _run(node, fallback)
        self.add(neighbour)
        if neighbour.id not in self.expanded[direction]:
            next_level.setdefault(neighbour.id, neighbour)
        return neighbour

    def bound(self, runs: list[LineageRun], direction: str, level: int) -> list[LineageRun]:
        """At most `max_level_runs` runs of a level, in a stable order; the rest reported."""
        runs = sorted(runs, key=lambda r: r.path)
        if len(runs) > self.max_level_runs:
            self.lineage.truncated.append(
                f"{direction} level {level}: {self.max_level_runs} of {len(runs)} runs followed"
            )
            self.lineage.unexpanded += [r.id for r in runs[self.max_level_runs :]]
        return runs[: self.max_level_runs]


def walk(
    client: Client,
    root_id: str,
    *,
    name: str,
    fallback: tuple[str, str],
    upstream: bool = True,
    downstream: bool = True,
    depth: int = DEFAULT_DEPTH,
    per_node: int = PER_NODE,
    max_level_runs: int = MAX_LEVEL_RUNS,
) -> Lineage:
    """The lineage of the version `root_id` (`name` says which in messages); see the module's docstring."""
    if depth < 0:
        raise ValueError("depth must be 0 or more")
    if not 1 <= per_node <= 1000 or max_level_runs < 1:
        raise ValueError("per_node must be 1 to 1000, max_level_runs at least 1")
    walker = _Walk(client, root_id, f"tracing the lineage of {name}", depth, per_node, max_level_runs)
    up, down = walker.start(fallback, upstream=upstream, downstream=downstream)
    graph = walker.lineage
    for level in range(1, depth + 1):
        up, down = walker.bound(up, "upstream", level), walker.bound(down, "downstream", level)
        if not (up or down):
            break
        if up:
            graph.upstream_levels.append([r.id for r in up])
        if down:
            graph.downstream_levels.append([r.id for r in down])
        up, down = walker.level(up, down)
    graph.unexpanded += [r.id for r in (*up, *down) if r.id not in graph.unexpanded]
    graph.cycles = find_cycles(graph.nodes, graph.edges)
    if graph.cycles:
        logger.info("the lineage of %s has %d cycle(s); each node was expanded once", name, len(graph.cycles))
    if graph.truncated:
        logger.info("the lineage of %s was cut: %s", name, "; ".join(graph.truncated))
    return graph


def find_cycles(nodes: dict[str, LineageNode], edges: list[LineageEdge]) -> list[list[str]]:
    """One cycle per back edge found by an iterative depth-first search, as the node IDs along it."""
    successors: dict[str, list[str]] = defaultdict(list)
    for e in edges:
        successors[e.source].append(e.target)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []
    for start in nodes:
        if start in state:
            continue
        path: list[str] = []
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(successors[start]))]
        state[start] = 1
        path.append(start)
        while stack:
            node, pending = stack[-1]
            nxt = next(pending, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(successors[nxt])))
    return cycles
