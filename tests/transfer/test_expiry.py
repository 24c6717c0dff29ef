"""Signed URLs that expire mid-transfer are exchanged for fresh ones (an emulator with a 2-second URL lifetime)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from artifactkit import Api
from artifactkit.server.embedded import EmbeddedEmulator
from tests.conftest import make_api
from tests.transfer.helpers import SlowLink, reset_stats, settled_stats, tree_bytes, write_tree

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEmulator]:
    """Signed URLs live 1 to 2 seconds (expiry is rounded to whole seconds)."""
    with EmbeddedEmulator(tmp_path_factory.mktemp("short-lived"), url_ttl_seconds=2) as emu:
        yield emu


def test_an_expired_file_url_is_refreshed(short_lived: EmbeddedEmulator, tmp_path: Path) -> None:
    data = os.urandom(1000)
    with make_api(short_lived, tmp_path / "cache") as api:
        api.upload(write_tree(tmp_path / "src", {"a.bin": data}), "local/expiry/one", "dataset")
        [file] = list(api.artifact("local/expiry/one:v0").files())
        time.sleep(2.5)  # the URL in `file` is now stale
        reset_stats(short_lived)

        path = file.download_path(tmp_path / "out")

    assert path.read_bytes() == data
    stats = settled_stats(short_lived)
    assert stats.statuses["403"] == 1  # the stale URL was refused once ...
    assert stats.operations["MembershipFileUrls"] == 1  # ... and replaced with one request


def test_urls_expiring_during_a_long_download_are_refreshed_in_batches(
    short_lived: EmbeddedEmulator, tmp_path: Path
) -> None:
    files = {f"part-{i}.bin": os.urandom(1 << 20) for i in range(5)}
    with make_api(short_lived, tmp_path / "seed") as seeder:
        seeder.upload(write_tree(tmp_path / "src", files), "local/expiry/long", "dataset")
    with (
        SlowLink(short_lived.url, bytes_per_second=1 << 20) as link,  # 5 s of downloading, URLs live 2 s
        Api(api_key=short_lived.api_key, base_url=link.url, cache_dir=tmp_path / "cache") as api,
    ):
        artifact = api.artifact("local/expiry/long:v0")
        artifact.manifest  # noqa: B018
        reset_stats(short_lived)
        root = Path(artifact.download(tmp_path / "out", max_workers=1, progress=False))

    assert tree_bytes(root) == files
    stats = settled_stats(short_lived)
    refused = stats.statuses["403"]
    assert refused >= 1
    assert stats.operations["MembershipFileUrls"] <= 1 + refused  # one batch, then one refresh per refusal


def test_an_upload_url_that_expires_before_its_turn_is_renewed(short_lived: EmbeddedEmulator, tmp_path: Path) -> None:
    files = {f"chunk-{i}.bin": os.urandom(1 << 20) for i in range(4)}
    source = write_tree(tmp_path / "src", files)
    with (
        SlowLink(short_lived.url, bytes_per_second=1 << 30, upload_bytes_per_second=1 << 20) as link,
        Api(api_key=short_lived.api_key, base_url=link.url, cache_dir=tmp_path / "cache") as api,
    ):
        reset_stats(short_lived)
        artifact = api.upload(source, "local/expiry/uploaded", "dataset", max_workers=1)

    assert settled_stats(short_lived).statuses["403"] >= 1
    assert artifact.version == "v0"
    with make_api(short_lived, tmp_path / "cache2") as api:
        assert tree_bytes(api.artifact("local/expiry/uploaded:v0").download(tmp_path / "out", progress=False)) == files
