"""Hostile input and hostile servers: what `wandb://` refuses, and the typed errors a user gets instead of bad bytes."""

from __future__ import annotations

import errno
import hashlib
import socket
import threading
from pathlib import Path

import pytest

from artifactkit import Api, RetryPolicy, errors
from artifactkit.fs import ArtifactFileSystem
from artifactkit.manifest import Manifest, ManifestEntry
from artifactkit.server.embedded import EmbeddedEmulator
from tests.fs.support import ShortAnswerProxy, seed_version
from tests.integration.support import upload
from tests.transfer.helpers import ReferenceOrigin, reset_stats, settled_stats

FILES = {"a.txt": "0123456789", "train/x.csv": "a,b\n1,2\n", "train/y.csv": "a,b\n3,4\n"}


@pytest.fixture
def root(api: Api, project: str, tmp_path: Path) -> str:
    upload(api, tmp_path, f"{project}/ds", files=FILES)
    return f"{project}/ds:v0"


HOSTILE_PATHS: list[tuple[str, type[Exception]]] = [
    ("../p/ds:v0/a.txt", errors.InvalidNameError),
    ("local/../ds:v0/a.txt", errors.InvalidNameError),
    ("local/p/..:v0/a.txt", errors.InvalidNameError),
    ("/local/p/ds:v0/a.txt", errors.InvalidNameError),
    ("local\\x/p/ds:v0/a.txt", errors.InvalidNameError),
    ("local/p/ds:v0\x00/a.txt", errors.InvalidNameError),
    ("local/p/ds:v0:x/a.txt", errors.InvalidNameError),
    ("local/p/ds: v0/a.txt", errors.InvalidNameError),
    ("x" * 129 + "/p/ds:v0/a.txt", errors.InvalidNameError),
    ("local/p/ds:" + "a" * 129 + "/a.txt", errors.InvalidNameError),
    ("s3://local/p/ds:v0/a.txt", errors.InvalidNameError),
    ("local/p/ds:v0/train/../a.txt", errors.UnsafePathError),
    ("local/p/ds:v0//a.txt", errors.UnsafePathError),
    ("local/p/ds:v0/./a.txt", errors.UnsafePathError),
    ("local/p/ds:v0/a\\b", errors.UnsafePathError),
    ("local/p/ds:v0/a\x00b", errors.UnsafePathError),
    ("local/p/ds:v0/C:/x", errors.UnsafePathError),
    ("local/p/ds:v0/" + "x" * 256, errors.UnsafePathError),
    ("local/p/ds:v0/" + "/".join(["x" * 200] * 21), errors.UnsafePathError),
]


def test_hostile_paths_are_refused_before_any_request(emulator: EmbeddedEmulator, fs: ArtifactFileSystem) -> None:
    reset_stats(emulator)
    for path, refusal in HOSTILE_PATHS:
        for call in (fs.info, fs.cat_file, fs.open, fs.ls):
            with pytest.raises(ValueError) as refused:
                call(path)
            assert isinstance(refused.value, refusal) or isinstance(refused.value.__cause__, refusal), path
    assert sum(settled_stats(emulator).requests.values()) == 0


def test_seeks_and_ranges_follow_python_and_fsspec(fs: ArtifactFileSystem, root: str) -> None:
    with fs.open(f"{root}/a.txt") as f:
        assert f.seek(100) == 100 and f.read() == b"" and f.tell() == 100  # past the end: nothing, no error
        with pytest.raises(ValueError):
            f.seek(-1)
        with pytest.raises(ValueError):
            f.seek(-11, 2)
        assert f.seek(-3, 2) == 7 and f.read() == b"789"
        assert f.seek(2) == 2 and f.read(-1) == b"23456789"
    url = f"{root}/a.txt"
    ranges = {(-3, None): b"789", (None, -3): b"0123456", (-3, -1): b"78", (-30, None): b"0123456789"}
    ranges |= {(None, -30): b"", (5, 2): b"", (20, 30): b"", (2, 100): b"23456789", (-1, 0): b""}
    for (start, end), expected in ranges.items():
        assert fs.cat_file(url, start=start, end=end) == expected, (start, end)
    assert fs.cat_ranges([url, url], [0, -2], [2, None]) == [b"01", b"89"]


def test_threads_share_one_filesystem(fs: ArtifactFileSystem, root: str) -> None:
    failures: list[BaseException] = []
    seen: list[bool] = []

    def reader(index: int) -> None:
        try:
            for _ in range(5):
                digit = index % 10
                seen.append(fs.cat_file(f"{root}/a.txt", start=digit, end=digit + 1) == str(digit).encode())
                with fs.open(f"{root}/train/x.csv") as f:  # full reads, spooled and published concurrently
                    seen.append(f.read() == FILES["train/x.csv"].encode())
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and len(seen) == 80 and all(seen)
    assert list(fs.cache.partial.glob("*")) == []  # every spool published or deleted


def test_get_never_writes_through_a_symlink_out_of_the_destination(
    fs: ArtifactFileSystem, root: str, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "train").symlink_to(outside)  # planted in the destination folder
    with pytest.raises(ValueError, match="through a symlink") as refused:
        fs.get(f"{root}/", f"{dest}/", recursive=True)
    assert isinstance(refused.value.__cause__, errors.UnsafePathError)
    assert list(outside.iterdir()) == [] and not (dest / "a.txt").exists()  # refused before writing anything

    (dest / "x.csv").symlink_to(outside / "victim.csv")  # a symlink at the destination file is replaced
    fs.get(f"{root}/train/x.csv", str(dest / "x.csv"))
    assert not (dest / "x.csv").is_symlink() and (dest / "x.csv").read_text() == FILES["train/x.csv"]
    assert list(outside.iterdir()) == []

    chosen = tmp_path / "chosen"
    chosen.symlink_to(outside, target_is_directory=True)  # a destination the caller names may be a symlink
    fs.get(f"{root}/train", f"{chosen}/", recursive=True)
    assert sorted(p.name for p in outside.rglob("*.csv")) == ["x.csv", "y.csv"]


def test_a_short_ranged_answer_is_continued_and_never_returned_short(
    emulator: EmbeddedEmulator, root: str, tmp_path: Path
) -> None:
    """Each answer holds half the bytes it should (its Content-Length honest about the half)."""
    with (
        ShortAnswerProxy(emulator.url, "short") as proxy,
        Api(api_key=emulator.api_key, base_url=proxy.url, cache_dir=tmp_path / "c") as api,
    ):
        fs = ArtifactFileSystem(api)
        with fs.open(f"{root}/a.txt") as f, pytest.raises(OSError) as failed:
            f.read()  # 10 bytes: 5, then 2 of the other 5, 1 of 3, 1 of 2: four short answers and it gives up
        assert failed.value.errno == errno.EIO
        assert isinstance(failed.value.__cause__, errors.DownloadError)
        assert "the server sent 9 of the 10 bytes asked for (4 attempts)" in str(failed.value)
        assert proxy.cut == 4
        # 4 bytes: 2, then 1 of 2, then the last one whole: continued from where each answer ended
        assert fs.cat_file(f"{root}/train/x.csv", start=1, end=5) == FILES["train/x.csv"].encode()[1:5]
        assert proxy.cut == 6
        assert list(fs.cache.partial.glob("*")) == []  # nothing half-read is kept


def test_a_body_that_breaks_off_is_continued_from_where_it_broke(
    emulator: EmbeddedEmulator, root: str, tmp_path: Path
) -> None:
    """Each answer promises all the bytes, sends half and closes the connection."""
    with (
        ShortAnswerProxy(emulator.url, "drop") as proxy,
        Api(api_key=emulator.api_key, base_url=proxy.url, cache_dir=tmp_path / "c") as api,
    ):
        fs = ArtifactFileSystem(api)
        with fs.open(f"{root}/a.txt") as f:
            assert f.read() == FILES["a.txt"].encode()  # 5 + 2 + 1 + 1 bytes broken off, then the last
        assert proxy.cut == 4
        # read whole and verified: the next read needs no storage request
        assert fs.cache.lookup("md5", hashlib.md5(FILES["a.txt"].encode()).hexdigest(), 10) is not None


def test_a_body_that_breaks_off_with_nothing_is_asked_again_then_an_error(
    emulator: EmbeddedEmulator, root: str, tmp_path: Path
) -> None:
    with (
        ShortAnswerProxy(emulator.url, "empty") as proxy,
        Api(
            api_key=emulator.api_key,
            base_url=proxy.url,
            cache_dir=tmp_path / "c",
            retry=RetryPolicy(max_attempts=3, base_delay=0.01),
        ) as api,
    ):
        fs = ArtifactFileSystem(api)
        with fs.open(f"{root}/a.txt") as f, pytest.raises(OSError) as failed:
            f.read()
        assert isinstance(failed.value.__cause__, errors.DownloadError)
        assert "broke off at 0 (3 attempts)" in str(failed.value)
        assert proxy.cut == 3  # the transport's attempts, with its backoff between them
        assert list(fs.cache.partial.glob("*")) == []


def test_an_http_reference_that_changed_or_came_short_is_an_error(
    emulator: EmbeddedEmulator, fs: ArtifactFileSystem, project: str
) -> None:
    original = b"label,score\n" + b"cat,1\n" * 200
    with ReferenceOrigin() as origin:
        url = origin.put("/table.csv", original, "etag-1")
        entry = ManifestEntry("table.csv", "etag-1", len(original), ref=url)
        seed_version(emulator, f"{project}/refs", "dataset", Manifest.from_entries([entry]))
        path = f"wandb://{project}/refs:v0/table.csv"
        assert fs.cat_file(path, start=0, end=11) == b"label,score"

        origin.put("/table.csv", original[:100], "etag-1")  # the origin now sends less than recorded
        with pytest.raises(OSError) as short:
            fs.cat_file(path, start=50, end=200)
        assert isinstance(short.value.__cause__, errors.DownloadError)

        origin.put("/table.csv", original.upper(), "etag-2")  # the content changed since it was logged
        with fs.open(path) as f, pytest.raises(OSError) as changed:
            f.read()
        assert isinstance(changed.value.__cause__, errors.DigestMismatchError)
        assert fs.cache.lookup("md5", hashlib.md5(original.upper()).hexdigest(), len(original)) is None


def test_a_read_only_key_reads_and_its_transaction_is_a_permission_error(
    emulator: EmbeddedEmulator, root: str, project: str, tmp_path: Path
) -> None:
    with Api(api_key=emulator.create_key(read_only=True), base_url=emulator.url, cache_dir=tmp_path) as reader:
        fs = ArtifactFileSystem(reader)
        assert fs.cat_file(f"{root}/a.txt") == b"0123456789"
        with pytest.raises(PermissionError) as refused, fs.transaction:
            fs.pipe(f"{project}/ds/new.txt", b"x")
    assert isinstance(refused.value.__cause__, errors.PermissionDeniedError)


def test_unknown_names_are_file_not_found_with_the_cause_and_empty_globs(
    fs: ArtifactFileSystem, root: str, project: str, tmp_path: Path
) -> None:
    for missing in (f"{project}/ds:v7/a.txt", f"{project}/ds:nope/a.txt", f"{project}/zz:v0/a.txt", "nobody/p/d:v0/a"):
        for call in (fs.cat_file, fs.open, fs.info, lambda p: fs.get(p, str(tmp_path / "got"))):
            with pytest.raises(FileNotFoundError) as failed:
                call(missing)
            assert isinstance(failed.value.__cause__, errors.NotFoundError), missing
    assert not (tmp_path / "got").exists()
    assert fs.glob(f"{project}/ds:v7/*.csv") == [] and fs.find(f"{project}/ds:v7") == []  # as fsspec answers
    assert fs.glob(f"{root}/nothing/*.csv") == []


def test_an_unreachable_server_is_a_connection_error_with_the_cause(tmp_path: Path) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # closed again below: nothing listens there
    fs = ArtifactFileSystem(
        api_key="k" * 40,
        base_url=f"http://127.0.0.1:{port}",
        cache_dir=str(tmp_path),
        retry=RetryPolicy(max_attempts=1, budget=1),
        skip_instance_cache=True,
    )
    with pytest.raises(ConnectionError) as failed:
        fs.info("local/p/ds:v0/a.txt")
    assert isinstance(failed.value.__cause__, errors.TransportError)
    with pytest.raises(ConnectionError):
        fs.exists("local/p/ds:v0/a.txt")  # not "it does not exist"
    fs.api.close()
