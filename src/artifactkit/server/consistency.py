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
from .store import Store


def check(store: Store, blobs: BlobStore | None = None) -> list[str]:
    problems: list[str] = []
    q = store.all
    for row in q(
        "SELECT al.id, al.alias, al.artifact_id, a.state FROM aliases al JOIN artifacts a ON a.id = al.artifact_id "
        "WHERE a.state != 'COMMITTED'"
    ):
        problems.append(f"alias {row['alias']!r} points at version {row['artifact_id']} in state {row['state']}")
    for row in q(
        "SELECT al.alias, al.artifact_id, al.collection_id FROM aliases al "
        "LEFT JOIN memberships m ON m.collection_id = al.collection_id AND m.artifact_id = al.artifact_id "
        "WHERE m.id IS NULL"
    ):
        problems.append(
            f"alias {row['alias']!r} of version {row['artifact_id']} outside collection {row['collection_id']}"
        )
    for row in q(
        "SELECT m.collection_id, m.artifact_id, a.state FROM memberships m JOIN artifacts a ON a.id = m.artifact_id "
        "WHERE a.state = 'PENDING'"
    ):
        problems.append(f"pending version {row['artifact_id']} is visible in collection {row['collection_id']}")
    for row in q(
        "SELECT c.id, c.next_version, MAX(m.version_index) AS top, COUNT(*) AS n, COUNT(DISTINCT m.version_index) AS d "
        "FROM collections c JOIN memberships m ON m.collection_id = c.id GROUP BY c.id"
    ):
        if row["top"] >= row["next_version"]:
            problems.append(
                f"collection {row['id']} numbers version {row['top']} but its next number is {row['next_version']}"
            )
        if row["n"] != row["d"]:
            problems.append(f"collection {row['id']} has duplicate version numbers")
    for artifact in q("SELECT * FROM artifacts WHERE state = 'COMMITTED'"):
        aid = artifact["id"]
        if (
            store.one(
                "SELECT 1 FROM memberships WHERE collection_id = ? AND artifact_id = ?", (artifact["sequence_id"], aid)
            )
            is None
        ):
            problems.append(f"committed version {aid} has no number in its sequence")
        manifest_row = store.one("SELECT * FROM manifests WHERE artifact_id = ? ORDER BY id DESC LIMIT 1", (aid,))
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
        rows = {r["path"]: r for r in q("SELECT * FROM artifact_files WHERE artifact_id = ?", (aid,))}
        if set(rows) != set(manifest.entries):
            problems.append(f"committed version {aid}: file rows differ from its manifest")
        for entry in manifest:
            if not entry.is_reference and not blobs.exists(entry.md5_hex):
                problems.append(f"committed version {aid}: bytes of {entry.path} are missing")
    return problems
