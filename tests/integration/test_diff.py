"""`Artifact.diff()` / `Api.diff()` over HTTP on seeded versions: what changed, and what it cost."""

from __future__ import annotations

from pathlib import Path

import pytest

from artifactkit import Api
from artifactkit.diff import MISSING, diff_values
from artifactkit.server.embedded import EmbeddedEmulator
from tests.conftest import make_api
from tests.integration.support import upload

OLD_FILES = {
    "train/a.csv": "1,2\n",
    "train/b.csv": "b\n",
    "old.txt": "going away",
    "keep.txt": "kept",
    "images/cat.png": "meow",
}
NEW_FILES = {
    "train/a.csv": "1,2\n3,4\n",  # changed
    "train/b.csv": "b\n",  # unchanged
    "new.txt": "arrived",  # added
    "keep.txt": "kept",  # unchanged
    "pictures/cat.png": "meow",  # renamed: same bytes, new path
}


@pytest.fixture
def versions(api: Api, project: str, tmp_path: Path) -> tuple[str, str]:
    name = f"{project}/data"
    upload(
        api,
        tmp_path,
        name,
        files=OLD_FILES,
        metadata={"train": {"rows": 1000, "source": "s3"}, "lr": 0.1, "layers": [64, 64]},
        description="raw",
        aliases=["production"],
        tags=["raw"],
    )
    upload(
        api,
        tmp_path,
        name,
        files=NEW_FILES,
        metadata={"train": {"rows": 1200, "source": "s3"}, "lr": 0.1, "layers": [64, 128], "seed": 7},
        description="cleaned",
        aliases=["candidate"],
        tags=["raw", "cleaned"],
    )
    return f"{name}:v0", f"{name}:v1"


def test_diff_names_every_kind_of_change(api: Api, versions: tuple[str, str]) -> None:
    old, new = (api.artifact(name) for name in versions)
    found = old.diff(new)

    by_path = {c.path: c for c in found.files}
    assert {p: c.status for p, c in by_path.items()} == {
        "new.txt": "added",
        "old.txt": "removed",
        "train/a.csv": "changed",
        "pictures/cat.png": "renamed",
    }
    assert by_path["pictures/cat.png"].old_path == "images/cat.png"
    changed = by_path["train/a.csv"]
    assert (changed.old_size, changed.new_size, changed.size_delta) == (4, 8, 4)
    assert by_path["old.txt"].size_delta == -len("going away")
    assert found.unchanged_files == 2
    assert found.size_delta == new.size - old.size
    assert [str(c) for c in found.metadata] == ["layers[1]: 64 -> 128", "seed: (none) -> 7", "train.rows: 1000 -> 1200"]
    assert found.description == ("raw", "cleaned")
    assert (found.aliases_added, found.aliases_removed) == (("candidate", "latest"), ("production",))
    assert (found.tags_added, found.tags_removed) == (("cleaned",), ())
    assert not found.equal and bool(found)


def test_a_version_equals_itself(api: Api, versions: tuple[str, str]) -> None:
    version = api.artifact(versions[1])
    found = version.diff(api.artifact(versions[1]))
    assert found.equal and not found
    assert found.files == () and found.unchanged_files == len(NEW_FILES)


def test_a_path_filter_compares_only_the_files_it_selects(api: Api, versions: tuple[str, str]) -> None:
    found = api.diff(*versions, paths=["train/*"])
    assert [(c.path, c.status) for c in found.files] == [("train/a.csv", "changed")]
    assert (found.old_files, found.new_files, found.old_size, found.new_size) == (2, 2, 6, 10)


def test_across_two_collections(api: Api, project: str, tmp_path: Path) -> None:
    upload(api, tmp_path, f"{project}/raw", files={"a.csv": "x,y\n1,2\n", "junk.tmp": "junk"})
    upload(api, tmp_path, f"{project}/clean", "dataset", files={"a.csv": "x,y\n1,2\n"})
    found = api.diff(f"{project}/raw:v0", f"{project}/clean:v0")
    assert [(c.path, c.status) for c in found.files] == [("junk.tmp", "removed")]
    assert (found.old, found.new) == (f"{project}/raw:v0", f"{project}/clean:v0")


def test_two_versions_cost_two_lookups_and_two_manifest_fetches(
    any_emulator: EmbeddedEmulator, any_api: Api, project: str, tmp_path: Path
) -> None:
    """Each lookup names its version's manifest URL too (`VersionFileAccess`): no separate URL request."""
    name = f"{project}/counted"
    for files in (OLD_FILES, NEW_FILES):
        upload(any_api, tmp_path, name, files=files)
    any_api.default_entity  # noqa: B018 - the capability probe, once per Api, settled before counting
    any_emulator.stats.reset()
    found = any_api.diff(f"{name}:v0", f"{name}:latest")
    assert sorted((c.path, c.status) for c in found.files) == [
        ("new.txt", "added"),
        ("old.txt", "removed"),
        ("pictures/cat.png", "renamed"),
        ("train/a.csv", "changed"),
    ]
    lookup = "LegacyVersionFileAccess" if any_emulator.settings.legacy else "VersionFileAccess"
    assert dict(any_emulator.stats.operations) == {lookup: 2}
    assert any_emulator.stats.requests["blob"] == 2  # the two manifests; no file's bytes travel


def test_a_missing_side_is_found_missing_before_any_manifest_travels(
    emulator: EmbeddedEmulator, api: Api, versions: tuple[str, str]
) -> None:
    from artifactkit.errors import NotFoundError

    api.default_entity  # noqa: B018 - settled before counting
    emulator.stats.reset()
    with pytest.raises(NotFoundError, match="v7"):
        api.diff(versions[0], versions[0].replace(":v0", ":v7"))
    assert emulator.stats.requests["blob"] == 0


def test_cached_manifests_named_by_id_or_digest_need_no_request(
    emulator: EmbeddedEmulator, api: Api, versions: tuple[str, str], tmp_path: Path
) -> None:
    old, new = (api.artifact(name) for name in versions)
    expected = old.diff(new, files_only=True)  # fetches both manifests into the cache
    by_digest = [
        f"{name.rsplit(':', 1)[0]}:{artifact.digest}" for name, artifact in zip(versions, (old, new), strict=True)
    ]

    with make_api(emulator, tmp_path / "cache") as fresh:  # the same cache, a new client: nothing in memory
        fresh.default_entity  # noqa: B018 - settled before counting (paths here name their entity anyway)
        emulator.stats.reset()
        assert fresh.diff(old.id, new.id, files_only=True).files == expected.files
        assert fresh.diff(*by_digest, files_only=True).files == expected.files
        assert fresh.diff(old.id, by_digest[1], files_only=True).files == expected.files
        assert emulator.stats.snapshot()["requests"] == {}

        # Metadata, aliases and tags can change, so a full diff asks for them (the manifests stay cached).
        full = fresh.diff(old.id, new.id)
        # (No capability probe: the first client kept the server's answer in the same cache.)
        assert dict(emulator.stats.operations) == {"ArtifactByID": 2}
        assert full.aliases_removed == ("production",)


def test_a_cached_manifest_named_by_alias_is_looked_up(
    emulator: EmbeddedEmulator, api: Api, versions: tuple[str, str]
) -> None:
    """An alias moves, so even a files-only diff asks which version it names (the manifests come from the cache)."""
    api.diff(*versions, files_only=True)
    emulator.stats.reset()
    api.diff(*versions, files_only=True)
    assert dict(emulator.stats.operations) == {"VersionFileAccess": 2}
    assert emulator.stats.requests["blob"] == 0


def test_an_unknown_id_is_not_found(api: Api, versions: tuple[str, str]) -> None:
    from artifactkit.errors import NotFoundError

    with pytest.raises(NotFoundError, match="QXJ0aWZhY3Q6OTk5OTk5"):
        api.diff("QXJ0aWZhY3Q6OTk5OTk5", versions[0])


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ({"a": 1}, {"a": 1.0}, []),  # one JSON number
        ({"a": True}, {"a": 1}, ["a: true -> 1"]),
        ({"a": {"b": [1, {"c": 2}]}}, {"a": {"b": [1, {"c": 3}, 4]}}, ["a.b[1].c: 2 -> 3", "a.b[2]: (none) -> 4"]),
        ({"odd.key": 1}, {}, ['["odd.key"]: 1 -> (none)']),
        ({"a": {"b": 1}}, {"a": 5}, ['a: {"b": 1} -> 5']),
    ],
)
def test_metadata_changes_are_paths_into_the_json(old: object, new: object, expected: list[str]) -> None:
    assert [str(c) for c in diff_values(old, new)] == expected


def test_a_removed_key_has_no_new_value() -> None:
    [change] = diff_values({"gone": 1}, {})
    assert (change.status, change.old, change.new) == ("removed", 1, MISSING)
