"""Reference entries: http(s) targets are fetched and checked against their ETag; other schemes are refused."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from artifactkit import Api, errors
from artifactkit.manifest import ManifestEntry
from artifactkit.server.embedded import EmbeddedEmulator
from tests.transfer.helpers import ReferenceOrigin, reset_stats, settled_stats, tree_bytes, write_tree


@pytest.fixture
def origin() -> Iterator[ReferenceOrigin]:
    with ReferenceOrigin() as server:
        yield server


def log_version(api: Api, project: str, name: str, tmp: Path, references: list[ManifestEntry]) -> str:
    """A version with one stored file plus `references`, through the public upload call."""
    source = write_tree(tmp / f"src-{name}", {"stored.txt": os.urandom(64)})
    return api.upload(source, f"{project}/{name}", "dataset", references=references).qualified_name


def http_reference(path: str, url: str, data: bytes, etag: str | None) -> ManifestEntry:
    """What W&B records for an http reference: the ETag as digest (the URL itself when there is none)."""
    return ManifestEntry(
        path=path,
        digest=etag if etag is not None else url,
        size=len(data),
        ref=url,
        extra={"etag": f'"{etag}"'} if etag is not None else {},
    )


def test_an_http_reference_is_downloaded_checked_and_cached(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path, origin: ReferenceOrigin
) -> None:
    data = os.urandom(5000)
    url = origin.put("/data/table.csv", data, etag="v1-abc")
    name = log_version(api, project, "refs", tmp_path, [http_reference("external/table.csv", url, data, "v1-abc")])
    artifact = api.artifact(name)

    root = Path(artifact.download(tmp_path / "out", progress=False))

    assert (root / "external" / "table.csv").read_bytes() == data
    artifact.verify(root)
    assert origin.requests == ["/data/table.csv"]
    again = Path(api.artifact(name).download(tmp_path / "again", progress=False))  # from the cache, by URL + ETag
    assert (again / "external" / "table.csv").read_bytes() == data
    assert origin.requests == ["/data/table.csv"]


def test_a_reference_whose_etag_changed_is_refused_and_not_written(
    api: Api, project: str, tmp_path: Path, origin: ReferenceOrigin
) -> None:
    data = os.urandom(100)
    url = origin.put("/moving.bin", data, etag="first")
    name = log_version(api, project, "moved", tmp_path, [http_reference("moving.bin", url, data, "first")])
    origin.put("/moving.bin", os.urandom(100), etag="second")  # the target changed after logging

    with pytest.raises(errors.DigestMismatchError, match="second") as caught:
        api.artifact(name).download(tmp_path / "out", progress=False)

    assert caught.value.path == "moving.bin"
    assert not (tmp_path / "out" / "moving.bin").exists()
    assert (tmp_path / "out" / "stored.txt").exists()  # the other files are fine and in place


def test_a_reference_logged_without_an_etag_is_downloaded_unchecked(
    api: Api, project: str, tmp_path: Path, origin: ReferenceOrigin
) -> None:
    data = b"no etag here"
    url = origin.put("/plain.txt", data, etag=None)
    name = log_version(api, project, "plain", tmp_path, [http_reference("plain.txt", url, data, None)])

    root = Path(api.artifact(name).download(tmp_path / "out", progress=False))

    assert (root / "plain.txt").read_bytes() == data


def test_a_reference_target_that_is_gone_is_a_typed_error(
    api: Api, project: str, tmp_path: Path, origin: ReferenceOrigin
) -> None:
    name = log_version(
        api, project, "gone", tmp_path, [http_reference("gone.txt", f"{origin.url}/gone.txt", b"x", "e")]
    )
    with pytest.raises(errors.DownloadError, match="HTTP 404") as caught:
        api.artifact(name).download(tmp_path / "out", progress=False)
    assert caught.value.path == "gone.txt"


@pytest.mark.parametrize("ref", ["s3://bucket/key.bin", "gs://bucket/key.bin", "file:///etc/passwd"])
def test_references_to_other_storage_are_refused_before_anything_is_written(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path, ref: str
) -> None:
    entry = ManifestEntry(path="remote/key.bin", digest="etag-1", size=10, ref=ref)
    name = log_version(api, project, "elsewhere", tmp_path, [entry])
    reset_stats(emulator)

    with pytest.raises(errors.UnsupportedReferenceError, match=ref.split(":")[0]) as caught:
        api.artifact(name).download(tmp_path / "out", progress=False)

    assert caught.value.path == "remote/key.bin"
    assert isinstance(caught.value, errors.UnsupportedError)
    assert not (tmp_path / "out").exists()
    assert settled_stats(emulator).requests["blob"] == 1  # only the manifest
    # Leaving it out works:
    root = Path(api.artifact(name).download(tmp_path / "rest", include=["stored.txt"], progress=False))
    assert list(tree_bytes(root)) == ["stored.txt"]
