"""`artifactkit serve`: run the embedded W&B-compatible emulator; `artifactkit keys` and `admin`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from .._install import extra_hint
from ..errors import ConfigurationError
from .output import add_debug_option


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "serve",
        help="run the embedded W&B-compatible emulator",
        description="Serve the W&B GraphQL API and file routes from SQLite + a local blob store.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port (default 8765)")
    parser.add_argument("--data-dir", type=Path, help="default: $ARTIFACTKIT_DATA_DIR or the user data dir")
    parser.add_argument(
        "--legacy",
        action="store_true",
        help="behave like a W&B server older than 0.12.11 (artifactSequence(s) edges only)",
    )
    parser.add_argument(
        "--max-cli-version",
        metavar="VERSION",
        help="the server version to claim (default 0.31.0, or 0.12.0 with --legacy); below 0.12.11 it is legacy",
    )
    parser.add_argument("--demo", action="store_true", help="seed a demo project (idempotent)")
    parser.add_argument("--user", default="local", help="the user whose API key is printed (default: local)")
    parser.add_argument("--ready-file", type=Path, help="write {url, api_key} as JSON here once listening")
    parser.add_argument(
        "--faults", metavar="SPEC", help="inject faults, e.g. 'rate=0.2,seed=7,kinds=429+503+reset+truncate+stall'"
    )
    add_debug_option(parser)
    parser.set_defaults(handler=run)

    keys = commands.add_parser("keys", help="create or list the emulator's API keys")
    keys.add_argument("action", choices=["create", "list"])
    keys.add_argument("--data-dir", type=Path)
    keys.add_argument("--user", default="local")
    keys.add_argument(
        "--role",
        choices=["read", "write", "admin"],
        default="write",
        help="read: queries only; write: what a W&B user may do (default); admin: also /_emulator/*",
    )
    keys.add_argument("--read-only", action="store_true", help="same as --role read")
    keys.add_argument("--json", action="store_true", help="machine-readable output (schema_version 1)")
    add_debug_option(keys)
    keys.set_defaults(handler=run_keys)
    _register_admin(commands)


def _register_admin(commands: Any) -> None:
    admin = commands.add_parser(
        "admin",
        help="organizations and teams of the emulator, and their members",
        description=(
            "Place the emulator's users in organizations and teams (users come from `keys create --user NAME`). "
            "Every user is in the home organization local-org; each organization holds the registries "
            "wandb-registry-model and wandb-registry-dataset."
        ),
    )
    nouns = admin.add_subparsers(dest="noun", metavar="org|team", required=True)
    verbs_of = {
        "org": ("create", "list", "add-member", "remove-member"),
        "team": ("create", "list", "add-member", "remove-member"),
    }
    roles_of = {"org": ["admin", "member", "viewer"], "team": ["admin", "member"]}
    for noun, verbs in verbs_of.items():
        noun_parser = nouns.add_parser(noun, help=f"{'organizations' if noun == 'org' else 'teams'} and their members")
        verb_parsers = noun_parser.add_subparsers(dest="verb", metavar="|".join(verbs), required=True)
        for verb in verbs:
            parser = verb_parsers.add_parser(verb)
            if verb != "list":
                parser.add_argument("name", help=f"the {'organization' if noun == 'org' else 'team'}")
            if verb in ("add-member", "remove-member"):
                parser.add_argument("user", help="an existing user (see `keys create --user`)")
            if verb == "add-member":
                parser.add_argument("--role", choices=roles_of[noun], default="member")
            if verb == "create":
                parser.add_argument("--admin", dest="user", metavar="USER", help="a user who administers it")
            if verb == "create" and noun == "org":
                parser.add_argument("--entity", help="the org entity's name (default: NAME-entity)")
            if verb == "create" and noun == "team":
                parser.add_argument("--org", dest="organization", help="its organization (default: local-org)")
            parser.add_argument("--data-dir", type=Path)
            parser.add_argument("--json", action="store_true", help="print every organization (schema_version 1)")
            add_debug_option(parser)
            parser.set_defaults(handler=run_admin)


SERVER_MODULES = ("uvicorn", "starlette", "ariadne", "graphql")


def _server_main() -> ModuleType:
    """`artifactkit.server.main`, or a usage error saying how to install the `[server]` extra."""
    try:
        from ..server import main
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in SERVER_MODULES:
            raise
        raise ConfigurationError(
            f"the emulator needs the [server] extra (module {exc.name!r} is missing): {extra_hint('server')}"
        ) from None
    return main


def _has_data(data_dir: Path) -> bool:
    """Whether an emulator has kept its database in `data_dir` (the server's `Settings.database_path`)."""
    return (data_dir / "emulator.sqlite3").exists()


def _check_data_dir(data_dir: Path, *, must_exist: bool) -> Path:
    if data_dir.exists() and not data_dir.is_dir():
        raise ConfigurationError(f"--data-dir {data_dir} is a file, not a directory")
    if must_exist and not _has_data(data_dir):
        raise ConfigurationError(
            f"--data-dir {data_dir} holds no emulator data; pass the directory `artifactkit serve --data-dir` used"
        )
    return data_dir


def run(args: argparse.Namespace) -> int:
    from .._local import default_data_dir

    main = _server_main()
    serve: Callable[..., int] = main.serve

    seed = None
    if args.demo:
        from ..demo import seed_demo

        seed = seed_demo
    try:
        return serve(
            host=args.host,
            port=args.port,
            data_dir=_check_data_dir(args.data_dir or default_data_dir(), must_exist=False),
            legacy=args.legacy,
            max_cli_version=args.max_cli_version,
            faults=args.faults,
            demo=args.demo,
            user=args.user,
            ready_file=args.ready_file,
            seed=seed,
        )
    except main.ServeError as exc:
        raise ConfigurationError(str(exc)) from None


def _running_data_dir(default: Path) -> Path:
    """No --data-dir and no data in the default one: the data directory of the running emulator."""
    from .._local import running_local_server

    running = running_local_server()
    if running is None or running.data_dir is None or not _has_data(running.data_dir):
        raise ConfigurationError(
            f"the default data directory {default} holds no emulator data and no running emulator announced "
            "another; pass --data-dir, the directory `artifactkit serve --data-dir` used"
        )
    print(f"artifactkit: the data directory of the emulator at {running.url}: {running.data_dir}", file=sys.stderr)
    return running.data_dir


def run_keys(args: argparse.Namespace) -> int:
    from .._local import default_data_dir

    keys_command: Callable[..., int] = _server_main().keys_command
    data_dir = args.data_dir
    if data_dir is None:
        data_dir = default_data_dir()
        if args.action == "list" and not _has_data(data_dir):
            data_dir = _running_data_dir(data_dir)
    data_dir = _check_data_dir(data_dir, must_exist=args.action == "list")
    return keys_command(data_dir, args.action, args.user, args.read_only, as_json=args.json, role=args.role)


def run_admin(args: argparse.Namespace) -> int:
    """`artifactkit admin org|team VERB ...` on the data directory (a running emulator sees the change at once)."""
    from .._local import default_data_dir

    main = _server_main()
    data_dir = args.data_dir
    if data_dir is None:
        data_dir = default_data_dir()
        if not _has_data(data_dir):
            data_dir = _running_data_dir(data_dir)
    data_dir = _check_data_dir(data_dir, must_exist=True)
    try:
        code: int = main.admin_command(
            data_dir,
            args.noun,
            args.verb,
            name=getattr(args, "name", None),
            user=getattr(args, "user", None),
            role=getattr(args, "role", None),
            organization=getattr(args, "organization", None),
            entity=getattr(args, "entity", None),
            as_json=args.json,
        )
    except main.AdminError as exc:
        raise ConfigurationError(str(exc)) from None
    return code
