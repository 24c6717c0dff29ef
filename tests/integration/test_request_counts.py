"""No hidden requests: what each facade call costs, counted by the emulator.

Listing N versions costs ceil(N / per_page) requests and nothing per item; reading properties
costs nothing; the manifest is fetched only when something needs it; the capability probe goes
out once per client. The 1,000-version listing here is the measurement quoted in the closing note
of the SDK issue.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from artifactkit import Api
from artifactkit.server.embedded import EmbeddedEmulator
from tests.conftest import make_api
from tests.integration.support import seed_versions, upload

BIG = 1000


def route_count(emu: EmbeddedEmulator, route: str, *, settle_at: int | None = None) -> int:
    """Requests served on `route`. The emulator counts a request once its handler has returned,
    which can be just after the client read the answer; `settle_at` waits (briefly) for that count.
    (GraphQL operations are counted before the answer is sent, so `stats.operations` needs no wait.)"""
    deadline = time.monotonic() + 2.0
    while settle_at is not None and emu.stats.requests[route] < settle_at and time.monotonic() < deadline:
        time.sleep(0.01)
    return int(emu.stats.requests[route])


@pytest.fixture(scope="module")
def big_collection(emulator: EmbeddedEmulator) -> str:
    """`local/counts-big/many`: 1,000 committed versions (seeded once for the module)."""
    seed_versions(emulator, "local/counts-big/many", "dataset", BIG)
    return "local/counts-big/many"


@pytest.fixture
def probed_api(emulator: EmbeddedEmulator, tmp_path: Path) -> Iterator[Api]:
    """A client that has already asked for the server's capabilities, so counts show only the listing."""
    with make_api(emulator, tmp_path / "cache") as client:
        assert client.client.supports_collection_edges
        yield client


@pytest.mark.parametrize("per_page", [50, 1000, 7])
def test_listing_1000_versions_costs_one_request_per_page(
    emulator: EmbeddedEmulator, probed_api: Api, big_collection: str, per_page: int
) -> None:
    emulator.stats.reset()
    listing = probed_api.artifacts("dataset", big_collection, per_page=per_page)
    count = len(listing)
    seen = [a.qualified_name for a in listing]
    assert count == len(seen) == len(set(seen)) == BIG
    pages = math.ceil(BIG / per_page)  # 20 at the default 50, 1 at the maximum 1000
    assert dict(emulator.stats.operations) == {"CollectionVersions": pages}


def test_reading_every_property_of_every_listed_version_costs_nothing(
    emulator: EmbeddedEmulator, probed_api: Api, big_collection: str
) -> None:
    listing = list(probed_api.artifacts("dataset", big_collection, per_page=1000))
    emulator.stats.reset()
    for artifact in listing:
        _ = (
            artifact.id,
            artifact.qualified_name,
            artifact.version,
            artifact.aliases,
            artifact.tags,
            artifact.type,
            artifact.description,
            artifact.metadata,
            artifact.size,
            artifact.digest,
            artifact.state,
            artifact.file_count,
            artifact.created_at,
            artifact.updated_at,
            artifact.is_link,
            artifact.source_qualified_name,
            repr(artifact),
        )
    assert emulator.stats.operations == {}
    assert route_count(emulator, "blob") == 0


def test_the_manifest_is_fetched_only_when_needed_and_once(
    emulator: EmbeddedEmulator, probed_api: Api, tmp_path: Path, project: str
) -> None:
    upload(probed_api, tmp_path, f"{project}/data", files={"a.txt": "a", "b.txt": "b"})
    with make_api(emulator, tmp_path / "fresh-cache") as reader:  # no manifest cached by the upload
        emulator.stats.reset()
        artifact = reader.artifact(f"{project}/data:v0")
        _ = (artifact.size, artifact.file_count, artifact.digest, artifact.aliases, artifact.files())
        # The lookup, and the one capability probe of this Api (it picks the lookup's document).
        assert dict(emulator.stats.operations) == {"ServerCliVersion": 1, "ArtifactMembershipByName": 1}
        assert route_count(emulator, "blob") == 0
        entries = artifact.manifest.entries
        assert sorted(entries) == ["a.txt", "b.txt"]
        assert artifact.manifest.entries is entries
        assert dict(emulator.stats.operations) == {
            "ServerCliVersion": 1,
            "ArtifactMembershipByName": 1,
            "ArtifactManifestUrl": 1,
        }
        assert route_count(emulator, "blob", settle_at=1) == 1  # the manifest JSON itself


def test_listing_files_costs_one_request_per_page_and_no_manifest(
    emulator: EmbeddedEmulator, probed_api: Api, tmp_path: Path, project: str
) -> None:
    files = {f"f{i:02}.txt": str(i) for i in range(25)}
    artifact = upload(probed_api, tmp_path, f"{project}/data", files=files)
    emulator.stats.reset()
    listing = artifact.files(per_page=10)
    assert len(listing) == 25
    listed = list(listing)
    assert [f.name for f in listed] == sorted(files)
    assert all(f.size > 0 and f.md5 and f.url for f in listed)
    assert dict(emulator.stats.operations) == {"MembershipFiles": 3}  # len() reused the first page


def test_the_capability_probe_is_sent_once_per_client(emulator: EmbeddedEmulator, tmp_path: Path) -> None:
    seed_versions(emulator, "local/counts-probe/few", "dataset", 3)
    emulator.stats.reset()
    with make_api(emulator, tmp_path / "a") as first, make_api(emulator, tmp_path / "b") as second:
        for client in (first, second, first, second):
            list(client.artifacts("dataset", "local/counts-probe/few"))
            list(client.artifact_collections("local/counts-probe", "dataset"))
            client.artifact_collection("dataset", "local/counts-probe/few")
    assert emulator.stats.operations["ServerCliVersion"] == 2


def test_run_artifacts_cost_one_request_per_page(
    emulator: EmbeddedEmulator, probed_api: Api, tmp_path: Path, project: str
) -> None:
    for _ in range(5):
        upload(probed_api, tmp_path, f"{project}/data", run="producer")
    run = probed_api.run(f"{project}/producer")
    emulator.stats.reset()
    logged = run.logged_artifacts(per_page=2)
    assert len(logged) == 5 and len(list(logged)) == 5
    assert dict(emulator.stats.operations) == {"RunOutputArtifacts": 3}
