"""GraphQL execution with per-field plans: graphql-core's executor, minus its per-value overheads.

graphql-core looks up the field definition, builds a `GraphQLResolveInfo` and coerces the
arguments for every field of every object it completes: a page of 50 versions repeats that
work about 700 times. Within one execution all of it depends only on the parent type and the
field's AST nodes (the variables are fixed), so `PlannedExecutionContext` does it once per
field of the document and reuses the plan for every object. Everything else (validation,
variable coercion, abstract types, serialization, null propagation, error paths) is
graphql-core's own code; every resolver here is synchronous, so the awaitable checks go too.

The answer is measured as it is built: every completed object and list subtracts its size (its
text values' characters plus `limits.VALUE_OVERHEAD` per value) from the request's allowance,
and the request stops (`limits.answer_exhausted`) the moment the answer outgrows it, whatever
fragments, aliases or nested pages multiplied it into.

The one visible difference: a resolver gets the `info.path` of the first object the plan was
made for. No resolver of the emulator reads `info.path`; error paths come from the executor.

Objects that many results of one answer share (every version of a page names the same
collection and project) can offer a `completion_key`: an object with the same key, reached
through the same field of the document, is completed once and its answer reused. Queries write
nothing, so within one execution the answer of a field depends only on the object and the
document; an answer whose completion raised field errors is never reused (its errors, with
their paths, must be reported where they happen).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLFieldResolver,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLUnionType,
    OperationDefinitionNode,
    located_error,
)
from graphql.execution.execute import ExecutionContext, get_field_def
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined

from .limits import VALUE_OVERHEAD, answer_allowance, answer_exhausted, settle_answer


class _FieldPlan(NamedTuple):
    resolve: GraphQLFieldResolver
    return_type: GraphQLOutputType
    info: GraphQLResolveInfo
    args: dict[str, Any]
    leaf: GraphQLScalarType | GraphQLEnumType | None  # a scalar or enum field (maybe non-null) ...
    non_null: bool  # ... and whether it may be null
    direct: Callable[[Any], Any] | None  # the resolver bound to this field, when it offers `for_field`


class PlannedExecutionContext(ExecutionContext):
    """An `ExecutionContext` for synchronous resolvers that plans each field of a document once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[tuple[str, int], _FieldPlan | None] = {}
        # Per collected selection set: its fields with the keys of their plans, made once.
        self._selections: dict[tuple[str, int], list[tuple[str, list[FieldNode], tuple[str, int]]]] = {}
        self._completed: dict[tuple[int, Any], tuple[Any, int]] = {}  # the answer and its size
        # What the answer may still hold; every object and list subtracts its size as it completes.
        self._answer_left = answer_allowance()

    def execute_operation(self, operation: OperationDefinitionNode, root_value: Any) -> Any:
        data = super().execute_operation(operation, root_value)
        settle_answer(self._answer_left)  # how big the answer came out, for its encoding
        return data

    def _plan(self, parent_type: GraphQLObjectType, field_nodes: list[FieldNode], path: Path) -> _FieldPlan | None:
        # `field_nodes` lists come from collect_fields/collect_subfields, which memoize them for
        # the whole execution: their identity names the field in this document.
        key = (parent_type.name, id(field_nodes))
        if key in self._plans:
            return self._plans[key]
        field_def = get_field_def(self.schema, parent_type, field_nodes[0])
        if not field_def:
            self._plans[key] = None
            return None
        resolve = field_def.resolve or self.field_resolver
        if self.middleware_manager:
            resolve = self.middleware_manager.get_field_resolver(resolve)
        info = self.build_resolve_info(field_def, field_nodes, parent_type, path)
        # Raises for arguments that do not coerce: the caller reports that as a field error
        # (and nothing is cached, so every object reports it, as graphql-core does).
        args = get_argument_values(field_def, field_nodes[0], self.variable_values)
        named = field_def.type.of_type if isinstance(field_def.type, GraphQLNonNull) else field_def.type
        leaf = named if isinstance(named, (GraphQLScalarType, GraphQLEnumType)) else None
        non_null = isinstance(field_def.type, GraphQLNonNull)
        # A resolver may offer `for_field(field_name, args)`: itself with this field's names and
        # arguments prepared once, called with just the source object (see schema.FieldResolver).
        for_field = getattr(resolve, "for_field", None)
        direct = for_field(info.field_name, args) if callable(for_field) else None
        plan = _FieldPlan(resolve, field_def.type, info, args, leaf, non_null, direct)
        self._plans[key] = plan
        return plan

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        fields: dict[str, list[FieldNode]],
    ) -> dict[str, Any]:
        results: dict[str, Any] = {}
        plans = self._plans
        parent_name = parent_type.name
        selection = self._selections.get((parent_name, id(fields)))
        if selection is None:
            selection = [(name, nodes, (parent_name, id(nodes))) for name, nodes in fields.items()]
            self._selections[(parent_name, id(fields))] = selection
        size = VALUE_OVERHEAD * len(selection)  # what this object adds to the answer (`answer_allowance`)
        for response_name, field_nodes, key in selection:
            plan = plans.get(key)
            if plan is not None and plan.leaf is not None and plan.direct is not None:
                # A planned scalar or enum field: resolved and serialized here, and its path is
                # built only if it fails (what execute_field does, minus its per-field overheads).
                try:
                    value = self._complete_leaf(plan, plan.leaf, plan.direct(source_value))
                    if value.__class__ is str:
                        size += len(value)
                    results[response_name] = value
                except Exception as raw_error:
                    field_path = Path(path, response_name, parent_name)
                    error = located_error(raw_error, field_nodes, field_path.as_list())
                    self.handle_field_error(error, plan.return_type, field_path)
                    results[response_name] = None
                continue
            result = self.execute_field(parent_type, source_value, field_nodes, Path(path, response_name, parent_name))
            if result is not Undefined:
                if result.__class__ is str:
                    size += len(result)
                results[response_name] = result
        self._answer_left -= size
        if self._answer_left < 0:
            answer_exhausted()
        return results

    def _complete_leaf(self, plan: _FieldPlan, leaf: GraphQLScalarType | GraphQLEnumType, value: Any) -> Any:
        """A scalar or enum field's answer: what complete_value makes of it, without its type dispatch."""
        if value is None or value is Undefined:
            if plan.non_null:
                raise TypeError(_null_message(plan.info))
            return None
        if isinstance(value, Exception):
            raise value
        serialized = leaf.serialize(value)
        if serialized is None or serialized is Undefined:  # graphql-core's own error for it
            return self.complete_leaf_value(leaf, value)
        return serialized

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_nodes: list[FieldNode],
        path: Path,
    ) -> Any:
        return_type: GraphQLOutputType | None = None
        try:
            plan = self._plan(parent_type, field_nodes, path)
            if plan is None:
                return Undefined
            return_type = plan.return_type
            result = plan.direct(source) if plan.direct is not None else plan.resolve(source, plan.info, **plan.args)
            if plan.leaf is not None:
                return self._complete_leaf(plan, plan.leaf, result)
            return self.complete_value(return_type, field_nodes, plan.info, path, result)
        except Exception as raw_error:
            if return_type is None:  # failed while planning: learn the type the slow way
                field_def = get_field_def(self.schema, parent_type, field_nodes[0])
                return_type = field_def.type
            error = located_error(raw_error, field_nodes, path.as_list())
            self.handle_field_error(error, return_type, path)
            return None

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
    ) -> Any:
        # The common cases first; anything else goes to graphql-core's own completion.
        if isinstance(return_type, GraphQLNonNull):
            if isinstance(result, Exception):
                raise result
            completed = self.complete_value(return_type.of_type, field_nodes, info, path, result)
            if completed is None:
                raise TypeError(_null_message(info))
            return completed
        if result is None or result is Undefined:
            return None
        if isinstance(return_type, (GraphQLScalarType, GraphQLEnumType)) and not isinstance(result, Exception):
            return self.complete_leaf_value(return_type, result)
        if isinstance(return_type, GraphQLList) and isinstance(result, (list, tuple)):
            return self._complete_list(return_type, field_nodes, info, path, result)
        shared = getattr(result, "completion_key", None)
        if shared is not None and isinstance(return_type, (GraphQLObjectType, GraphQLInterfaceType, GraphQLUnionType)):
            key = (id(field_nodes), shared)
            reused = self._completed.get(key)
            if reused is not None:  # shared in the answer, but sent as often as it appears in it
                self._answer_left -= reused[1]
                if self._answer_left < 0:
                    answer_exhausted()
                return reused[0]
            errors = len(self.collected_errors.errors)
            before = self._answer_left
            completed = super().complete_value(return_type, field_nodes, info, path, result)
            if len(self.collected_errors.errors) == errors:
                self._completed[key] = (completed, before - self._answer_left)
            return completed
        return super().complete_value(return_type, field_nodes, info, path, result)

    def _complete_list(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        path: Path,
        result: list[Any] | tuple[Any, ...],
    ) -> list[Any]:
        item_type = return_type.of_type
        completed: list[Any] = []
        size = VALUE_OVERHEAD * len(result)
        for index, item in enumerate(result):
            item_path = path.add_key(index, None)
            try:
                value = self.complete_value(item_type, field_nodes, info, item_path, item)
                if value.__class__ is str:
                    size += len(value)
                completed.append(value)
            except Exception as raw_error:
                error = located_error(raw_error, field_nodes, item_path.as_list())
                self.handle_field_error(error, item_type, item_path)
                completed.append(None)
        self._answer_left -= size
        if self._answer_left < 0:
            answer_exhausted()
        return completed


def _null_message(info: GraphQLResolveInfo) -> str:
    return f"Cannot return null for non-nullable field {info.parent_type.name}.{info.field_name}."
