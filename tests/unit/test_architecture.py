"""The architecture rules import-linter cannot see: what public signatures mention, what the CLI touches."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import artifactkit
from artifactkit import _generated

PACKAGE = Path(artifactkit.__file__).parent
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _public_callables() -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for name in artifactkit.__all__:
        value = getattr(artifactkit, name)
        if inspect.isclass(value):
            found.append((name, value))
            for member, attr in vars(value).items():
                if member.startswith("_") and member != "__init__":
                    continue
                if isinstance(attr, property):
                    attr = attr.fget
                if isinstance(attr, (classmethod, staticmethod)):
                    attr = attr.__func__
                if callable(attr):
                    found.append((f"{name}.{member}", attr))
        elif inspect.isfunction(value):
            found.append((name, value))
    return found


def test_public_signatures_never_mention_generated_names() -> None:
    generated = set(_generated.__all__)
    offenders = []
    for name, item in _public_callables():
        try:
            annotations = inspect.get_annotations(item.__init__ if inspect.isclass(item) else item)  # type: ignore[misc]
        except TypeError:
            continue
        for text in map(str, annotations.values()):
            mentioned = set(_IDENTIFIER.findall(text)) & generated
            if mentioned:
                offenders.append(f"{name}: {sorted(mentioned)}")
    assert offenders == []


def test_the_cli_touches_no_private_member_of_the_sdk() -> None:
    offenders = []
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Attribute) or not isinstance(node.ctx, ast.Load):
                continue  # the CLI may mark its own objects (its log handler)
            if node.attr.startswith("_") and not node.attr.startswith("__"):
                offenders.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert offenders == []


def test_entities_are_built_by_the_api_not_by_hand() -> None:
    for cls in (artifactkit.Artifact, artifactkit.File, artifactkit.Run):
        with pytest.raises(TypeError, match="come from"):
            cls()
