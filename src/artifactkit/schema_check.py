"""Does this client still fit a server? Every operation checked against the server's live schema.

The server is introspected (the standard introspection query, as GraphiQL sends it) and each
operation of the client (the `.graphql` files of a `queries/` directory, or the documents the
installed client sends) is walked against the schema the client was generated from
(`schema/wandb.graphql`). Reported, per operation: types, fields, arguments, input fields and
enum values the server lacks, and fields or arguments it types differently in a way the
generated code would trip over (a field the client expects non-null that may be null there, a
different named type, a required argument the operation does not send).

Used by `artifactkit schema check`; needs graphql-core (the `[server]` extra, or the dev tools).
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._install import extra_hint
from .errors import ConfigurationError, ResponseValidationError

if TYPE_CHECKING:
    from graphql import DocumentNode, GraphQLSchema

    from .api import Api

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Misfit:
    """One thing an operation needs that the server lacks or types differently."""

    kind: str
    """`missing type`, `missing field`, `missing argument`, `missing input field`, `missing enum value`,
    `type differs`, `required argument`, `required input field` or `invalid` (a validation error)."""
    where: str
    """`Type.field`, `Type.field(argument)`, `InputType.field` or `Enum.VALUE`."""
    detail: str


@dataclass
class OperationFit:
    name: str
    misfits: list[Misfit] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        return not self.misfits


@dataclass
class SchemaReport:
    """The outcome of `check_server`: one entry per operation, in source order."""

    server: str
    source: str
    operations: list[OperationFit]

    @property
    def fits(self) -> bool:
        return all(op.fits for op in self.operations)

    def as_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "server": self.server,
            "source": self.source,
            "fits": self.fits,
            "operations": [
                {
                    "name": op.name,
                    "fits": op.fits,
                    "misfits": [{"kind": m.kind, "where": m.where, "detail": m.detail} for m in op.misfits],
                }
                for op in self.operations
            ],
        }


def _graphql() -> Any:
    try:
        import graphql
    except ModuleNotFoundError:
        raise ConfigurationError(f"checking a schema needs graphql-core: {extra_hint('server')}") from None
    return graphql


# -- where the operations and the schemas come from ---------------------------------------------


def local_schema(path: Path | None = None) -> GraphQLSchema:
    """The SDL at `path`, else the schema the client was generated from (shipped in the package)."""
    from importlib.resources import files

    graphql = _graphql()
    if path is not None:
        return graphql.build_schema(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    text = files("artifactkit.server").joinpath("wandb.graphql").read_text(encoding="utf-8")
    return graphql.build_schema(text)  # type: ignore[no-any-return]


def server_schema(api: Api) -> GraphQLSchema:
    """The live schema of the `api`'s server, by introspection."""
    from ._graphql import status_error

    graphql = _graphql()
    transport = api.client.transport
    response = transport.post(transport.graphql_url, json={"query": graphql.get_introspection_query()})
    if response.status_code >= 400:
        raise status_error(response, "introspecting the server's schema", transport.key_source)
    try:
        body = response.json()
        data = body["data"]
        return graphql.build_client_schema(data)  # type: ignore[no-any-return]
    except (ValueError, KeyError, TypeError) as exc:
        raise ResponseValidationError(
            f"the server at {api.base_url} did not answer the introspection query with a schema "
            f"(introspection may be disabled there): {exc}"
        ) from None


def operations_from_directory(path: Path) -> dict[str, DocumentNode]:
    """Each operation of the `.graphql` files under `path`, with the fragments it uses."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(path.rglob("*.graphql"))]
    if not texts:
        raise ConfigurationError(f"{path} holds no .graphql files")
    return _split_operations("\n".join(texts))


def operations_from_installed_client() -> dict[str, DocumentNode]:
    """The documents the installed client sends (the strings its generated methods pass to `gql`)."""
    from ._generated import client

    documents = []
    for node in ast.walk(ast.parse(inspect.getsource(client))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "gql" and node.args:
            try:
                documents.append(str(ast.literal_eval(node.args[0])))
            except ValueError:
                continue
    operations: dict[str, DocumentNode] = {}
    for text in documents:
        operations.update(_split_operations(text))
    return operations


def _split_operations(text: str) -> dict[str, DocumentNode]:
    graphql = _graphql()
    document = graphql.parse(text)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, graphql.FragmentDefinitionNode)}
    operations: dict[str, DocumentNode] = {}
    for definition in document.definitions:
        if not isinstance(definition, graphql.OperationDefinitionNode) or definition.name is None:
            continue
        used: dict[str, Any] = {}
        pending = [definition]
        while pending:
            for spread in _spreads(pending.pop()):
                if spread not in used and spread in fragments:
                    used[spread] = fragments[spread]
                    pending.append(fragments[spread])
        operations[definition.name.value] = graphql.DocumentNode(definitions=(definition, *used.values()))
    return operations


def _spreads(node: Any) -> Iterable[str]:
    graphql = _graphql()
    names: list[str] = []

    class Collect(graphql.Visitor):  # type: ignore[misc, name-defined]
        def enter_fragment_spread(self, spread: Any, *_: Any) -> None:
            names.append(spread.name.value)

    graphql.visit(node, Collect())
    return names


# -- the comparison -----------------------------------------------------------------------------------


def check_operations(
    operations: Mapping[str, DocumentNode], local: GraphQLSchema, server: GraphQLSchema
) -> list[OperationFit]:
    """Walk each operation against `local`; report what `server` lacks or types differently."""
    return [OperationFit(name, _check(document, local, server)) for name, document in operations.items()]


def _type_name(type_: Any) -> str:
    return str(type_)


def _output_misfit(expected: Any, actual: Any) -> str | None:
    """Why a server field of type `actual` breaks a client expecting `expected` (None: it does not)."""
    graphql = _graphql()
    e, a = expected, actual
    while True:
        if graphql.is_non_null_type(e):
            if not graphql.is_non_null_type(a):
                return f"the client expects {_type_name(expected)}, the server may answer null ({_type_name(actual)})"
            e, a = e.of_type, a.of_type
            continue
        if graphql.is_non_null_type(a):
            a = a.of_type  # never null on the server: fine for a nullable field
            continue
        if graphql.is_list_type(e) or graphql.is_list_type(a):
            if not (graphql.is_list_type(e) and graphql.is_list_type(a)):
                return f"the client expects {_type_name(expected)}, the server has {_type_name(actual)}"
            e, a = e.of_type, a.of_type
            continue
        if e.name != a.name:
            return f"the client expects {_type_name(expected)}, the server has {_type_name(actual)}"
        return None


def _input_misfit(sent: Any, accepted: Any) -> str | None:
    """Why the server, accepting `accepted`, refuses what the client sends as `sent` (None: it does not)."""
    graphql = _graphql()
    s, a = sent, accepted
    while True:
        if graphql.is_non_null_type(a):
            if not graphql.is_non_null_type(s):
                return f"the server requires {_type_name(accepted)}, the client may send null ({_type_name(sent)})"
            s, a = s.of_type, a.of_type
            continue
        if graphql.is_non_null_type(s):
            s = s.of_type
            continue
        if graphql.is_list_type(s) or graphql.is_list_type(a):
            if not (graphql.is_list_type(s) and graphql.is_list_type(a)):
                return f"the client sends {_type_name(sent)}, the server takes {_type_name(accepted)}"
            s, a = s.of_type, a.of_type
            continue
        if s.name != a.name:
            return f"the client sends {_type_name(sent)}, the server takes {_type_name(accepted)}"
        return None


def _check(document: DocumentNode, local: GraphQLSchema, server: GraphQLSchema) -> list[Misfit]:
    graphql = _graphql()
    misfits: dict[tuple[str, str], Misfit] = {}

    def add(kind: str, where: str, detail: str) -> None:
        misfits.setdefault((kind, where), Misfit(kind, where, detail))

    type_info = graphql.TypeInfo(local)
    input_types: list[Any] = []
    output_enums: list[Any] = []

    class Walk(graphql.Visitor):  # type: ignore[misc, name-defined]
        def enter_field(self, node: Any, *_: Any) -> None:
            parent = type_info.get_parent_type()
            definition = type_info.get_field_def()
            name = node.name.value
            if parent is None or definition is None or name.startswith("__"):
                return
            theirs = server.get_type(parent.name)
            if theirs is None:
                add("missing type", parent.name, f"the server has no type {parent.name}")
                return
            server_field = getattr(theirs, "fields", {}).get(name)
            where = f"{parent.name}.{name}"
            if server_field is None:
                add("missing field", where, f"the server's {parent.name} has no field {name}")
                return
            reason = _output_misfit(definition.type, server_field.type)
            if reason:
                add("type differs", where, reason)
            named = graphql.get_named_type(definition.type)
            if graphql.is_enum_type(named):
                output_enums.append(named)
            given = {argument.name.value for argument in node.arguments or ()}
            for arg_name in sorted(given):
                local_arg = definition.args.get(arg_name)
                server_arg = server_field.args.get(arg_name)
                if server_arg is None:
                    add("missing argument", f"{where}({arg_name})", f"the server's {where} takes no {arg_name}")
                elif local_arg is not None and (why := _input_misfit(local_arg.type, server_arg.type)):
                    add("type differs", f"{where}({arg_name})", why)
            for arg_name, server_arg in server_field.args.items():
                required = graphql.is_required_argument(server_arg)
                if required and arg_name not in given:
                    add("required argument", f"{where}({arg_name})", f"the server requires {arg_name}, not sent")

        def enter_variable_definition(self, node: Any, *_: Any) -> None:
            named = graphql.get_named_type(graphql.type_from_ast(local, node.type))
            if named is not None and (graphql.is_input_object_type(named) or graphql.is_enum_type(named)):
                input_types.append(named)
            elif named is not None and server.get_type(named.name) is None:
                add("missing type", named.name, f"the server has no type {named.name}")

    graphql.visit(document, graphql.TypeInfoVisitor(type_info, Walk()))
    _check_inputs(input_types, server, add)
    for enum in output_enums:
        theirs: Any = server.get_type(enum.name)
        if theirs is None:
            add("missing type", enum.name, f"the server has no enum {enum.name}")
        elif graphql.is_enum_type(theirs):
            for value in sorted(set(theirs.values) - set(enum.values)):
                add("missing enum value", f"{enum.name}.{value}", f"the server may answer {value}, unknown here")
    if not misfits:
        for error in graphql.validate(server, document):
            add("invalid", "document", error.message)
    return list(misfits.values())


def _check_inputs(types: list[Any], server: GraphQLSchema, add: Any) -> None:
    graphql = _graphql()
    seen: set[str] = set()
    while types:
        mine = types.pop()
        if mine.name in seen:
            continue
        seen.add(mine.name)
        theirs: Any = server.get_type(mine.name)
        if theirs is None:
            add("missing type", mine.name, f"the server has no type {mine.name}")
            continue
        if graphql.is_enum_type(mine):
            if graphql.is_enum_type(theirs):
                for value in sorted(set(mine.values) - set(theirs.values)):
                    add("missing enum value", f"{mine.name}.{value}", f"the server does not accept {value}")
            continue
        for name, local_field in mine.fields.items():
            server_field = theirs.fields.get(name)
            where = f"{mine.name}.{name}"
            if server_field is None:
                add("missing input field", where, f"the server's {mine.name} has no field {name}")
            elif why := _input_misfit(local_field.type, server_field.type):
                add("type differs", where, why)
            named = graphql.get_named_type(local_field.type)
            if graphql.is_input_object_type(named) or graphql.is_enum_type(named):
                types.append(named)
        for name, server_field in theirs.fields.items():
            if graphql.is_required_input_field(server_field) and name not in mine.fields:
                add("required input field", f"{mine.name}.{name}", f"the server requires {name}, unknown here")


def check_server(api: Api, queries: Path | None = None, schema: Path | None = None) -> SchemaReport:
    """Introspect `api`'s server and check every operation.

    Args:
        api: the connection to the server to check.
        queries: a directory of `.graphql` operations; None: the documents the installed client sends.
        schema: the SDL the operations are written against; None: the one shipped in the package.
    """
    operations = operations_from_directory(queries) if queries is not None else operations_from_installed_client()
    source = str(queries) if queries is not None else "the installed client"
    fits = check_operations(operations, local_schema(schema), server_schema(api))
    return SchemaReport(server=api.base_url, source=source, operations=fits)
