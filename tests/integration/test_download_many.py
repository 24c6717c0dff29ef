"""`Api.download_many`: many versions in one go, few requests, one budget, every failure named."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from artifactkit import Api, ManyDownload
from artifactkit.errors import DownloadManyError, NotCachedError, NotFoundError
from artifactkit.server.embedded import EmbeddedEmulator
from artifactkit.transfer import slots as slots_module
from tests.conftest import make_api
from tests.transfer.helpers import reset_stats, settled_stats, tree_bytes, write_tree

pytestmark = pytest.mark.timeout(120)

COUNT = 6
_EMULATOR: list[EmbeddedEmulator] = []


@pytest.fixture(autouse=True)
def _remember_emulator(emulator: EmbeddedEmulator) -> None:
    _EMULATOR[:] = [emulator]


def make_api_for_seeding(tmp_path: Path) -> Api:
    return make_api(_EMULATOR[0], tmp_path / "seed-cache")


def _seed(api: Api, tmp_path: Path, project: str) -> list[str]:
    """COUNT versions uploaded from another machine (another cache): this Api's cache holds none of them."""
    del api
    names = []
    with make_api_for_seeding(tmp_path) as seeder:
        for index in range(COUNT):
            files = {"a.txt": f"a{index}\n".encode(), "b/c.txt": f"c{index}\n".encode()}
            source = write_tree(tmp_path / f"src{index}", files)
            seeder.upload(source, f"{project}/c{index}", "dataset", aliases=["best"])
            names.append(f"{project}/c{index}:best")
    return names


def test_each_version_into_its_own_directory_with_one_lookup_for_all(
    emulator: EmbeddedEmulator, project: str, tmp_path: Path
) -> None:
    with make_api(emulator, tmp_path / "cache") as api:
        names = _seed(api, tmp_path, project)
        api.capabilities.operations  # noqa: B018 - the probe, not counted below
        reset_stats(emulator)
        outcomes = api.download_many(names, tmp_path / "out")
        cold = settled_stats(emulator).snapshot()
        reset_stats(emulator)
        again = api.download_many(names, tmp_path / "out")
        warm = settled_stats(emulator).snapshot()
    assert [o.name for o in outcomes] == names and all(isinstance(o, ManyDownload) and o.ok for o in outcomes)
    for index, outcome in enumerate(outcomes):
        assert outcome.root == tmp_path / "out" / f"c{index}:v0"
        assert tree_bytes(outcome.root) == {"a.txt": f"a{index}\n".encode(), "b/c.txt": f"c{index}\n".encode()}
    # cold: one lookup for all six (it also gives each manifest's URL and each file's URL), manifests and files
    assert cold["operations"] == {"VersionsByName": 1}
    assert cold["requests"] == {"graphql": 1, "blob": 3 * COUNT}
    # again: the one lookup only (aliases may have moved); manifests and files from the cache and the roots
    assert warm["operations"] == {"VersionsByName": 1}
    assert warm["requests"] == {"graphql": 1}
    assert all(o.result is not None and o.result.paths("keep") == ["a.txt", "b/c.txt"] for o in again)
    assert all(o.result is not None and o.result.url_requests == 0 for o in outcomes)  # the lookup gave them


def test_failures_are_collected_and_raised_after_the_others(
    emulator: EmbeddedEmulator, project: str, tmp_path: Path
) -> None:
    with make_api(emulator, tmp_path / "cache") as api:
        names = _seed(api, tmp_path, project)
        asked = [names[0], f"{project}/missing:v0", names[1], names[0]]
        with pytest.raises(DownloadManyError) as caught:
            api.download_many(asked, tmp_path / "out")
        error = caught.value
        assert [name for name, _ in error.failures] == [f"{project}/missing:v0"]
        assert isinstance(error.failures[0][1], NotFoundError) and error.__cause__ is error.failures[0][1]
        assert [o.ok for o in error.results] == [True, False, True, True]
        assert (tmp_path / "out" / "c1:v0" / "a.txt").read_bytes() == b"a1\n"  # the others were downloaded
        collected = api.download_many(asked, tmp_path / "out", raise_errors=False)
        assert [type(o.error).__name__ if o.error else None for o in collected] == [None, "NotFoundError", None, None]
        with pytest.raises(ValueError, match="max_workers"):
            api.download_many(names, tmp_path / "out", max_workers=0)


def test_one_budget_of_requests_for_all_versions(
    emulator: EmbeddedEmulator, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file request of every version holds one slot of one shared set of `max_workers`."""
    held = 0
    most = 0
    lock = threading.Lock()
    made: list[object] = []
    original_hold = slots_module.Slots.hold

    def counting_hold(self: slots_module.Slots):  # type: ignore[no-untyped-def]
        nonlocal held, most
        with original_hold(self):
            with lock:
                held += 1
                most = max(most, held)
                if self not in made:
                    made.append(self)
            try:
                yield
            finally:
                with lock:
                    held -= 1

    import contextlib

    monkeypatch.setattr(slots_module.Slots, "hold", contextlib.contextmanager(counting_hold))
    with make_api(emulator, tmp_path / "cache") as api:
        names = _seed(api, tmp_path, project)
        api.download_many(names, tmp_path / "out", max_workers=2)
    assert len(made) == 1  # one set of slots for all six versions
    assert 1 <= most <= 2


def test_offline_many_from_the_cache(emulator: EmbeddedEmulator, project: str, tmp_path: Path) -> None:
    with make_api(emulator, tmp_path / "cache") as api:
        names = _seed(api, tmp_path, project)
        api.download_many(names[:3], tmp_path / "online")
    reset_stats(emulator)
    with make_api(emulator, tmp_path / "cache", offline=True) as offline:
        outcomes = offline.download_many(names, tmp_path / "offline", raise_errors=False)
    assert [o.ok for o in outcomes] == [True, True, True, False, False, False]
    assert all(isinstance(o.error, NotCachedError) for o in outcomes[3:])
    assert tree_bytes(tmp_path / "offline" / "c2:v0") == {"a.txt": b"a2\n", "b/c.txt": b"c2\n"}
    assert sum(settled_stats(emulator).requests.values()) == 0


def test_lookups_go_in_batches_and_a_missing_name_fails_alone(
    emulator: EmbeddedEmulator, project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Names go MAX_BATCH per request; a missing one is diagnosed on its own, the rest of its batch proceeds."""
    monkeypatch.setattr("artifactkit.api.MAX_BATCH", 4)
    with make_api(emulator, tmp_path / "cache") as api:
        names = _seed(api, tmp_path, project)
        asked = [*names[:3], f"{project}/c0:v7", f"{project}/c-typo:best", *names[3:]]
        api.capabilities.operations  # noqa: B018 - the probe, not counted below
        reset_stats(emulator)
        outcomes = api.download_many(asked, tmp_path / "out", raise_errors=False)
        sent = settled_stats(emulator).snapshot()
    assert [o.ok for o in outcomes] == [True, True, True, False, False, True, True, True]
    missing_version, missing_collection = outcomes[3].error, outcomes[4].error
    assert isinstance(missing_version, NotFoundError) and "v7" in str(missing_version)
    assert isinstance(missing_collection, NotFoundError) and "c-typo" in str(missing_collection)
    assert sent["operations"]["VersionsByName"] == 2  # 8 names, 4 per request
    assert sent["requests"]["blob"] == 3 * COUNT
    assert tree_bytes(tmp_path / "out" / "c5:v0") == {"a.txt": b"a5\n", "b/c.txt": b"c5\n"}


def test_a_server_older_than_batches_gets_one_lookup_per_name(
    legacy_emulator: EmbeddedEmulator, project: str, tmp_path: Path
) -> None:
    """Before 0.12.11 the lookup cannot be batched: one `LegacyVersionFileAccess` per name, same files."""
    names = []
    with make_api(legacy_emulator, tmp_path / "seed-cache") as seeder:
        for index in range(3):
            source = write_tree(tmp_path / f"src{index}", {"a.txt": f"a{index}\n".encode()})
            seeder.upload(source, f"{project}/c{index}", "dataset", aliases=["best"])
            names.append(f"{project}/c{index}:best")
    with make_api(legacy_emulator, tmp_path / "cache") as api:
        api.capabilities.operations  # noqa: B018 - the probe, not counted below
        reset_stats(legacy_emulator)
        outcomes = api.download_many([*names, f"{project}/c0:v4"], tmp_path / "out", raise_errors=False)
        sent = settled_stats(legacy_emulator).snapshot()
    assert [o.ok for o in outcomes] == [True, True, True, False]
    assert isinstance(outcomes[3].error, NotFoundError)
    assert sent["operations"].get("LegacyVersionFileAccess") == 4 and "VersionsByName" not in sent["operations"]
    assert tree_bytes(tmp_path / "out" / "c2:v0") == {"a.txt": b"a2\n"}


def test_a_version_with_more_files_than_the_lookup_lists_pages_through_the_rest(
    emulator: EmbeddedEmulator, project: str, tmp_path: Path
) -> None:
    """The batched lookup lists a version's first 100 files; for a larger one the listing is asked as before."""
    files = {f"f{index:03d}.txt": f"{index}\n".encode() for index in range(101)}
    with make_api_for_seeding(tmp_path) as seeder:
        seeder.upload(write_tree(tmp_path / "big", files), f"{project}/big", "dataset")
        seeder.upload(write_tree(tmp_path / "small", {"a.txt": b"a\n"}), f"{project}/small", "dataset")
    with make_api(emulator, tmp_path / "cache") as api:
        api.capabilities.operations  # noqa: B018 - the probe, not counted below
        reset_stats(emulator)
        big, small = api.download_many([f"{project}/big", f"{project}/small"], tmp_path / "out")
        sent = settled_stats(emulator).snapshot()
    assert big.root is not None and tree_bytes(big.root) == files
    assert big.result is not None and big.result.url_requests == 1  # the whole listing, once
    assert small.result is not None and small.result.url_requests == 0
    assert sent["operations"] == {"VersionsByName": 1, "MembershipFileUrls": 1}
