"""Invariants of the emulator's data, checked after crashes and fault runs.

`check(store)` returns a list of violations (empty when the data is sound). What must always
hold, whatever was interrupted:

* an alias points at a committed version that is a member of the alias's collection;
* a committed version has a number in its sequence, an uploaded manifest, a file row per
  manifest entry, and every stored (non-reference) file's bytes in the blob store;
* version numbers are unique per collection and below the collection's next number;
* no membership points at a pending version (pending versions are invisible).
"""

from __future__ import annotations

from ..manifest import Manifest, ManifestError
from .blobs import BlobStore
from .records import membership_of
from .store import Store


def check(store: Store, blobs: BlobStore | None = None) -> list[str]:
    problems: list[str] = []
    for row in store.aliases_on_uncommitted():
        problems.append(f"alias {row['alias']!r} points at version {row['artifact_id']} in state {row['state']}")
    for row in store.aliases_outside_their_collection():
        problems.append(
            f"alias {row['alias']!r} of version {row['artifact_id']} outside collection {row['collection_id']}"
        )
    for row in store.pending_memberships():
        problems.append(f"pending version {row['artifact_id']} is visible in collection {row['collection_id']}")
    for row in store.version_numbering():
        if row["top"] >= row["next_version"]:
            problems.append(
                f"collection {row['id']} numbers version {row['top']} but its next number is {row['next_version']}"
            )
        if row["n"] != row["d"]:
            problems.append(f"collection {row['id']} has duplicate version numbers")
    for artifact in store.committed_artifacts():
        aid = artifact["id"]
        if membership_of(store, artifact["sequence_id"], aid) is None:
            problems.append(f"committed version {aid} has no number in its sequence")
        manifest_row = store.latest_manifest(aid)
        if manifest_row is None or manifest_row["blob_md5"] is None:
            problems.append(f"committed version {aid} has no uploaded manifest")
            continue
        if blobs is None:
            continue
        try:
            manifest = Manifest.from_json(blobs.read(manifest_row["blob_md5"]))
        except (OSError, ManifestError) as exc:
            problems.append(f"committed version {aid} has an unreadable manifest: {exc}")
            continue
        rows = {r["path"]: r for r in store.files_of(aid)}
        if set(rows) != set(manifest.entries):
            problems.append(f"committed version {aid}: file rows differ from its manifest")
        for entry in manifest:
            if not entry.is_reference and not blobs.exists(entry.md5_hex):
                problems.append(f"committed version {aid}: bytes of {entry.path} are missing")
    return problems
