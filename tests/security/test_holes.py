"""Tests for bugs the suite used to let through (each was introduced on purpose and stayed green).

(a) the MD5 check of ranged downloads (files of at least MULTIPART_THRESHOLD bytes);
(b) a containment check that forgets the separator (`/x/root-evil` starts with `/x/root`);
(c) the modern/legacy boundary of the SDK at exactly 0.12.11;
(d) `updateArtifact(aliases: [])` must leave the version with no aliases.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from artifactkit import Api, errors
from artifactkit.server.embedded import EmbeddedEmulator
from artifactkit.transfer.limits import MULTIPART_THRESHOLD
from tests.server.support import Client, upload
from tests.transfer.helpers import blob_path, write_tree


@pytest.mark.timeout(300)
def test_a_ranged_download_with_wrong_bytes_is_refused(emu: EmbeddedEmulator, tmp_path: Path) -> None:
    data = os.urandom(MULTIPART_THRESHOLD + 1)
    source = write_tree(tmp_path / "src", {"big.bin": data})
    with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path / "upload-cache") as api:
        api.upload(source, "local/holes/big", "dataset")
    blob = blob_path(emu, data)
    with blob.open("r+b") as f:  # same size, one byte different, in the last part
        f.seek(len(data) - 10)
        f.write(bytes([data[-10] ^ 0xFF]))
    root = tmp_path / "root"
    fresh = Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path / "fresh-cache")
    with fresh as api, pytest.raises(errors.DigestMismatchError):
        api.artifact("local/holes/big:v0").download(root, progress=False)
    assert not (root / "big.bin").exists()
    assert not list((tmp_path / "fresh-cache" / "objects" / "md5").rglob("*.*"))
    assert not [p for p in (tmp_path / "fresh-cache" / "objects" / "md5").rglob("*") if p.is_file()]


def test_a_symlink_to_a_sibling_whose_name_extends_the_root_is_outside(emu: EmbeddedEmulator, tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", {"data/a.txt": b"a", "ok.txt": b"ok"})
    with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path / "cache") as api:
        api.upload(source, "local/holes/sibling", "dataset")
        root = tmp_path / "root"
        evil = tmp_path / "root-evil"  # "/x/root-evil".startswith("/x/root")
        root.mkdir()
        evil.mkdir()
        (root / "data").symlink_to(evil)
        with pytest.raises(errors.UnsafePathError, match=r"data/a\.txt"):
            api.artifact("local/holes/sibling:v0").download(root, progress=False)
    assert list(evil.iterdir()) == []


@pytest.mark.parametrize(("version", "edge"), [("0.12.10", "artifactSequences"), ("0.12.11", "artifactCollections")])
def test_the_sdk_switches_edges_at_exactly_0_12_11(tmp_path: Path, version: str, edge: str) -> None:
    with EmbeddedEmulator(tmp_path / "emu", cli_version=version) as emulator:
        with Client(emulator) as writer:
            upload(writer, "local/edge", "seq", {"a": b"1"})
        with Api(api_key=emulator.api_key, base_url=emulator.url, cache_dir=tmp_path / "cache") as api:
            emulator.stats.reset()
            names = [c.name for c in api.artifact_type("dataset", "local/edge").collections()]
        assert names == ["seq"]
        queries = [entry["query"] for entry in emulator.stats.graphql_log if "query" in entry]
        assert any(edge in q for q in queries)
        other = "artifactCollections" if edge == "artifactSequences" else "artifactSequences"
        assert not any(f"{other}(" in q or f"{other} {{" in q for q in queries)


def test_update_artifact_with_an_empty_alias_list_removes_every_alias(emu: EmbeddedEmulator) -> None:
    with Client(emu) as client:
        artifact = upload(client, "local/holes", "aliased", {"a": b"x"}, aliases=["best", "prod"])
        query = "query($id: ID!) { artifact(id: $id) { aliases { alias } } }"
        before = {a["alias"] for a in client.data(query, id=artifact["id"])["artifact"]["aliases"]}
        assert {"best", "prod"} <= before
        client.data(
            "mutation($input: UpdateArtifactInput!) { updateArtifact(input: $input) { artifact { id } } }",
            input={"artifactID": artifact["id"], "aliases": []},
        )
        after = [a["alias"] for a in client.data(query, id=artifact["id"])["artifact"]["aliases"]]
        assert after == ["v0"]  # the version's own name stays; every alias set on it went
