"""Artifacts that travel: versions mirrored between servers, and bundles for air-gapped transfers.

`Api.mirror()`, `Api.export()` and `Api.import_bundle()` (and the commands `artifactkit mirror`,
`export` and `import`) are built on this package; docs/travel.md describes what they do and the
bundle format. A mirror reads its source (`sources.ServerSource`, or a `bundle.Bundle`) into plain
records (`records`), then writes them into a server (`engine`, through `targets.ServerTarget`) or
a bundle directory (`export`); `report.MirrorReport` says what happened.
"""

from .bundle import Bundle
from .engine import Options
from .operations import export, import_bundle, mirror
from .records import ProjectKey, Selection
from .report import CollectionResult, LinkResult, MirrorReport, RunResult, VersionResult

__all__ = [
    "Bundle",
    "CollectionResult",
    "LinkResult",
    "MirrorReport",
    "Options",
    "ProjectKey",
    "RunResult",
    "Selection",
    "VersionResult",
    "export",
    "import_bundle",
    "mirror",
]
