"""Issue 17, blind spot: chains of `wandb-artifact://` references, in the SDK and in `wandb://`.

A reference may point at a file that is itself a reference. Both readers follow exactly
`MAX_REFERENCE_HOPS` (8) references and refuse the ninth, and a cycle is refused as a cycle,
not after spinning through the hop budget. The filesystem used to keep its own copy of the
limit and refused an 8-hop chain the SDK followed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from artifactkit import Api, errors
from artifactkit.fs import ArtifactFileSystem
from artifactkit.manifest import Manifest, ManifestEntry, artifact_reference
from artifactkit.server.embedded import EmbeddedEmulator
from artifactkit.transfer.references import MAX_REFERENCE_HOPS
from tests.fs.support import seed_version
from tests.transfer.helpers import manifest_blob_path

PROJECT = "local/chains"


@pytest.fixture(scope="module")
def api(emu: EmbeddedEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path_factory.mktemp("cache")) as client:
        yield client


@pytest.fixture(scope="module")
def source(api: Api, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, ManifestEntry, bytes]:
    """A stored file every chain ends at: (its version's ID, its entry, its bytes)."""
    data = os.urandom(3000)
    folder = tmp_path_factory.mktemp("source")
    (folder / "data.bin").write_bytes(data)
    version = api.upload(folder, f"{PROJECT}/source", "dataset")
    return version.id, version.manifest.entries["data.bin"], data


def chain(emu: EmbeddedEmulator, api: Api, source: tuple[str, ManifestEntry, bytes], hops: int) -> str:
    """A version whose `start.bin` reaches the stored file through exactly `hops` references."""
    target_id, stored, _ = source
    target_path = stored.path
    name = ""
    for hop in range(hops, 0, -1):
        path = "start.bin" if hop == 1 else f"hop{hop}.bin"
        entry = ManifestEntry(path, stored.digest, 0, ref=artifact_reference(target_id, target_path))
        name = f"{PROJECT}/chain{hops}-{hop}"
        target_id = seed_version(emu, name, "dataset", Manifest.from_entries([entry]))
        target_path = path
    return f"{name}:v0"


def test_the_limit_is_eight_references(emu: EmbeddedEmulator, api: Api) -> None:
    assert MAX_REFERENCE_HOPS == 8  # the number the docs and the tests below state


@pytest.mark.parametrize("hops", [1, MAX_REFERENCE_HOPS])
def test_a_chain_up_to_the_limit_is_followed(
    emu: EmbeddedEmulator, api: Api, source: tuple[str, ManifestEntry, bytes], tmp_path: Path, hops: int
) -> None:
    name = chain(emu, api, source, hops)
    root = Path(api.artifact(name).download(tmp_path / "sdk", progress=False))
    assert (root / "start.bin").read_bytes() == source[2]

    fs = ArtifactFileSystem(api)
    assert fs.cat_file(f"wandb://{name}/start.bin") == source[2]
    with fs.open(f"wandb://{name}/start.bin") as f:
        assert f.size == len(source[2])  # the target's size, not the 0 the reference records
        assert f.read(100) == source[2][:100]


def test_one_reference_past_the_limit_is_refused(
    emu: EmbeddedEmulator, api: Api, source: tuple[str, ManifestEntry, bytes], tmp_path: Path
) -> None:
    name = chain(emu, api, source, MAX_REFERENCE_HOPS + 1)
    message = f"start.bin: more than {MAX_REFERENCE_HOPS} artifact references in a chain"
    with pytest.raises(errors.DownloadError, match=message):
        api.artifact(name).download(tmp_path / "sdk", progress=False)
    assert not (tmp_path / "sdk" / "start.bin").exists()

    fs = ArtifactFileSystem(api)
    with pytest.raises(OSError, match=message) as caught:
        fs.cat_file(f"wandb://{name}/start.bin")
    assert isinstance(caught.value.__cause__, errors.DownloadError)


def test_a_cycle_is_refused_as_a_cycle(
    emu: EmbeddedEmulator, api: Api, source: tuple[str, ManifestEntry, bytes], tmp_path: Path
) -> None:
    """`a.bin` of A points at `b.bin` of B, which points back at `a.bin` of A."""
    digest = source[1].digest
    placeholder = ManifestEntry("a.bin", digest, 0, ref=artifact_reference(source[0], source[1].path))
    a_id = seed_version(emu, f"{PROJECT}/cycle-a", "dataset", Manifest.from_entries([placeholder]))
    b_entry = ManifestEntry("b.bin", digest, 0, ref=artifact_reference(a_id, "a.bin"))
    b_id = seed_version(emu, f"{PROJECT}/cycle-b", "dataset", Manifest.from_entries([b_entry]))
    looped = ManifestEntry("a.bin", digest, 0, ref=artifact_reference(b_id, "b.bin"))
    manifest_blob_path(emu, a_id).write_bytes(Manifest.from_entries([looped]).to_bytes())  # a server may serve this

    message = r"a\.bin: the artifact references form a cycle .*b\.bin"
    with pytest.raises(errors.DownloadError, match=message):
        api.artifact(f"{PROJECT}/cycle-a:v0").download(tmp_path / "sdk", progress=False)
    fs = ArtifactFileSystem(api)
    with pytest.raises(OSError, match=message):
        fs.cat_file(f"wandb://{PROJECT}/cycle-a:v0/a.bin")
