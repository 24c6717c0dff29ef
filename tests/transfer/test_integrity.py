"""A broken or hostile server: wrong bytes and malicious manifests are refused, and nothing bad is written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from artifactkit import Api, errors
from artifactkit.server.embedded import EmbeddedEmulator
from artifactkit.transfer.cache import Cache
from artifactkit.transfer.fetch import ATTEMPTS
from tests.transfer.helpers import (
    blob_path,
    manifest_blob_path,
    md5_hex,
    random_files,
    reset_stats,
    settled_stats,
    tree_bytes,
    write_tree,
)


def upload(api: Api, tmp: Path, name: str, files: dict[str, bytes]) -> str:
    source = write_tree(tmp / f"src-{name.replace('/', '-')}", files)
    return api.upload(source, name, "dataset").id


def partial_files(cache_root: Path) -> list[Path]:
    return sorted((cache_root / "partial").glob("*")) if (cache_root / "partial").exists() else []


@pytest.mark.parametrize("damage", ["same-size", "truncated", "longer"])
def test_wrong_bytes_from_the_server_raise_a_typed_error_and_never_reach_the_destination(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path, damage: str
) -> None:
    files = random_files(3, 4096)
    upload(api, tmp_path, f"{project}/corrupt", files)
    artifact = api.artifact(f"{project}/corrupt:v0")
    root = Path(artifact.download(tmp_path / "out", skip_cache=True, progress=False))  # a good copy first
    (root / "f001.bin").write_bytes(b"an older local edit")  # to be refreshed, but not with bad bytes
    before = tree_bytes(root)
    good = files["f001.bin"]
    broken = {"same-size": bytes(b ^ 0xFF for b in good), "truncated": good[:1000], "longer": good + b"x" * 10}
    blob_path(emulator, good).write_bytes(broken[damage])
    reset_stats(emulator)

    with pytest.raises(errors.DigestMismatchError, match=r"f001\.bin") as caught:
        artifact.download(root, progress=False)

    assert caught.value.path == "f001.bin"
    assert tree_bytes(root) == before  # the destination is unchanged: no bad or partial file
    cache_root = tmp_path / "cache"
    assert Cache(cache_root).lookup("md5", md5_hex(good), None) is None
    assert partial_files(cache_root) == []  # wrong bytes are not kept for a "resume"
    assert settled_stats(emulator).requests["blob"] >= ATTEMPTS  # retried before giving up


def test_a_blob_gone_bad_after_a_good_download_is_served_from_the_verified_cache(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path
) -> None:
    files = random_files(2, 2048)
    upload(api, tmp_path, f"{project}/later-bad", files)
    api.artifact(f"{project}/later-bad:v0").download(tmp_path / "a", progress=False)
    blob_path(emulator, files["f000.bin"]).write_bytes(b"garbage")

    root = Path(api.artifact(f"{project}/later-bad:v0").download(tmp_path / "b", progress=False))

    assert tree_bytes(root) == files


# --------------------------------------------------------------------------- malicious manifests


def rewrite_manifest(emulator: EmbeddedEmulator, artifact_id: str, contents: dict[str, dict[str, object]]) -> None:
    """Play a compromised server: replace the stored manifest the emulator serves."""
    manifest_blob_path(emulator, artifact_id).write_text(
        json.dumps(
            {
                "version": 1,
                "storagePolicy": "wandb-storage-policy-v1",
                "storagePolicyConfig": {"storageLayout": "V2"},
                "contents": contents,
            }
        )
    )


def entry(data: bytes) -> dict[str, object]:
    import base64
    import hashlib

    return {"digest": base64.b64encode(hashlib.md5(data).digest()).decode(), "size": len(data)}


@pytest.mark.parametrize(
    ("evil_path", "error"),
    [
        ("../escaped.txt", errors.UnsafePathError),
        ("a/../../escaped.txt", errors.UnsafePathError),
        ("/tmp/absolute.txt", errors.UnsafePathError),
        ("a/./b.txt", errors.UnsafePathError),
        ("a//b.txt", errors.UnsafePathError),
        ("..\\escaped.txt", errors.UnsafePathError),
        ("C:/escaped.txt", errors.UnsafePathError),
        ("good.txt/inside.txt", errors.DownloadError),  # a file and a directory of the same name
    ],
)
def test_a_malicious_manifest_is_refused_before_anything_is_written(
    emulator: EmbeddedEmulator,
    api: Api,
    project: str,
    tmp_path: Path,
    evil_path: str,
    error: type[errors.DownloadError],
) -> None:
    good = os.urandom(100)
    artifact_id = upload(api, tmp_path, f"{project}/evil", {"good.txt": good})
    rewrite_manifest(emulator, artifact_id, {"good.txt": entry(good), evil_path: entry(good)})
    work = tmp_path / "work"
    root = work / "root"
    work.mkdir()
    reset_stats(emulator)

    with pytest.raises(error) as caught:
        api.artifact(f"{project}/evil:v0").download(root, progress=False)

    assert caught.value.path == evil_path
    assert list(work.iterdir()) == []  # not even the good file, not even the root
    assert not (tmp_path / "escaped.txt").exists()
    assert settled_stats(emulator).requests["blob"] == 1  # the manifest; no file was fetched


def test_a_symlink_in_the_root_cannot_redirect_writes_outside_it(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path
) -> None:
    files = {"data/a.txt": os.urandom(50), "ok.txt": os.urandom(50)}
    upload(api, tmp_path, f"{project}/symlinked", files)
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    (root / "data").symlink_to(outside)

    with pytest.raises(errors.UnsafePathError, match=r"data/a\.txt"):
        api.artifact(f"{project}/symlinked:v0").download(root, progress=False)

    assert list(outside.iterdir()) == []
    assert sorted(p.name for p in root.iterdir()) == ["data"]


def test_a_symlink_at_a_destination_is_refused(api: Api, project: str, tmp_path: Path) -> None:
    files = {"a.txt": os.urandom(50)}
    upload(api, tmp_path, f"{project}/symlink-dest", files)
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.txt").symlink_to(target)

    with pytest.raises(errors.UnsafePathError, match="symlink"):
        api.artifact(f"{project}/symlink-dest:v0").download(root, progress=False)

    assert target.read_text() == "keep me"


def test_a_manifest_that_is_not_a_manifest_is_a_typed_error(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path
) -> None:
    artifact_id = upload(api, tmp_path, f"{project}/garbled", {"a.txt": b"a"})
    manifest_blob_path(emulator, artifact_id).write_text("<html>not json</html>")

    with pytest.raises(errors.ResponseValidationError, match="invalid manifest"):
        api.artifact(f"{project}/garbled:v0").download(tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_a_server_that_goes_away_is_a_transport_error_and_leaves_nothing_half_written(tmp_path: Path) -> None:
    from artifactkit import RetryPolicy
    from artifactkit.server.embedded import EmulatorProcess

    server = EmulatorProcess(tmp_path / "server").start()
    try:
        quick = RetryPolicy(max_attempts=2, base_delay=0.05, max_delay=0.1, budget=2)
        with Api(api_key=server.api_key, base_url=server.url, cache_dir=tmp_path / "c", retry=quick) as api:
            api.upload(write_tree(tmp_path / "src", random_files(5, 3000)), "local/gone/data", "dataset")
            artifact = api.artifact("local/gone/data:v0")
            artifact.manifest  # noqa: B018
            server.kill()
            with pytest.raises(errors.TransportError):
                artifact.download(tmp_path / "out", progress=False)
    finally:
        server.stop()
    leftovers = [p for p in (tmp_path / "out").rglob("*")] if (tmp_path / "out").exists() else []
    assert leftovers == []
