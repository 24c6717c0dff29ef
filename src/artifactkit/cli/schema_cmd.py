"""`artifactkit schema check`: does this client still fit a server's live schema?"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .output import EXIT_ERROR, EXIT_OK, add_connection_options, make_api


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "schema",
        help="check the client's operations against a server's live schema",
        description=(
            "check: introspect the server and report, for every operation, the types, fields, arguments "
            "and enum values it lacks or types differently. --queries DIR checks a queries/ directory "
            "(default: ./queries when present, else the documents the installed client sends). "
            "Exit code 0 when everything fits, 1 when something does not."
        ),
    )
    parser.add_argument("action", choices=["check"])
    parser.add_argument("--queries", type=Path, help="directory of .graphql operations (default: ./queries if present)")
    parser.add_argument(
        "--schema", type=Path, help="the SDL they are written against (default: ./schema/wandb.graphql)"
    )
    add_connection_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..schema_check import check_server

    queries = args.queries
    if queries is None and Path("queries").is_dir():
        queries = Path("queries")
    schema = args.schema
    if schema is None and queries is not None and Path("schema/wandb.graphql").is_file():
        schema = Path("schema/wandb.graphql")
    with make_api(args) as api:
        report = check_server(api, queries, schema)
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
        return EXIT_OK if report.fits else EXIT_ERROR
    misfits = [op for op in report.operations if not op.fits]
    print(f"server: {report.server}")
    print(
        f"operations: {len(report.operations)} from {report.source}; "
        f"{len(report.operations) - len(misfits)} fit, {len(misfits)} do not"
    )
    for op in misfits:
        print(f"\n{op.name}")
        width = max(len(m.kind) for m in op.misfits)
        for m in op.misfits:
            print(f"  {m.kind.ljust(width)}  {m.where}: {m.detail}")
    return EXIT_OK if report.fits else EXIT_ERROR
