"""`artifactkit mirror`, `export` and `import`: artifacts that travel between servers, by wire or by hand."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._sizes import human_size
from ..errors import MirrorVerificationError
from .output import (
    EXIT_INTEGRITY,
    EXIT_OK,
    add_debug_option,
    files_text,
    make_api,
    table,
)

if TYPE_CHECKING:
    from ..api import Api
    from ..mirror import MirrorReport

_AGAIN = (
    "run the same command again: versions already copied are found and not sent again, and a version "
    "left half-made is finished"
)


def register(commands: Any) -> None:
    mirror = commands.add_parser(
        "mirror",
        help="copy a project, a collection or versions to another server",
        description=(
            "Copy SOURCE (ENTITY/PROJECT, ENTITY/PROJECT/NAME, or ENTITY/PROJECT/NAME:v1,v3) from the source "
            "server to TARGET (ENTITY or ENTITY/PROJECT; default: the same names) on the target server: versions "
            "in order with their aliases, tags, metadata, description and TTL, the runs that logged and used "
            "them, and their links into portfolios. Only bytes the target lacks are sent; versions already "
            "there are found and only brought in line; a killed mirror is finished by running it again. "
            "Each server has its own URL and key: the configured ones (WANDB_BASE_URL, the wandb settings, "
            "netrc) unless --source-url/--target-url say otherwise; a server given by flag takes its key from "
            "its --*-api-key or its own netrc entry (`wandb login --host URL`), never another server's."
        ),
    )
    mirror.add_argument("source", metavar="SOURCE", help="ENTITY/PROJECT[/NAME[:VERSION,...]]")
    mirror.add_argument("target", metavar="TARGET", nargs="?", help="ENTITY[/PROJECT] (default: as SOURCE)")
    mirror.add_argument(
        "--version",
        dest="versions",
        action="append",
        default=[],
        metavar="VERSION",
        help="only this version (vN or an alias) of the collection SOURCE names (repeatable)",
    )
    mirror.add_argument(
        "--source-url", help="the source server (default: the configured server); 'local': the emulator"
    )
    mirror.add_argument("--source-api-key", help="the source server's API key")
    mirror.add_argument(
        "--target-url", help="the target server (default: the configured server); 'local': the emulator"
    )
    mirror.add_argument("--target-api-key", help="the target server's API key")
    _common(mirror)
    mirror.set_defaults(handler=run_mirror, on_interrupt=_AGAIN)

    export = commands.add_parser(
        "export",
        help="write projects, collections or versions into a bundle directory",
        description=(
            "Write NAME... (ENTITY/PROJECT, ENTITY/PROJECT/NAME or ENTITY/PROJECT/NAME:v1,v3) into DIR, a "
            "self-describing bundle (docs/travel.md): manifests, each stored file once, metadata, aliases, tags, "
            "links and the runs that logged and used the versions. `artifactkit import DIR` writes it into any "
            "server. Exporting again into the same DIR adds only what is new."
        ),
    )
    export.add_argument("names", nargs="+", metavar="NAME", help="what to export (repeatable)")
    export.add_argument("directory", metavar="DIR", type=Path, help="the bundle directory (new, empty or a bundle)")
    export.add_argument("--base-url", help="the server (default: WANDB_BASE_URL, the wandb settings, api.wandb.ai)")
    export.add_argument("--local", action="store_true", help="use the running local emulator")
    export.add_argument("--api-key", help="API key (default: WANDB_API_KEY, else the netrc entry)")
    _common(export, no_verify="do not check that each version's files are all in the bundle")
    export.set_defaults(handler=run_export, on_interrupt="run the same command again: files already in DIR are kept")

    import_ = commands.add_parser(
        "import",
        help="write a bundle directory into a server",
        description=(
            "Write the bundle DIR (from `artifactkit export`) into the server, as a mirror from the server it was "
            "exported from would: same versions, aliases, tags, metadata, links and lineage; nothing the server "
            "already has. The bundle is checked whole first (every file hashed; no path outside it, no symlink, "
            "no malformed document) and refused before anything is written if it fails."
        ),
    )
    import_.add_argument("directory", metavar="DIR", type=Path, help="the bundle directory")
    import_.add_argument(
        "target", metavar="TARGET", nargs="?", help="ENTITY, or ENTITY/PROJECT for a bundle of one project"
    )
    import_.add_argument("--base-url", help="the server (default: WANDB_BASE_URL, the wandb settings, api.wandb.ai)")
    import_.add_argument("--local", action="store_true", help="use the running local emulator")
    import_.add_argument("--api-key", help="API key (default: WANDB_API_KEY, else the netrc entry)")
    _common(import_)
    import_.set_defaults(handler=run_import, on_interrupt=_AGAIN)


def _common(
    parser: argparse.ArgumentParser, no_verify: str = "do not compare each version's files on both sides"
) -> None:
    parser.add_argument(
        "--dry-run", action="store_true", help="read both sides and say what would happen, writing nothing"
    )
    parser.add_argument("--no-verify", dest="verify", action="store_false", help=no_verify)
    parser.add_argument("--workers", type=int, help="parallel transfers (default: 4 per CPU, 8 to 32)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (none is drawn unless on a TTY)")
    parser.add_argument("--json", action="store_true", help="machine-readable summary (docs/json.md)")
    add_debug_option(parser)


def _side(url: str | None, key: str | None) -> Api:
    """The Api of one side of a mirror: the configured server, or the one `url` names (with its own key)."""
    from ..api import Api

    if url is None:
        return Api(api_key=key)
    return Api(api_key=key, base_url=url, host_keys_only=True)


def run_mirror(args: argparse.Namespace) -> int:
    _check_workers(args)
    with _side(args.source_url, args.source_api_key) as source, _side(args.target_url, args.target_api_key) as target:
        for label, api in (("source", source), ("target", target)):
            if api.config.uses_local_server:
                print(f"artifactkit: {label}: using the local emulator at {api.base_url}", file=sys.stderr)
        report = _guarded(
            args,
            lambda: source.mirror(args.source, target, to=args.target, versions=args.versions, **_options(args)),
        )
    return _show(args, report, "mirror")


def run_export(args: argparse.Namespace) -> int:
    return _on_one_server(args, lambda api: api.export(args.names, args.directory, **_options(args)))


def run_import(args: argparse.Namespace) -> int:
    return _on_one_server(args, lambda api: api.import_bundle(args.directory, to=args.target, **_options(args)))


def _on_one_server(args: argparse.Namespace, call: Callable[[Api], MirrorReport]) -> int:
    """`export` and `import`: `call` on the server the options name, its report shown as `args.command`."""
    _check_workers(args)
    with make_api(args) as api:
        report = _guarded(args, lambda: call(api))
    return _show(args, report, args.command)


def _check_workers(args: argparse.Namespace) -> None:
    if args.workers is not None and args.workers < 1:
        raise ValueError("--workers must be at least 1")


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """The keywords every verb passes from the options `_common` adds."""
    progress = False if (args.no_progress or args.json) else None
    return {"dry_run": args.dry_run, "verify": args.verify, "max_workers": args.workers, "progress": progress}


def _guarded(args: argparse.Namespace, call: Any) -> MirrorReport:
    """The report of `call()`; when the verification failed, the report is shown before the error."""
    try:
        report: MirrorReport = call()
    except MirrorVerificationError as exc:
        if exc.report is None:
            raise
        _show(args, exc.report, args.command)
        raise
    return report


def _show(args: argparse.Namespace, report: MirrorReport, verb: str) -> int:
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return EXIT_OK if report.verified is not False else EXIT_INTEGRITY
    rows = [
        [
            v.source,
            v.target or "(new)",
            v.action + (f" ({', '.join(v.changes)})" if v.changes else ""),
            files_text(v.files),
            human_size(v.sent_bytes) if v.sent_files else "-",
        ]
        for v in report.versions
    ]
    if rows:
        print(table(["SOURCE", "TARGET", "ACTION", "FILES", "SENT"], rows))
    for warning in report.warnings:
        print(f"artifactkit: warning: {warning}", file=sys.stderr)
    counts = ", ".join(
        f"{report.count(action)} {'to ' + action if report.dry_run else _past(action)}"
        for action in ("create", "resume", "update", "unchanged")
        if report.count(action)
    )
    runs = sum(r.action == "create" for r in report.runs)
    links = sum(link.action == "create" for link in report.links)
    line = f"{verb} {report.source} -> {report.target}: {len(report.versions)} version(s)"
    line += f" ({counts})" if counts else ""
    if report.dry_run:
        line += f"; would send at most {human_size(report.bytes_to_send_at_most)}"
    else:
        line += f"; sent {files_text(report.sent_files)} ({human_size(report.sent_bytes)})"
    if runs or links:
        line += f"; {runs} run(s) and {links} link(s) {'to create' if report.dry_run else 'created'}"
    if report.verified:
        line += "; verified"
    print(line)
    return EXIT_OK


def _past(action: str) -> str:
    return {"create": "created", "resume": "resumed", "update": "updated", "unchanged": "unchanged"}[action]
