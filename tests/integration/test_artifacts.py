"""Versions (`Artifacts`, `Artifact`), their files (`ArtifactFiles`, `File`) and runs (`Run`,
`RunArtifacts`) against the emulator, in both server personalities where the edge family matters."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from artifactkit import Api, Artifact, ArtifactFiles, Artifacts, File, Run, RunArtifacts, errors
from artifactkit.server.embedded import EmbeddedEmulator
from tests.integration.support import upload

FILES_V0 = {"a.txt": "alpha zero\n", "dir/b.txt": "bee\n", "dir/c.bin": "c" * 300}


@dataclass
class Seeded:
    project: str
    entity: str
    name: str
    v0: Artifact

    def path(self, name: str) -> str:
        return f"{self.project}/{name}"


def seed(api: Api, root: Path, project: str) -> Seeded:
    """alpha: v0 (best; tag raw; metadata; logged by run r1; used by r2), v1 (tags raw+clean), v2 (latest);
    portfolio registry -> alpha:v1 (alias production). A server older than 0.12.11 has no tags: none there."""
    tagged = api.client.operations.tags
    v0 = upload(
        api,
        root,
        f"{project}/alpha",
        files=FILES_V0,
        aliases=["best"],
        tags=["raw"] if tagged else [],
        metadata={"n": 1, "nested": {"lr": 0.1}},
        description="first",
        run="r1",
    )
    v1 = upload(api, root, f"{project}/alpha", tags=["raw", "clean"] if tagged else [])
    upload(api, root, f"{project}/alpha")
    api.use_artifact(v0, f"{project}/r2", used_as="training")
    v1.link(f"{project}/registry", aliases=["production"])
    entity, name = project.split("/")
    return Seeded(project, entity, name, v0)


@pytest.fixture
def seeded(any_api: Api, tmp_path: Path, project: str) -> Seeded:
    return seed(any_api, tmp_path, project)


def versions(listing: Artifacts | RunArtifacts | list[Artifact]) -> list[str]:
    return [a.name for a in listing]


# -- Artifacts -----------------------------------------------------------------------------------------


def test_lists_the_versions_of_a_collection_newest_first(any_api: Api, seeded: Seeded) -> None:
    listing = any_api.artifacts("dataset", seeded.path("alpha"), per_page=2)
    assert isinstance(listing, Artifacts)
    assert len(listing) == listing.length == 3
    assert versions(listing) == ["alpha:v2", "alpha:v1", "alpha:v0"]
    assert (listing.more, versions(listing.convert_objects())) == (False, ["alpha:v0"])  # the last page
    assert all(isinstance(a, Artifact) and not a.is_link for a in listing)


def test_versions_are_ordered_on_the_server(any_api: Api, seeded: Seeded) -> None:
    assert versions(any_api.artifacts("dataset", seeded.path("alpha"), order="versionIndex")) == [
        "alpha:v0",
        "alpha:v1",
        "alpha:v2",
    ]
    assert versions(any_api.artifacts("dataset", seeded.path("alpha"), order="-createdAt"))[0] == "alpha:v2"


def test_versions_are_filtered_on_the_server_and_len_counts_the_filtered(any_api: Api, seeded: Seeded) -> None:
    by_metadata = any_api.artifacts("dataset", seeded.path("alpha"), filters={"metadata.n": 1})
    assert (len(by_metadata), versions(by_metadata)) == (1, ["alpha:v0"])
    by_alias = any_api.artifacts("dataset", seeded.path("alpha"), filters={"alias": "best"})
    assert versions(by_alias) == ["alpha:v0"]
    nothing = any_api.artifacts("dataset", seeded.path("alpha"), filters={"metadata.n": 99})
    assert (len(nothing), versions(nothing), bool(nothing)) == (0, [], False)


def test_tags_keep_versions_carrying_all_of_them(any_api: Api, seeded: Seeded) -> None:
    if not any_api.client.operations.tags:  # a server older than 0.12.11 has no tags to select by
        with pytest.raises(errors.UnsupportedError, match="predates artifact tags"):
            any_api.artifacts("dataset", seeded.path("alpha"), tags="raw")
        return
    raw = any_api.artifacts("dataset", seeded.path("alpha"), tags="raw")
    assert (len(raw), versions(raw)) == (2, ["alpha:v1", "alpha:v0"])
    both = any_api.artifacts("dataset", seeded.path("alpha"), tags=["raw", "clean"])
    assert (len(both), versions(both)) == (1, ["alpha:v1"])
    combined = any_api.artifacts("dataset", seeded.path("alpha"), tags=["raw"], filters={"metadata.n": 1})
    assert versions(combined) == ["alpha:v0"]
    with pytest.raises(errors.InvalidNameError, match="tag 'a/b' is not valid"):
        any_api.artifacts("dataset", seeded.path("alpha"), tags="a/b")


def test_only_committed_versions_are_asked_for_unless_the_filter_names_a_state(
    any_emulator: EmbeddedEmulator, any_api: Api, seeded: Seeded
) -> None:
    def filters_sent(**options: object) -> object:
        any_emulator.stats.reset()
        list(any_api.artifacts("dataset", seeded.path("alpha"), **options))  # type: ignore[arg-type]
        [entry] = [e for e in any_emulator.stats.graphql_log if "CollectionVersions" in e["operationName"]]
        return json.loads(entry["variables"]["filters"])

    assert filters_sent() == {"state": "COMMITTED"}
    assert filters_sent(filters={"state": "PENDING"}) == {"state": "PENDING"}
    if not any_api.client.operations.tags:  # no tags before 0.12.11 (see test_tags_keep_versions_...)
        return
    assert filters_sent(filters={"metadata.n": 1}, tags=["raw", "clean"]) == {
        "$and": [{"metadata.n": 1}, {"state": "COMMITTED"}, {"$and": [{"tag": "raw"}, {"tag": "clean"}]}]
    }


def test_the_versions_of_a_portfolio_are_links(api: Api, tmp_path: Path, project: str) -> None:
    seeded = seed(api, tmp_path, project)
    [link] = api.artifacts("dataset", seeded.path("registry"))
    assert (link.name, link.version, link.is_link, link.aliases) == (
        "registry:v0",
        "v0",
        True,
        ["latest", "production"],
    )
    assert (link.source_name, link.source_version, link.source_qualified_name) == (
        "alpha:v1",
        "v1",
        seeded.path("alpha:v1"),
    )


def test_the_versions_of_a_missing_collection_are_not_found(any_api: Api, seeded: Seeded) -> None:
    with pytest.raises(errors.NotFoundError, match="collection 'gamma' of type 'dataset' not found") as caught:
        len(any_api.artifacts("dataset", seeded.path("gamma")))
    assert caught.value.kind == "collection"
    with pytest.raises(errors.NotFoundError, match="artifact type 'nope' not found"):
        list(any_api.artifacts("nope", seeded.path("alpha")))


# -- Api.artifact ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [("alpha:v1", "alpha:v1"), ("alpha:latest", "alpha:v2"), ("alpha:best", "alpha:v0"), ("alpha", "alpha:v2")],
    ids=["version", "latest", "alias", "bare-name"],
)
def test_artifact_resolves_versions_and_aliases(any_api: Api, seeded: Seeded, name: str, expected: str) -> None:
    artifact = any_api.artifact(seeded.path(name))
    assert artifact.qualified_name == seeded.path(expected)
    assert any_api.artifact_exists(seeded.path(name))


def test_artifact_takes_the_project_from_the_defaults(emulator: EmbeddedEmulator, tmp_path: Path, project: str) -> None:
    entity, name = project.split("/")
    with Api(api_key=emulator.api_key, base_url=emulator.url, entity=entity, project=name, cache_dir=tmp_path) as api:
        seed(api, tmp_path, project)
        assert api.artifact("alpha:v0").qualified_name == f"{project}/alpha:v0"
        assert api.artifact(f"{name}/alpha:best").version == "v0"


def test_artifact_checks_the_type_when_given(any_api: Api, seeded: Seeded) -> None:
    assert any_api.artifact(seeded.path("alpha:v0"), type="dataset").type == "dataset"
    with pytest.raises(errors.NotFoundError, match="is of type 'dataset', not 'model'") as caught:
        any_api.artifact(seeded.path("alpha:v0"), type="model")
    assert caught.value.kind == "artifact type"
    assert not any_api.artifact_exists(seeded.path("alpha:v0"), type="model")
    assert any_api.artifact_exists(seeded.path("alpha:v0"), type="dataset")


def test_artifact_exists_says_no_for_anything_missing(any_api: Api, seeded: Seeded) -> None:
    for missing in ("alpha:v9", "alpha:nope", "gamma:v0"):
        assert not any_api.artifact_exists(seeded.path(missing))
    assert not any_api.artifact_exists("local/missing-project/alpha:v0")
    assert not any_api.artifact_exists("nobody-such/x/alpha:v0")


# -- Artifact ---------------------------------------------------------------------------------------------


def test_artifact_properties(any_api: Api, seeded: Seeded) -> None:
    v0 = any_api.artifact(seeded.path("alpha:v0"))
    assert (v0.entity, v0.project, v0.collection_name) == (seeded.entity, seeded.name, "alpha")
    assert (v0.name, v0.version, v0.qualified_name) == ("alpha:v0", "v0", seeded.path("alpha:v0"))
    assert (v0.source_name, v0.source_qualified_name, v0.is_link) == ("alpha:v0", seeded.path("alpha:v0"), False)
    assert (v0.type, v0.state, v0.description) == ("dataset", "COMMITTED", "first")
    assert (v0.aliases, v0.tags) == (["best"], ["raw"] if any_api.client.operations.tags else [])
    assert v0.metadata == {"n": 1, "nested": {"lr": 0.1}}
    assert (v0.file_count, v0.size) == (3, sum(len(t) for t in FILES_V0.values()))
    assert len(v0.digest) == 32 and v0.digest == seeded.v0.digest
    assert v0.id == seeded.v0.id
    assert v0.created_at_datetime.tzinfo is not None and v0.created_at_datetime.isoformat()[:2] == "20"
    assert isinstance(v0.created_at, str) and v0.updated_at_datetime >= v0.created_at_datetime
    assert v0.history_step is None
    collection = v0.collection
    assert (collection.name, collection.type, collection.is_sequence()) == ("alpha", "dataset", True)
    assert v0.collection is collection


def test_a_listed_and_a_looked_up_version_agree(any_api: Api, seeded: Seeded) -> None:
    listed = {a.version: a for a in any_api.artifacts("dataset", seeded.path("alpha"))}
    looked_up = any_api.artifact(seeded.path("alpha:v0"))
    for attribute in ("id", "qualified_name", "aliases", "tags", "metadata", "digest", "size", "description"):
        assert getattr(listed["v0"], attribute) == getattr(looked_up, attribute), attribute


def test_save_sends_alias_tag_description_and_metadata_edits(
    any_emulator: EmbeddedEmulator, any_api: Api, seeded: Seeded
) -> None:
    tagged = any_api.client.operations.tags
    update = "UpdateArtifact" if tagged else "LegacyUpdateArtifact"
    v0 = any_api.artifact(seeded.path("alpha:v0"))
    v0.aliases = ["best", "golden", "golden"]
    v0.tags = ["raw", "checked"]
    v0.description = "the first, checked"
    v0.metadata["nested"]["lr"] = 0.2  # a nested edit is an edit too
    any_emulator.stats.reset()
    if not tagged:  # a server older than 0.12.11 has no tags: refused before any request
        with pytest.raises(errors.UnsupportedError, match="predates artifact tags"):
            v0.save()
        assert any_emulator.stats.operations == {}
        v0.tags = []
    v0.save()
    assert dict(any_emulator.stats.operations) == {"AddAliases": 1, update: 1}
    again = any_api.artifact(seeded.path("alpha:golden"))
    assert again.version == "v0"
    assert (again.aliases, again.tags) == (["best", "golden"], ["raw", "checked"] if tagged else [])
    assert (again.description, again.metadata) == ("the first, checked", {"n": 1, "nested": {"lr": 0.2}})
    again.aliases.remove("best")
    again.tags = []
    any_emulator.stats.reset()
    again.save()
    assert dict(any_emulator.stats.operations) == {"DeleteAliases": 1, **({update: 1} if tagged else {})}
    assert not any_api.artifact_exists(seeded.path("alpha:best"))
    assert any_api.artifact(seeded.path("alpha:v0")).tags == []


def test_save_without_edits_sends_nothing(any_emulator: EmbeddedEmulator, any_api: Api, seeded: Seeded) -> None:
    v0 = any_api.artifact(seeded.path("alpha:v0"))
    any_emulator.stats.reset()
    v0.save()
    assert any_emulator.stats.operations == {}


def test_a_saved_edit_is_not_sent_again(any_emulator: EmbeddedEmulator, any_api: Api, seeded: Seeded) -> None:
    v1 = any_api.artifact(seeded.path("alpha:v1"))
    v1.aliases.append("reviewed")
    v1.save()  # aliases only: no updateArtifact, so nothing is echoed back
    v1.description = "described"
    v1.save()
    any_emulator.stats.reset()
    v1.save()
    assert any_emulator.stats.operations == {}
    assert (v1.aliases, v1.description) == (["reviewed"], "described")


def test_aliases_of_a_link_are_edited_in_its_portfolio(api: Api, tmp_path: Path, project: str) -> None:
    seeded = seed(api, tmp_path, project)
    link = api.artifact(seeded.path("registry:production"))
    link.aliases.append("staging")
    link.save()
    assert link.aliases == ["latest", "production", "staging"]
    assert api.artifact(seeded.path("registry:staging")).source_name == "alpha:v1"
    assert not api.artifact_exists(seeded.path("alpha:staging"))


@pytest.mark.parametrize(
    ("aliases", "error", "message"),
    [
        (["v7"], errors.UnsupportedError, "version aliases such as 'v3' are assigned by the server"),
        (["a:b"], errors.InvalidNameError, "alias 'a:b' is not valid"),
        (["a/b"], errors.InvalidNameError, "alias 'a/b' is not valid"),
    ],
)
def test_invalid_alias_edits_fail_before_any_request(
    emulator: EmbeddedEmulator,
    api: Api,
    tmp_path: Path,
    project: str,
    aliases: list[str],
    error: type[Exception],
    message: str,
) -> None:
    artifact = upload(api, tmp_path, f"{project}/alpha")
    artifact.aliases = aliases
    emulator.stats.reset()
    with pytest.raises(error, match=message):
        artifact.save()
    with pytest.raises(error, match=message):
        artifact.link(f"{project}/registry", aliases=aliases)
    assert emulator.stats.operations == {}


def test_delete_refuses_a_version_with_aliases_unless_asked(any_api: Api, seeded: Seeded) -> None:
    v0 = any_api.artifact(seeded.path("alpha:v0"))
    with pytest.raises(errors.ConflictError, match="still has aliases") as caught:
        v0.delete()
    assert caught.value.status_code == 409
    # In the words of this method, not of the GraphQL field (`deleteAliases`) behind it.
    assert str(caught.value).endswith("pass delete_aliases=True to delete it with its aliases")
    assert "deleteAliases" not in str(caught.value)
    assert any_api.artifact_exists(seeded.path("alpha:v0"))
    v0.delete(delete_aliases=True)
    assert not any_api.artifact_exists(seeded.path("alpha:v0"))
    assert not any_api.artifact_exists(seeded.path("alpha:best"))
    assert versions(any_api.artifacts("dataset", seeded.path("alpha"))) == ["alpha:v2", "alpha:v1"]


def test_link_and_unlink(any_emulator: EmbeddedEmulator, any_api: Api, seeded: Seeded) -> None:
    v0 = any_api.artifact(seeded.path("alpha:v0"))
    link = v0.link("registry", aliases=["candidate"])  # relative to the version's project
    assert (link.qualified_name, link.is_link, link.aliases) == (
        seeded.path("registry:v1"),
        True,
        ["latest", "candidate"],
    )
    assert (link.id, link.source_name) == (v0.id, "alpha:v0")
    assert any_api.artifact(seeded.path("registry:candidate")).source_name == "alpha:v0"
    any_emulator.stats.reset()
    link.unlink()
    assert dict(any_emulator.stats.operations) == {"UnlinkArtifact": 1}
    assert not any_api.artifact_exists(seeded.path("registry:candidate"))
    assert any_api.artifact_exists(seeded.path("alpha:v0"))  # the source stays


def test_deleting_a_link_unlinks_it(any_api: Api, seeded: Seeded) -> None:
    link = any_api.artifact(seeded.path("registry:production"))
    link.delete()
    assert not any_api.artifact_exists(seeded.path("registry:production"))
    assert any_api.artifact_exists(seeded.path("alpha:v1"))


def test_only_links_can_be_unlinked_and_only_into_portfolios(any_api: Api, seeded: Seeded) -> None:
    v0 = any_api.artifact(seeded.path("alpha:v0"))
    with pytest.raises(errors.UnsupportedError, match="is not a link; use delete"):
        v0.unlink()
    with pytest.raises(errors.ConflictError, match="'alpha' is a sequence"):
        v0.link(seeded.path("alpha"))


def test_logged_by_and_used_by(any_api: Api, seeded: Seeded) -> None:
    v0 = any_api.artifact(seeded.path("alpha:v0"))
    creator = v0.logged_by()
    assert isinstance(creator, Run)
    assert (creator.id, creator.path) == ("r1", [seeded.entity, seeded.name, "r1"])
    assert any_api.artifact(seeded.path("alpha:v1")).logged_by() is None  # uploaded outside a run
    users = v0.used_by()
    assert [run.path_str for run in users] == [seeded.path("r2")]
    assert any_api.artifact(seeded.path("alpha:v2")).used_by() == []


# -- files ---------------------------------------------------------------------------------------------


def test_files_of_a_version(any_api: Api, seeded: Seeded) -> None:
    v0 = any_api.artifact(seeded.path("alpha:v0"))
    files = v0.files(per_page=2)
    assert isinstance(files, ArtifactFiles)
    assert files.path == [seeded.entity, seeded.name, "alpha:v0"]
    assert len(files) == 3 and files.length == 3
    listed = list(files)
    assert [f.name for f in listed] == sorted(FILES_V0)
    assert all(isinstance(f, File) for f in listed)


def test_files_by_name_are_counted_as_asked(any_api: Api, seeded: Seeded) -> None:
    v0 = any_api.artifact(seeded.path("alpha:v0"))
    one = v0.files(names=["dir/b.txt"])
    assert (len(one), [f.name for f in one]) == (1, ["dir/b.txt"])
    none = v0.files(names=["not-there.txt"])
    assert (len(none), list(none)) == (0, [])


def test_file_members_and_download(any_api: Api, seeded: Seeded, tmp_path: Path) -> None:
    v0 = any_api.artifact(seeded.path("alpha:v0"))
    [file] = v0.files(names=["dir/b.txt"])
    content = FILES_V0["dir/b.txt"].encode()
    assert (file.name, file.size, file.is_reference) == ("dir/b.txt", len(content), False)
    assert file.md5 == base64.b64encode(hashlib.md5(content).digest()).decode()
    assert file.id and file.direct_url.startswith(("http://", "https://"))
    assert file.artifact is v0
    target = file.download_path(tmp_path / "one")
    assert target == tmp_path / "one" / "dir" / "b.txt"
    assert target.read_bytes() == content
    with file.download(tmp_path / "two") as handle:  # wandb's form: the file, open for reading
        assert (handle.name, handle.read()) == (str(tmp_path / "two" / "dir" / "b.txt"), content.decode())


def test_download_and_verify_a_version(any_api: Api, seeded: Seeded, tmp_path: Path) -> None:
    v0 = any_api.artifact(seeded.path("alpha:v0"))
    root = Path(v0.download(tmp_path / "v0"))
    assert {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*") if p.is_file()} == FILES_V0
    v0.verify(root)
    (root / "a.txt").write_text("tampered")
    with pytest.raises(errors.DigestMismatchError):
        v0.verify(root)


# -- runs ---------------------------------------------------------------------------------------------


def test_run_and_its_artifacts(any_api: Api, seeded: Seeded) -> None:
    r1 = any_api.run(seeded.path("r1"))
    assert isinstance(r1, Run)
    assert (r1.id, r1.name, r1.path, r1.path_str) == ("r1", "r1", [seeded.entity, seeded.name, "r1"], seeded.path("r1"))
    logged = r1.logged_artifacts()
    assert isinstance(logged, RunArtifacts) and logged.mode == "logged"
    assert (len(logged), versions(logged)) == (1, ["alpha:v0"])
    assert list(r1.used_artifacts()) == []
    r2 = any_api.run(f"{seeded.entity}/{seeded.name}/runs/r2")  # the form W&B URLs use
    used = r2.used_artifacts(per_page=1)
    assert (used.mode, len(used), used.length, versions(used)) == ("used", 1, 1, ["alpha:v0"])
    assert [a.aliases for a in used] == [["best"]]
    assert list(r2.logged_artifacts()) == []


def test_run_artifacts_are_seen_through_their_sequence(api: Api, tmp_path: Path, project: str) -> None:
    v = upload(api, tmp_path, f"{project}/alpha", run="r9")
    v.link(f"{project}/registry")
    [logged] = api.run(f"{project}/r9").logged_artifacts()
    assert (logged.name, logged.is_link) == ("alpha:v0", False)


def test_run_artifacts_mode_is_checked(any_api: Api, seeded: Seeded) -> None:
    r1 = any_api.run(seeded.path("r1"))
    with pytest.raises(ValueError, match="mode must be 'logged' or 'used', not 'made'"):
        RunArtifacts(any_api.client, r1, mode="made")  # type: ignore[arg-type]


def test_a_missing_run_is_not_found(any_api: Api, seeded: Seeded) -> None:
    with pytest.raises(errors.NotFoundError, match=f"run 'nope' not found in {seeded.project}") as caught:
        any_api.run(seeded.path("nope"))
    assert caught.value.kind == "run"
    with pytest.raises(errors.NotFoundError, match="project local/missing-project not found"):
        any_api.run("local/missing-project/r1")


class WithoutLinkMembership(httpx.BaseTransport):
    """Forwards to the emulator but drops `artifactMembership` from linkArtifact answers, as a server
    without ARTIFACT_MEMBERSHIP_IN_LINK_ARTIFACT_RESPONSE answers (the emulator always includes it)."""

    def __init__(self) -> None:
        self.forward = httpx.HTTPTransport()

    def close(self) -> None:
        self.forward.close()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        is_link = request.url.path == "/graphql" and b"LinkArtifact" in request.read()
        response = self.forward.handle_request(request)
        if not is_link:
            return response
        body = json.loads(response.read())
        body["data"]["linkArtifact"]["artifactMembership"] = None
        return httpx.Response(response.status_code, json=body)


def test_link_finds_the_new_version_when_the_server_does_not_return_it(
    emulator: EmbeddedEmulator, tmp_path: Path, project: str
) -> None:
    with Api(
        api_key=emulator.api_key, base_url=emulator.url, cache_dir=tmp_path, http_transport=WithoutLinkMembership()
    ) as api:
        version = upload(api, tmp_path, f"{project}/alpha")
        emulator.stats.reset()
        link = version.link(f"{project}/registry", aliases=["production"])
    assert (link.qualified_name, link.is_link, link.source_name) == (f"{project}/registry:v0", True, "alpha:v0")
    assert dict(emulator.stats.operations) == {"LinkArtifact": 1, "ArtifactMembershipByName": 1}
