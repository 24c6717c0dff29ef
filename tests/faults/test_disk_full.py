"""A download onto a disk too small for it: refused before the first byte when that can be known,
a disk that fills up on the way is named as such; never a half-written file where a complete one belongs.

The disk is a real tmpfs of a few MiB, mounted for the test (root only; CI runs as root): elsewhere
the tests are skipped.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from artifactkit import Api, errors
from artifactkit.cli import main as cli_main
from artifactkit.server.embedded import EmbeddedEmulator
from tests.conftest import make_api
from tests.transfer.helpers import SlowLink, tree_bytes, write_tree

MIB = 1 << 20


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """Mounts tmpfs filesystems of a given size under tmp_path; unmounted afterwards."""
    mounted: list[Path] = []

    def mount(size: int) -> Path:
        where = tmp_path / f"disk{len(mounted)}"
        where.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True, text=True
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], check=False)


def seed(emulator: EmbeddedEmulator, tmp_path: Path, name: str) -> dict[str, bytes]:
    files = {"a.bin": os.urandom(7 * MIB), "b.bin": os.urandom(7 * MIB // 2)}  # 10.5 MiB
    with make_api(emulator, tmp_path / "seed-cache") as api:
        api.upload(write_tree(tmp_path / "src", files), name, "dataset")
    return files


def fill(disk: Path) -> None:
    """Write to `disk` until it is full."""
    with (disk / "filler").open("wb") as out:
        try:
            while True:
                out.write(b"\0" * MIB)
                out.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    with contextlib.suppress(OSError):
        while True:  # the last partial block, byte by byte
            with (disk / f"filler-{os.urandom(4).hex()}").open("wb") as out:
                out.write(b"\0" * 512)


def test_a_download_that_cannot_fit_is_refused_before_the_first_byte(
    emulator: EmbeddedEmulator,
    tmp_path: Path,
    small_disk: Callable[[int], Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(emulator, tmp_path, "local/disk/refused")
    disk = small_disk(5 * MIB)
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb-cache"))  # the cache on the big disk
    argv = ["get", "local/disk/refused:v0", "--root", str(disk / "x"), "--base-url", emulator.url]
    code = cli_main([*argv, "--api-key", emulator.api_key])
    err = capsys.readouterr().err
    assert code == 7
    assert err.strip() == (
        f"artifactkit: error: not enough disk space for local/disk/refused:v0: needs 10.5 MiB, 5.0 MiB free "
        f"on {disk}; nothing was downloaded [DiskFullError]"
    )
    assert list(disk.iterdir()) == []  # not even the root directory


def test_the_cache_disk_is_checked_too(
    emulator: EmbeddedEmulator, tmp_path: Path, small_disk: Callable[[int], Path]
) -> None:
    seed(emulator, tmp_path, "local/disk/cache")
    disk = small_disk(5 * MIB)
    with make_api(emulator, disk / "cache") as api, pytest.raises(errors.DiskFullError) as caught:
        api.artifact("local/disk/cache:v0").download(tmp_path / "out", progress=False)
    assert caught.value.where == str(disk) and caught.value.needed == 21 * MIB // 2
    assert 0 < caught.value.free <= 5 * MIB  # the cache made its directories there
    assert not (tmp_path / "out").exists()


def test_a_disk_that_fills_up_during_the_download_is_named_and_holds_no_half_file(
    emulator: EmbeddedEmulator, tmp_path: Path, small_disk: Callable[[int], Path]
) -> None:
    files = seed(emulator, tmp_path, "local/disk/filled")
    disk = small_disk(16 * MIB)  # room for the 10.5 MiB when the download starts
    root = disk / "out"
    outcome: dict[str, object] = {}
    # The link holds the files' bytes half-way; the disk is filled meanwhile (as another program would).
    with SlowLink(emulator.url, bytes_per_second=256 * MIB, hold_after=4 * MIB) as link:

        def download() -> None:
            try:
                with Api(api_key=emulator.api_key, base_url=link.url, cache_dir=tmp_path / "cache") as api:
                    api.artifact("local/disk/filled:v0").download(root, max_workers=2, progress=False)
            except BaseException as exc:
                outcome["error"] = exc

        link_api = threading.Thread(target=download)
        link_api.start()
        assert link.held.wait(60), "the download never got under way"
        fill(disk)
        link.release()
        link_api.join(120)
    error = outcome.get("error")
    assert isinstance(error, errors.DiskFullError), error
    assert f"the disk filled up on {disk} while downloading local/disk/filled:v0" in str(error)
    present = {p.name for p in root.iterdir()} if root.exists() else set()
    assert present <= {"a.bin", "b.bin"}  # no temp file, no .part left in the root
    for name, data in tree_bytes(root).items() if root.exists() else ():
        assert data == files[name]  # a file that is there is whole
