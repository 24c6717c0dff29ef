"""`artifactkit verify`: does a directory hold exactly a version's files, intact?"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .output import (
    EXIT_OK,
    JSON_SCHEMA_VERSION,
    add_connection_options,
    add_offline_option,
    add_organization_option,
    files_text,
    make_api,
)


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "verify",
        help="check a download root against a version's manifest",
        description=(
            "Hash every file under ROOT (default ./artifacts/NAME:VERSION, where get puts it) and compare "
            "with the manifest of [[ENTITY/]PROJECT/]NAME[:VERSION]: missing, extra, changed files are listed "
            "(exit code 6). Nothing is written."
        ),
    )
    parser.add_argument("name", help="[[ENTITY/]PROJECT/]NAME[:VERSION or :ALIAS]")
    parser.add_argument("--root", type=Path, help="the directory to check (default ./artifacts/NAME:VERSION)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (none is drawn unless on a TTY)")
    add_organization_option(parser)
    add_offline_option(parser)
    add_connection_options(parser)
    parser.set_defaults(handler=run, on_interrupt="nothing was changed; run it again to check from the start")


def run(args: argparse.Namespace) -> int:
    from ..artifacts import default_root

    with make_api(args) as api:
        artifact = api.artifact(args.name)
        root = args.root if args.root is not None else default_root(artifact)
        artifact.verify(root, progress=False if (args.no_progress or args.json) else None)
    if args.json:
        document = {
            "schema_version": JSON_SCHEMA_VERSION,
            "artifact": artifact.qualified_name,
            "root": str(root),
            "verified": True,
        }
        print(json.dumps(document, indent=2))
    else:
        print(f"{root} holds exactly {artifact.qualified_name} ({files_text(artifact.file_count)}, verified)")
    return EXIT_OK
