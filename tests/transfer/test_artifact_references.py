"""`wandb-artifact://` entries downloaded as the stored files they point at: verified, cached by content."""

from __future__ import annotations

from pathlib import Path

import pytest

from artifactkit import Api, errors
from artifactkit.manifest import Manifest, ManifestEntry, artifact_reference
from artifactkit.server.embedded import EmbeddedEmulator
from tests.fs.support import seed_version
from tests.integration.support import upload
from tests.transfer.helpers import blob_path, reset_stats, settled_stats


def holder(emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A source version with two files, and a holder whose entries reference them (one through a chain)."""
    files = {"tables/a.csv": "a,b\n1,2\n" * 300, "tables/b.csv": "b only\n"}
    source = upload(api, tmp_path, f"{project}/source", files=files)
    a, b = source.manifest.entries["tables/a.csv"], source.manifest.entries["tables/b.csv"]
    first = ManifestEntry("first.csv", a.digest, 0, ref=artifact_reference(source.id, "tables/a.csv"))
    seed_version(emulator, f"{project}/middle", "dataset", Manifest.from_entries([first]))
    middle = api.artifact(f"{project}/middle:v0")
    entries = [
        ManifestEntry("linked/a.csv", a.digest, 0, ref=artifact_reference(source.id, "tables/a.csv")),
        ManifestEntry("linked/b.csv", b.digest, 0, ref=artifact_reference(source.id, "tables/b.csv")),
        ManifestEntry("chained.csv", a.digest, 0, ref=artifact_reference(middle.id, "first.csv")),
    ]
    seed_version(emulator, f"{project}/holder", "dataset", Manifest.from_entries(entries))
    return f"{project}/holder:v0", files


def test_references_download_as_the_files_they_point_at(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path
) -> None:
    name, files = holder(emulator, api, project, tmp_path)
    reset_stats(emulator)
    root = Path(api.artifact(name).download(tmp_path / "out", progress=False))
    assert (root / "linked" / "a.csv").read_text() == files["tables/a.csv"]
    assert (root / "linked" / "b.csv").read_text() == files["tables/b.csv"]
    assert (root / "chained.csv").read_text() == files["tables/a.csv"]
    stats = settled_stats(emulator)
    assert stats.operations["ArtifactByID"] == 2  # the source and the middle version, once each
    # the holder's and the middle's manifests (the source's is in the cache since `holder()` read it),
    # and the two distinct contents: a.csv is fetched once for its two paths
    assert stats.requests["blob"] == 2 + 2
    # the bytes are cached by content: the source version itself now downloads without a blob request
    reset_stats(emulator)
    api.artifact(f"{project}/source:v0").download(tmp_path / "source", progress=False)
    assert settled_stats(emulator).requests["blob"] == 0


def test_referenced_bytes_are_verified(emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path) -> None:
    name, files = holder(emulator, api, project, tmp_path)
    blob = blob_path(emulator, files["tables/b.csv"].encode())
    blob.write_bytes(b"B ONLY\n")
    try:
        with pytest.raises(errors.DigestMismatchError):
            api.artifact(name).download(tmp_path / "out", include=["linked/b.csv"], progress=False)
        assert not (tmp_path / "out" / "linked" / "b.csv").exists()
    finally:
        blob.write_bytes(files["tables/b.csv"].encode())


def test_a_dangling_reference_says_what_is_missing(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path
) -> None:
    source = upload(api, tmp_path, f"{project}/source", files={"x.txt": "x"})
    digest = source.manifest.entries["x.txt"].digest
    dangling = ManifestEntry("gone.txt", digest, 0, ref=artifact_reference(source.id, "not/there.txt"))
    seed_version(emulator, f"{project}/dangling", "dataset", Manifest.from_entries([dangling]))
    with pytest.raises(errors.NotFoundError, match=r"not/there\.txt"):
        api.artifact(f"{project}/dangling:v0").download(tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
