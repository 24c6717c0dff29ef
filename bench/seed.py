"""Benchmark data, created through artifactkit's own upload path and kept between runs."""

from __future__ import annotations

import json
import random
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from artifactkit import Api

ENTITY = "local"
PROJECT = "bench"


@dataclass(frozen=True)
class Sizes:
    versions: int = 10_000
    files_small: int = 10_000
    files_large: int = 100_000
    many_small_files: int = 2_000
    small_file_bytes: int = 4096
    big_file_bytes: int = 256 * 1024 * 1024

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            versions=500, files_small=1_000, files_large=5_000, many_small_files=200, big_file_bytes=16 * 1024 * 1024
        )


def name(collection: str) -> str:
    return f"{ENTITY}/{PROJECT}/{collection}"


def seed(api: Api, data_dir: Path, sizes: Sizes, *, versions_only: bool = False, downloads_only: bool = False) -> None:
    """Create every benchmark artifact unless the data dir says it already holds them.

    `versions_only` creates just the many-versions collection (what listings and the load need);
    `downloads_only` just the two artifacts the download scenarios fetch.
    """
    marker = data_dir / "bench-seeded.json"
    if versions_only:
        with tempfile.TemporaryDirectory() as tmp:
            _versions(api, Path(tmp), sizes.versions)
        return
    if downloads_only:
        with tempfile.TemporaryDirectory() as tmp:
            _downloads(api, Path(tmp), sizes)
        return
    if marker.exists() and json.loads(marker.read_text()) == asdict(sizes):
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _versions(api, work, sizes.versions)
        one = work / "same.txt"
        one.write_text("the same bytes under many paths\n")
        for count in (sizes.files_small, sizes.files_large):
            api.upload(
                {f"shard-{i // 1000:03d}/file-{i:06d}.txt": one for i in range(count)},
                name(f"files-{count}"),
                "dataset",
            )
        _downloads(api, work, sizes)
    api.upload({"marker.txt": _marker_file(data_dir)}, name("types-marker"), "evaluation")
    marker.write_text(json.dumps(asdict(sizes)))


def _downloads(api: Api, work: Path, sizes: Sizes) -> None:
    """The many small files and the one big file (the same bytes every time: uploading again is free)."""
    small = work / "small"
    small.mkdir()
    rng = random.Random(1)
    for i in range(sizes.many_small_files):
        (small / f"{i // 100:02d}").mkdir(exist_ok=True)
        (small / f"{i // 100:02d}" / f"f{i:05d}.bin").write_bytes(rng.randbytes(sizes.small_file_bytes))
    api.upload(small, name("small-files"), "dataset")
    big = work / "big.bin"
    rng = random.Random(2)
    with big.open("wb") as f:
        remaining = sizes.big_file_bytes
        while remaining:
            chunk = min(remaining, 8 << 20)
            f.write(rng.randbytes(chunk))
            remaining -= chunk
    api.upload(big, name("big-file"), "model")


def _marker_file(data_dir: Path) -> Path:
    path = data_dir / "types-marker.txt"
    path.write_text("makes a third artifact type exist\n")
    return path


def _versions(api: Api, work: Path, count: int) -> None:
    from artifactkit.errors import NotFoundError

    try:
        existing = len(api.artifacts("dataset", name("many-versions")))
    except NotFoundError:  # nothing seeded yet
        existing = 0
    todo = range(existing, count)

    def upload(index: int) -> None:
        path = work / f"v{index}.txt"
        path.write_text(f"version {index}\n")
        api.upload({"data.txt": path}, name("many-versions"), "dataset", metadata={"index": index})

    # Versions are numbered in commit order; the content (and so the count) is what matters here.
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(upload, todo))
