"""An export: a server's versions into a bundle directory (`bundle.Bundle`).

Each version's stored files the bundle lacks are downloaded into its blob store by the download
engine (verified, resumable, through the cache), its manifest and record are kept, and the index
is written last. Exporting again into the same bundle fetches only what is new and leaves the
index untouched when nothing changed.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import fields

from .bundle import Bundle
from .engine import Options
from .records import Snapshot, VersionRecord
from .report import CollectionResult, MirrorReport, RunResult, VersionResult
from .sources import ServerSource

log = logging.getLogger("artifactkit")


def export_into_bundle(
    source: ServerSource, snapshot: Snapshot, bundle: Bundle, report: MirrorReport, options: Options
) -> MirrorReport:
    """Write `snapshot` (read from `source`) into `bundle`; fills and returns `report`."""
    bundle.begin(source.server, report.selections, write=not options.dry_run)
    planned: dict[str, int] = {}
    for record in snapshot.versions:
        manifest = source.manifest(record)
        held = bundle.holds(record)
        missing = bundle.missing_blobs(manifest)
        result = VersionResult(
            source=record.name,
            target=record.name,
            action="create" if held is None else "unchanged",
            files=len(manifest),
            size=manifest.total_size,
            selected=record.selected,
        )
        if held is not None and held != record:
            result.action, result.changes = "update", _changes(held, record)
        if held is not None and missing:
            result.action = "resume"  # an earlier export stopped before all its files were in
        if options.dry_run:
            planned.update((entry.digest, entry.size) for entry in missing.values())
        else:
            if missing:
                fetched = source.fetch(record, missing, bundle.blob_root(), workers=options.workers)
                written = [f for f in fetched.files if f.action != "keep"]
                result.sent_files, result.sent_bytes = len(written), sum(f.size for f in written)
            bundle.write_version(record, manifest)
            result.verified = not bundle.missing_blobs(manifest) if options.verify else None
        report.versions.append(result)
    for run in snapshot.runs.values():
        held_run = bundle.held_run(run.key)
        action = "create" if held_run is None else "unchanged" if held_run == run else "update"
        if not options.dry_run:
            bundle.write_run(run)
        report.runs.append(RunResult(str(run.key), str(run.key), action))
    for collection in snapshot.collections:
        held_collection = bundle.held_collection(collection.path)
        action = "create" if held_collection is None else "unchanged" if held_collection == collection else "update"
        if not options.dry_run:
            bundle.write_collection(collection)
        report.collections.append(CollectionResult(collection.path, collection.kind, action))
    report.bytes_to_send_at_most = sum(planned.values())
    if not options.dry_run:
        changed = bundle.finish(dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        log.info("%s: index %s", bundle.path, "written" if changed else "unchanged")
    return report


def _changes(held: VersionRecord, record: VersionRecord) -> list[str]:
    """The fields in which the bundle's record of a version differs from the source's."""
    ignore = {"source_id", "project", "collection", "type", "index", "digest"}
    return [
        f.name
        for f in fields(VersionRecord)
        if f.name not in ignore and getattr(held, f.name) != getattr(record, f.name)
    ]
