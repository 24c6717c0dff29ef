"""How files reach a download root: the user's own files by default, links into the cache on request.

Each byte is fetched once and written once into the cache. By default a download root gets
independent files (a reflink where the filesystem has them, else a copy, and copies are
counted); `placement="hardlink"`/`"symlink"` shares the cache object instead. The tests run as
root, so read-only bits protect nothing: what is tested is that nothing a user does to a
downloaded file reaches the cache or another root.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from artifactkit import Api, DownloadResult
from artifactkit.cli import main as cli_main
from artifactkit.errors import DigestMismatchError, DiskFullError, UnsafePathError
from artifactkit.manifest import md5_b64_to_hex
from artifactkit.server.embedded import EmbeddedEmulator
from artifactkit.transfer import fetch
from artifactkit.transfer import place as place_module
from artifactkit.transfer.cache import Cache, md5_of, signed
from artifactkit.transfer.fetch import Source
from artifactkit.transfer.place import Placer
from artifactkit.transfer.plan import DownloadRoot
from tests.conftest import make_api
from tests.transfer.helpers import md5_hex, random_files, reset_stats, settled_stats, tree_bytes, write_tree

BIG = 3 << 20  # streamed through a .part file, not fetched into memory


def cache_object(cache_dir: Path, digest: str) -> Path:
    return Cache(cache_dir).object_path("md5", md5_b64_to_hex(digest))


def reflinks_work(directory: Path) -> bool:
    """Whether this filesystem clones files (FICLONE), found out without artifactkit."""
    a, b = directory / ".probe-a", directory / ".probe-b"
    a.write_bytes(b"x" * 4096)
    try:
        with a.open("rb") as source, b.open("wb") as target:
            fcntl.ioctl(target.fileno(), place_module._FICLONE, source.fileno())
        return True
    except OSError:
        return False
    finally:
        a.unlink()
        b.unlink(missing_ok=True)


def assert_own_files(result: DownloadResult, cache_dir: Path, files: dict[str, bytes]) -> None:
    """Every file is independent of the cache: one link, writable by its owner, not the cache object."""
    for path, data in files.items():
        target = result.root / path
        stat = target.lstat()
        assert stat.st_nlink == 1, f"{path} shares its inode"
        assert stat.st_mode & 0o200, f"{path} is not writable by its owner"
        assert not target.samefile(Cache(cache_dir).object_path("md5", md5_hex(data)))
    assert tree_bytes(result.root) == files


def test_a_downloaded_file_is_the_users_own_and_nothing_done_to_it_reaches_the_cache_or_another_root(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path
) -> None:
    files = {**random_files(4, 4096), "big.bin": os.urandom(BIG)}  # in memory and streamed
    api.upload(write_tree(tmp_path / "src", files), f"{project}/own", "dataset")
    artifact = api.artifact(f"{project}/own:v0")
    a = artifact.download_files(tmp_path / "a", progress=False)
    b = artifact.download_files(tmp_path / "b", progress=False)
    assert_own_files(a, tmp_path / "cache", files)
    assert_own_files(b, tmp_path / "cache", files)

    # What users (as root, in a container) do to files they think are theirs:
    with (a.root / "f000.bin").open("r+b") as f:  # write in place, same size: only a hash tells
        f.write(b"X" * 100)
    os.truncate(a.root / "big.bin", 10)
    (a.root / "f001.bin").chmod(0o000)
    with (a.root / "f001.bin").open("ab") as f:  # root ignores the mode
        f.write(b"appended")
    (a.root / "f002.bin").chmod(0o444)
    (a.root / "f003.bin").unlink()

    assert tree_bytes(b.root) == files  # the other root is untouched
    for data in files.values():  # and so is every cache object, signature included
        key = md5_hex(data)
        obj = Cache(tmp_path / "cache").object_path("md5", key)
        assert md5_of(obj) == key and signed(obj.stat(), key)
    reset_stats(emulator)
    with make_api(emulator, tmp_path / "cache") as fresh:  # a later process: served from the cache
        c = fresh.artifact(f"{project}/own:v0").download_files(tmp_path / "c", progress=False)
    assert c.bytes_fetched == 0 and c.url_requests == 0 and {f.action for f in c.files} == {"cache"}
    stats = settled_stats(emulator)
    assert sum(stats.requests.values()) <= 2  # the version lookup; the manifest comes from the cache
    assert stats.requests.get("blob", 0) == 0 and stats.bytes_out.get("blob", 0) == 0
    assert_own_files(c, tmp_path / "cache", files)


def test_files_are_reflinked_where_the_filesystem_can_and_copied_and_counted_elsewhere(
    api: Api, project: str, tmp_path: Path
) -> None:
    files = {**random_files(3, 4096), "big.bin": os.urandom(BIG)}
    api.upload(write_tree(tmp_path / "src", files), f"{project}/clone", "dataset")
    result = api.artifact(f"{project}/clone:v0").download_files(tmp_path / "out", progress=False)

    assert result.bytes_fetched == sum(map(len, files.values()))  # each byte fetched once
    if reflinks_work(tmp_path):
        assert result.placed == {"reflink": 4} and result.copied_bytes == 0
    else:  # ext4, tmpfs, ...: the bytes are written a second time, and said to be
        assert result.placed == {"copy": 4}
        assert result.copied_bytes == sum(map(len, files.values()))
    assert_own_files(result, tmp_path / "cache", files)


def test_where_copy_file_range_is_refused_the_bytes_go_through_read_and_write(
    api: Api, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {**random_files(2, 4096), "big.bin": os.urandom(BIG)}
    api.upload(write_tree(tmp_path / "src", files), f"{project}/cfr", "dataset")
    artifact = api.artifact(f"{project}/cfr:v0")
    artifact.download(tmp_path / "warm", progress=False)
    calls: list[int] = []

    def refused(*args: object) -> int:  # an old kernel across filesystems, a FUSE filesystem
        calls.append(1)
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(place_module.os, "copy_file_range", refused)
    monkeypatch.setattr(place_module.Placer, "_clone", lambda *args: False)
    result = artifact.download_files(tmp_path / "out", progress=False)

    assert len(calls) == 1  # asked once, then read/write for the rest of the download
    assert result.placed == {"copy": 3} and result.copied_bytes == sum(map(len, files.values()))
    assert_own_files(result, tmp_path / "cache", files)


def test_placement_hardlink_shares_the_cache_object_and_an_edit_through_it_is_caught_at_its_next_use(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path
) -> None:
    files = random_files(2, 1000)
    api.upload(write_tree(tmp_path / "src", files), f"{project}/hard", "dataset")
    artifact = api.artifact(f"{project}/hard:v0")
    digests = {e.path: e.digest for e in artifact.manifest}
    first = artifact.download_files(tmp_path / "a", placement="hardlink", progress=False)
    second = artifact.download_files(tmp_path / "b", placement="hardlink", progress=False)
    assert first.placed == {"link": 2} and first.copied_bytes == 0
    for path, digest in digests.items():
        target = first.root / path
        assert target.samefile(cache_object(tmp_path / "cache", digest))
        assert target.stat().st_mode & 0o222 == 0  # read-only: it is the cache's file

    with (first.root / "f000.bin").open("r+b") as f:  # root writes anyway: same size, other bytes
        f.write(b"X" * 10)
    reset_stats(emulator)
    third = artifact.download_files(tmp_path / "c", placement="hardlink", progress=False)

    # The cache saw the object's mtime lose its signature, hashed it, dropped it, fetched it again.
    assert {f.path: f.action for f in third.files} == {"f000.bin": "fetch", "f001.bin": "cache"}
    assert third.bytes_fetched == 1000 and tree_bytes(third.root) == files
    # The risk the docs state: the other root linked to the same bytes changed with it.
    assert (second.root / "f000.bin").read_bytes()[:10] == b"X" * 10
    with pytest.raises(DigestMismatchError, match=r"f000\.bin"):
        artifact.verify(second.root)


def test_where_hardlinks_cannot_be_made_the_files_are_copied_and_the_copies_counted(
    api: Api, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = random_files(5, 4096)
    api.upload(write_tree(tmp_path / "src", files), f"{project}/apart", "dataset")
    artifact = api.artifact(f"{project}/apart:v0")
    artifact.download(tmp_path / "warm", progress=False)  # fill the cache

    def no_link(src: object, dst: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")  # root and cache on different filesystems

    monkeypatch.setattr(place_module.os, "link", no_link)
    result = artifact.download_files(tmp_path / "elsewhere", placement="hardlink", progress=False)

    assert "link" not in result.placed
    copies = result.placed.get("copy", 0)
    assert copies + result.placed.get("reflink", 0) == 5  # a clone where the filesystem has them
    assert result.copied_bytes == copies * 4096  # every byte written a second time is counted
    assert_own_files(result, tmp_path / "cache", files)


def test_placement_symlink_points_into_the_cache_is_kept_verified_and_can_be_turned_into_files(
    api: Api, project: str, tmp_path: Path
) -> None:
    files = {**random_files(3, 2000), "big.bin": os.urandom(BIG)}
    api.upload(write_tree(tmp_path / "src", files), f"{project}/sym", "dataset")
    artifact = api.artifact(f"{project}/sym:v0")
    root = tmp_path / "out"
    first = artifact.download_files(root, placement="symlink", progress=False)
    assert first.placed == {"symlink": 4}
    for path, data in files.items():
        assert os.readlink(root / path) == os.path.abspath(Cache(tmp_path / "cache").object_path("md5", md5_hex(data)))
    artifact.verify(root)
    inodes = {path: (root / path).lstat().st_ino for path in files}

    again = artifact.download_files(root, placement="symlink", progress=False)
    assert {f.action for f in again.files} == {"keep"} and not any(f.replaces for f in again.files)
    assert {path: (root / path).lstat().st_ino for path in files} == inodes

    as_files = artifact.download_files(root, progress=False)  # the default: the user's own files
    assert {f.action for f in as_files.files} == {"cache"} and as_files.bytes_fetched == 0
    assert not any(f.replaces for f in as_files.files)
    assert_own_files(as_files, tmp_path / "cache", files)
    artifact.verify(root)

    kept = artifact.download_files(root, placement="symlink", progress=False)
    assert {f.action for f in kept.files} == {"keep"}  # files in place with the right bytes stay as they are
    one = Path(artifact.get_entry("f000.bin").download(tmp_path / "one", placement="symlink"))
    assert one.is_symlink() and one.read_bytes() == files["f000.bin"]

    linked = artifact.download_files(tmp_path / "linked", placement="symlink", progress=False).root
    Cache(tmp_path / "cache").cleanup(0)  # the objects the links point at are gone
    with pytest.raises(DigestMismatchError, match="cache cleanup"):
        artifact.verify(linked)
    healed = artifact.download_files(linked, placement="symlink", progress=False)
    assert {f.action for f in healed.files} == {"fetch"}
    artifact.verify(linked)


def test_a_symlink_that_only_seems_to_point_into_the_cache_is_still_refused(
    api: Api, project: str, tmp_path: Path
) -> None:
    api.upload(write_tree(tmp_path / "src", {"f.bin": b"version bytes"}), f"{project}/seems", "dataset")
    artifact = api.artifact(f"{project}/seems:v0")
    artifact.download(tmp_path / "warm", progress=False)  # the cache exists
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"not yours")
    root = tmp_path / "out"
    root.mkdir()
    objects = Cache(tmp_path / "cache").objects
    (root / "f.bin").symlink_to(f"{objects}/../../secret.txt")  # starts like a cache path, leads out of it

    with pytest.raises(UnsafePathError, match="symlink"):
        artifact.download(root, placement="symlink", progress=False)
    with pytest.raises(DigestMismatchError, match="is a symlink"):
        artifact.verify(root)
    assert secret.read_bytes() == b"not yours" and (root / "f.bin").is_symlink()


def test_files_a_download_linked_into_the_cache_become_the_users_own_at_the_next_default_download(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {**random_files(3, 4096), "big.bin": os.urandom(BIG)}
    api.upload(write_tree(tmp_path / "src", files), f"{project}/unlink", "dataset")
    artifact = api.artifact(f"{project}/unlink:v0")
    root = artifact.download_files(tmp_path / "out", placement="hardlink", progress=False).root
    hashed: list[Path] = []
    monkeypatch.setattr("artifactkit.transfer.plan.md5_of", lambda path, *rest: hashed.append(path) or "")
    reset_stats(emulator)

    result = artifact.download_files(root, progress=False)

    assert {f.action for f in result.files} == {"cache"}  # placed again from the cache, as own files
    assert not any(f.replaces for f in result.files) and hashed == []  # the same bytes: nothing hashed
    assert settled_stats(emulator).requests.get("blob", 0) == 0
    assert_own_files(result, tmp_path / "cache", files)
    again = artifact.download_files(root, progress=False)
    assert {f.action for f in again.files} == {"keep"} and hashed == []  # the memo knows the copies


def test_a_file_changed_in_the_root_is_replaced_as_wandb_does_and_the_download_says_so(
    api: Api, project: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    files = random_files(4, 1000)
    api.upload(write_tree(tmp_path / "src", files), f"{project}/edited", "dataset")
    artifact = api.artifact(f"{project}/edited:v0")
    root = Path(artifact.download(tmp_path / "out", progress=False))
    (root / "f001.bin").write_bytes(b"Y" * 1000)  # same size, other bytes
    (root / "f002.bin").write_bytes(b"shorter")

    plan = artifact.download(root, dry_run=True, progress=False)
    assert {f.path for f in plan.files if f.replaces} == {"f001.bin", "f002.bin"}
    assert tree_bytes(root)["f001.bin"] == b"Y" * 1000  # a dry run changes nothing
    with caplog.at_level(logging.WARNING, logger="artifactkit"):
        result = artifact.download_files(root, progress=False)

    assert {f.path: (f.action, f.replaces) for f in result.files} == {
        "f000.bin": ("keep", False),
        "f001.bin": ("cache", True),
        "f002.bin": ("cache", True),
        "f003.bin": ("keep", False),
    }
    assert tree_bytes(root) == files
    [record] = [r for r in caplog.records if "replacing" in r.getMessage()]
    assert "2 file(s)" in record.getMessage() and "f001.bin, f002.bin" in record.getMessage()


def test_a_placement_is_checked_before_anything_is_written(api: Api, project: str, tmp_path: Path) -> None:
    api.upload(write_tree(tmp_path / "src", random_files(1, 10)), f"{project}/checked", "dataset")
    artifact = api.artifact(f"{project}/checked:v0")
    with pytest.raises(ValueError, match="skip_cache"):
        artifact.download(tmp_path / "out", placement="hardlink", skip_cache=True, progress=False)
    with pytest.raises(ValueError, match="'copy', 'hardlink', 'symlink'"):
        artifact.download(tmp_path / "out", placement="reflink", progress=False)  # type: ignore[call-overload]
    assert not (tmp_path / "out").exists()


def test_a_link_renamed_over_a_link_of_the_same_object_leaves_no_temp_name(tmp_path: Path) -> None:
    # Two processes placing one version into one root: the second finds the first's link in
    # place and renames its own over it. Between two links of one inode, rename() does nothing
    # and leaves both names (POSIX), which once left .tmp files that `verify` refused.
    cache = Cache(tmp_path / "cache")
    data = b"shared bytes"
    key = md5_hex(data)
    source = Source(cache.store_bytes("md5", key, data), key=key)
    root = tmp_path / "root"
    root.mkdir()
    for placement in ("hardlink", "symlink", "copy"):
        placer = Placer(DownloadRoot(root), cache=cache, placement=placement)
        for _ in range(2):
            placer.place(source, root / "f.bin")
        assert os.listdir(root) == ["f.bin"], placement
        assert (root / "f.bin").read_bytes() == data


@pytest.mark.parametrize("placement", [[], ["--placement", "hardlink"]], ids=["default", "hardlink"])
def test_concurrent_gets_into_one_root_leave_no_temp_files_and_verify(
    emulator: EmbeddedEmulator, project: str, tmp_path: Path, placement: list[str]
) -> None:
    files = {**random_files(300, 4096, prefix="d/"), "big.bin": os.urandom(BIG)}
    with make_api(emulator, tmp_path / "uploader") as api:
        api.upload(write_tree(tmp_path / "src", files), f"{project}/race", "dataset")
    root = tmp_path / "root"
    env = {
        **os.environ,
        "WANDB_BASE_URL": emulator.url,
        "WANDB_API_KEY": emulator.api_key,
        "WANDB_CACHE_DIR": str(tmp_path / "shared-cache"),
    }
    get = [sys.executable, "-m", "artifactkit.cli", "get", f"{project}/race:v0", "--root", str(root), "--no-progress"]

    children = [
        subprocess.Popen([*get, *placement], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)
    ]
    outcomes = []
    for child in children:
        _, err = child.communicate(timeout=240)
        outcomes.append((child.returncode, err.decode()[-2000:]))

    assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
    assert [p.name for p in root.rglob("*") if p.is_file() and p.name.startswith(".")] == []
    verified = subprocess.run(
        [sys.executable, "-m", "artifactkit.cli", "verify", f"{project}/race:v0", "--root", str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert verified.returncode == 0, verified.stderr
    assert tree_bytes(root) == files
    again = subprocess.run([*get, "--json", *placement], env=env, capture_output=True, timeout=240)
    assert json.loads(again.stdout)["unchanged_files"] == len(files)  # the files in place are kept


def test_get_takes_the_placement_on_the_command_line(
    emulator: EmbeddedEmulator, project: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = random_files(2, 3000)
    with make_api(emulator, tmp_path / "uploader") as api:
        api.upload(write_tree(tmp_path / "src", files), f"{project}/flag", "dataset")
    connect = ["--base-url", emulator.url, "--api-key", emulator.api_key, "--cache-dir", str(tmp_path / "cache")]
    name = f"{project}/flag:v0"

    assert cli_main(["get", name, "--root", str(tmp_path / "own"), "-q", *connect]) == 0
    assert cli_main(["get", name, "--root", str(tmp_path / "linked"), "--placement", "hardlink", "-q", *connect]) == 0
    capsys.readouterr()
    for path, data in files.items():
        obj = Cache(tmp_path / "cache").object_path("md5", md5_hex(data))
        assert not (tmp_path / "own" / path).samefile(obj)
        assert (tmp_path / "linked" / path).samefile(obj)

    (tmp_path / "own" / "f000.bin").write_bytes(b"Z" * 3000)
    assert cli_main(["get", name, "--root", str(tmp_path / "own"), *connect]) == 0
    assert "1 replaced a file whose content differed" in capsys.readouterr().out
    with pytest.raises(SystemExit) as usage:
        cli_main(["get", name, "--placement", "reflink", *connect])
    assert usage.value.code == 2
    assert "invalid choice: 'reflink'" in capsys.readouterr().err


def test_a_large_file_from_a_server_on_this_machine_comes_in_one_stream(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch, "MULTIPART_THRESHOLD", 3 << 20)  # make a 4 MiB file "large"
    data = os.urandom(4 << 20)
    api.upload(write_tree(tmp_path / "src", {"w.bin": data}), f"{project}/stream", "model")
    artifact = api.artifact(f"{project}/stream:v0")
    artifact.manifest  # noqa: B018 - fetched before counting
    reset_stats(emulator)

    artifact.download(tmp_path / "one", progress=False)
    one = settled_stats(emulator)
    assert (one.requests.get("blob", 0), one.statuses.get("206", 0)) == (1, 0)  # no ranged parts on loopback

    monkeypatch.setenv("ARTIFACTKIT_RANGED_PARTS", "always")
    monkeypatch.setattr(fetch, "PART_SIZE", 1 << 20)
    reset_stats(emulator)
    artifact.download_files(tmp_path / "parts", skip_cache=True, progress=False)
    parts = settled_stats(emulator)
    assert parts.statuses.get("206", 0) == 4  # asked for, they still work
    assert (tmp_path / "parts" / "w.bin").read_bytes() == data


def test_skip_cache_writes_private_files(api: Api, project: str, tmp_path: Path) -> None:
    files = {"a.bin": os.urandom(5000), "b.bin": os.urandom(BIG)}
    api.upload(write_tree(tmp_path / "src", files), f"{project}/private", "dataset")

    result = api.artifact(f"{project}/private:v0").download_files(tmp_path / "out", skip_cache=True, progress=False)

    assert result.placed == {"write": 1, "move": 1}  # from memory, and the private temp file renamed
    assert tree_bytes(result.root) == files
    assert all((result.root / name).stat().st_nlink == 1 for name in files)


def test_the_space_check_counts_the_copies_on_a_filesystem_without_reflinks(
    emulator: EmbeddedEmulator, project: str, tmp_path: Path
) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.decode().strip()}")
    try:
        files = {"a.bin": os.urandom(5 << 20)}  # cache and root on one 8 MiB tmpfs: 5 MiB fits once, not twice
        with make_api(emulator, tmp_path / "uploader") as api:
            api.upload(write_tree(tmp_path / "src", files), f"{project}/space", "dataset")
        with make_api(emulator, disk / "cache") as api:
            artifact = api.artifact(f"{project}/space:v0")
            with pytest.raises(DiskFullError, match=r"needs 10\.0 MiB"):
                artifact.download(disk / "own", progress=False)  # a copy next to the cache object
            assert not (disk / "own").exists()
            linked = artifact.download_files(disk / "linked", placement="hardlink", progress=False)
            assert linked.placed == {"link": 1} and tree_bytes(linked.root) == files
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
