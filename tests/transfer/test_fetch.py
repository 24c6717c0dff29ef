"""The fetcher against a plain HTTP server that ignores `Range` (as some proxies and origins do)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from artifactkit._transport import Transport
from artifactkit.transfer import fetch
from artifactkit.transfer.cache import Cache
from artifactkit.transfer.fetch import Fetcher
from artifactkit.transfer.progress import Progress
from tests.transfer.helpers import ReferenceOrigin, md5_hex


@pytest.fixture
def origin() -> Iterator[ReferenceOrigin]:
    with ReferenceOrigin() as server:
        yield server


@pytest.fixture
def fetcher(origin: ReferenceOrigin, tmp_path: Path) -> Iterator[Fetcher]:
    transport = Transport(origin.url, "unused-key")
    with Cache(tmp_path / "cache") as cache:
        yield Fetcher(transport, cache, Progress(0, 0, False), workers=4)
    transport.close()


def test_a_large_file_from_a_server_without_ranges_comes_in_one_verified_stream(
    origin: ReferenceOrigin, fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch, "MULTIPART_THRESHOLD", 3 << 20)  # make a 4 MiB file "large"
    data = os.urandom(4 << 20)
    url = origin.put("/big.bin", data, etag=None)

    source = fetcher.fetch_object("big.bin", md5_hex(data), len(data), lambda stale: url, skip_cache=False,
                                  temp_dir=Path("/nonexistent"))  # fmt: skip

    assert source.path is not None and source.path.read_bytes() == data
    assert fetcher.bytes_fetched == len(data)  # the first ranged request's 200 was read as the whole file
    assert not list(fetcher.cache.partial.glob("*"))


def test_a_partial_file_is_restarted_when_the_server_ignores_range(origin: ReferenceOrigin, fetcher: Fetcher) -> None:
    data = os.urandom(3 << 20)
    url = origin.put("/resume.bin", data, etag=None)
    part = fetcher.cache.partial_path("md5", md5_hex(data))
    part.write_bytes(data[: 1 << 20])  # an earlier run got this far

    source = fetcher.fetch_object("resume.bin", md5_hex(data), len(data), lambda stale: url, skip_cache=False,
                                  temp_dir=Path("/nonexistent"))  # fmt: skip

    assert source.path is not None and source.path.read_bytes() == data
    assert origin.requests == ["/resume.bin"]  # one request: asked for the rest, got (and used) it all
