"""Every operation in queries/ must be valid against schema/wandb.graphql."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import build_schema, parse, validate
from graphql.language import FragmentDefinitionNode, OperationDefinitionNode

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = build_schema((ROOT / "schema" / "wandb.graphql").read_text())
DOCUMENTS = sorted((ROOT / "queries").rglob("*.graphql"))


def _all_fragments() -> str:
    parts = []
    for path in DOCUMENTS:
        for definition in parse(path.read_text()).definitions:
            if isinstance(definition, FragmentDefinitionNode):
                assert definition.loc is not None
                parts.append(definition.loc.source.body[definition.loc.start : definition.loc.end])
    return "\n".join(parts)


FRAGMENTS = _all_fragments()


def _operations() -> list[tuple[str, str]]:
    found = []
    for path in DOCUMENTS:
        for definition in parse(path.read_text()).definitions:
            if isinstance(definition, OperationDefinitionNode):
                assert definition.loc is not None and definition.name is not None
                text = definition.loc.source.body[definition.loc.start : definition.loc.end]
                found.append((f"{path.relative_to(ROOT)}::{definition.name.value}", text))
    return found


OPERATIONS = _operations()


def test_every_query_file_is_found() -> None:
    assert len(OPERATIONS) >= 30
    names = [name.split("::")[1] for name, _ in OPERATIONS]
    assert len(names) == len(set(names)), "operation names must be unique"


@pytest.mark.parametrize(("name", "text"), OPERATIONS, ids=[n for n, _ in OPERATIONS])
def test_operation_validates_against_schema(name: str, text: str) -> None:
    from graphql import NoUnusedFragmentsRule, specified_rules

    rules = [rule for rule in specified_rules if rule is not NoUnusedFragmentsRule]
    errors = validate(SCHEMA, parse(text + "\n" + FRAGMENTS), rules)
    assert errors == []


def test_legacy_operations_use_only_legacy_edges() -> None:
    for path in (ROOT / "queries" / "legacy").glob("*.graphql"):
        text = path.read_text()
        assert "artifactCollections(" not in text and "artifactCollection(" not in text, path
