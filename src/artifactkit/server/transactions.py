"""The mutation resolvers' registry: each runs in one SQLite transaction (`Store.write()`).

`mutations.py` (projects, runs, collections, versions, uploads) and `registries.py` (registries
and their members) register their resolvers here with `@mutation("name")`; `schema.py` binds them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLResolveInfo

from .context import Context
from .limits import check_stored_values

Resolver = Callable[..., Any]
MUTATIONS: dict[str, Resolver] = {}
APPLIED = "mutation-applied"  # in `Context.cache` once a mutation of the request has committed


def mutation(name: str) -> Callable[[Resolver], Resolver]:
    """Register `fn(ctx, input)` as the resolver of `Mutation.<name>`, run in one transaction."""

    def register(fn: Resolver) -> Resolver:
        def resolve(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> Any:
            ctx: Context = info.context
            ctx.require_write()
            check_stored_values(input, ctx.settings)  # caps on stored text, before anything changes
            with ctx.store.write():
                payload = fn(ctx, input)
            ctx.cache[APPLIED] = True  # committed: a refusal of the answer must say so
            return payload

        MUTATIONS[name] = resolve
        return fn

    return register
