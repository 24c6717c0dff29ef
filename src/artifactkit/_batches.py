"""Many versions looked up by name in one GraphQL request: a document composed from the generated fragments.

GraphQL lets one document ask for the same root field many times under different aliases. The
batched lookup of `Api.download_many` asks, per project, `project(entityName:, name:)` once and
under it `artifactCollectionMembership(name:)` once per name, each selecting the fragment
`VersionAccessFields` (and `VersionFileUrlsFields` where the files' URLs are wanted too). The
document is built here at run time from the fragments' own text as ariadne-codegen printed it
(`FRAGMENT_TEXTS`), so it selects exactly what the generated fragment models validate, one
alias at a time. Names and projects travel as variables: for a given shape of batch the document
text is always the same (the emulator and real servers cache parsed documents).

Errors are per alias: a GraphQL error whose path starts at an alias belongs to that name only,
the other names of the batch are answered. `MAX_BATCH` keeps a document well inside the
emulator's query limits (aliases, fields per selection set, fields in all) and what a W&B server
accepts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import errors

if TYPE_CHECKING:
    from ._generated.client import GeneratedClient
    from ._generated.fragments import VersionAccessFields

MAX_BATCH = 40
"""Names per request: 40 lookups with their files' first URLs select 2,400 fields under 160 aliases,
under half of what the emulator accepts (5,000 and 1,000; tests/unit/test_batches.py)."""

OPERATION = "VersionsByName"


@dataclass(frozen=True)
class VersionLookup:
    """One name to look up: `collection:alias` in `entity/project`, with its files' URLs or not."""

    entity: str
    project: str
    name: str
    with_files: bool = False


@dataclass(frozen=True)
class VersionAccess:
    """What a batched lookup found for one name."""

    membership: VersionAccessFields | None
    """The version seen through the collection named; None when the project or the name does not exist."""
    file_urls: dict[str, str] | None
    """The download URLs of the version's first files; None where they were not asked for."""
    all_file_urls: bool
    """Whether `file_urls` holds every file of the version (no further page)."""
    error: errors.ArtifactkitError | None = None
    """What the server reported for this name alone; the fields above are then empty."""

    @property
    def manifest_url(self) -> str | None:
        found = None if self.membership is None else self.membership.manifest_of
        return None if found is None or found.current_manifest is None else found.current_manifest.file.direct_url


def _fragments_used(roots: Sequence[str]) -> list[str]:
    """The definitions of `roots` and of every fragment they spread, each once, in name order."""
    from ._generated.fragments import FRAGMENT_SPREADS, FRAGMENT_TEXTS

    seen: set[str] = set()
    waiting = list(roots)
    while waiting:
        name = waiting.pop()
        if name not in seen:
            seen.add(name)
            waiting.extend(FRAGMENT_SPREADS[name])
    return [FRAGMENT_TEXTS[name] for name in sorted(seen)]


def versions_document(lookups: Sequence[VersionLookup]) -> tuple[str, dict[str, Any], list[tuple[str, str]]]:
    """The document, its variables, and for each lookup the aliases `(project, version)` its answer is under.

    Lookups of one project share one `project` field (`p0`, `p1`, ... in order of first
    appearance); their versions are `v0`, `v1`, ... in the order given.
    """
    if not lookups:
        raise ValueError("no names to look up")
    if len(lookups) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} names per request, not {len(lookups)}")
    projects: dict[tuple[str, str], str] = {}
    fields: dict[str, list[str]] = {}
    declared: list[str] = []
    variables: dict[str, Any] = {}
    where: list[tuple[str, str]] = []
    for index, lookup in enumerate(lookups):
        key = (lookup.entity, lookup.project)
        project_alias = projects.get(key)
        if project_alias is None:
            project_alias = projects[key] = f"p{len(projects)}"
            fields[project_alias] = []
            declared += [f"$e{project_alias[1:]}: String!", f"${project_alias}: String!"]
            variables[f"e{project_alias[1:]}"] = lookup.entity
            variables[project_alias] = lookup.project
        version_alias = f"v{index}"
        declared.append(f"$n{index}: String!")
        variables[f"n{index}"] = lookup.name
        spreads = "...VersionAccessFields ...VersionFileUrlsFields" if lookup.with_files else "...VersionAccessFields"
        fields[project_alias].append(
            f"    {version_alias}: artifactCollectionMembership(name: $n{index}) {{ {spreads} }}"
        )
        where.append((project_alias, version_alias))
    body = []
    for (_, _), project_alias in projects.items():
        number = project_alias[1:]
        body.append(f"  {project_alias}: project(entityName: $e{number}, name: ${project_alias}) {{")
        body.extend(fields[project_alias])
        body.append("  }")
    roots = ["VersionAccessFields"] + (["VersionFileUrlsFields"] if any(x.with_files for x in lookups) else [])
    operation = f"query {OPERATION}({', '.join(declared)}) {{\n" + "\n".join(body) + "\n}"
    document = "\n\n".join([operation, *_fragments_used(roots)]) + "\n"
    return document, variables, where


def _error_for(error: dict[str, Any]) -> errors.GraphQLError:
    message = str(error.get("message", error))
    return errors.GraphQLError(f"the server reported an error while looking up this name: {message}", errors=[error])


def versions_by_name(client: GeneratedClient, lookups: Sequence[VersionLookup]) -> list[VersionAccess]:
    """Look up `lookups` in one request (run inside `Session.call`, which maps what this raises).

    An error the server reports under one alias is that name's `error`; one that belongs to no
    alias (the document refused, the server failing) is raised for the whole batch.
    """
    from ._generated.fragments import VersionAccessFields, VersionFileUrlsFields

    document, variables, where = versions_document(lookups)
    response = client.execute(query=document, operation_name=OPERATION, variables=variables)
    try:
        body = response.json() if 200 <= response.status_code <= 299 else None
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        client.get_data(response)  # raises what the generated client raises for this answer
        raise errors.ResponseValidationError("the server's answer to a batched lookup holds no data")
    data: dict[str, Any] = body["data"]
    by_path: dict[tuple[str, ...], errors.GraphQLError] = {}
    for error in body.get("errors") or []:
        path = error.get("path") if isinstance(error, dict) else None
        if not isinstance(path, list) or not path or not isinstance(path[0], str):
            client.get_data(response)  # an error of the whole document: raised for every name
        assert isinstance(path, list)
        key = tuple(str(part) for part in path[:2])
        by_path.setdefault(key, _error_for(error))
    found: list[VersionAccess] = []
    for lookup, (project_alias, version_alias) in zip(lookups, where, strict=True):
        failed = by_path.get((project_alias, version_alias)) or by_path.get((project_alias,))
        if failed is not None:
            found.append(VersionAccess(None, None, False, failed))
            continue
        project = data.get(project_alias)
        answer = None if not isinstance(project, dict) else project.get(version_alias)
        if answer is None:
            found.append(VersionAccess(None, None, False))
            continue
        membership = VersionAccessFields.model_validate(answer)
        urls: dict[str, str] | None = None
        complete = False
        if lookup.with_files:
            files = VersionFileUrlsFields.model_validate(answer).first_files
            if files is not None:
                urls = {edge.node.name: edge.node.direct_url for edge in files.edges if edge.node is not None}
                complete = not files.page_info.has_next_page
        found.append(VersionAccess(membership, urls, complete))
    return found
