"""How the CLI talks: aligned tables or JSON on stdout, one-line errors, meaningful exit codes."""

from __future__ import annotations

import argparse
import errno
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .. import errors

if TYPE_CHECKING:
    from ..api import Api

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_AUTH = 4
EXIT_NETWORK = 5
EXIT_INTEGRITY = 6
EXIT_DISK_FULL = 7
EXIT_OTHER_IN_DIFF = 8
EXIT_OFFLINE = 9
EXIT_INTERRUPTED = 130
EXIT_DIFFERENT = 1
"""`diff`'s result, as diff(1) has it: the versions differ (its errors then use 8 for "other error")."""

EXIT_CODES_HELP = """exit codes:
  0  success
  1  other error (including a failed upload)
  2  usage or configuration error (bad name, no server or API key)
  3  not found (entity, project, artifact, version, alias)
  4  authentication or permission denied
  5  network or server error after retries
  6  download, import or mirror refused or not verified (digest mismatch, unsafe path, hostile bundle)
  7  not enough disk space (checked before downloading, or the disk filled up)
  8  other error of diff, whose 1 means "the versions differ" (0: equal)
  9  offline (--offline, WANDB_MODE=offline): not in the cache, or the command needs the server
  130  interrupted"""


def exit_code_for(error: BaseException) -> int:
    if isinstance(error, errors.DiskFullError) or (
        isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)
    ):
        return EXIT_DISK_FULL
    if isinstance(error, (errors.InvalidNameError, errors.ConfigurationError)):
        return EXIT_USAGE
    if isinstance(error, errors.OfflineError):  # NotCachedError included
        return EXIT_OFFLINE
    if isinstance(error, errors.DownloadManyError):
        codes = {exit_code_for(cause) for _, cause in error.failures}
        return codes.pop() if len(codes) == 1 else EXIT_ERROR
    if isinstance(error, errors.NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(error, (errors.AuthenticationError, errors.PermissionDeniedError)):
        return EXIT_AUTH
    if isinstance(error, (errors.TransportError, errors.ServerError, errors.RateLimitError)):
        return EXIT_NETWORK
    if isinstance(error, (errors.DownloadError, errors.BundleError, errors.MirrorVerificationError)):
        return EXIT_INTEGRITY
    if isinstance(error, ValueError) and not isinstance(error, errors.ArtifactkitError):
        return EXIT_USAGE  # an option value the command cannot use
    return EXIT_ERROR


def run_command(args: argparse.Namespace) -> int:
    """Run the chosen handler; errors become one line on stderr (a traceback with --debug)."""
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        next_run = getattr(args, "on_interrupt", "nothing was changed")
        print(f"artifactkit: interrupted; {next_run}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `artifactkit ls ... | head`
        sys.stderr.close()
        return EXIT_OK
    except (errors.ArtifactkitError, OSError, ValueError) as exc:
        if args.debug:
            traceback.print_exc()
        print(f"artifactkit: error: {cli_terms(one_line(exc))} [{type(exc).__name__}]", file=sys.stderr)
        return _result_safe(args, exit_code_for(exc))
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        print(
            f"artifactkit: internal error: {one_line(exc)} [{type(exc).__name__}]; run with --debug for details",
            file=sys.stderr,
        )
        return _result_safe(args, EXIT_ERROR)


def _result_safe(args: argparse.Namespace, code: int) -> int:
    """A command whose exit status 1 is a result (`diff`) reports "other error" as 8 instead."""
    return EXIT_OTHER_IN_DIFF if code == EXIT_ERROR and getattr(args, "result_exit_codes", False) else code


def one_line(error: BaseException) -> str:
    """An error message on one line (servers and OS errors sometimes include newlines)."""
    return " ".join(str(error).split()) or type(error).__name__


def add_debug_option(parser: argparse.ArgumentParser) -> None:
    """`--debug` after the command too; the top-level flag keeps working."""
    parser.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show every log record and tracebacks"
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show what the library decides (server, retries, cache)",
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


JSON_SCHEMA_VERSION = 1
"""The version of every command's `--json` document (docs/json.md); raised on incompatible changes."""


def emit(
    args: argparse.Namespace,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    records: list[dict[str, Any]],
    *,
    kind: str,
) -> None:
    """A table on stdout, or with --json `{"schema_version": 1, kind: records}`."""
    if getattr(args, "json", False):
        print(json.dumps({"schema_version": JSON_SCHEMA_VERSION, kind: records}, indent=2, default=str))
    elif rows:
        print(table(headers, rows))
    else:
        print("(none)")


def files_text(n: int) -> str:
    """`1 file`, `2 files`: a count as a person writes it."""
    return f"{n} file" if n == 1 else f"{n} files"


def parse_size(text: str) -> int:
    """`10GB`, `500MiB`, `1024` -> bytes."""
    units = {
        "": 1,
        "b": 1,
        "k": 1000,
        "kb": 1000,
        "kib": 1024,
        "m": 1000**2,
        "mb": 1000**2,
        "mib": 1024**2,
        "g": 1000**3,
        "gb": 1000**3,
        "gib": 1024**3,
        "t": 1000**4,
        "tb": 1000**4,
        "tib": 1024**4,
    }
    stripped = text.strip().lower().replace(" ", "")
    number = stripped.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = stripped[len(number) :]
    try:
        value = float(number)
    except ValueError:
        value = -1.0 if number.startswith("-") else float("nan")
    if not number or unit not in units or value != value:
        raise ValueError(f"cannot read size {text!r}; use e.g. 10GB, 500MiB or a number of bytes")
    if value < 0:
        raise ValueError(f"size {text!r} is negative; use 0 to empty the cache, or e.g. 10GB")
    return int(value * units[unit])


def size_argument(text: str) -> int:
    """`parse_size` for argparse: a bad size is a usage error with our message."""
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    add_debug_option(parser)
    server = parser.add_mutually_exclusive_group()
    server.add_argument(
        "--base-url", help="W&B server (default: WANDB_BASE_URL, the wandb settings files, else https://api.wandb.ai)"
    )
    server.add_argument("--local", action="store_true", help="use the running local emulator (`artifactkit serve`)")
    parser.add_argument("--api-key", help="API key (default: WANDB_API_KEY, else the netrc entry `wandb login` wrote)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def add_offline_option(parser: argparse.ArgumentParser) -> None:
    """`--offline`, for the commands that can answer from the cache (docs/offline.md)."""
    parser.add_argument(
        "--offline",
        action="store_true",
        default=None,
        help="send nothing: names, manifests and files from the cache only, as last seen online "
        "(default: on when WANDB_MODE is offline, dryrun or disabled)",
    )


def add_organization_option(parser: argparse.ArgumentParser) -> None:
    """`--organization`, for commands that take registry paths (docs/registry.md: which organization)."""
    parser.add_argument(
        "--organization",
        help="the organization of registry paths that name none (default: WANDB_ORGANIZATION, the wandb settings "
        "files, else the entity's only organization)",
    )


def make_api(args: argparse.Namespace) -> Api:
    """An `Api` from the connection flags; says on stderr when it chose a local emulator."""
    from ..api import Api  # loaded on first use: `artifactkit --help` stays quick

    base_url = "local" if getattr(args, "local", False) else args.base_url
    api = Api(
        api_key=args.api_key,
        base_url=base_url,
        cache_dir=getattr(args, "cache_dir", None),
        organization=getattr(args, "organization", None),
        offline=getattr(args, "offline", None),
    )
    if api.config.uses_local_server:
        reason = "as --local asked" if base_url else "no W&B server or API key is configured"
        print(f"artifactkit: using the local emulator at {api.base_url} ({reason})", file=sys.stderr)
    return api


# Library messages name arguments (`api_key=`); the CLI names its flags instead.
_FLAGS = {
    "base_url='local'": "--local",
    "api_key=": "--api-key",
    "base_url=": "--base-url",
    "cache_dir=": "--cache-dir",
    "max_workers=": "--workers",
    "organization=": "--organization",
    "delete_aliases=True": "--delete-aliases",
}


def cli_terms(message: str) -> str:
    """A library error message with its argument names replaced by this CLI's flags."""
    for argument, flag in _FLAGS.items():
        message = message.replace(f"pass {argument}", f"pass {flag}").replace(f"argument {argument}", flag)
    return message
