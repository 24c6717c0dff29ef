"""Issue 17, finding 9: `put DIR` reads only the files it listed, as they were when listed.

Someone who can write into DIR (a shared folder) replaced 199 of 200 files with symlinks to a
private file outside DIR while the upload ran, and the private file was uploaded 199 times. Each
file is now opened without following symlinks and its `fstat` (device, inode, size, mtime) compared
with what the listing saw, when it is hashed and again before every PUT.

The two moments are reached exactly: the hashing phase starts when the upload's progress bar
enters it (a `Progress` is the engine's own collaborator), and the PUTs start only after the
server answers `CreateArtifactFiles`, which a real HTTP server in front of the emulator
(`HostileFront`) holds while the files are swapped.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from artifactkit import Api, errors
from artifactkit.cli import main as cli_main
from artifactkit.server.embedded import EmbeddedEmulator
from artifactkit.transfer import upload as upload_module
from artifactkit.transfer.progress import Progress
from artifactkit.transfer.upload import collect_files
from tests.security.hostile_front import HostileFront, is_operation

FILES = 200


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


@pytest.fixture
def secret(tmp_path: Path) -> bytes:
    data = b"PRIVATE " + os.urandom(32)
    path = tmp_path / "private.txt"
    path.write_bytes(data)
    path.chmod(0o600)
    return data


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "shared"
    (root / "sub").mkdir(parents=True)
    for i in range(FILES):
        (root / f"f{i:03}.txt").write_text(f"public file {i}\n")
    (root / "sub" / "inner.txt").write_text("inner\n")
    (root / "sub" / "link.txt").symlink_to(root / "f000.txt")  # a link inside the folder: uploaded, followed
    return root


def symlink_out(folder: Path, name: str) -> None:
    """Replace `name` atomically by a symlink to the private file beside the folder."""
    temp = (folder / name).with_name(f".{Path(name).name}.swap")
    temp.symlink_to(folder.parent / "private.txt")
    os.replace(temp, folder / name)


def rename_over(folder: Path, name: str) -> None:
    """Replace `name` atomically by another regular file (a copy of the private file)."""
    temp = (folder / name).with_name(f".{Path(name).name}.swap")
    temp.write_bytes((folder.parent / "private.txt").read_bytes())
    os.replace(temp, folder / name)


def fifo_over(folder: Path, name: str) -> None:
    """Replace `name` by a FIFO: opening it for reading would wait for a writer forever."""
    temp = (folder / name).with_name(f".{Path(name).name}.swap")
    os.mkfifo(temp)
    os.replace(temp, folder / name)


def modify(folder: Path, name: str) -> None:
    """Change the file in place (same inode)."""
    with (folder / name).open("ab") as f:
        f.write(b"appended later\n")


def retarget_inner_link(folder: Path, _name: str) -> None:
    """The link inside the folder now leads out of it."""
    symlink_out(folder, "sub/link.txt")


SWAPS: dict[str, Callable[[Path, str], None]] = {
    "symlink out": symlink_out,
    "renamed over": rename_over,
    "fifo": fifo_over,
    "modified": modify,
}


class SwapWhenHashingStarts(Progress):
    """Swaps files the moment the listing is done and hashing begins."""

    def __init__(self, swap: Callable[[], None]) -> None:
        super().__init__(0, 0, False)
        self.swap = swap
        self.swapped = False

    def phase(self, total_bytes: int, total_files: int, verb: str) -> Progress:
        if verb == "hashed" and not self.swapped:
            self.swap()
            self.swapped = True
        return super().phase(total_bytes, total_files, verb)


@pytest.mark.parametrize("kind", [*SWAPS, "inner link retargeted"])
def test_files_swapped_after_the_listing_are_refused_when_hashed(folder: Path, secret: bytes, kind: str) -> None:
    if kind == "inner link retargeted":
        swap = lambda: retarget_inner_link(folder, "")  # noqa: E731
    else:
        swap = lambda: [SWAPS[kind](folder, f"f{i:03}.txt") for i in range(1, FILES)]  # noqa: E731
    bar = SwapWhenHashingStarts(swap)
    with pytest.raises(errors.FileChangedError, match=r"refusing .*shared/(f\d{3}|sub/link)\.txt") as refused:
        collect_files([folder], progress=bar, workers=4)
    assert bar.swapped
    assert refused.value.path.startswith(str(folder))


def test_without_a_swap_the_listed_files_and_the_inner_link_are_hashed(folder: Path) -> None:
    files = {f.path: f for f in collect_files([folder], progress=SwapWhenHashingStarts(lambda: None))}
    assert len(files) == FILES + 2
    assert files["sub/link.txt"].md5_b64 == files["f000.txt"].md5_b64  # read through its link, as listed


@pytest.fixture
def front(emu: EmbeddedEmulator) -> Iterator[HostileFront]:
    with HostileFront(emu) as hostile:
        yield hostile


@pytest.mark.parametrize("kind", list(SWAPS))
def test_files_swapped_after_hashing_are_refused_before_any_byte_is_sent(
    emu: EmbeddedEmulator,
    front: HostileFront,
    folder: Path,
    secret: bytes,
    tmp_path: Path,
    kind: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    swapped = []
    files_registered = is_operation("CreateArtifactFiles")

    def swap_once(method: str, path: str, body: bytes) -> None:
        if files_registered(method, path, body) and not swapped:
            for i in range(1, FILES):
                SWAPS[kind](folder, f"f{i:03}.txt")
            swapped.append(True)

    front.before.append(swap_once)
    name = f"local/i17-f09/{kind.replace(' ', '-')}"
    base = ["--base-url", front.url, "--api-key", emu.api_key]
    assert cli_main(["put", str(folder), "--name", name, "--type", "dataset", *base]) == 1
    assert swapped
    err = capsys.readouterr().err
    assert "[FileChangedError]" in err and "before uploading it" in err

    puts = [body for method, _, body in front.requests if method == "PUT"]
    assert not any(secret in body for body in puts)  # not one byte of the private file went up
    assert not any(b"appended later" in body for body in puts)
    assert not (emu.settings.blob_dir / hashlib.md5(secret).hexdigest()[:2] / hashlib.md5(secret).hexdigest()).exists()
    with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path / "c2") as api:
        assert not api.artifact_exists(f"{name}:latest")  # nothing was committed


def test_an_unreadable_file_is_a_typed_upload_error(
    folder: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A file that cannot be opened (root opens any file, so the refusal is simulated): `UploadError`."""
    real_open = os.open
    refused = folder / "f007.txt"

    def open_(path: os.PathLike[str] | str, flags: int, *args: int) -> int:
        if Path(path) == refused:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(upload_module.os, "open", open_)
    with pytest.raises(errors.UploadError, match=r"cannot read .*f007\.txt: Permission denied") as caught:
        collect_files([folder], workers=1)
    assert not isinstance(caught.value, errors.FileChangedError)
