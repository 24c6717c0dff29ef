"""Downloads against the emulator over real HTTP: complete, verified, cached, and no more requests than needed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from artifactkit import Api, errors
from artifactkit.server.embedded import EmbeddedEmulator
from artifactkit.transfer.cache import Cache
from tests.conftest import make_api
from tests.transfer.helpers import blob_path, random_files, reset_stats, settled_stats, tree_bytes, write_tree


def upload(api: Api, tmp: Path, name: str, files: dict[str, bytes], **kwargs: object) -> None:
    source = write_tree(tmp / f"src-{name.replace('/', '-')}", files)
    api.upload(source, name, "dataset", **kwargs)  # type: ignore[arg-type]


def test_downloads_a_multi_file_artifact_and_verifies_it(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path
) -> None:
    same = os.urandom(3000)
    files = {
        **random_files(12, 2048, prefix="images/"),
        "deep/er/still/labels.csv": os.urandom(700),
        "empty.txt": b"",
        "copy-a.bin": same,  # two paths, one content: fetched once
        "copy-b.bin": same,
    }
    upload(api, tmp_path, f"{project}/multi", files)
    artifact = api.artifact(f"{project}/multi:v0")
    reset_stats(emulator)

    root = Path(artifact.download(tmp_path / "out", progress=False))

    assert tree_bytes(root) == files
    artifact.verify(root)
    stats = settled_stats(emulator)
    assert stats.operations["ArtifactManifestUrl"] == 1
    assert stats.operations["MembershipFileUrls"] == 1  # every URL in one request
    distinct_non_empty = 12 + 1 + 1
    assert stats.requests["blob"] == distinct_non_empty + 1  # + the manifest; nothing for the empty file


def test_a_cached_redownload_fetches_no_bytes_and_asks_only_for_the_version(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path
) -> None:
    files = random_files(20, 1500)
    upload(api, tmp_path, f"{project}/cached", files)
    api.artifact(f"{project}/cached:v0").download(tmp_path / "first", progress=False)

    reset_stats(emulator)
    with make_api(emulator, tmp_path / "cache") as fresh:  # a new process would look the same
        artifact = fresh.artifact(f"{project}/cached:v0")
        root = Path(artifact.download(tmp_path / "second", progress=False))

    assert tree_bytes(root) == files
    settled_stats(emulator)
    assert emulator.stats.requests.get("blob", 0) == 0
    assert emulator.stats.bytes_out.get("blob", 0) == 0
    # The lookup, nothing else: the capability probe's answer is kept in the same cache (_probe_cache).
    assert dict(emulator.stats.operations) == {"ArtifactMembershipByName": 1}


def test_a_file_already_in_place_is_not_rewritten_and_a_changed_one_is_replaced(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path
) -> None:
    files = random_files(3, 1000)
    upload(api, tmp_path, f"{project}/inplace", files)
    artifact = api.artifact(f"{project}/inplace:v0")
    root = artifact.download_files(tmp_path / "out", progress=False).root
    kept = root / "f000.bin"
    before = kept.stat()
    (root / "f001.bin").write_bytes(b"edited by hand")  # the user's own file: writable, and nothing else changes

    result = artifact.download_files(root, progress=False)

    assert {f.path: f.action for f in result.files} == {"f000.bin": "keep", "f001.bin": "cache", "f002.bin": "keep"}
    after = kept.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert tree_bytes(root) == files


def test_path_prefix_and_globs_select_files(api: Api, project: str, tmp_path: Path) -> None:
    files = {"train/a.csv": b"a", "train/b.txt": b"b", "test/c.csv": b"c", "trainer.py": b"d"}
    upload(api, tmp_path, f"{project}/select", files)
    artifact = api.artifact(f"{project}/select:v0")

    assert tree_bytes(artifact.download(tmp_path / "prefix", path_prefix="train/", progress=False)) == {
        "train/a.csv": b"a",
        "train/b.txt": b"b",
    }
    assert tree_bytes(artifact.download(tmp_path / "glob", include=["*.csv"], progress=False)) == {
        "train/a.csv": b"a",
        "test/c.csv": b"c",
    }
    both = Path(artifact.download(tmp_path / "both", path_prefix="train", include=["*.csv", "*.py"], progress=False))
    assert tree_bytes(both) == {"train/a.csv": b"a", "trainer.py": b"d"}


def test_a_dry_run_lists_what_would_be_fetched_and_what_is_cached_and_writes_nothing(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path
) -> None:
    files = random_files(4, 500)
    upload(api, tmp_path, f"{project}/dry", files)
    artifact = api.artifact(f"{project}/dry:v0")
    artifact.download(tmp_path / "seen", path_prefix="f00", include=["*0.bin", "*1.bin"], progress=False)
    existing = write_tree(tmp_path / "out", {"f002.bin": files["f002.bin"]})
    cache = Cache(tmp_path / "cache")
    objects_before = cache.info().objects
    reset_stats(emulator)

    result = artifact.download_files(existing, dry_run=True)  # the api's cache is tmp_path / 'cache'

    assert {f.path: f.action for f in result.files} == {
        "f000.bin": "cache",
        "f001.bin": "cache",
        "f002.bin": "keep",
        "f003.bin": "fetch",
    }
    assert tree_bytes(existing) == {"f002.bin": files["f002.bin"]}
    assert cache.info().objects == objects_before
    stats = settled_stats(emulator)
    assert stats.requests.get("blob", 0) == 0 and "MembershipFileUrls" not in stats.operations
    assert not artifact.download_files(tmp_path / "never", dry_run=True).root.exists()


def test_url_requests_are_batched_and_bounded(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = random_files(35, 100)
    upload(api, tmp_path, f"{project}/batched", files)
    monkeypatch.setenv("ARTIFACTKIT_FILE_URL_BATCH_SIZE", "10")
    reset_stats(emulator)

    api.artifact(f"{project}/batched:v0").download(tmp_path / "all", progress=False)
    assert settled_stats(emulator).operations["MembershipFileUrls"] == 4  # 35 files, pages of 10

    reset_stats(emulator)  # a few files, not cached: asked for by name, in one request
    api.artifact(f"{project}/batched:v0").download(tmp_path / "few", path_prefix="f00", skip_cache=True, progress=False)
    assert settled_stats(emulator).operations["MembershipFileUrls"] == 1
    log = [e for e in emulator.stats.graphql_log if e.get("operationName") == "MembershipFileUrls"]
    assert len(log[0]["variables"]["names"]) == 10


def test_a_file_the_server_lost_fails_with_a_typed_error_naming_it(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path
) -> None:
    files = random_files(3, 800)
    upload(api, tmp_path, f"{project}/lost", files)
    blob_path(emulator, files["f001.bin"]).unlink()

    with pytest.raises(errors.DownloadError, match=r"f001\.bin") as caught:
        api.artifact(f"{project}/lost:v0").download(tmp_path / "out", progress=False)

    assert caught.value.path == "f001.bin"
    assert "404" in str(caught.value)
    assert tree_bytes(tmp_path / "out") == {k: v for k, v in files.items() if k != "f001.bin"}


def test_max_workers_is_checked(api: Api, project: str, tmp_path: Path) -> None:
    upload(api, tmp_path, f"{project}/workers", {"a": b"a"})
    artifact = api.artifact(f"{project}/workers:v0")
    with pytest.raises(ValueError, match="max_workers"):
        artifact.download(tmp_path / "out", max_workers=0)
    assert tree_bytes(artifact.download(tmp_path / "one", max_workers=1, progress=False)) == {"a": b"a"}


def test_a_single_file_downloads_verified_and_never_overwrites_a_different_file_unasked(
    api: Api, project: str, tmp_path: Path
) -> None:
    files = {"dir/a.bin": os.urandom(3000), "b.bin": os.urandom(10)}
    upload(api, tmp_path, f"{project}/single", files)
    [a_file] = [f for f in api.artifact(f"{project}/single:v0").files() if f.name == "dir/a.bin"]

    path = a_file.download_path(tmp_path / "out")
    assert path == (tmp_path / "out" / "dir" / "a.bin").resolve() and path.read_bytes() == files["dir/a.bin"]
    stamp = path.stat().st_mtime_ns
    assert a_file.download_path(tmp_path / "out").stat().st_mtime_ns == stamp  # identical: left alone

    path.write_bytes(b"my own edits")
    with pytest.raises(errors.DownloadError, match="replace=True"):
        a_file.download_path(tmp_path / "out")
    assert path.read_bytes() == b"my own edits"
    assert a_file.download_path(tmp_path / "out", replace=True).read_bytes() == files["dir/a.bin"]


def test_verify_reports_missing_changed_and_extra_files(api: Api, project: str, tmp_path: Path) -> None:
    files = random_files(4, 100)
    upload(api, tmp_path, f"{project}/verify", files)
    artifact = api.artifact(f"{project}/verify:v0")
    root = Path(artifact.download(tmp_path / "out", progress=False))
    artifact.verify(root)
    (root / "f000.bin").unlink()
    (root / "f001.bin").write_bytes(os.urandom(100))  # same size, other bytes
    (root / "f002.bin").write_bytes(b"short")
    (root / "stray.txt").write_text("not part of it")

    with pytest.raises(errors.DigestMismatchError) as caught:
        artifact.verify(root)

    message = str(caught.value)
    for expected in (
        "f000.bin: missing",
        "f001.bin: content does not match",
        "f002.bin: 5 bytes, the manifest says 100",
        "stray.txt: not in the manifest",
    ):
        assert expected in message
    assert "f003.bin" not in message


def test_downloads_work_against_both_server_personalities(
    any_emulator: EmbeddedEmulator, any_api: Api, project: str, tmp_path: Path
) -> None:
    files = random_files(3, 500, prefix="d/")
    upload(any_api, tmp_path, f"{project}/personality", files)
    root = Path(any_api.artifact(f"{project}/personality:latest").download(tmp_path / "out", progress=False))
    assert tree_bytes(root) == files


def test_a_url_batch_the_server_refuses_as_too_large_is_asked_for_in_halves(tmp_path: Path) -> None:
    names = {f"{'n' * 150}-{i:02d}.bin": os.urandom(64) for i in range(60)}
    with EmbeddedEmulator(tmp_path / "server") as roomy, make_api(roomy, tmp_path / "seed") as api:
        upload(api, tmp_path, "local/strict/long-names", names)
    # The same data, served by an emulator that refuses request bodies over 4,000 bytes.
    with EmbeddedEmulator(tmp_path / "server", max_body_bytes=4000) as strict, make_api(strict, tmp_path / "c") as api:
        artifact = api.artifact("local/strict/long-names:v0")
        wanted = sorted(names)[:29]  # under half: asked for by name, about 4.6 kB of names
        reset_stats(strict)
        root = Path(artifact.download(tmp_path / "out", include=wanted, progress=False))
        stats = settled_stats(strict)

    assert tree_bytes(root) == {name: names[name] for name in wanted}
    assert stats.statuses["413"] == 1  # the first batch was too large ...
    assert stats.operations["MembershipFileUrls"] == 3  # ... then 14 + 14 + 1 names


def test_a_version_fetched_through_a_portfolio_link_downloads_the_same_bytes(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path
) -> None:
    files = random_files(3, 700)
    upload(api, tmp_path, f"{project}/source", files)
    api.artifact(f"{project}/source:v0").link(f"{project}/registry", aliases=["prod"])
    linked = api.artifact(f"{project}/registry:prod")
    assert linked.is_link
    reset_stats(emulator)

    root = Path(linked.download(tmp_path / "out", skip_cache=True, progress=False))

    assert tree_bytes(root) == files
    log = [e for e in settled_stats(emulator).graphql_log if e.get("operationName") == "MembershipFileUrls"]
    assert [e["variables"]["collection"] for e in log] == ["registry"]  # asked through the link


def test_artifact_download_dry_run_returns_the_plan(api: Api, project: str, tmp_path: Path) -> None:
    files = random_files(3, 200)
    upload(api, tmp_path, f"{project}/planned", files)
    artifact = api.artifact(f"{project}/planned:v0")
    write_tree(tmp_path / "out", {"f000.bin": files["f000.bin"]})
    plan = artifact.download(tmp_path / "out", dry_run=True)
    assert plan.dry_run and plan.bytes_fetched == 0
    assert {f.path: f.action for f in plan.files} == {"f000.bin": "keep", "f001.bin": "fetch", "f002.bin": "fetch"}
    assert tree_bytes(tmp_path / "out") == {"f000.bin": files["f000.bin"]}  # nothing written
