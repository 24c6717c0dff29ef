"""`artifactkit registry ls`: an organization's registries, and the collections of one."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .output import EXIT_OK, add_connection_options, emit, make_api

_TIME = "%Y-%m-%d %H:%M"


def register(commands: Any) -> None:
    parser = commands.add_parser("registry", help="list an organization's registries and their collections")
    verbs = parser.add_subparsers(dest="registry_command", metavar="COMMAND", required=True)
    ls = verbs.add_parser(
        "ls",
        help="the registries you may see, or the collections of registry NAME",
        description=(
            "Without NAME: the organization's registries you may see. With NAME (model, or wandb-registry-model): "
            "its collections. `artifactkit ls wandb-registry-NAME/COLLECTION` lists a collection's versions."
        ),
    )
    ls.add_argument("name", metavar="NAME", nargs="?", help="a registry: list its collections")
    ls.add_argument(
        "--organization",
        help="the organization (default: WANDB_ORGANIZATION, the wandb settings files, else the entity's only one)",
    )
    ls.add_argument(
        "--filter",
        type=_json_object,
        help='a filter in W&B\'s filter language, e.g. \'{"name": {"$regex": "model"}}\' (registries) or '
        '\'{"tag": "prod"}\' (collections)',
    )
    add_connection_options(ls)
    ls.set_defaults(handler=run_ls)


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"--filter is not valid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("--filter must be a JSON object")
    return value


def run_ls(args: argparse.Namespace) -> int:
    with make_api(args) as api:
        if args.name is None:
            registries = list(api.registries(filter=args.filter))
            emit(
                args,
                ["REGISTRY", "VISIBILITY", "TYPES", "CREATED", "DESCRIPTION"],
                [
                    (
                        r.name,
                        r.visibility,
                        "(any)" if r.allow_all_artifact_types else ",".join(r.artifact_types),
                        r.created_at_datetime.strftime(_TIME),
                        r.description or "",
                    )
                    for r in registries
                ],
                [
                    {
                        "name": r.name,
                        "full_name": r.full_name,
                        "organization": r.organization,
                        "entity": r.entity,
                        "visibility": r.visibility,
                        "description": r.description,
                        "allow_all_artifact_types": r.allow_all_artifact_types,
                        "artifact_types": list(r.artifact_types),
                        "created_at": r.created_at,
                    }
                    for r in registries
                ],
                kind="registries",
            )
            return EXIT_OK
        registry = api.registry(args.name)
        collections = list(registry.collections(filter=args.filter))
        emit(
            args,
            ["COLLECTION", "TYPE", "TAGS", "CREATED", "DESCRIPTION"],
            [
                (c.name, c.type, ",".join(c.tags), c.created_at_datetime.strftime(_TIME), c.description or "")
                for c in collections
            ],
            [
                {
                    "name": c.name,
                    "path": f"{c.entity}/{c.project}/{c.name}",
                    "registry": registry.name,
                    "organization": registry.organization,
                    "type": c.type,
                    "tags": c.tags,
                    "description": c.description,
                    "created_at": c.created_at,
                }
                for c in collections
            ],
            kind="collections",
        )
    return EXIT_OK
