"""artifactkit: a typed, fast SDK for the Weights & Biases artifacts API.

from artifactkit import Api

api = Api()  # configured as wandb is (WANDB_*, ~/.config/wandb/settings, ~/.netrc)
for version in api.artifacts("dataset", "my-team/my-project/training-data"):
    print(version.qualified_name, version.aliases)
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ._version import __version__

# A library never prints: without this, Python's last-resort handler would write the library's
# warnings (a retry given up, a key about to go over plain http) to stderr of any script that has
# not configured logging. Applications and the CLI attach their own handlers.
logging.getLogger("artifactkit").addHandler(logging.NullHandler())

# The public names, imported on first use so that `import artifactkit` stays cheap.
_EXPORTS = {
    "AddOnlyArtifactTypesList": ".registries",
    "Api": ".api",
    "Artifact": ".artifacts",
    "ArtifactCollection": ".collections",
    "ArtifactCollections": ".collections",
    "ArtifactEntry": ".artifacts",
    "ArtifactFiles": ".files",
    "ArtifactTTL": ".artifacts",
    "ArtifactType": ".artifact_types",
    "ArtifactTypes": ".artifact_types",
    "Artifacts": ".artifacts",
    "Bundle": ".mirror",
    "ChainedListing": ".registries",
    "DownloadResult": ".transfer.download",
    "File": ".files",
    "LinkTarget": ".artifacts",
    "ManyDownload": ".many",
    "Manifest": ".manifest",
    "ManifestEntry": ".manifest",
    "MemberKind": ".members",
    "MemberRole": ".members",
    "MirrorReport": ".mirror",
    "OrderedCollections": ".registries",
    "OrgEntity": ".organizations",
    "Organization": ".organizations",
    "Paginator": "._pagination",
    "Project": ".projects",
    "ProjectArtifactCollections": ".collections",
    "Projects": ".projects",
    "Registries": ".registries",
    "Registry": ".registries",
    "RegistryCollections": ".registries",
    "RegistryVersions": ".registries",
    "RetryPolicy": "._transport",
    "Run": ".runs",
    "RunArtifacts": ".runs",
    "Runs": ".runs",
    "Team": ".members",
    "TeamMember": ".members",
    "UploadStats": ".transfer.upload",
    "User": ".users",
    "UserMember": ".members",
    "artifact_collection_edge_name": "._capabilities",
    "artifact_collection_plural_edge_name": "._capabilities",
    "errors": ".errors",
    "server_supports_artifact_collections_gql_edges": "._capabilities",
}

if TYPE_CHECKING:
    from . import errors
    from ._capabilities import (
        artifact_collection_edge_name,
        artifact_collection_plural_edge_name,
        server_supports_artifact_collections_gql_edges,
    )
    from ._pagination import Paginator
    from ._transport import RetryPolicy
    from .api import Api
    from .artifact_types import ArtifactType, ArtifactTypes
    from .artifacts import Artifact, ArtifactEntry, Artifacts, ArtifactTTL, LinkTarget
    from .collections import ArtifactCollection, ArtifactCollections, ProjectArtifactCollections
    from .files import ArtifactFiles, File
    from .manifest import Manifest, ManifestEntry
    from .many import ManyDownload
    from .members import MemberKind, MemberRole, Team, TeamMember, UserMember
    from .mirror import Bundle, MirrorReport
    from .organizations import Organization, OrgEntity
    from .projects import Project, Projects
    from .registries import (
        AddOnlyArtifactTypesList,
        ChainedListing,
        OrderedCollections,
        Registries,
        Registry,
        RegistryCollections,
        RegistryVersions,
    )
    from .runs import Run, RunArtifacts, Runs
    from .transfer.download import DownloadResult
    from .transfer.upload import UploadStats
    from .users import User


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'artifactkit' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(module_name, __name__)
    value = module if name == "errors" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AddOnlyArtifactTypesList",
    "Api",
    "Artifact",
    "ArtifactCollection",
    "ArtifactCollections",
    "ArtifactEntry",
    "ArtifactFiles",
    "ArtifactTTL",
    "ArtifactType",
    "ArtifactTypes",
    "Artifacts",
    "Bundle",
    "ChainedListing",
    "DownloadResult",
    "File",
    "LinkTarget",
    "Manifest",
    "ManifestEntry",
    "ManyDownload",
    "MemberKind",
    "MemberRole",
    "MirrorReport",
    "OrderedCollections",
    "OrgEntity",
    "Organization",
    "Paginator",
    "Project",
    "ProjectArtifactCollections",
    "Projects",
    "Registries",
    "Registry",
    "RegistryCollections",
    "RegistryVersions",
    "RetryPolicy",
    "Run",
    "RunArtifacts",
    "Runs",
    "Team",
    "TeamMember",
    "UploadStats",
    "User",
    "UserMember",
    "__version__",
    "artifact_collection_edge_name",
    "artifact_collection_plural_edge_name",
    "errors",
    "server_supports_artifact_collections_gql_edges",
]
