"""Entries that point into other artifact versions: `wandb-artifact://<hex artifact id>/<path>`.

Such an entry carries the digest of the file it points at, so the engine downloads it as that
stored file: verified by MD5, cached and deduplicated by content like any other. `follow()` walks a
chain of such entries to the stored file at its end (the caller says how to look a version up:
the SDK and `wandb://` both go through it, so both follow the same chains); `redirect()` then hands
the engine a manifest in which the referencing entry has the target's digest and size, and a
`UrlQuery` that asks the target's version for that file's URL. No GraphQL here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from ..errors import DownloadError
from ..manifest import Manifest, ManifestEntry, ManifestError, parse_artifact_reference
from .urls import UrlPage, UrlQuery

MAX_REFERENCE_HOPS = 8
"""References followed from one entry (a reference to a reference to ...); the ninth is refused."""

Version = TypeVar("Version")


def follow(
    entry: ManifestEntry, version: Version, lookup: Callable[[str, str], tuple[Version, ManifestEntry]]
) -> tuple[Version, ManifestEntry]:
    """The version and stored entry at the end of `entry`'s chain of `wandb-artifact://` references.

    `version` is the one `entry` belongs to (returned as is when `entry` is no such reference);
    `lookup(artifact_id, path)` gives the version with that ID and its entry at `path`, raising
    `NotFoundError` when either is missing. At most `MAX_REFERENCE_HOPS` references are followed:
    a longer chain, a cycle and a malformed reference raise `DownloadError` naming `entry`.
    """
    current = entry
    visited: list[str] = []  # `artifact id/path` of each file reached, in order
    while current.is_artifact_reference:
        assert current.ref is not None
        try:
            artifact_id, path = parse_artifact_reference(current.ref)
        except ManifestError as exc:
            raise DownloadError(f"{entry.path}: {exc}", path=entry.path) from None
        target = f"{artifact_id}/{path}"
        if target in visited:
            loop = " -> ".join([*visited[visited.index(target) :], target])
            raise DownloadError(f"{entry.path}: the artifact references form a cycle ({loop})", path=entry.path)
        if len(visited) == MAX_REFERENCE_HOPS:
            raise DownloadError(
                f"{entry.path}: more than {MAX_REFERENCE_HOPS} artifact references in a chain", path=entry.path
            )
        visited.append(target)
        version, current = lookup(artifact_id, path)
    return version, current


@dataclass(frozen=True)
class ReferenceTarget:
    """The stored file a `wandb-artifact://` entry resolves to, and where its URL comes from."""

    entry: ManifestEntry  # in the target version's manifest (a stored entry, not a reference)
    urls: UrlQuery  # the target version's signed URLs
    label: str  # the target version, for messages


def redirect(manifest: Manifest, urls: UrlQuery, targets: Mapping[str, ReferenceTarget]) -> tuple[Manifest, UrlQuery]:
    """`manifest` with each entry of `targets` replaced by the stored file it points at (same path),
    and a `UrlQuery` answering those paths from the target versions (the others from `urls`)."""
    if not targets:
        return manifest, urls
    entries = dict(manifest.entries)
    for path, target in targets.items():
        entries[path] = ManifestEntry(
            path, target.entry.digest, target.entry.size, birth_artifact_id=target.entry.birth_artifact_id
        )
    redirected = Manifest(entries, manifest.storage_policy_config)

    def query(names: list[str] | None, cursor: str | None, per_page: int) -> UrlPage:
        if names is None:  # the own listing; referencing entries are then asked for by name
            page = urls(None, cursor, per_page)
            return UrlPage([(n, u) for n, u in page.urls if n not in targets], page.end_cursor, page.has_next)
        own = [n for n in names if n not in targets]
        page = urls(own, cursor, per_page) if own else UrlPage([], None, False)
        found = list(page.urls)
        if cursor is None:  # answered once, with the first page
            by_version: dict[int, list[str]] = {}
            for name in names:
                if name in targets:
                    by_version.setdefault(id(targets[name].urls), []).append(name)
            for members in by_version.values():
                wanted = sorted({targets[n].entry.path for n in members})
                answered = dict(targets[members[0]].urls(wanted, None, len(wanted)).urls)
                found += [(n, answered[targets[n].entry.path]) for n in members if targets[n].entry.path in answered]
        return UrlPage(found, page.end_cursor, page.has_next)

    return redirected, query
