"""Findings 10 and 12, the SDK and CLI against a hostile server or a hostile tree.

10: manifest paths the file system cannot hold are typed errors (exit 6), never a bare OSError.
12: `put DIR` does not follow symlinks out of DIR unless asked, and says what it skipped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from artifactkit import Api, errors
from artifactkit.cli import main as cli_main
from artifactkit.server.embedded import EmbeddedEmulator
from tests.transfer.helpers import manifest_blob_path, write_tree


@pytest.fixture
def api(emu: EmbeddedEmulator, tmp_path: Path) -> Iterator[Api]:
    with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path / "cache") as client:
        yield client


def entry(data: bytes) -> dict[str, object]:
    import base64
    import hashlib

    return {"digest": base64.b64encode(hashlib.md5(data).digest()).decode(), "size": len(data)}


def serve_manifest(emu: EmbeddedEmulator, artifact_id: str, contents: dict[str, dict[str, object]]) -> None:
    """Play a compromised server: the stored manifest now lists `contents`."""
    document = {"version": 1, "storagePolicy": "wandb-storage-policy-v1", "contents": contents}
    manifest_blob_path(emu, artifact_id).write_text(json.dumps(document))


@pytest.mark.parametrize(
    "evil_path",
    [
        "x" * 5000,  # one component of 5,000 bytes
        "/".join(["d" * 200] * 30),  # 6,000 bytes in all
        "/".join(["d" * 250] * 15) + "/f",  # under the 4,096-byte limit, over PATH_MAX once under the root
    ],
    ids=["long component", "long path", "long under the root"],
)
def test_a_path_the_file_system_cannot_hold_is_a_typed_error(
    emu: EmbeddedEmulator, api: Api, tmp_path: Path, evil_path: str
) -> None:
    good = os.urandom(64)
    source = write_tree(tmp_path / "src", {"good.txt": good})
    artifact = api.upload(source, "local/sdk10/evil", "dataset")
    serve_manifest(emu, artifact.id, {"good.txt": entry(good), evil_path: entry(good)})
    root = tmp_path / ("r" * 250) / ("r" * 250) / "root"

    with pytest.raises(errors.UnsafePathError) as caught:
        api.artifact("local/sdk10/evil:latest").download(root, progress=False)
    assert caught.value.path == evil_path
    assert not root.exists() or not any(root.iterdir())

    code = cli_main(
        ["get", "local/sdk10/evil:latest", "--root", str(root), "--base-url", emu.url, "--api-key", emu.api_key]
    )
    assert code == 6


def test_put_skips_symlinks_that_leave_the_folder(
    emu: EmbeddedEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not for upload")
    folder = write_tree(tmp_path / "folder", {"a.txt": b"a", "sub/b.txt": b"b"})
    (folder / "leak.txt").symlink_to(secret)
    (folder / "inside.txt").symlink_to(folder / "a.txt")  # a link within the tree is fine
    (folder / "dangling.txt").symlink_to(tmp_path / "nowhere")
    base = ["--base-url", emu.url, "--api-key", emu.api_key]

    assert cli_main(["put", str(folder), "--name", "local/sdk12/data", "--type", "dataset", "--json", *base]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(Path(p).name for p in report["skipped_symlinks"]) == ["dangling.txt", "leak.txt"]
    with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path / "cache") as api:
        paths = sorted(e.path for e in api.artifact("local/sdk12/data:latest").manifest)
        assert paths == ["a.txt", "inside.txt", "sub/b.txt"]

    (folder / "dangling.txt").unlink()
    assert (
        cli_main(
            ["put", str(folder), "--name", "local/sdk12/followed", "--type", "dataset", "--follow-symlinks", *base]
        )
        == 0
    )
    with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path / "cache") as api:
        paths = sorted(e.path for e in api.artifact("local/sdk12/followed:latest").manifest)
        assert paths == ["a.txt", "inside.txt", "leak.txt", "sub/b.txt"]
