"""How an emulator instance behaves: its personality, limits and where it keeps data."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# Features a modern W&B server advertises in `serverInfo.features` and the emulator implements.
MODERN_FEATURES = (
    "ARTIFACT_TAGS",
    "CLIENT_IDS",
    "ARTIFACT_COLLECTION_MEMBERSHIP_FILES",
    "ARTIFACT_COLLECTION_MEMBERSHIP_FILE_DOWNLOAD_HANDLER",
    "USE_ARTIFACT_WITH_ENTITY_AND_PROJECT_INFORMATION",
    "PROJECT_ARTIFACT_COLLECTION_MEMBERSHIP",
    "ARTIFACT_MEMBERSHIP_IN_LINK_ARTIFACT_RESPONSE",
    "TOTAL_COUNT_IN_FILE_CONNECTION",
    "ARTIFACT_COLLECTIONS_FILTERING_SORTING",
    "ARTIFACT_V2_DOWNLOAD_HANDLER_SUPPORTS_ARTIFACT_ID",
    "ARTIFACT_DIGEST_ALGORITHM",
)

MODERN_MAX_CLI_VERSION = "0.31.0"
# A server from before the artifactCollection(s) edges existed (they arrived with 0.12.11).
LEGACY_MAX_CLI_VERSION = "0.12.0"

# Fields a legacy server's schema does not have; queries selecting them fail validation.
LEGACY_REMOVED_FIELDS = (
    ("ArtifactType", "artifactCollections"),
    ("ArtifactType", "artifactCollection"),
    ("ServerInfo", "features"),
)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    legacy: bool = False
    max_body_bytes: int = 8 * 1024 * 1024
    max_query_depth: int = 24
    url_ttl_seconds: int = 3600
    features: tuple[str, ...] = field(default=MODERN_FEATURES)
    faults: str | None = None  # a fault-injection spec, see faults.py

    @property
    def max_cli_version(self) -> str:
        return LEGACY_MAX_CLI_VERSION if self.legacy else MODERN_MAX_CLI_VERSION

    @property
    def database_path(self) -> Path:
        return self.data_dir / "emulator.sqlite3"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"
