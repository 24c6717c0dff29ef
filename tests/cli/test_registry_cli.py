"""The registry from the command line: `registry ls`, `ls` on registry paths, and the promotion verbs
`link`/`unlink` as a CI job runs them (idempotent, --dry-run, --json, exit codes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from artifactkit import Api
from artifactkit.server.embedded import EmbeddedEmulator
from tests.cli.test_cli import Cli
from tests.integration.support import join_organization, leave_home_organization, team, upload, user_key

SOURCE = "ml/training/classifier:v0"
TARGET = "wandb-registry-model/classifier"


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEmulator]:
    """An emulator of the module's own: its names and versions are the same on every run."""
    root = tmp_path_factory.mktemp("registry-cli")
    with EmbeddedEmulator(root / "emulator") as server:
        team(server, "ml", "local")
        with Api(api_key=server.api_key, base_url=server.url, cache_dir=root / "cache") as api:
            upload(api, root, "ml/training/classifier", "model", files={"weights.bin": "w0"})
            upload(api, root, "ml/training/classifier", "model", files={"weights.bin": "w1"})
            api.create_registry("candidates", "restricted", description="under review", artifact_types=["model"])
        yield server


@pytest.fixture
def cli(
    emu: EmbeddedEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Cli:
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb-cache"))
    monkeypatch.chdir(tmp_path)
    return Cli(emu, tmp_path, capsys)


def as_user(cli: Cli, key: str, *args: str) -> tuple[int, str, str]:
    return cli(*args, "--base-url", cli.emu.url, "--api-key", key, connect=False)


def test_a_promotion_job_run_twice_changes_once(cli: Cli, snapshot: SnapshotAssertion) -> None:
    planned = cli("link", SOURCE, TARGET, "-a", "production", "--dry-run", "--json")
    first = cli("link", SOURCE, TARGET, "-a", "production", "--json")
    second = cli("link", SOURCE, TARGET, "-a", "production", "--json")
    assert [json.loads(out)["changed"] for _, out, _ in (planned, first, second)] == [True, True, False]
    assert json.loads(planned[1])["link"] is None and json.loads(planned[1])["dry_run"]
    assert [code for code, _, _ in (planned, first, second)] == [0, 0, 0]
    assert (planned[1], first[1], second[1]) == snapshot
    more = cli("link", SOURCE, TARGET, "-a", "production", "-a", "staging")
    assert more == snapshot
    listed = cli("ls", TARGET)
    assert listed == snapshot
    assert cli("ls", f"{TARGET}:production") == snapshot
    assert cli("ls", f"local-org/{TARGET}")[1] == listed[1]

    unplanned = cli("unlink", SOURCE, TARGET, "--dry-run")
    removed = cli("unlink", SOURCE, TARGET, "--json")
    again = cli("unlink", SOURCE, TARGET, "--json")
    assert [json.loads(removed[1])["changed"], json.loads(again[1])["changed"]] == [True, False]
    assert (unplanned, removed[1], again[1]) == snapshot
    assert cli("ls", TARGET)[1].strip() == "(none)"  # the collection stays, without the link


def test_unlink_by_the_link_itself(cli: Cli) -> None:
    assert cli("link", "ml/training/classifier:v1", "wandb-registry-model/to-drop", "-a", "old")[0] == 0
    code, out, _ = cli("unlink", "wandb-registry-model/to-drop:old")
    assert code == 0
    assert out == "local-org-entity/wandb-registry-model/to-drop: link ml/training/classifier:v1 removed as v0\n"
    code, _, err = cli("unlink", "wandb-registry-model/to-drop:old")
    assert code == 3 and "not found" in err
    code, _, err = cli("unlink", SOURCE)
    assert code == 2 and "not a link" in err


def test_registry_ls(cli: Cli, snapshot: SnapshotAssertion) -> None:
    assert cli("link", "ml/training/classifier:v1", "wandb-registry-candidates/classifier", "-a", "review")[0] == 0
    assert cli("registry", "ls") == snapshot
    assert cli("registry", "ls", "candidates", "--json") == snapshot
    assert cli("registry", "ls", "--filter", '{"name": {"$regex": "cand"}}', "--json")[1] == snapshot
    assert cli("ls", "wandb-registry-candidates") == snapshot


def test_exit_codes(cli: Cli, emu: EmbeddedEmulator) -> None:
    read_only = user_key(emu, "reader", role="read")
    team(emu, "ml", "reader")  # the reader sees the version; its key may not change anything
    code, _, err = as_user(cli, read_only, "link", SOURCE, "wandb-registry-model/denied")
    assert code == 4, err
    assert cli("link", "ml/training/classifier:v9", TARGET)[0] == 3
    assert cli("link", SOURCE, "wandb-registry-nothing-here/x")[0] == 3
    code, _, err = cli("registry", "ls", "--filter", '{"colour": 1}')
    assert code == 2 and "'colour'" in err
    with pytest.raises(SystemExit) as usage:
        cli("registry", "ls", "--filter", "[1]")  # argparse's own usage error
    assert usage.value.code == 2 and "JSON object" in cli.capsys.readouterr().err

    lone = user_key(emu, "lone")
    leave_home_organization(emu, "lone")
    twice = user_key(emu, "twice")
    join_organization(emu, "twice", "initech", "initech-org")
    with Api(api_key=lone, base_url=emu.url, cache_dir=cli.work / "lone") as api:
        upload(api, cli.work, "lone/mine/weights", "model")
    with Api(api_key=twice, base_url=emu.url, cache_dir=cli.work / "twice") as api:
        upload(api, cli.work, "twice/mine/weights", "model")
    code, _, err = as_user(cli, lone, "link", "lone/mine/weights:v0", TARGET)
    assert code == 3 and "[OrganizationNotFoundError]" in err
    code, _, err = as_user(cli, twice, "link", "twice/mine/weights:v0", TARGET)
    assert code == 2 and "[AmbiguousOrganizationError]" in err
    code, _, err = as_user(cli, twice, "registry", "ls")
    assert code == 2 and "pass --organization" in err and "[AmbiguousOrganizationError]" in err
    code, out, _ = as_user(cli, twice, "registry", "ls", "--organization", "local-org")
    assert code == 0 and "model" in out
