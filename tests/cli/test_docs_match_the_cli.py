"""docs/transfers.md describes the command as it is: every command in its table, every exit code."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from artifactkit.cli import build_parser
from artifactkit.cli.output import EXIT_CODES_HELP

DOC = (Path(__file__).resolve().parents[2] / "docs" / "transfers.md").read_text()


def commands() -> set[str]:
    [subparsers] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return set(subparsers.choices)


def table_rows() -> dict[str, str]:
    """`ls ENTITY/PROJECT ...` -> what it does, from the table under "The `artifactkit` command"."""
    section = DOC.split("## The `artifactkit` command", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)`[^|]*\| (.+) \|$", section, flags=re.MULTILINE)
    return dict(rows)


def test_every_command_is_in_the_table() -> None:
    documented = {usage.split()[0] for usage in table_rows()}
    assert documented == commands()


def test_the_table_says_what_ls_lists() -> None:
    rows = table_rows()
    [project_row] = [what for usage, what in rows.items() if usage.startswith("ls ENTITY/PROJECT ")]
    assert project_row.startswith("the project's collections")  # as `ls ENTITY/PROJECT` lists them
    [files_row] = [what for usage, what in rows.items() if usage.startswith("ls ENTITY/PROJECT/NAME:VERSION")]
    assert "MD5 (hex" in files_row


def test_the_exit_codes_are_those_of_the_command() -> None:
    in_help = {int(code) for code in re.findall(r"^\s+(\d+)\s", EXIT_CODES_HELP, flags=re.MULTILINE)}
    sentence = DOC.split("Exit codes:", 1)[1].split(".\n", 1)[0]
    in_doc = {int(code) for code in re.findall(r"(?<![\w-])(\d+) [a-z]", sentence)}
    assert in_doc == in_help
