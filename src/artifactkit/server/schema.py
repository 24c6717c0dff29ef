"""The executable schema: `schema/wandb.graphql` bound to the emulator's resolvers with ariadne.

Root fields are bound explicitly; every other field resolves by name: `fooBar` reads attribute
`foo_bar` of its parent (calling it with snake_case arguments when it is a method), or key
`fooBar` when the parent is a plain dict.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from copy import copy
from functools import cache
from importlib import resources
from typing import Any

from ariadne import (
    InterfaceType,
    MutationType,
    QueryType,
    ScalarType,
    UnionType,
    make_executable_schema,
)
from graphql import (
    DefinitionNode,
    DocumentNode,
    GraphQLResolveInfo,
    GraphQLSchema,
    InterfaceTypeDefinitionNode,
    ObjectTypeDefinitionNode,
    TypeDefinitionNode,
    parse,
    print_ast,
)

from . import ids, listings, mutations, policy, registries  # noqa: F401 - they register their resolvers
from .context import Context
from .errors import NotFound
from .nodes import (
    ArtifactNode,
    CollectionNode,
    EntityNode,
    Node,
    OrganizationNode,
    ProjectNode,
    ServerInfoNode,
    UserNode,
    visible_organization,
)
from .pagination import Connection, page_size
from .records import artifact_by_id, collection_by_id, find_project
from .settings import (
    LEGACY_ADDED_SDL,
    LEGACY_REMOVED_ARGUMENTS,
    LEGACY_REMOVED_FIELDS,
    LEGACY_REMOVED_TYPES,
)
from .transactions import MUTATIONS

_CAMEL = re.compile(r"([a-z0-9])([A-Z])")


@cache
def snake_case(name: str) -> str:
    """`artifactCollectionMembership` -> `artifact_collection_membership`, `artifactID` -> `artifact_id`."""
    return _CAMEL.sub(r"\1_\2", name).lower()


class FieldResolver:
    """Default resolver for every non-root field (see the module docstring).

    `for_field` gives the same resolver for one field of a document with its names and arguments
    converted once; the planned executor (`execution.py`) calls that for every object instead.
    """

    def __call__(self, source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        return self.for_field(info.field_name, args)(source)

    @staticmethod
    def for_field(field_name: str, args: dict[str, Any]) -> Callable[[Any], Any]:
        attribute = snake_case(field_name)
        arguments = {snake_case(k): v for k, v in args.items()}
        # How this field is read from each kind of parent, decided once per class.
        ways: dict[type, int] = {}

        def resolve(source: Any) -> Any:
            kind = source.__class__
            way = ways.get(kind)
            if way is None:
                way = ways[kind] = _way_to_read(kind, attribute)
            if way == _COLUMN:
                # A plain column: read the row directly instead of missing on the class first.
                try:
                    return source.row[attribute]
                except (IndexError, KeyError):  # sqlite3.Row says IndexError for an unknown column
                    return None
            value = source.get(field_name) if way == _KEY else getattr(source, attribute, None)
            if callable(value):
                return value(**arguments) if arguments else value()
            return value

        return resolve


_KEY, _COLUMN, _ATTRIBUTE = 0, 1, 2


def _way_to_read(kind: type, attribute: str) -> int:
    """A dict answers by key, a node by its class's member or else by its row's column."""
    if issubclass(kind, dict):
        return _KEY
    if issubclass(kind, Node) and not hasattr(kind, attribute):
        return _COLUMN
    return _ATTRIBUTE


field_resolver = FieldResolver()


def sdl_text() -> str:
    """The SDL shipped inside the package (a copy of the repository's `schema/wandb.graphql`)."""
    return resources.files("artifactkit.server").joinpath("wandb.graphql").read_text("utf-8")


def legacy_document(document: DocumentNode) -> DocumentNode:
    """The SDL of a server older than 0.12.11: the fields and types it lacked gone, its own added."""
    removed: dict[str, set[str]] = {}
    for type_name, field_name in LEGACY_REMOVED_FIELDS:
        removed.setdefault(type_name, set()).add(field_name)
    arguments: dict[tuple[str, str], set[str]] = {}
    for type_name, field_name, argument in LEGACY_REMOVED_ARGUMENTS:
        arguments.setdefault((type_name, field_name), set()).add(argument)
    definitions: list[DefinitionNode] = []
    for definition in document.definitions:
        if isinstance(definition, TypeDefinitionNode) and definition.name.value in LEGACY_REMOVED_TYPES:
            continue
        if isinstance(definition, (ObjectTypeDefinitionNode, InterfaceTypeDefinitionNode)):
            name = definition.name.value
            fields = []
            for field in definition.fields or ():
                if field.name.value in removed.get(name, set()):
                    continue
                dropped_args = arguments.get((name, field.name.value), set())
                if dropped_args:
                    field = copy(field)
                    field.arguments = tuple(a for a in field.arguments or () if a.name.value not in dropped_args)
                fields.append(field)
            definition = copy(definition)
            definition.fields = tuple(fields)
        definitions.append(definition)
    definitions.extend(parse(LEGACY_ADDED_SDL).definitions)
    return DocumentNode(definitions=tuple(definitions))


# ------------------------------------------------------------------ scalars


def _serialize_json_string(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _parse_json_string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("a JSONString must be a string holding JSON")
    return value


def _parse_int64(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("Int64 must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    raise ValueError(f"Int64 cannot represent {value!r}")


def _serialize_int64(value: Any) -> int:
    return int(value)


def _scalars() -> list[ScalarType]:
    json_string = ScalarType("JSONString", serializer=_serialize_json_string, value_parser=_parse_json_string)
    int64 = ScalarType("Int64", serializer=_serialize_int64, value_parser=_parse_int64)
    date_time = ScalarType("DateTime", serializer=str, value_parser=str)
    json_any = ScalarType("JSON", serializer=lambda v: v, value_parser=lambda v: v)
    return [json_string, int64, date_time, json_any]


# ------------------------------------------------------------------ root fields

query = QueryType()


@query.field("viewer")
def resolve_viewer(_: Any, info: GraphQLResolveInfo, entityName: str | None = None) -> UserNode | None:
    ctx: Context = info.context
    return None if ctx.user is None else UserNode(ctx, ctx.user)


@query.field("entity")
def resolve_entity(_: Any, info: GraphQLResolveInfo, name: str | None = None, login: bool | None = None) -> Any:
    ctx: Context = info.context
    name = name or ctx.default_entity
    row = ctx.store.entity_by_name(name)
    return None if row is None else EntityNode(ctx, row)


@query.field("project")
@query.field("model")
def resolve_project(
    _: Any,
    info: GraphQLResolveInfo,
    name: str | None = None,
    entityName: str | None = None,
) -> ProjectNode | None:
    ctx: Context = info.context
    row = find_project(ctx.store, entityName or ctx.default_entity, name)
    return None if row is None or not ctx.may_see_project(row) else ProjectNode(ctx, row)


@query.field("models")
def resolve_projects(
    _: Any,
    info: GraphQLResolveInfo,
    entityName: str | None = None,
    after: str | None = None,
    first: int | None = None,
    **page: Any,
) -> Connection[ProjectNode]:
    """The projects of an entity (the signed-in user's default entity when none is named)."""
    ctx: Context = info.context
    query = listings.entity_projects(entityName or ctx.default_entity or "", ctx.caller)
    page.pop("order", None)  # newest first, whatever is asked (the official client sends none)
    return Connection(ctx.store, query, lambda row: ProjectNode(ctx, row), after=after, first=first, **page)


@query.field("serverInfo")
def resolve_server_info(_: Any, info: GraphQLResolveInfo) -> ServerInfoNode:
    return ServerInfoNode(info.context)


@query.field("organization")
def resolve_organization(
    _: Any, info: GraphQLResolveInfo, id: str | None = None, name: str | None = None
) -> OrganizationNode | None:
    """An organization by its display name (or ID), for its members; null otherwise."""
    ctx: Context = info.context
    if name is not None:
        return visible_organization(ctx, name)
    if id is None:
        return None
    try:
        return visible_organization(ctx, None, ids.decode(id, "Organization"))
    except NotFound:
        return None


@query.field("users")
def resolve_users(
    _: Any, info: GraphQLResolveInfo, query: str | None = None, first: int | None = None, **__: Any
) -> dict[str, Any]:
    """Users whose username or email contains `query`: oneself and the users of one's
    organizations (every user for an admin key); at most `first` (50 by default, 1,000 at most)."""
    ctx: Context = info.context
    limit = min(page_size(first), MAX_USERS_PER_SEARCH)
    rows = ctx.store.users_matching(query or "", limit, policy.user_search_scope(ctx.caller))
    return {"edges": [{"node": UserNode(ctx, row), "cursor": str(row["id"])} for row in rows]}


MAX_USERS_PER_SEARCH = 1000


@query.field("artifact")
def resolve_artifact(_: Any, info: GraphQLResolveInfo, id: str) -> ArtifactNode | None:
    ctx: Context = info.context
    try:
        row = artifact_by_id(ctx.store, ids.decode(id, "Artifact"))
    except NotFound:
        return None
    return None if row is None or not ctx.may_read_version(row) else ArtifactNode(ctx, row)


@query.field("artifactCollection")
@query.field("artifactSequence")
def resolve_collection(_: Any, info: GraphQLResolveInfo, id: str) -> CollectionNode | None:
    ctx: Context = info.context
    try:
        row = collection_by_id(ctx.store, ids.decode(id, "ArtifactCollection"))
    except NotFound:
        return None
    if row is None or (info.field_name == "artifactSequence" and row["kind"] != "SEQUENCE"):
        return None
    project = ctx.project(row["project_id"])
    return None if project is None or not ctx.may_see_project(project) else CollectionNode(ctx, row)


@query.field("clientIDMapping")
def resolve_client_id_mapping(_: Any, info: GraphQLResolveInfo, clientID: str) -> Any:
    ctx: Context = info.context
    row = ctx.store.artifact_by_client_id(clientID)
    if row is None or not ctx.may_read_version(row):  # another user's pending version is not there
        return None
    node = ArtifactNode(ctx, row)
    return {"clientID": clientID, "serverID": node.id, "entry": node}


def _mutations(legacy: bool) -> MutationType:
    """The mutation resolvers; the legacy personality leaves out the mutations its schema lacks."""
    removed = {field for kind, field in LEGACY_REMOVED_FIELDS if kind == "Mutation"} if legacy else set()
    mutation = MutationType()
    for name, resolver in MUTATIONS.items():
        if name not in removed:
            mutation.set_field(name, resolver)
    return mutation


def _typename(obj: Any, *_: Any) -> str:
    return str(obj.typename)


def build_schema(*, legacy: bool = False) -> GraphQLSchema:
    document = parse(sdl_text())
    if legacy:
        document = legacy_document(document)
    collection = InterfaceType("ArtifactCollection", _typename)
    bindables = [
        query,
        _mutations(legacy),
        collection,
        InterfaceType("Node", _typename),
        UnionType("Initiator", _typename),
        UnionType("ClientIDMappingEntry", _typename),
        *_scalars(),
    ]
    return make_executable_schema(print_ast(document), *bindables)
