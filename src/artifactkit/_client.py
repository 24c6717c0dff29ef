"""`Client`: what every entity of one `Api` shares.

The GraphQL session (`Session.call`, the error boundary), what the server supports (probed once),
where downloads are cached, and the two ways back up the entity graph. Entities import one another
in one direction only (`artifact_types` -> `collections` -> `runs` -> `artifacts` -> `files`); a
version's collection and the run that logged or used a version are the two places where the graph
points upward, and there the entity asks its client, which `api.Api` builds with the constructors.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ._capabilities import Capabilities, CollectionOperations
from ._graphql import Session
from ._probe_cache import ProbeCache
from ._transport import Transport

if TYPE_CHECKING:
    from ._generated.fragments import RunFields
    from ._seen import SeenIndex
    from .collections import ArtifactCollection
    from .organizations import EntityOrganizations
    from .runs import Run


# W&B deployments served through CoreWeave Forge: the Forge host, and the API hosts behind it.
_FORGE_HOSTS = {"forge.coreweave.com": "api.wandb.ai", "qa.forge.coreweave.com": "api.qa.wandb.ai"}


def app_url_for(base_url: str) -> str:
    """The W&B web app's address for an API address, as wandb 0.31.0 derives it (no trailing slash).

    `WANDB_APP_URL` wins; W&B cloud's API host maps to its app (through Forge where W&B serves it so),
    `api.<host>` of other deployments to `app.<host>`, and anything else (W&B Local, the emulator)
    serves the app at the API's own address.
    """
    configured = os.environ.get("WANDB_APP_URL", "").strip().rstrip("/")
    if configured:
        return configured
    host = urlsplit(base_url).hostname or ""
    for forge, api in _FORGE_HOSTS.items():
        if host in (forge, f"api.{forge}", api):
            return f"https://{forge}/wandb"
    if "://api.wandb.test" in base_url:
        return base_url.replace("://api.", "://app.").rstrip("/")
    if "://api.wandb." in base_url:
        return base_url.replace("://api.", "://").rstrip("/")
    if "://api." in base_url:
        return base_url.replace("://api.", "://app.").rstrip("/")
    return base_url.rstrip("/")


class Client(Session):
    """The session of one `Api`, with its capabilities and its download cache location."""

    def __init__(
        self, transport: Transport, *, cache_root: Path | None = None, organization: str | None = None
    ) -> None:
        super().__init__(transport)
        self.cache_root = cache_root
        # The probe's answer is shared with other processes through the cache, except where requests go
        # through a caller's own transport (a mock, a wrapper): no other process talks to that server.
        self.probe_cache = None if transport.custom_sender else ProbeCache(cache_root, transport.base_url)
        self.capabilities = Capabilities(self, self.probe_cache)
        self.organization = organization
        """The configured organization (`organization` setting), for registry paths that name none."""
        self.entity_organizations: dict[str, EntityOrganizations] = {}
        """Each entity's organizations, asked once (`organizations.entity_organizations`)."""
        self.advanced_search: dict[str, bool] = {}
        """Whether each organization offers advanced registry search, asked once."""
        self._seen: SeenIndex | None = None

    @property
    def offline(self) -> bool:
        """Whether this client answers from the cache only (nothing is sent)."""
        return self.transport.offline

    @property
    def seen(self) -> SeenIndex:
        """What was seen online (names, versions, when), for offline use; opened on first use."""
        if self._seen is None:
            from ._seen import SeenIndex
            from .transfer.cache import resolve_cache_root

            self._seen = SeenIndex(resolve_cache_root(self.cache_root))
        return self._seen

    def close(self) -> None:
        if self._seen is not None:
            self._seen.close()
        super().close()

    def forget_capabilities(self) -> None:
        """Probe the server again on the next call that needs to know what it supports (and ask
        again which organizations entities belong to); the answer other processes share is dropped too."""
        if self.probe_cache is not None:
            self.probe_cache.discard()
        self.capabilities = Capabilities(self, self.probe_cache)
        self.entity_organizations.clear()
        self.advanced_search.clear()

    @property
    def app_url(self) -> str:
        """The W&B web app of this server, where `Artifact.url`, `Run.url` and `Project.url` point."""
        return app_url_for(self.transport.base_url)

    @property
    def operations(self) -> CollectionOperations:
        """Modern or legacy collection reads, whichever the server supports."""
        return self.capabilities.operations

    @property
    def supports_collection_edges(self) -> bool:
        """Whether the server has `ArtifactType.artifactCollection(s)` (probed once)."""
        return self.capabilities.collection_edges

    # -- the upward edges of the entity graph, supplied by the Api ------------------------------

    def collection(self, entity: str, project: str, name: str, type_name: str) -> ArtifactCollection:
        """Load the collection `entity/project/name` of `type_name`."""
        raise NotImplementedError("entities get their client from an Api")

    def run(self, attrs: RunFields, entity: str | None = None, project: str | None = None) -> Run:
        """Wrap a run the server described."""
        raise NotImplementedError("entities get their client from an Api")
