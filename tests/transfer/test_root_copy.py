"""A big file's copy in the download root is written while it streams into the cache (root_copy.py).

What a user relies on: the file appears only complete and verified, independent of the cache
object; wrong or short bytes leave neither the file nor a cache object; a killed download leaves
nothing in the root and resumes from the cache's `.part`.
"""

from __future__ import annotations

import errno
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from artifactkit import errors
from artifactkit.server.embedded import EmbeddedEmulator
from artifactkit.transfer import place, root_copy
from artifactkit.transfer.limits import PIPELINE_MIN
from tests.conftest import make_api
from tests.transfer.helpers import (
    SlowLink,
    blob_path,
    cli_process,
    file_size,
    md5_hex,
    reset_stats,
    settled_stats,
    wait_for,
    write_tree,
)

BIG = PIPELINE_MIN + (1 << 20) + 123  # streamed to disk on the writing thread, with a root copy


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEmulator]:
    """An emulator of this module's own: its injected faults hit every request it serves."""
    with EmbeddedEmulator(tmp_path_factory.mktemp("root-copy-emulator")) as emu:
        yield emu


def set_faults(emu: EmbeddedEmulator, **plan: object) -> None:
    response = httpx.put(f"{emu.url}/_emulator/faults", json=plan, auth=("api", emu.api_key), timeout=10)
    response.raise_for_status()


@pytest.fixture
def copies_after(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The destinations copied from the cache object after their download (not written during it)."""
    copied: list[Path] = []
    original = place.Placer._copy

    def spy(self: place.Placer, src: Path, dest: Path) -> str:
        copied.append(dest)
        return original(self, src, dest)

    monkeypatch.setattr(place.Placer, "_copy", spy)
    return copied


def cache_objects(cache: Path) -> list[Path]:
    return [p for p in (cache / "objects").rglob("*") if p.is_file()] if (cache / "objects").exists() else []


def test_a_big_file_is_written_into_the_root_during_its_download_and_is_independent_of_the_cache(
    faulty: EmbeddedEmulator, tmp_path: Path, copies_after: list[Path]
) -> None:
    data = os.urandom(BIG)
    with make_api(faulty, tmp_path / "cache") as api:
        api.upload(write_tree(tmp_path / "src", {"big.bin": data}), "local/rootcopy/plain", "dataset")
        artifact = api.artifact("local/rootcopy/plain:v0")
        result = artifact.download_files(tmp_path / "out", progress=False)
        mine = tmp_path / "out" / "big.bin"
        assert mine.read_bytes() == data
        assert sorted(os.listdir(tmp_path / "out")) == ["big.bin"]  # no temp file left beside it
        assert copies_after == []  # no second pass over the bytes after the download
        assert result.placed == {"copy": 1} and result.copied_bytes == BIG  # still counted as written twice
        [cached] = [p for p in cache_objects(tmp_path / "cache") if p.stat().st_size == BIG]
        assert os.stat(cached).st_ino != mine.stat().st_ino

        with mine.open("r+b") as f:  # the user's file is theirs to change ...
            f.write(b"mine now")
        again = artifact.download_files(tmp_path / "again", progress=False)  # ... the cache still holds the version
        assert (tmp_path / "again" / "big.bin").read_bytes() == data
        assert again.bytes_fetched == 0


def test_a_body_cut_short_resumes_and_the_root_copy_follows_it(faulty: EmbeddedEmulator, tmp_path: Path) -> None:
    data = os.urandom(BIG)
    with make_api(faulty, tmp_path / "cache") as api:
        api.upload(write_tree(tmp_path / "src", {"big.bin": data}), "local/rootcopy/cut", "dataset")
        artifact = api.artifact("local/rootcopy/cut:v0")
        artifact.manifest  # noqa: B018 - fetched before the faults start
        set_faults(faulty, rate=0.6, seed=3, kinds=["truncate"], routes=["blob"])
        reset_stats(faulty)
        try:
            artifact.download_files(tmp_path / "out", max_workers=1, progress=False)
        finally:
            set_faults(faulty, rate=0)
    assert (tmp_path / "out" / "big.bin").read_bytes() == data
    assert sorted(os.listdir(tmp_path / "out")) == ["big.bin"]
    stats = settled_stats(faulty)
    assert stats.requests["blob"] > 1  # it was cut off at least once ...
    assert stats.statuses["206"] >= 1  # ... and continued with a Range request ...
    assert stats.bytes_out["blob"] == len(data)  # ... each byte fetched once


def test_wrong_bytes_leave_neither_the_root_file_nor_a_cache_object(faulty: EmbeddedEmulator, tmp_path: Path) -> None:
    data = os.urandom(BIG)
    with make_api(faulty, tmp_path / "cache") as api:
        api.upload(write_tree(tmp_path / "src", {"big.bin": data}), "local/rootcopy/wrong", "dataset")
        artifact = api.artifact("local/rootcopy/wrong:v0")
        artifact.manifest  # noqa: B018
        stored = blob_path(faulty, data)
        good = stored.read_bytes()
        stored.write_bytes(good[:1000] + bytes([good[1000] ^ 0xFF]) + good[1001:])  # same size, other bytes
        try:
            with pytest.raises(errors.DigestMismatchError):
                artifact.download_files(tmp_path / "out", progress=False)
        finally:
            stored.write_bytes(good)
    assert not (tmp_path / "out").exists() or os.listdir(tmp_path / "out") == []
    assert [p for p in cache_objects(tmp_path / "cache") if p.stat().st_size == BIG] == []
    assert not list((tmp_path / "cache" / "partial").glob("*.part"))  # wrong bytes are never kept


def test_a_body_that_keeps_breaking_off_leaves_no_root_file_and_its_bytes_for_a_resume(
    faulty: EmbeddedEmulator, tmp_path: Path
) -> None:
    data = os.urandom(BIG)
    with make_api(faulty, tmp_path / "cache") as api:
        api.upload(write_tree(tmp_path / "src", {"big.bin": data}), "local/rootcopy/broken", "dataset")
        artifact = api.artifact("local/rootcopy/broken:v0")
        artifact.manifest  # noqa: B018
    with make_api(faulty, tmp_path / "cache", retry=_few_retries()) as api:
        artifact = api.artifact("local/rootcopy/broken:v0")
        set_faults(faulty, rate=1.0, seed=1, kinds=["truncate"], routes=["blob"])
        try:
            with pytest.raises(errors.DownloadError):
                artifact.download_files(tmp_path / "out", max_workers=1, progress=False)
        finally:
            set_faults(faulty, rate=0)
        assert not (tmp_path / "out").exists() or os.listdir(tmp_path / "out") == []
        part = tmp_path / "cache" / "partial" / f"md5-{md5_hex(data)}.part"
        assert 0 < file_size(part) < BIG  # kept for a resume
        artifact.download_files(tmp_path / "out", progress=False)
    assert (tmp_path / "out" / "big.bin").read_bytes() == data
    assert sorted(os.listdir(tmp_path / "out")) == ["big.bin"]


def _few_retries() -> object:
    from artifactkit import RetryPolicy

    return RetryPolicy(max_attempts=2, base_delay=0.01, budget=5)


def test_a_failing_root_copy_falls_back_to_copying_after_the_download(
    faulty: EmbeddedEmulator, tmp_path: Path, copies_after: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write the disk refuses for the root's copy (no real part produces one on demand) drops the copy only."""
    data = os.urandom(BIG)

    def refuse(self: root_copy.RootCopy, pieces: list[bytes]) -> None:
        self._drop(OSError(errno.EIO, "refused"))

    monkeypatch.setattr(root_copy.RootCopy, "write", refuse)
    with make_api(faulty, tmp_path / "cache") as api:
        api.upload(write_tree(tmp_path / "src", {"big.bin": data}), "local/rootcopy/refused", "dataset")
        result = api.artifact("local/rootcopy/refused:v0").download_files(tmp_path / "out", progress=False)
    assert (tmp_path / "out" / "big.bin").read_bytes() == data
    assert copies_after == [tmp_path / "out" / "big.bin"]
    assert result.copied_bytes == BIG


def test_a_killed_download_leaves_nothing_in_the_root_and_resumes_with_the_root_copy(
    emulator: EmbeddedEmulator, tmp_path: Path, copies_after: list[Path]
) -> None:
    data = os.urandom(3 * PIPELINE_MIN)
    with make_api(emulator, tmp_path / "seed-cache") as api:
        api.upload(write_tree(tmp_path / "src", {"model.bin": data}), "local/rootcopy/killed", "model")
    cache_dir = tmp_path / "wandb-cache"
    part = cache_dir / "artifactkit" / "partial" / f"md5-{md5_hex(data)}.part"
    out = tmp_path / "out"
    with SlowLink(emulator.url, bytes_per_second=8 << 20) as link:
        child = cli_process(
            ["get", "local/rootcopy/killed:v0", "--root", str(out), "--base-url", link.url,
             "--api-key", emulator.api_key, "--no-progress"],
            cache_dir,
        )  # fmt: skip
        wait_for(lambda: file_size(part) >= 4 << 20, 60, "some of the file arrived", child)
        child.send_signal(signal.SIGKILL)
        child.communicate()
    on_disk = file_size(part)
    assert 0 < on_disk < len(data)
    assert not out.exists() or os.listdir(out) == []  # not even a temp file: the root's copy had no name
    settled_stats(emulator)  # the answer to the killed client has ended

    with make_api(emulator, cache_dir / "artifactkit") as api:  # the same cache, another process
        artifact = api.artifact("local/rootcopy/killed:v0")
        result = artifact.download_files(out, progress=False)
        artifact.verify(out)
    assert (out / "model.bin").read_bytes() == data
    assert result.bytes_fetched == len(data) - on_disk  # only the rest crossed the network
    assert copies_after == []  # the resumed root copy took the kept prefix from the .part
    assert sorted(os.listdir(out)) == ["model.bin"]


def test_one_file_downloaded_alone_is_written_into_the_root_during_its_download(
    faulty: EmbeddedEmulator, tmp_path: Path, copies_after: list[Path]
) -> None:
    data = os.urandom(BIG)
    with make_api(faulty, tmp_path / "cache") as api:
        api.upload(write_tree(tmp_path / "src", {"big.bin": data}), "local/rootcopy/alone", "dataset")
        [file] = list(api.artifact("local/rootcopy/alone:v0").files())
        file.download(tmp_path / "out").close()  # wandb's File.download returns the file, opened
    assert (tmp_path / "out" / "big.bin").read_bytes() == data
    assert sorted(os.listdir(tmp_path / "out")) == ["big.bin"]
    assert copies_after == []


def test_the_copy_follows_the_part_when_a_body_starts_over_and_names_only_a_complete_file(tmp_path: Path) -> None:
    """What `_append` relies on when a server ignores `Range` (the body starts again from byte 0)
    or a resumed body continues a `.part` another process left."""
    part = tmp_path / "object.part"
    part.write_bytes(b"0123456789")
    dest = tmp_path / "root" / "file.bin"
    dest.parent.mkdir()
    copy = root_copy.RootCopy.create(dest)
    if copy is None:
        pytest.skip("no O_TMPFILE on this filesystem: downloads copy after fetching instead")
    try:
        copy.restart(part, 6)  # a resumed body: the kept prefix first
        copy.write([b"67", b"89"])
        assert not copy.publish(11)  # not all of it: no file appears
        assert os.listdir(dest.parent) == []
        copy.restart(part, 0)  # the server sent the whole body again
        copy.write([b"abc"])
        assert copy.length == 3
        assert copy.publish(3)
    finally:
        copy.close()
    assert dest.read_bytes() == b"abc"
    assert os.listdir(dest.parent) == ["file.bin"]
