"""ariadne-codegen plugin: generated operations validate the server's answer straight from its bytes.

By default every generated method decodes the body with `response.json()` and then validates
the decoded dict with `Model.model_validate(data)`: the answer is walked twice, once in Python.
This plugin rewrites the end of every operation method into
`return Model.model_validate(self._answer(response, Model))` and adds `_answer` to the generated
client: pydantic validates the whole envelope (`{"data": ..., "errors": ...}`) from the bytes in
one pass (`model_validate_json`) and `model_validate` hands that instance back as it is. Any
answer that is not a plain success (an HTTP error, GraphQL errors, a body that does not
validate) goes the generated client's own way (`get_data`, then `model_validate` of the dict),
so errors are raised exactly as before. (The return keeps the `Model.model_validate(...)` shape
that ariadne-codegen's lazy-import plugin looks for.)

Used from `codegen.toml` (`plugins = ["codegen.json_answers.JsonAnswersPlugin"]`); ariadne-codegen
must run with the repository root importable (`python -m ariadne_codegen`, as the Makefile does).
"""

from __future__ import annotations

import ast
from typing import Any

from ariadne_codegen.plugins.base import Plugin
from graphql import OperationDefinitionNode

_MODULE_CODE = '''
import functools as _functools
from typing import Any as _Any, Optional as _Optional

import pydantic as _pydantic

@_functools.cache
def _envelope(model: type[_pydantic.BaseModel]) -> type[_pydantic.BaseModel]:
    """The GraphQL answer holding `model` as its data, built once per operation."""
    return _pydantic.create_model(
        f"{model.__name__}Answer",
        data=(_Optional[model], None),
        errors=(_Optional[list[_Any]], None),
    )
'''

_METHOD_CODE = '''
def _answer(self, response: _Any, model: type[_pydantic.BaseModel]) -> _Any:
    """The data of a successful answer validated from the body's bytes, else `get_data`'s dict."""
    content = getattr(response, "content", None)
    if 200 <= response.status_code <= 299 and isinstance(content, bytes):
        try:
            answer = _envelope(model).model_validate_json(content)
        except ValueError:  # not JSON, or not this shape: the checked way says what is wrong
            answer = None
        if answer is not None and not answer.errors and answer.data is not None:
            return answer.data
    return self.get_data(response)
'''


def _is_get_data(statement: ast.stmt) -> bool:
    """`data = self.get_data(response)`"""
    return (
        isinstance(statement, ast.Assign)
        and isinstance(statement.value, ast.Call)
        and isinstance(statement.value.func, ast.Attribute)
        and statement.value.func.attr == "get_data"
    )


def _validated_model(statement: ast.stmt) -> ast.expr | None:
    """`Model` of `return Model.model_validate(data)`, or None for any other statement."""
    if not isinstance(statement, ast.Return) or not isinstance(statement.value, ast.Call):
        return None
    func = statement.value.func
    if isinstance(func, ast.Attribute) and func.attr == "model_validate":
        return func.value
    return None


class JsonAnswersPlugin(Plugin):
    """Generated operations validate through `self._answer(response, Model)` (see the module docstring)."""

    def generate_client_module(self, module: ast.Module) -> ast.Module:
        helpers = ast.parse(_MODULE_CODE).body
        # After the `from __future__` import and the module's other imports.
        position = next(
            (i for i, node in enumerate(module.body) if not isinstance(node, (ast.Import, ast.ImportFrom))),
            len(module.body),
        )
        module.body[position:position] = helpers
        return module

    def generate_client_class(self, class_def: ast.ClassDef) -> ast.ClassDef:
        class_def.body.append(ast.parse(_METHOD_CODE).body[0])
        return class_def

    def generate_client_method(
        self,
        method_def: Any,
        operation_definition: OperationDefinitionNode,
    ) -> Any:
        body = method_def.body
        if len(body) >= 2 and _is_get_data(body[-2]):
            model = _validated_model(body[-1])
            if model is not None:
                answer = ast.Call(
                    func=ast.Attribute(value=ast.Name(id="self", ctx=ast.Load()), attr="_answer", ctx=ast.Load()),
                    args=[ast.Name(id="response", ctx=ast.Load()), model],
                    keywords=[],
                )
                validate = ast.Call(
                    func=ast.Attribute(value=model, attr="model_validate", ctx=ast.Load()), args=[answer], keywords=[]
                )
                body[-2:] = [ast.Return(value=validate)]
        return method_def
