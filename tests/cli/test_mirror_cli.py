"""`artifactkit mirror`, `export` and `import` against two emulators: what users see, exit codes, keys."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from artifactkit import Api
from artifactkit.cli import main as cli_main
from artifactkit.server.embedded import EmbeddedEmulator
from tests.mirror.support import mutations, seed_project

PROJECT = "local/travel"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedEmulator, EmbeddedEmulator]]:
    """A source seeded with a project and an empty target, both the module's own (stable output)."""
    root = tmp_path_factory.mktemp("cli-travel")
    with EmbeddedEmulator(root / "source") as source, EmbeddedEmulator(root / "target") as target:
        with Api(api_key=source.api_key, base_url=source.url, cache_dir=root / "cache") as api:
            seed_project(api, source, PROJECT, root / "seed")
        yield source, target


class Cli:
    def __init__(
        self, servers: tuple[EmbeddedEmulator, EmbeddedEmulator], work: Path, capsys: pytest.CaptureFixture[str]
    ):
        self.source, self.target = servers
        self.work = work
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        code = cli_main(list(args))
        out, err = self.capsys.readouterr()
        return code, self.normalise(out), self.normalise(err)

    def sides(self) -> list[str]:
        return [
            "--source-url", self.source.url, "--source-api-key", self.source.api_key,
            "--target-url", self.target.url, "--target-api-key", self.target.api_key,
        ]  # fmt: skip

    def normalise(self, text: str) -> str:
        text = text.replace(self.source.url, "http://SOURCE").replace(self.target.url, "http://TARGET")
        return text.replace(str(self.work), "<work>")


@pytest.fixture
def cli(
    servers: tuple[EmbeddedEmulator, EmbeddedEmulator],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb-cache"))
    monkeypatch.chdir(tmp_path)
    return Cli(servers, tmp_path, capsys)


def test_mirror_shows_the_plan_then_the_copy_then_nothing_to_do(cli: Cli, snapshot: SnapshotAssertion) -> None:
    plan = cli("mirror", f"{PROJECT}/model", "local/copied", "--dry-run", *cli.sides())
    done = cli("mirror", f"{PROJECT}/model", "local/copied", *cli.sides())
    again = cli("mirror", f"{PROJECT}/model", "local/copied", *cli.sides())

    assert (plan[0], done[0], again[0]) == (0, 0, 0)
    assert {"plan": plan[1], "done": done[1], "again": again[1]} == snapshot


def test_mirror_json_is_the_documented_summary(cli: Cli) -> None:
    code, out, _ = cli("mirror", f"{PROJECT}/results", "local/copied-json", "--json", *cli.sides())

    doc = json.loads(out)
    assert code == 0 and doc["schema_version"] == 1 and doc["dry_run"] is False
    assert doc["summary"] == {
        "versions": 1,
        "create": 1,
        "resume": 0,
        "update": 0,
        "unchanged": 0,
        "runs_created": 1,
        "runs_updated": 0,
        "links_created": 0,
        "links_updated": 0,
        "sent_files": 1,
        "sent_bytes": len(f"{PROJECT}: f1 0.9"),
        "bytes_to_send_at_most": 0,
        "verified": True,
    }
    assert doc["versions"] == [
        {
            "source": f"{PROJECT}/results:v0",
            "target": "local/copied-json/results:v0",
            "action": "create",
            "changes": [],
            "files": 1,
            "size": len(f"{PROJECT}: f1 0.9"),
            "sent_files": 1,
            "sent_bytes": len(f"{PROJECT}: f1 0.9"),
            "verified": True,
            "selected": True,
        }
    ]
    assert doc["runs"] == [{"source": f"{PROJECT}/eval-1", "target": "local/copied-json/eval-1", "action": "create"}]


def test_export_then_import_elsewhere(cli: Cli, snapshot: SnapshotAssertion) -> None:
    base = ["--base-url", cli.source.url, "--api-key", cli.source.api_key]
    exported = cli("export", f"{PROJECT}/dataset", "bundle", *base)
    into = ["--base-url", cli.target.url, "--api-key", cli.target.api_key]
    imported = cli("import", "bundle", "local/imported", *into)

    assert (exported[0], imported[0]) == (0, 0)
    assert {"export": exported[1], "import": imported[1]} == snapshot


def test_a_hostile_bundle_exits_6_with_the_reason(cli: Cli) -> None:
    base = ["--base-url", cli.source.url, "--api-key", cli.source.api_key]
    assert cli("export", f"{PROJECT}/results", "bundle", *base)[0] == 0
    index = cli.work / "bundle" / "bundle.json"
    index.write_text(index.read_text().replace('"manifest": "manifests/', '"manifest": "../manifests/'))
    cli.target.stats.reset()

    code, out, err = cli("import", "bundle", "--base-url", cli.target.url, "--api-key", cli.target.api_key)

    assert code == 6 and out == ""
    assert re.fullmatch(
        r"artifactkit: error: bundle\.json versions\[0\]: the manifest must be named manifests/<sha256>\.json, "
        r"not '\.\./manifests/[0-9a-f]{64}\.json' \[UnsafeBundleError\]\n",
        err,
    )
    assert mutations(cli.target) == []


def test_the_environment_key_is_never_sent_to_the_other_server(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_BASE_URL", cli.source.url)
    monkeypatch.setenv("WANDB_API_KEY", cli.source.api_key)
    cli.target.stats.reset()

    code, _, err = cli("mirror", PROJECT, "--target-url", cli.target.url)

    assert code == 2
    assert err.startswith("artifactkit: error: no API key for http://TARGET: pass --api-key")
    assert cli.target.stats.snapshot()["requests"] == {}  # not one request carried the source's key there
