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
    # W&B Registry: organization-level registries, searched across (`Api.registries()`, `registry()`)
    # and created with their allowed artifact types (`create_registry()`, `Registry.save()`).
    "ARTIFACT_REGISTRY_SEARCH",
    "INCLUDE_ARTIFACT_TYPES_IN_REGISTRY_CREATION",
)

MODERN_MAX_CLI_VERSION = "0.31.0"
# A server from before the artifactCollection(s) edges existed (they arrived with 0.12.11).
LEGACY_MAX_CLI_VERSION = "0.12.0"
# The first server version with the new edges: clients compare `max_cli_version` against it.
COLLECTION_EDGES_VERSION = (0, 12, 11)

# What a server older than 0.12.11 lacks (wandb-schema-notes.md §2-§3): the collection edges on
# ArtifactType, and every artifacts field the notes date later than that (newer than the printed
# SDL of Dec 2022, or tied to a server feature). Queries selecting these fail validation on the
# legacy personality, as on such a server.
LEGACY_REMOVED_FIELDS = (
    ("ArtifactType", "artifactCollections"),
    ("ArtifactType", "artifactCollection"),
    ("ServerInfo", "features"),
    # feature PROJECT_ARTIFACT_COLLECTION_MEMBERSHIP (G26 only)
    ("Project", "artifactCollectionMembership"),
    ("Project", "internalId"),  # D24 G26
    ("Project", "totalArtifactCollections"),  # D24
    # collection and version tags (T23/D24; feature ARTIFACT_TAGS), TTL (D24, SDK 0.15.10)
    ("ArtifactCollection", "tags"),
    ("ArtifactSequence", "tags"),
    ("ArtifactPortfolio", "tags"),
    ("Artifact", "tags"),
    ("Artifact", "ttlDurationSeconds"),
    ("Artifact", "ttlIsInherited"),
    ("Artifact", "digestAlgorithm"),  # feature ARTIFACT_DIGEST_ALGORITHM
    ("ArtifactCollectionMembership", "files"),  # W&B Server 0.67.0
    ("FileConnection", "totalCount"),  # feature TOTAL_COUNT_IN_FILE_CONNECTION
    ("LinkArtifactPayload", "artifactMembership"),  # feature ARTIFACT_MEMBERSHIP_IN_LINK_ARTIFACT_RESPONSE
    ("LinkArtifactPayload", "aliases"),  # T23 D24
    ("Mutation", "createArtifactCollectionTagAssignments"),
    ("Mutation", "deleteArtifactCollectionTagAssignments"),
    ("Mutation", "updateRunState"),  # wandb 0.31.0's Run.update_state()
    # W&B Registry fields no source older than wandb 0.31.0's generated models shows (registry-facts.md
    # §2.1, "G31 only"): registry version search, a registry's team members, advanced search.
    ("Entity", "artifactMemberships"),
    ("Project", "teamMembers"),
    ("Organization", "advancedRegistryFeatures"),
    ("Mutation", "updateProjectTeamMember"),
)
# Arguments of the same vintage (G26/OPS only, absent from the Dec 2022 SDL): a document using them
# fails validation on the legacy personality.
LEGACY_REMOVED_ARGUMENTS = (
    ("Project", "artifact", "enableTracking"),
    ("Project", "artifactTypes", "includeAll"),
    ("Project", "artifactCollections", "filters"),
)
# Input fields of that vintage stay (CreateArtifactInput.tags/ttlDurationSeconds/storageRegion, ...):
# wandb-core in 0.19.9/0.22.3 sends them, null or not, to every server, and without them no official
# client could log a version at all (tried: every legacy compat step then fails at seeding).
# Types a legacy server does not define at all (introspection answers `null` for them). None at
# present: `ServerSettings { serverMessages }` and `UpsertBucketPayload.serverSettings` stay. Real
# W&B defines the type (client-quirks.md), the schema notes do not list it among what old servers
# lack, and wandb 0.19.9/0.22.3 look it up before every run creation and crash on a `null` answer,
# so removing it made the emulator stricter than any server those clients have run against.
LEGACY_REMOVED_TYPES: tuple[str, ...] = ()
# Fields only a legacy server has: before the collection edges, an alias named its sequence.
LEGACY_ADDED_SDL = """
extend type ArtifactAlias {
  "The sequence the alias belongs to (null for a portfolio); renamed artifactCollection in 0.12.11."
  artifactSequence: ArtifactSequence
}
"""


def version_tuple(version: str) -> tuple[int, ...]:
    """`"0.12.11"` -> `(0, 12, 11)`; the comparison the official clients make on `max_cli_version`."""
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        raise ValueError(f"not a version number: {version!r}") from None


@dataclass(frozen=True)
class Settings:
    """Every limit of the emulator, with its default (docs/security.md lists them for users)."""

    data_dir: Path
    legacy: bool = False
    # -- request size and shape, checked before a document is validated or executed
    max_body_bytes: int = 8 * 1024 * 1024  # GraphQL and file_stream bodies
    max_keyless_body_bytes: int = 16 * 1024  # a GraphQL body without a valid key (anonymous fields only)
    max_large_bodies_per_caller: int = 2  # one user's GraphQL requests over 256 KiB in flight; more wait
    max_threads_per_caller: int = 4  # worker threads one user's (or all key-less) GraphQL requests occupy at once
    max_document_chars: int = 1024 * 1024  # the `query` text of a GraphQL body
    max_json_depth: int = 64  # nesting of the JSON body (and so of variables)
    max_query_depth: int = 24  # field nesting, through fragments
    max_query_breadth: int = 500  # fields of one selection set
    max_query_selections: int = 5000  # fields in all, fragments counted once per spread
    max_query_aliases: int = 1000
    max_introspection_fields: int = 10  # __schema / __type fields per document
    max_manifest_bytes: int = 64 * 1024 * 1024  # one uploaded manifest
    # -- connections: answered 503 past `max_connections` open at once, closed unanswered past twice
    # that; a request's head must arrive within `header_timeout_seconds` and be at most
    # `max_header_bytes`; its body within `body_timeout_seconds`, plus a second per
    # `min_body_bytes_per_second` bytes it has sent (a floor on the rate, as Apache's reqtimeout);
    # a client that stops reading an answer for `send_timeout_seconds` is dropped (nginx's send_timeout)
    max_connections: int = 256
    max_header_bytes: int = 64 * 1024
    header_timeout_seconds: float = 20.0
    body_timeout_seconds: float = 30.0
    min_body_bytes_per_second: int = 64 * 1024
    send_timeout_seconds: float = 60.0
    # -- what a mutation may store; refused (400) before anything changes
    max_metadata_chars: int = 1024 * 1024  # a version's metadata (JSON text)
    max_metadata_keys: int = 100  # its top-level keys (W&B's documented limit)
    max_run_json_chars: int = 4 * 1024 * 1024  # a run's config, and its summary, each
    max_text_chars: int = 64 * 1024  # any other text: descriptions, notes, tag attributes, ...
    max_tags_per_list: int = 1000  # tags of one list in a mutation's input
    max_run_tag_chars: int = 128  # one of a run's tags (W&B's tag names: 128)
    # -- time and memory
    request_time_budget_seconds: float = 30.0  # SQLite work of one GraphQL request
    max_rows_per_request: int = 200_000  # rows all pages of one GraphQL request load (nested pages multiply)
    # Characters of stored text one GraphQL request may read, and the size of its answer (text
    # plus 8 per value), each: a page of 50 versions whose metadata and description are at their
    # caps fits (53 Mi); memory per request stays about three times this at worst.
    max_answer_chars: int = 64 * 1024 * 1024
    document_cache_bytes: int = 4 * 1024 * 1024  # query text of cached parsed documents
    document_cache_entry_bytes: int = 256 * 1024  # longer documents are parsed every time
    request_log_bytes: int = 16 * 1024 * 1024  # /_emulator/stats?log=1
    request_log_entry_bytes: int = 1024 * 1024  # bigger entries keep their metadata only
    shutdown_grace_seconds: float = 3.0  # in-flight requests get this long after SIGTERM
    url_ttl_seconds: int = 3600
    features: tuple[str, ...] = field(default=MODERN_FEATURES)
    faults: str | None = None  # a fault-injection spec, see faults.py
    # The server version to claim in `serverInfo.cliVersionInfo.max_cli_version`. It decides the
    # personality: below 0.12.11 the server is legacy. None: 0.31.0, or 0.12.0 when `legacy`.
    cli_version: str | None = None

    def __post_init__(self) -> None:
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if self.cli_version is None:
            return
        legacy = version_tuple(self.cli_version) < COLLECTION_EDGES_VERSION
        if self.legacy and not legacy:
            raise ValueError(f"a legacy server is older than 0.12.11, not {self.cli_version}")
        object.__setattr__(self, "legacy", legacy)

    @property
    def max_cli_version(self) -> str:
        if self.cli_version is not None:
            return self.cli_version
        return LEGACY_MAX_CLI_VERSION if self.legacy else MODERN_MAX_CLI_VERSION

    @property
    def database_path(self) -> Path:
        return self.data_dir / "emulator.sqlite3"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"
