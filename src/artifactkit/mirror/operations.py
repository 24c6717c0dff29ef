"""The three journeys: server to server (`mirror`), server to bundle (`export`), bundle to server (`import_bundle`)."""

from __future__ import annotations

from collections.abc import Sequence

from .._client import Client
from ..errors import InvalidNameError
from .bundle import Bundle
from .engine import Options, mirror_into_server
from .export import export_into_bundle
from .placement import Placement
from .records import ProjectKey, Selection
from .report import MirrorReport
from .sources import ServerSource
from .targets import ServerTarget


def mirror(source: Client, target: Client, selection: Selection, to: ProjectKey, options: Options) -> MirrorReport:
    """Mirror what `selection` names from one server into the project `to` of another."""
    server = ServerSource(source)
    snapshot = server.read([selection])
    report = MirrorReport(server.label, target.transport.base_url, [str(selection)], dry_run=options.dry_run)
    placement = Placement({selection.project: to})
    return mirror_into_server(server, snapshot, ServerTarget(target), placement, report, options)


def export(source: Client, selections: Sequence[Selection], bundle: Bundle, options: Options) -> MirrorReport:
    """Write what `selections` name into a bundle directory (new, or one exported from the same server)."""
    server = ServerSource(source)
    snapshot = server.read(selections)
    report = MirrorReport(server.label, bundle.label, [str(s) for s in selections], dry_run=options.dry_run)
    return export_into_bundle(server, snapshot, bundle, report, options)


def import_bundle(
    bundle: Bundle, target: Client, entity: str | None, project: str | None, options: Options
) -> MirrorReport:
    """Write a bundle into a server: every project into `entity` (None: its own) and, for a bundle of
    one project, under the name `project` (None: its own). The bundle is checked whole, every
    stored file hashed, before the first write."""
    snapshot = bundle.read()
    projects = list(dict.fromkeys([v.project for v in snapshot.versions] + [c.project for c in snapshot.collections]))
    if project is not None and len(projects) > 1:
        raise InvalidNameError(
            f"{bundle.path} holds {len(projects)} projects ({', '.join(map(str, projects))}); name only the entity "
            "to import them into",
            expected="ENTITY",
        )
    placement = Placement({p: ProjectKey(entity or p.entity, project or p.project) for p in projects})
    bundle.check(snapshot.versions, progress=options.progress)
    report = MirrorReport(bundle.label, target.transport.base_url, list(bundle.selections), dry_run=options.dry_run)
    return mirror_into_server(bundle, snapshot, ServerTarget(target), placement, report, options)
