"""ariadne-codegen plugin: the text of every fragment, for documents composed at run time.

Appends `FRAGMENT_TEXTS` (fragment name -> its definition, printed by graphql-core) and
`FRAGMENT_SPREADS` (fragment name -> the fragments it spreads, directly) to the generated
`fragments.py`. A document that asks for many root fields under aliases in one request
(`artifactkit._batches`) is built from these, so it selects exactly what the generated fragment
models validate, and the text cannot drift from `queries/`.

Used from `codegen.toml` (`plugins = [..., "codegen.fragment_texts.FragmentTextsPlugin"]`).
"""

from __future__ import annotations

import ast

from ariadne_codegen.plugins.base import Plugin
from graphql import FragmentDefinitionNode, FragmentSpreadNode, Visitor, print_ast, visit


class _Spreads(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> None:
        self.names.add(node.name.value)


class FragmentTextsPlugin(Plugin):
    """`FRAGMENT_TEXTS` and `FRAGMENT_SPREADS` at the end of `fragments.py` (see the module docstring)."""

    def generate_fragments_module(
        self, module: ast.Module, fragments_definitions: dict[str, FragmentDefinitionNode]
    ) -> ast.Module:
        texts: dict[str, str] = {}
        spreads: dict[str, tuple[str, ...]] = {}
        for name in sorted(fragments_definitions):
            definition = fragments_definitions[name]
            texts[name] = print_ast(definition)
            found = _Spreads()
            visit(definition, found)
            spreads[name] = tuple(sorted(found.names))
        code = (
            "# The text of each fragment, for documents composed at run time (codegen/fragment_texts.py).\n"
            f"FRAGMENT_TEXTS: dict[str, str] = {texts!r}\n"
            f"FRAGMENT_SPREADS: dict[str, tuple[str, ...]] = {spreads!r}\n"
        )
        module.body.extend(ast.parse(code).body)
        return module
