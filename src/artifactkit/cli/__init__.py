"""The `artifactkit` command: list, download and upload artifacts; run the emulator."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from . import (
    cache_cmd,
    diff_cmd,
    edit_cmd,
    get_cmd,
    lineage_cmd,
    link_cmd,
    ls_cmd,
    mirror_cmd,
    put_cmd,
    registry_cmd,
    schema_cmd,
    serve_cmd,
    show_cmd,
    verify_cmd,
)
from .output import EXIT_CODES_HELP, EXIT_USAGE, cli_terms, run_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="artifactkit",
        description="Weights & Biases artifacts, fast and typed.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show every log record and tracebacks on errors")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show what the library decides (server, retries, cache)"
    )
    from .._version import __version__

    parser.add_argument("--version", action="version", version=f"artifactkit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = (
        ls_cmd,
        show_cmd,
        get_cmd,
        put_cmd,
        verify_cmd,
        diff_cmd,
        lineage_cmd,
        registry_cmd,
        link_cmd,
        edit_cmd,
        mirror_cmd,
        cache_cmd,
        serve_cmd,
        schema_cmd,
    )
    for module in modules:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # argparse settles an optional positional before the options that follow it
        # (`cache cleanup --remove-temp 5GB`); a command may take such a late value (`take_extra`).
        take = getattr(args, "take_extra", None)
        try:
            taken = take is not None and take(args, extra)
        except argparse.ArgumentTypeError as exc:
            parser.error(str(exc))
        if not taken:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    logger = logging.getLogger("artifactkit")
    level = logger.level
    handler = log_handler(debug=args.debug, verbose=getattr(args, "verbose", False))
    logger.addHandler(handler)
    logger.setLevel(handler.level)
    try:
        return run_command(args)
    finally:  # main() may run in a longer-lived process (tests, scripts): leave the logger as it was
        logger.removeHandler(handler)
        logger.setLevel(level)


class _CliFormatter(logging.Formatter):
    """`artifactkit: warning: ...`, the library's argument names (`base_url=`) said as this CLI's flags."""

    def format(self, record: logging.LogRecord) -> str:
        level = "" if record.levelno == logging.INFO else f"{record.levelname.lower()}: "
        hint = " (-v shows every retry)" if getattr(record, "artifactkit_first_retry", False) else ""
        return f"artifactkit: {level}{cli_terms(record.getMessage())}{hint}"


class _FirstRetry(logging.Filter):
    """Without -v, warnings only, plus the first retry: a silent wait of many seconds looks like a hang."""

    def __init__(self) -> None:
        super().__init__()
        self.shown = False

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        if self.shown or not str(record.msg).startswith("retrying "):
            return False
        self.shown = True
        record.artifactkit_first_retry = True
        return True


def log_handler(*, debug: bool, verbose: bool) -> logging.Handler:
    """The library's log records on stderr: warnings (and the first retry) always, decisions with -v,
    everything with --debug."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_CliFormatter())
    handler.addFilter(lambda record: not record.name.startswith("artifactkit.server"))  # serve logs on its own
    handler.setLevel(logging.DEBUG if debug else logging.INFO)
    if not (debug or verbose):
        handler.addFilter(_FirstRetry())
    return handler
