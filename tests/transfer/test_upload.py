"""Uploads against the emulator: round trips, only missing bytes sent, resumable without a second version."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from artifactkit import Api, errors
from artifactkit._paths import ArtifactPath
from artifactkit.server.embedded import EmbeddedEmulator
from artifactkit.transfer.upload import collect_files
from artifactkit.uploads import upload_version
from tests.conftest import make_api
from tests.transfer.helpers import (
    SlowLink,
    cli_process,
    random_files,
    reset_stats,
    settled_stats,
    tree_bytes,
    wait_for,
    write_tree,
)


def test_upload_then_download_is_byte_identical(api: Api, project: str, tmp_path: Path) -> None:
    files = {
        **random_files(8, 10_000, prefix="nested/dir/"),
        "top.txt": b"hello\n",
        "empty": b"",
        "unicode/d\u00e9j\u00e0 vu.txt": "\u2603".encode(),
    }
    source = write_tree(tmp_path / "src", files)

    artifact = api.upload(source, f"{project}/roundtrip", "dataset", aliases=["best"], tags=["raw"])
    root = Path(api.artifact(f"{project}/roundtrip:best").download(tmp_path / "out", progress=False))

    assert tree_bytes(root) == files
    assert (artifact.version, artifact.file_count, artifact.size) == ("v0", len(files), sum(map(len, files.values())))
    assert sorted(artifact.aliases) == ["best", "latest"] and artifact.tags == ["raw"]
    assert artifact.digest == artifact.manifest.digest()


def test_uploading_identical_files_again_uploads_zero_bytes_and_returns_the_same_version(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path
) -> None:
    source = write_tree(tmp_path / "src", random_files(5, 4000))
    first = api.upload(source, f"{project}/again", "dataset")
    reset_stats(emulator)

    second = api.upload(source, f"{project}/again", "dataset", aliases=["prod"], tags=["checked"])

    stats = settled_stats(emulator)
    assert stats.bytes_in.get("upload", 0) == 0 and stats.requests.get("upload", 0) == 0
    assert (second.id, second.version) == (first.id, "v0")
    assert "prod" in second.aliases and second.tags == ["checked"]  # added to the existing version
    assert "CreateArtifactFiles" not in stats.operations


def test_a_new_version_uploads_only_the_files_the_server_does_not_have(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path
) -> None:
    files = random_files(6, 5000)
    api.upload(write_tree(tmp_path / "v0", files), f"{project}/grow", "dataset")
    added = os.urandom(7000)
    source = write_tree(tmp_path / "v1", {**files, "f003.bin": added, "extra/new.bin": added})
    reset_stats(emulator)

    artifact, sent = api.upload_files(source, f"{project}/grow", "dataset")

    manifest_bytes = len(artifact.manifest.to_bytes())
    assert artifact.version == "v1"
    assert (sent.files, sent.uploaded_files, sent.uploaded_bytes) == (7, 1, 7000)  # one new content, once
    assert settled_stats(emulator).bytes_in["upload"] == 7000 + manifest_bytes


def test_the_producing_run_is_recorded(api: Api, project: str, tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", {"w.bin": os.urandom(100)})
    artifact = api.upload(source, f"{project}/model", "model", run="train-7")
    run = api.artifact(f"{project}/model:v0").logged_by()
    assert run is not None and run.id == "train-7"
    assert artifact.type == "model"


def test_an_upload_killed_midway_is_finished_by_the_next_run_without_a_second_version(
    emulator: EmbeddedEmulator, tmp_path: Path
) -> None:
    files = random_files(12, 256 * 1024)
    source = write_tree(tmp_path / "src", files)
    total = sum(map(len, files.values()))
    reset_stats(emulator)
    with SlowLink(emulator.url, bytes_per_second=1 << 30, upload_bytes_per_second=2 << 20) as link:
        child = cli_process(
            ["put", str(source), "--name", "local/uploads/killed", "--type", "dataset", "--base-url", link.url,
             "--api-key", emulator.api_key, "--workers", "2", "--no-progress"],
            tmp_path / "cache",
        )  # fmt: skip
        wait_for(lambda: emulator.stats.statuses.get("200", 0) >= 8, 60, "a few files were uploaded", child)
        child.send_signal(signal.SIGKILL)
        child.communicate()
    first_run = settled_stats(emulator).bytes_in.get("upload", 0)
    assert 0 < first_run < total
    with make_api(emulator, tmp_path / "cache") as api:
        assert not api.artifact_exists("local/uploads/killed:v0")  # nothing half-committed is visible
        reset_stats(emulator)
        artifact = api.upload(source, "local/uploads/killed", "dataset")
        second_run = settled_stats(emulator).bytes_in["upload"] - len(artifact.manifest.to_bytes())

        assert artifact.version == "v0"  # the pending version was finished, not duplicated
        assert [v.version for v in api.artifacts("dataset", "local/uploads/killed")] == ["v0"]
        assert second_run < total  # what the killed run uploaded was not sent again
        assert tree_bytes(artifact.download(tmp_path / "out", progress=False)) == files
    print(f"\nupload resume: first run sent {first_run} bytes, second {second_run}, of {total}")


def test_a_file_changed_after_hashing_is_refused(api: Api, project: str, tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", {"a.bin": os.urandom(1000), "b.bin": os.urandom(1000)})
    files = collect_files([source])
    (source / "a.bin").write_bytes(os.urandom(1000))  # same size, other bytes
    path = ArtifactPath(*project.split("/"), collection="changing", alias=None)

    # refused by its new mtime before it is sent, or (written within the clock's tick) by the server's MD5 check
    changed = "it was modified since it was listed|changed while uploading: the server got bytes with another MD5"
    with pytest.raises(errors.FileChangedError, match=changed):
        upload_version(api.client, path, "dataset", files)

    (source / "a.bin").write_bytes(b"shorter")
    with pytest.raises(errors.FileChangedError, match="its size changed from 1000 to 7 bytes since it was listed"):
        upload_version(api.client, path, "dataset", files)


def test_bad_upload_inputs_are_refused_before_any_request(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path
) -> None:
    reset_stats(emulator)
    (tmp_path / "empty").mkdir()
    with pytest.raises(errors.UploadError, match="at least one file"):
        api.upload(tmp_path / "empty", f"{project}/nothing", "dataset")
    with pytest.raises(errors.UploadError, match="neither a file nor a directory"):
        api.upload(tmp_path / "missing", f"{project}/nothing", "dataset")
    one = write_tree(tmp_path / "one", {"x.txt": b"1"})
    two = write_tree(tmp_path / "two", {"x.txt": b"2"})
    with pytest.raises(errors.UploadError, match=r"both be stored as 'x\.txt'"):
        api.upload([one, two], f"{project}/nothing", "dataset")
    with pytest.raises(errors.UploadError, match="cannot upload"):
        api.upload({"../up.txt": one / "x.txt"}, f"{project}/nothing", "dataset")
    assert settled_stats(emulator).requests.get("graphql", 0) == 0


def test_unchanged_files_are_not_read_again_to_hash_them(api: Api, project: str, tmp_path: Path) -> None:
    """A second `put` of a large folder hashes only what changed since the first (size and mtime)."""
    files = random_files(4, 3000)
    source = write_tree(tmp_path / "src", files)
    first, sent_first = api.upload_files(source, f"{project}/memo", "dataset")
    assert sent_first.checksums_reused == 0

    again, sent_again = api.upload_files(source, f"{project}/memo", "dataset")
    assert (sent_again.existing_version, sent_again.checksums_reused) == (True, 4)
    assert again.id == first.id

    changed = os.urandom(3000)
    (source / "f001.bin").write_bytes(changed)
    newer, sent_newer = api.upload_files(source, f"{project}/memo", "dataset")
    assert (newer.version, sent_newer.checksums_reused, sent_newer.uploaded_bytes) == ("v1", 3, 3000)
    root = Path(api.artifact(f"{project}/memo:v1").download(tmp_path / "out", progress=False))
    assert tree_bytes(root) == {**files, "f001.bin": changed}


def test_files_a_download_wrote_are_uploaded_without_hashing(api: Api, project: str, tmp_path: Path) -> None:
    """Private copies (`skip_cache=True`) are remembered by the download; links are known by inode only."""
    files = random_files(3, 2000)
    api.upload(write_tree(tmp_path / "src", files), f"{project}/fetched", "dataset")
    root = Path(api.artifact(f"{project}/fetched:v0").download(tmp_path / "root", progress=False, skip_cache=True))

    copy, sent = api.upload_files(root, f"{project}/copy", "dataset")

    assert sent.checksums_reused == 3
    assert tree_bytes(Path(copy.download(tmp_path / "back", progress=False))) == files
