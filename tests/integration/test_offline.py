"""Offline use: names, manifests and files from the cache, typed errors for the rest, nothing sent.

Networking is proved off by an audit hook in a child process (`OFFLINE_CHILD`): any
`socket.connect` or `socket.getaddrinfo` there raises, so a request could not even start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from artifactkit import Api
from artifactkit.errors import ArtifactkitError, NotCachedError, OfflineError
from artifactkit.server.embedded import EmbeddedEmulator
from tests.conftest import make_api
from tests.transfer.helpers import reset_stats, settled_stats, tree_bytes, write_tree

pytestmark = pytest.mark.timeout(120)

FILES = {"a.txt": b"alpha\n", "sub/b.bin": b"\x00\x01" * 100}

# Runs with networking forbidden: the audit hook refuses every connect and name lookup.
OFFLINE_CHILD = """
import json, os, sys

def refuse(event, args):
    if event in ("socket.connect", "socket.getaddrinfo"):
        raise OSError(f"network used offline: {event} {args!r}")

sys.addaudithook(refuse)
from artifactkit import Api
from artifactkit.errors import NotCachedError

name, root, cache, base_url = sys.argv[1:5]
with Api(base_url=base_url, cache_dir=cache) as api:  # offline from WANDB_MODE
    try:
        version = api.artifact(name)
        version.download(root)
        version.verify(root)
    except NotCachedError as exc:
        print(json.dumps({"error": type(exc).__name__, "missing": list(exc.missing)}))
        sys.exit(0)
    print(json.dumps({"name": version.qualified_name, "aliases": version.aliases,
                      "metadata": version.metadata, "files": sorted(f.name for f in version.files()),
                      "seen_at": version.seen_at.isoformat()}))
"""


def _offline_child(emulator: EmbeddedEmulator, name: str, root: Path, cache: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(WANDB_MODE="offline", PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    done = subprocess.run(
        [sys.executable, "-c", OFFLINE_CHILD, name, str(root), str(cache), emulator.url],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _seed(api: Api, tmp_path: Path, name: str, files: dict[str, bytes] = FILES, **kwargs: object) -> None:
    source = write_tree(tmp_path / f"src-{len(list(tmp_path.iterdir()))}", files)
    api.upload(source, name, "dataset", **kwargs)  # type: ignore[arg-type]


def test_a_cached_version_downloads_with_networking_disabled(
    emulator: EmbeddedEmulator, project: str, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    with make_api(emulator, cache) as api:
        _seed(api, tmp_path, f"{project}/data", metadata={"rows": 2}, aliases=["best"])
        api.artifact(f"{project}/data:best").download(tmp_path / "online")
    reset_stats(emulator)
    found = _offline_child(emulator, f"{project}/data:best", tmp_path / "offline", cache)
    assert found["name"] == f"{project}/data:v0"
    assert set(found["aliases"]) == {"best", "latest"}  # type: ignore[arg-type]
    assert found["metadata"] == {"rows": 2}
    assert found["files"] == sorted(FILES)
    assert tree_bytes(tmp_path / "offline") == FILES
    assert sum(settled_stats(emulator).requests.values()) == 0  # the server heard nothing


def test_an_uncached_version_fails_fast_and_typed(emulator: EmbeddedEmulator, project: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with make_api(emulator, cache) as api:
        _seed(api, tmp_path, f"{project}/data")
        api.artifact(f"{project}/data:latest")  # seen, but its manifest and files never fetched
    found = _offline_child(emulator, f"{project}/data:latest", tmp_path / "out", cache)
    assert found == {"error": "NotCachedError", "missing": [f"manifest of {project}/data:v0"]}
    never = _offline_child(emulator, f"{project}/other:v0", tmp_path / "out", cache)
    assert never == {"error": "NotCachedError", "missing": [f"{project}/other:v0"]}
    assert not (tmp_path / "out").exists()  # nothing written


def test_files_missing_from_the_cache_are_named_before_anything_is_written(
    emulator: EmbeddedEmulator, project: str, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    with make_api(emulator, cache) as api:
        _seed(api, tmp_path, f"{project}/data")
        api.artifact(f"{project}/data").download(tmp_path / "online", include=["a.txt"])
    with make_api(emulator, cache, offline=True) as offline:
        version = offline.artifact(f"{project}/data")
        with pytest.raises(NotCachedError) as caught:
            version.download(tmp_path / "offline")
        assert caught.value.missing == ("sub/b.bin",)
        assert not (tmp_path / "offline").exists()
        assert version.download(tmp_path / "part", include=["a.txt"]) == str(tmp_path / "part")
    assert tree_bytes(tmp_path / "part") == {"a.txt": FILES["a.txt"]}


def test_an_alias_that_moved_online_shows_when_it_was_last_seen(
    emulator: EmbeddedEmulator, project: str, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    with make_api(emulator, cache) as api:
        _seed(api, tmp_path, f"{project}/data", aliases=["best"])
        api.artifact(f"{project}/data:best").download(tmp_path / "v0")
    seen_before = datetime.now(UTC)
    time.sleep(0.01)
    with make_api(emulator, tmp_path / "other-cache") as elsewhere:  # another machine moves the alias
        _seed(elsewhere, tmp_path, f"{project}/data", {"a.txt": b"new\n"}, aliases=["best"])
    with make_api(emulator, cache, offline=True) as offline:
        best = offline.artifact(f"{project}/data:best")
        assert best.version == "v0"  # as last seen: this cache never saw the move
        assert best.seen_at is not None and best.seen_at <= seen_before
        assert set(best.aliases_seen_at) == {"best", "latest"}
        assert best.aliases_seen_at["best"] == best.seen_at
    with make_api(emulator, cache) as api:
        assert api.artifact(f"{project}/data:best").version == "v1"  # online: the move is seen...
    with make_api(emulator, cache, offline=True) as offline:
        moved = offline.artifact(f"{project}/data:best")
        assert moved.version == "v1" and moved.seen_at is not None and moved.seen_at > seen_before  # ...and kept


def test_by_id_and_by_digest_offline(emulator: EmbeddedEmulator, project: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with make_api(emulator, cache) as api:
        _seed(api, tmp_path, f"{project}/data")
        online = api.artifact(f"{project}/data:v0")
        online.download(tmp_path / "online")
    with make_api(emulator, cache, offline=True) as offline:
        by_id = offline.artifact(online.id)
        by_digest = offline.artifact(f"{project}/data:{online.digest}")
        assert by_id.qualified_name == by_digest.qualified_name == f"{project}/data:v0"
        assert by_id.manifest.digest() == online.digest
        by_id.verify(tmp_path / "online")
        assert not offline.diff(f"{project}/data:v0", online.id, files_only=True)


def test_what_needs_the_server_is_refused_before_anything_is_sent(
    emulator: EmbeddedEmulator, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    reset_stats(emulator)
    with Api(base_url=emulator.url, cache_dir=tmp_path / "cache") as offline:  # no key needed offline
        assert offline.offline
        calls = [
            lambda: offline.upload(write_tree(tmp_path / "src", FILES), f"{project}/data", "dataset"),
            lambda: list(offline.artifact_collections(project, "dataset")),
            lambda: list(offline.artifacts("dataset", f"{project}/data")),
            lambda: offline.capabilities.operations,
        ]
        for call in calls:
            with pytest.raises(OfflineError) as caught:
                call()
            assert not isinstance(caught.value, NotCachedError)
            assert "offline" in str(caught.value)
    assert sum(settled_stats(emulator).requests.values()) == 0
    monkeypatch.setenv("WANDB_MODE", "online")
    with make_api(emulator, tmp_path / "cache") as online:
        assert not online.offline
    with make_api(emulator, tmp_path / "cache", offline=False) as forced:
        monkeypatch.setenv("WANDB_MODE", "disabled")
        assert not forced.offline  # the argument wins over WANDB_MODE


def test_errors_are_of_the_package_tree() -> None:
    assert issubclass(NotCachedError, OfflineError) and issubclass(OfflineError, ArtifactkitError)
    assert issubclass(NotCachedError, LookupError)


def test_concurrent_processes_share_the_index(emulator: EmbeddedEmulator, project: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with make_api(emulator, cache) as api:
        for index in range(3):
            _seed(api, tmp_path, f"{project}/c{index}", {"x.txt": f"{index}".encode()})
    script = (
        "import sys; from artifactkit import Api\n"
        "with Api(api_key=sys.argv[1], base_url=sys.argv[2], cache_dir=sys.argv[3]) as api:\n"
        "    for _ in range(5): api.artifact(sys.argv[4])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script, emulator.api_key, emulator.url, str(cache), f"{project}/c{index}"], env=env
        )
        for index in range(3)
    ]
    assert [child.wait(timeout=60) for child in children] == [0, 0, 0]
    with make_api(emulator, cache, offline=True) as offline:
        assert [offline.artifact(f"{project}/c{i}").version for i in range(3)] == ["v0", "v0", "v0"]
