"""`artifactkit show NAME`: one version's attributes, so a script can read (and gate on) them."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from .. import errors
from .._sizes import human_size
from .edits import link_record
from .output import (
    EXIT_OK,
    JSON_SCHEMA_VERSION,
    add_connection_options,
    add_offline_option,
    add_organization_option,
    files_text,
    make_api,
)

if TYPE_CHECKING:
    from ..artifacts import Artifact


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "show",
        help="one version's metadata, aliases, tags, digest, size and links",
        description=(
            "Show the version NAME: its name and the version it is a link of (for a name in a portfolio or "
            "registry), type, aliases, tags, description, metadata, digest, size, file count, when it was "
            "created, and every collection it is linked into. No file is read: two requests (the lookup and the "
            "links; a link's source is a third). --json prints one document (docs/json.md) a CI script can gate "
            "on, e.g. the score recorded in the metadata of wandb-registry-model/classifier:production."
        ),
    )
    parser.add_argument(
        "name",
        help="[[ENTITY/]PROJECT/]NAME[:VERSION or :ALIAS], or a registry path "
        "([ORG/]wandb-registry-NAME/COLLECTION[:ALIAS])",
    )
    add_organization_option(parser)
    add_offline_option(parser)
    add_connection_options(parser)
    parser.set_defaults(handler=run, on_interrupt="nothing was changed")


def run(args: argparse.Namespace) -> int:
    with make_api(args) as api:
        version = api.artifact(args.name)
        links = _links(version)
    document = describe(version, links)
    if args.json:
        print(json.dumps({"schema_version": JSON_SCHEMA_VERSION, **document}, indent=2, ensure_ascii=False))
    else:
        print(_text(version, document))
    return EXIT_OK


def _links(version: Artifact) -> list[dict[str, Any]] | None:
    """Every link of the version (of its source, for a link); None where the server does not say."""
    try:
        source = version.source_artifact  # itself, or for a link one request
        found = source.linked_artifacts  # one request per 100 collections the version is in
    except (errors.UnsupportedError, errors.NotFoundError, errors.OfflineError):
        return None  # a server before 0.12.11; a source in a project the caller may not see
    return [record for link in found if (record := link_record(link)) is not None]


def describe(version: Artifact, links: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The `show --json` document (without `schema_version`)."""
    return {
        "name": version.qualified_name,
        "id": version.id,
        "type": version.type,
        "version": version.version,
        "state": version.state,
        "source": version.source_qualified_name,
        "is_link": version.is_link,
        "linked_at": version.linked_at,
        "aliases": version.aliases,
        "tags": version.tags,
        "description": version.description,
        "metadata": version.metadata,
        "digest": version.digest,
        "size": version.size,
        "files": version.file_count,
        "created_at": version.created_at,
        "updated_at": version.updated_at,
        "links": links,
        "seen_at": None if version.seen_at is None else version.seen_at.isoformat(),
        "aliases_seen_at": {alias: when.isoformat() for alias, when in version.aliases_seen_at.items()},
    }


def _text(version: Artifact, document: dict[str, Any]) -> str:
    source = document["source"] if version.is_link else "(this version)"
    if version.is_link:
        source += f", linked {document['linked_at']}"
    links = document["links"]
    rows = [
        ("name", document["name"]),
        ("source", source),
        ("type", document["type"]),
        ("aliases", ", ".join(document["aliases"]) or "(none)"),
        ("tags", ", ".join(document["tags"]) or "(none)"),
        ("digest", document["digest"]),
        ("size", f"{human_size(document['size'])} in {files_text(document['files'])}"),
        ("created", document["created_at"]),
        ("description", document["description"] or "(none)"),
        ("metadata", json.dumps(document["metadata"], ensure_ascii=False, sort_keys=True)),
    ]
    if document["seen_at"] is not None:  # offline: resolved from what was last seen online
        rows.insert(1, ("seen online", f"{document['seen_at']} (offline: as last seen; aliases may have moved since)"))
    if links is None:
        rows.append(("links", "(not known: offline, or the server does not list them, or not to you)"))
    elif not links:
        rows.append(("links", "(none)"))
    for index, link in enumerate(links or []):
        aliases = f" ({', '.join(link['aliases'])})" if link["aliases"] else ""
        rows.append(("links" if index == 0 else "", f"{link['name']}{aliases}"))
    width = max(len(key) for key, _ in rows)
    return "\n".join(f"{key.ljust(width)}  {value}".rstrip() for key, value in rows)
