"""Finding 11: a cache object corrupted in place (same size, wrong bytes) is caught when used.

It is evicted and fetched again, and the download holds the right bytes: the cache never hands
out bytes it has not verified since they last changed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from artifactkit import Api
from artifactkit.server.embedded import EmbeddedEmulator
from tests.transfer.helpers import md5_hex, random_files, tree_bytes, write_tree


@pytest.mark.parametrize("first_root", ["kept", "deleted"])
def test_a_cache_object_corrupted_in_place_is_fetched_again(
    emu: EmbeddedEmulator, tmp_path: Path, first_root: str
) -> None:
    files = random_files(3, 4096)
    source = write_tree(tmp_path / "src", files)
    digest = md5_hex(files["f000.bin"])
    cached = tmp_path / "cache" / "objects" / "md5" / digest[:2] / digest[2:]
    with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path / "cache") as api:
        api.upload(source, f"local/sdk11/{first_root}", "dataset")
        first = api.artifact(f"local/sdk11/{first_root}:v0").download(tmp_path / "first", progress=False)
        assert cached.read_bytes() == files["f000.bin"]
        if first_root == "deleted":  # the object is linked from nowhere any more
            shutil.rmtree(first, onerror=lambda f, p, e: (os.chmod(p, 0o700), f(p)))
        os.chmod(cached, 0o644)
        cached.write_bytes(b"\0" * len(files["f000.bin"]))  # same size, wrong bytes

        root = api.artifact(f"local/sdk11/{first_root}:v0").download(tmp_path / "second", progress=False)

    assert tree_bytes(root) == files
    if cached.exists():  # evicted, or fetched again: never the damaged bytes
        assert cached.read_bytes() == files["f000.bin"]
