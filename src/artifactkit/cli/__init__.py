"""The `artifactkit` command: list, download and upload artifacts; run the emulator."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .output import EXIT_CODES_HELP, EXIT_USAGE, run_command


def build_parser() -> argparse.ArgumentParser:
    from . import cache_cmd, get_cmd, ls_cmd, put_cmd, serve_cmd

    parser = argparse.ArgumentParser(
        prog="artifactkit",
        description="Weights & Biases artifacts, fast and typed.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (ls_cmd, get_cmd, put_cmd, cache_cmd, serve_cmd):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return run_command(args)


if __name__ == "__main__":
    sys.exit(main())
