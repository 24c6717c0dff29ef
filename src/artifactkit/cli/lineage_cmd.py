"""`artifactkit lineage NAME`: the runs and versions a version came from and fed, as a tree or a graph."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .output import EXIT_OK, JSON_SCHEMA_VERSION, add_connection_options, add_organization_option, make_api


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "lineage",
        help="where a version came from and where it went",
        description=(
            "The graph of runs and versions around NAME: upstream, the run that logged it, that run's inputs, "
            "the runs that logged those, ...; downstream, the runs that used it, their outputs, ... --depth counts "
            "runs each way. One request per level of the graph (per project). Printed as a tree, or as --json, "
            "--dot (Graphviz) or --mermaid. Bounds that cut the graph (--per-node, very wide levels) and cycles "
            "are reported on stderr."
        ),
    )
    parser.add_argument("name", help="[[ENTITY/]PROJECT/]NAME[:VERSION or :ALIAS]")
    parser.add_argument("--depth", type=int, default=3, help="runs to follow each way (default 3)")
    direction = parser.add_mutually_exclusive_group()
    direction.add_argument("--upstream", action="store_true", help="only where it came from")
    direction.add_argument("--downstream", action="store_true", help="only where it went")
    parser.add_argument(
        "--per-node", type=int, default=50, help="inputs, outputs or users fetched per node (default 50)"
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--dot", action="store_true", help="Graphviz DOT on stdout")
    output.add_argument("--mermaid", action="store_true", help="a Mermaid flowchart on stdout")
    add_organization_option(parser)
    add_connection_options(parser)
    parser.set_defaults(handler=run, on_interrupt="nothing was changed")


def run(args: argparse.Namespace) -> int:
    if args.depth < 0:
        raise ValueError("--depth must be 0 or more")
    with make_api(args) as api:
        artifact = api.artifact(args.name)
        graph = artifact.lineage(
            upstream=not args.downstream, downstream=not args.upstream, depth=args.depth, per_node=args.per_node
        )
    if args.json:
        print(json.dumps({"schema_version": JSON_SCHEMA_VERSION, **graph.to_json()}, indent=2, ensure_ascii=False))
    elif args.dot:
        print(graph.to_dot())
    elif args.mermaid:
        print(graph.to_mermaid())
    else:
        print("\n".join(graph.tree_lines()))
    if not args.json:
        for note in graph.truncated:
            print(f"artifactkit: cut: {note} (--per-node raises the bound)", file=sys.stderr)
        for cycle in graph.cycles:
            labels = " -> ".join(graph.nodes[node_id].label for node_id in cycle)
            print(f"artifactkit: cycle in the server's data: {labels}", file=sys.stderr)
        if graph.unexpanded:
            print(
                f"artifactkit: {len(graph.unexpanded)} run(s) not followed past --depth {args.depth}", file=sys.stderr
            )
    return EXIT_OK
