"""Mirroring a project between two emulators over HTTP: what arrives, what is sent, what a second run does."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import pytest

from artifactkit import Api, ManifestEntry
from artifactkit.errors import DigestMismatchError, MirrorVerificationError, NotFoundError
from artifactkit.manifest import artifact_reference, parse_artifact_reference
from artifactkit.server import ids
from artifactkit.server.embedded import EmbeddedEmulator

from .support import counts, differences, log, mutations, project_view, seed_project, weights

_names = itertools.count()


@pytest.fixture
def project(source: Api, source_emu: EmbeddedEmulator, tmp_path: Path) -> str:
    path = f"local/mirrored{next(_names)}"
    seed_project(source, source_emu, path, tmp_path / "seed")
    return path


def test_the_target_holds_what_the_source_holds(source: Api, target: Api, project: str) -> None:
    report = source.mirror(project, target)

    assert differences(project_view(target, project), project_view(source, project)) == []
    assert report.verified is True
    assert (report.count("create"), report.count("update"), report.count("unchanged")) == (6, 0, 0)
    assert sorted(r.target for r in report.runs) == [f"{project}/{run}" for run in ("eval-1", "prep-1", "train-1")]
    assert [(link.portfolio, link.version, link.action) for link in report.links] == [
        (f"{project}/production", f"{project}/model:v1", "create"),
        (f"{project}/production", f"{project}/model:v2", "create"),
    ]


def test_versions_arrive_in_order_with_their_lineage(source: Api, target: Api, project: str) -> None:
    source.mirror(project, target)

    versions = {v.version: v for v in target.artifacts("model", f"{project}/model")}
    assert [versions[f"v{i}"].description for i in range(3)] == ["epoch 0", "epoch 1", "epoch 2"]
    assert versions["v0"].ttl == timedelta(days=30)
    train = versions["v2"].logged_by()
    assert train is not None and (train.id, train.display_name, train.job_type, train.group) == (
        "train-1",
        "Train baseline",
        "train",
        "sweep-a",
    )
    assert [r.id for r in versions["v1"].used_by()] == ["eval-1"]
    assert {v.source_name for v in target.artifact(f"{project}/model:v1").used_by()[0].used_artifacts()} == {
        "dataset:v0",
        "model:v1",
    }
    production = target.artifact(f"{project}/production:prod")
    assert production.is_link and production.source_name == "model:v1"


def test_a_second_mirror_sends_no_bytes_and_creates_nothing(
    source: Api, target: Api, project: str, target_emu: EmbeddedEmulator
) -> None:
    source.mirror(project, target)
    before = counts(target_emu)
    target_emu.stats.reset()

    again = source.mirror(project, target)

    stats = target_emu.stats.snapshot()
    assert stats["bytes_in"].get("upload", 0) == 0 and stats["requests"].get("upload", 0) == 0
    assert mutations(target_emu) == []
    # Reads only, and no file or manifest (cached since the first verification): a listing per sequence,
    # a lookup per run and collection, users, links and logger per version.
    assert stats["requests"] == {"graphql": 22}
    assert counts(target_emu) == before
    assert again.count("unchanged") == len(again.versions) == 6
    assert (again.sent_files, again.sent_bytes, again.created) == (0, 0, 0)
    assert {r.action for r in again.runs} == {"unchanged"} and {link.action for link in again.links} == {"unchanged"}
    assert again.verified is True


def test_only_what_changed_goes_the_second_time(
    source: Api, target: Api, project: str, target_emu: EmbeddedEmulator, tmp_path: Path
) -> None:
    source.mirror(project, target)
    config = f'{{"layers": 3, "project": "{project}"}}'  # as model:v0..v2 have it: the target holds it
    new = log(
        source, tmp_path, f"{project}/model", "model", {"weights.bin": weights(project, 2) * 2, "config.json": config}
    )
    best = source.artifact(f"{project}/model:best")
    best.aliases = []
    best.metadata = {**best.metadata, "reviewed": True}
    best.save()
    new.aliases = [*new.aliases, "best"]
    new.save()
    target_emu.stats.reset()

    report = source.mirror(project, target)

    actions = {v.source: (v.action, v.changes) for v in report.versions if v.action != "unchanged"}
    assert actions == {
        f"{project}/model:v1": ("update", ["aliases", "metadata"]),
        f"{project}/model:v3": ("create", []),
    }
    new_bytes = len(weights(project, 2) * 2)
    assert (report.sent_files, report.sent_bytes) == (1, new_bytes)
    manifest_bytes = target_emu.stats.snapshot()["bytes_in"]["upload"] - new_bytes
    assert 0 < manifest_bytes < 1000  # beside the new weights, one manifest went up
    assert target.artifact(f"{project}/model:best").version == "v3"
    assert target.artifact(f"{project}/model:v1").metadata["reviewed"] is True
    assert differences(project_view(target, project), project_view(source, project)) == []


def test_bytes_the_target_already_holds_are_not_sent(source: Api, target: Api, project: str, tmp_path: Path) -> None:
    # The target already has the weights of model:v1 and v2, from elsewhere.
    log(target, tmp_path, "local/elsewhere/copy", "model", {"a": weights(project, 1), "b": weights(project, 2)})

    report = source.mirror(f"{project}/model", target)

    sent = {v.source: (v.sent_files, v.sent_bytes) for v in report.versions}
    config = source.artifact(f"{project}/model:v0").manifest.entries["config.json"]
    assert sent[f"{project}/model:v0"] == (2, len(weights(project, 0)) + config.size)
    assert sent[f"{project}/model:v1"] == (0, 0)  # config.json went with v0, the weights were there
    assert sent[f"{project}/model:v2"] == (0, 0)


def test_a_dry_run_writes_nothing_and_says_what_would_happen(
    source: Api, target: Api, project: str, target_emu: EmbeddedEmulator
) -> None:
    before = counts(target_emu)
    target_emu.stats.reset()

    plan = source.mirror(project, target, dry_run=True)

    assert mutations(target_emu) == [] and counts(target_emu) == before
    assert plan.dry_run and plan.count("create") == 6 and plan.verified is None
    assert {r.action for r in plan.runs} == {"create"} and {link.action for link in plan.links} == {"create"}
    stored = {
        entry.digest: entry.size
        for collection, kind in (("dataset", "dataset"), ("model", "model"), ("results", "eval"))
        for version in source.artifacts(kind, f"{project}/{collection}")
        for entry in version.manifest.entries.values()
        if not entry.is_reference
    }
    assert plan.bytes_to_send_at_most == sum(stored.values())
    with pytest.raises(NotFoundError):
        target.artifact(f"{project}/model:v0")

    done = source.mirror(project, target)
    assert done.count("create") == 6 and done.sent_bytes == plan.bytes_to_send_at_most


def test_one_collection_or_chosen_versions_into_another_entity(source: Api, target: Api, project: str) -> None:
    report = source.mirror(f"{project}/model:v1,candidate", target, to="ml-team/models")

    assert [(v.source, v.target) for v in report.versions] == [
        (f"{project}/model:v1", "ml-team/models/model:v0"),
        (f"{project}/model:v2", "ml-team/models/model:v1"),
    ]
    copied = target.artifact("ml-team/models/model:candidate")
    assert copied.metadata == source.artifact(f"{project}/model:v2").metadata
    assert copied.logged_by() is not None and copied.logged_by().path_str == "ml-team/models/train-1"  # type: ignore[union-attr]
    assert target.artifact("ml-team/models/production:staging").source_name == "model:v1"
    again = source.mirror(f"{project}/model", target, to="ml-team/models")
    # v0 arrives last (numbers follow arrival) and takes `latest`, which goes back to the copy of v2.
    assert [(v.action, v.changes) for v in again.versions] == [
        ("create", []),
        ("unchanged", []),
        ("update", ["aliases"]),
    ]
    assert target.artifact("ml-team/models/model:v2").description == "epoch 0"
    assert target.artifact("ml-team/models/model:latest").description == "epoch 2"


def test_a_portfolio_brings_the_versions_it_links(source: Api, target: Api, project: str) -> None:
    report = source.mirror(f"{project}/production", target, to="local/registry-copy")

    assert sorted((v.source, v.selected) for v in report.versions) == [
        (f"{project}/model:v1", False),
        (f"{project}/model:v2", False),
    ]
    assert target.artifact("local/registry-copy/production:prod").source_name == "model:v0"
    assert target.artifact("local/registry-copy/production:staging").source_name == "model:v1"


def test_a_version_that_differs_on_the_target_fails_the_verification(
    source: Api, target: Api, project: str, target_emu: EmbeddedEmulator, tmp_path: Path
) -> None:
    source.mirror(f"{project}/results", target)
    copied = target.artifact(f"{project}/results:v0")
    # The target loses the record of a file (a server bug, a restore gone wrong): its manifest differs.
    row = target_emu.store.conn.execute(
        "SELECT blob_md5 FROM manifests WHERE artifact_id = ?", (ids.decode(copied.id, "Artifact"),)
    ).fetchone()
    blob = target_emu.emulator.blobs.path_for(row[0])
    blob.chmod(0o644)
    blob.write_text(
        '{"version": 1, "storagePolicy": "wandb-storage-policy-v1", "storagePolicyConfig": {}, "contents": {}}'
    )
    fresh = Api(api_key=target.api_key, base_url=target.base_url, cache_dir=tmp_path / "fresh-cache")

    with fresh, pytest.raises(MirrorVerificationError) as caught:
        source.mirror(f"{project}/results", fresh)

    report = caught.value.report
    assert [(v.source, v.verified) for v in report.versions] == [(f"{project}/results:v0", False)]
    assert "scores.json is missing" in str(caught.value)


def test_bytes_that_are_not_the_manifests_are_never_committed(
    source: Api, target: Api, project: str, source_emu: EmbeddedEmulator, target_emu: EmbeddedEmulator, tmp_path: Path
) -> None:
    odd = log(source, tmp_path, f"{project}/odd", "dataset", {"data.bin": "q" * 3000})
    md5 = odd.manifest.entries["data.bin"].md5_hex
    blob = source_emu.emulator.blobs.path_for(md5)
    blob.chmod(0o644)
    blob.write_bytes(b"Q" * 3000)  # the source's storage rotted: same size, other bytes

    with pytest.raises(DigestMismatchError, match=r"data\.bin"):
        source.mirror(f"{project}/odd", target)

    with pytest.raises(NotFoundError):
        target.artifact(f"{project}/odd:v0")
    assert not target_emu.emulator.blobs.exists(md5)


def test_a_server_older_than_tags_and_links_gets_everything_else(source: Api, project: str, tmp_path: Path) -> None:
    with (
        EmbeddedEmulator(tmp_path / "legacy", legacy=True) as legacy_emu,
        Api(api_key=legacy_emu.api_key, base_url=legacy_emu.url, cache_dir=tmp_path / "legacy-cache") as legacy,
    ):
        report = source.mirror(project, legacy)
        legacy_emu.stats.reset()
        again = source.mirror(project, legacy)

        assert report.count("create") == 6 and report.verified is True
        assert report.warnings == [
            "the target predates artifact tags and TTLs: the tags of 4 version(s) and collection(s) "
            "and the TTLs of 1 version(s) are left out",
            "the target cannot list a version's links (a server before 0.12.11): links into portfolios are left out",
        ]
        assert again.count("unchanged") == 6 and mutations(legacy_emu) == []
        copied = legacy.artifact(f"{project}/model:best")
        assert (copied.metadata, copied.logged_by().id) == (  # type: ignore[union-attr]
            source.artifact(f"{project}/model:best").metadata,
            "train-1",
        )
        assert [r.id for r in copied.used_by()] == ["eval-1"]


def test_a_project_moves_to_a_team_on_the_same_server_without_a_byte(
    source: Api, project: str, source_emu: EmbeddedEmulator
) -> None:
    source_emu.stats.reset()

    report = source.mirror(project, source, to="vision-team")

    moved = project.replace("local/", "vision-team/")
    assert report.count("create") == 6 and report.sent_bytes == 0 and report.verified is True
    assert source_emu.stats.snapshot()["requests"].get("upload", 0) == 6  # one manifest per version, no file
    assert differences(project_view(source, moved), project_view(source, project)) == []


def test_a_run_id_another_user_holds_on_the_target_is_recorded_beside_it(
    source: Api, target: Api, project: str, target_emu: EmbeddedEmulator
) -> None:
    from artifactkit.server.organizations import require_team, set_team_member

    team = f"shared{next(_names)}"
    source.mirror(f"{project}/results", target, to=team)  # the first write makes the team, ours
    bob_key = target_emu.create_key("bob")
    set_team_member(
        target_emu.store, require_team(target_emu.store, team), target_emu.store.user_by_name("bob")["id"], "member"
    )
    name = project.split("/")[1]
    with Api(api_key=bob_key, base_url=target_emu.url, cache_dir=target.client.cache_root) as bob:
        bob.create_run(run_id="train-1", project=name, entity=team)  # bob's run, under the ID the source's has

    report = source.mirror(f"{project}/model", target, to=team)

    assert f"{team}/{name}/train-1-mirrored" in {r.target for r in report.runs}
    assert any("is another user's run on the target; recorded as" in w for w in report.warnings)
    logger = target.artifact(f"{team}/{name}/model:v0").logged_by()
    assert logger is not None and (logger.id, logger.display_name) == ("train-1-mirrored", "Train baseline")
    assert target.run(f"{team}/{name}/train-1").user.username == "bob"  # type: ignore[union-attr]
    again = source.mirror(f"{project}/model", target, to=team)
    assert again.created == 0 and {r.action for r in again.runs} == {"unchanged"}


def test_a_reference_to_a_mirrored_version_points_at_its_copy(
    source: Api, target: Api, project: str, tmp_path: Path
) -> None:
    labels = source.artifact(f"{project}/dataset:v1")
    entry = labels.manifest.entries["labels.txt"]
    reference = ManifestEntry(
        "from-dataset/labels.txt", entry.digest, entry.size, ref=artifact_reference(labels.id, "labels.txt")
    )
    source.upload([], f"{project}/derived", "dataset", references=[reference])
    log(target, tmp_path, "local/unrelated/first", "dataset", {"a": project})  # IDs differ between the servers

    report = source.mirror(project, target)

    order = [v.source.split("/")[-1] for v in report.versions]
    assert order.index("dataset:v1") < order.index("derived:v0")  # what is referenced goes first
    copy = target.artifact(f"{project}/derived:v0")
    referenced, path = parse_artifact_reference(str(copy.manifest.entries["from-dataset/labels.txt"].ref))
    assert (referenced, path) == (target.artifact(f"{project}/dataset:v1").id, "labels.txt")
    assert referenced != labels.id  # rewritten, not kept as the source's
    root = Path(copy.download(tmp_path / "derived"))
    assert (root / "from-dataset" / "labels.txt").read_text() == f"{project}: cat dog bird"
