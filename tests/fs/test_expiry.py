"""An emulator of this module's own: signed URLs that expire while a file is open, and injected server faults."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from artifactkit import RetryPolicy, errors
from artifactkit.fs import ArtifactFileSystem
from artifactkit.server.embedded import EmbeddedEmulator
from tests.conftest import make_api
from tests.transfer.helpers import reset_stats, settled_stats, write_tree


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEmulator]:
    """Signed URLs live 1 to 2 seconds (expiry is rounded to whole seconds)."""
    with EmbeddedEmulator(tmp_path_factory.mktemp("fs-short-lived"), url_ttl_seconds=1) as emu:
        yield emu


def test_an_expired_url_is_renewed_once_and_the_read_goes_on(short_lived: EmbeddedEmulator, tmp_path: Path) -> None:
    data = os.urandom(64 << 10)
    with make_api(short_lived, tmp_path / "cache") as api:
        api.upload(write_tree(tmp_path / "src", {"a.bin": data}), "local/fs-expiry/one", "dataset")
        fs = ArtifactFileSystem(api)
        with fs.open("wandb://local/fs-expiry/one:v0/a.bin", block_size=16 << 10, cache_type="none") as f:
            assert f.read(1000) == data[:1000]
            time.sleep(2.2)  # the URL the open asked for is stale now
            reset_stats(short_lived)
            assert f.read() == data[1000:]  # the rest of the file, read to its end and verified
    stats = settled_stats(short_lived)
    assert stats.statuses["403"] == 1  # refused once ...
    assert stats.operations["MembershipFiles"] == 1  # ... renewed with one request


@pytest.mark.parametrize(
    ("kind", "raised", "cause"),
    [("503", OSError, errors.ServerError), ("stall", TimeoutError, errors.APITimeoutError)],
)
def test_a_failing_or_stalling_server_is_an_os_error_with_the_cause(
    short_lived: EmbeddedEmulator, tmp_path: Path, kind: str, raised: type[OSError], cause: type[Exception]
) -> None:
    fs = ArtifactFileSystem(
        api_key=short_lived.api_key,
        base_url=short_lived.url,
        cache_dir=str(tmp_path),
        timeout=0.5,
        retry=RetryPolicy(max_attempts=1, budget=1),
        skip_instance_cache=True,
    )
    plan = {"rate": 1, "kinds": [kind], "routes": ["graphql"], "stall_seconds": 1}
    httpx.put(f"{short_lived.url}/_emulator/faults", json=plan, auth=("api", short_lived.api_key)).raise_for_status()
    try:
        with pytest.raises(raised) as failed:
            fs.info("wandb://local/fs-faults/any:v0/a.bin")
        assert isinstance(failed.value.__cause__, cause)
    finally:
        httpx.put(f"{short_lived.url}/_emulator/faults", json={"rate": 0}, auth=("api", short_lived.api_key))
        fs.api.close()
