"""Pickling for DataLoader and dask workers: filesystems and open files, in this process and in a spawned one."""

from __future__ import annotations

import logging
import multiprocessing
import pickle
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx
import pytest

from artifactkit import Api
from artifactkit.fs import ArtifactFileSystem
from artifactkit.server.embedded import EmbeddedEmulator
from tests.conftest import make_api
from tests.fs.workers import read_after_fork, read_in_worker
from tests.integration.support import upload


@pytest.fixture(autouse=True)
def _fresh_instances() -> Iterator[None]:
    """Unpickled filesystems land in fsspec's instance cache: close and forget them after each test."""
    yield
    for instance in list(ArtifactFileSystem._cache.values()):
        instance.api.close()
    ArtifactFileSystem.clear_instance_cache()


def test_a_filesystem_around_an_api_pickles_by_its_resolved_configuration(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    upload(api, tmp_path, f"{project}/pickled", files={"a.txt": "alpha"})
    configured = Api(
        api_key=emulator.api_key, base_url=emulator.url, cache_dir=tmp_path / "cache", entity="team", timeout=7
    )
    fs = ArtifactFileSystem(configured, block_size=1 << 16)
    caplog.set_level(logging.DEBUG, logger="artifactkit")

    copy = pickle.loads(pickle.dumps(fs))

    assert copy is not fs and copy.api is not configured
    assert copy.cat_file(f"wandb://{project}/pickled:v0/a.txt") == b"alpha"
    assert copy.api.base_url == emulator.url and copy.api.default_entity == "team"
    assert copy.api.timeout == 7 and copy.blocksize == 1 << 16
    assert copy.cache.root == fs.cache.root == tmp_path / "cache"
    assert pickle.loads(pickle.dumps(fs)) is copy  # equal configurations share one instance, as in fsspec
    assert emulator.api_key not in repr(fs) + repr(copy) + repr(copy.api) + caplog.text
    configured.close()


def test_a_filesystem_from_storage_options_pickles_by_them(emulator: EmbeddedEmulator, tmp_path: Path) -> None:
    fs = ArtifactFileSystem(api_key=emulator.api_key, base_url=emulator.url, cache_dir=str(tmp_path / "c"))
    assert pickle.loads(pickle.dumps(fs)) is fs  # fsspec's instance cache, in the same process
    assert emulator.api_key not in repr(fs)


def test_an_open_file_pickles_on_its_version_and_position(
    fs: ArtifactFileSystem, api: Api, project: str, tmp_path: Path
) -> None:
    upload(api, tmp_path, f"{project}/moving", files={"data.txt": "first version"})
    url = f"wandb://{project}/moving:latest/data.txt"
    with fs.open(url, block_size=4) as f:
        assert f.read(6) == b"first "
        upload(api, tmp_path, f"{project}/moving", files={"data.txt": "second version, longer"})
        copy = pickle.loads(pickle.dumps(f))
    with copy:
        assert copy.tell() == 6 and copy.path == f.path
        assert copy.read() == b"version"  # the rest of v0: latest moved to v1 meanwhile
        assert copy.info()["version"] == "v0"
        assert copy.info()["name"] == f"{project}/moving:latest/data.txt"
    copy.fs.api.close()


def test_a_filesystem_with_a_custom_http_transport_refuses_to_pickle(
    emulator: EmbeddedEmulator, tmp_path: Path
) -> None:
    with Api(
        api_key=emulator.api_key,
        base_url=emulator.url,
        cache_dir=tmp_path,
        http_transport=httpx.HTTPTransport(retries=0, local_address="127.0.0.1"),
    ) as proxied:
        fs = ArtifactFileSystem(proxied)
        assert pickle.loads(pickle.dumps(fs)).api is not proxied  # a plain HTTPTransport rebuilds
    with (
        Api(
            api_key=emulator.api_key,
            base_url=emulator.url,
            cache_dir=tmp_path,
            http_transport=httpx.MockTransport(lambda request: httpx.Response(500)),
        ) as mocked,
        pytest.raises(TypeError, match="custom http_transport"),
    ):
        pickle.dumps(ArtifactFileSystem(mocked))


def test_a_spawned_worker_reads_through_the_pickled_filesystem_and_file(
    emulator: EmbeddedEmulator, api: Api, project: str, tmp_path: Path
) -> None:
    upload(api, tmp_path, f"{project}/worker", files={"rows.csv": "a,b\n1,2\n", "notes.txt": "0123456789"})
    upload(api, tmp_path, f"{project}/worker", files={"rows.csv": "a,b\n9,9\n", "notes.txt": "abcdefghij"})
    fs = ArtifactFileSystem(make_api(emulator, tmp_path / "cache"))
    with fs.open(f"wandb://{project}/worker:v0/notes.txt") as f:
        f.seek(4)
        pickled_file = pickle.dumps(f)
    pickled_fs = pickle.dumps(fs)
    assert emulator.api_key.encode() in pickled_fs  # the worker needs it: the pickle is as secret as the key

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        result = pool.submit(read_in_worker, pickled_fs, f"wandb://{project}/worker:latest/rows.csv", pickled_file)
        answer = result.result(timeout=60)
    fs.api.close()

    assert answer["cat"] == b"a,b\n9,9\n"
    assert answer["rest_of_file"] == b"456789" and answer["file_version"] == "v0"
    assert emulator.api_key not in answer["repr"]


@pytest.mark.skipif(sys.platform != "linux", reason="the fork start method (DataLoader's default on Linux)")
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")  # Python 3.12+ warns on fork with threads
def test_a_forked_worker_builds_its_own_connections(
    emulator: EmbeddedEmulator, fs: ArtifactFileSystem, api: Api, project: str, tmp_path: Path
) -> None:
    upload(api, tmp_path, f"{project}/forked", files={"a.txt": "alpha", "b.txt": "bravo"})
    assert fs.cat_file(f"wandb://{project}/forked:v0/a.txt") == b"alpha"  # the parent holds open connections
    context = multiprocessing.get_context("fork")
    answers = context.Queue()
    worker = context.Process(target=read_after_fork, args=(fs, f"wandb://{project}/forked:latest/b.txt", answers))
    worker.start()
    answer = answers.get(timeout=60)
    worker.join(30)
    assert worker.exitcode == 0 and "error" not in answer, answer
    assert answer["cat"] == b"bravo"
    assert answer["own_api"] and answer["same_server"]  # never the parent's sockets
    assert fs.cat_file(f"wandb://{project}/forked:v0/b.txt") == b"bravo"  # the parent's connections still work
