"""The `artifactkit` command against an emulator: what users see (snapshots, normalised) and exit codes."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from artifactkit.cli import main as cli_main
from artifactkit.server.embedded import EmbeddedEmulator
from tests.transfer.helpers import write_tree

PROJECT = "local/cli"


def dataset(seed: int, rows: int) -> dict[str, bytes]:
    rng = random.Random(seed)
    files = {f"images/{i:03d}.bin": rng.randbytes(1000 + i) for i in range(rows)}
    files["labels.csv"] = "".join(f"{i},{rng.randrange(10)}\n" for i in range(rows)).encode()
    return files


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEmulator]:
    """An emulator of the module's own, so names, versions and sizes are the same on every run."""
    with EmbeddedEmulator(tmp_path_factory.mktemp("cli-emulator")) as server:
        yield server


class Cli:
    """Runs `artifactkit` in this process with a private cache and working directory."""

    def __init__(self, emu: EmbeddedEmulator, work: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.emu = emu
        self.work = work
        self.capsys = capsys

    def __call__(self, *args: str, connect: bool = True) -> tuple[int, str, str]:
        argv = list(args)
        if connect:
            argv += ["--base-url", self.emu.url, "--api-key", self.emu.api_key]
        code = cli_main(argv)
        captured = self.capsys.readouterr()
        return code, self.normalise(captured.out), self.normalise(captured.err)

    def normalise(self, text: str) -> str:
        text = text.replace(self.emu.url, "http://EMULATOR").replace(str(self.work), "<work>")
        text = re.sub(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?(\+00:00|Z)?", "<time>", text)
        text = re.sub(r"objects/version/[0-9a-f]{2}/[0-9a-f]+", "objects/version/<key of server and name>", text)
        return re.sub(r'"id": "[A-Za-z0-9+/=]+"', '"id": "<id>"', text)


@pytest.fixture
def cli(
    emu: EmbeddedEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Cli:
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb-cache"))
    monkeypatch.chdir(tmp_path)
    return Cli(emu, tmp_path, capsys)


@pytest.fixture(scope="module")
def seeded(emu: EmbeddedEmulator, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`local/cli/digits` v0 and v1 (v1 aliased best), a model, through `artifactkit put`."""
    work = tmp_path_factory.mktemp("cli-seed")
    base = ["--base-url", emu.url, "--api-key", emu.api_key]
    for version, rows in enumerate((4, 6)):
        source = write_tree(work / f"digits-{version}", dataset(version, rows))
        aliases = ["--alias", "best"] if version == 1 else []
        put = ["put", str(source), "--name", f"{PROJECT}/digits", "--type", "dataset", *aliases, "--tag", "synthetic"]
        assert cli_main([*put, "--no-progress", *base]) == 0
    model = write_tree(work / "model", {"weights.bin": random.Random(7).randbytes(4096)})
    assert cli_main(["put", str(model), "--name", f"{PROJECT}/classifier", "--type", "model", *base]) == 0
    return PROJECT


def test_put_reports_what_it_sent(cli: Cli, seeded: str, snapshot: SnapshotAssertion) -> None:
    source = write_tree(cli.work / "src", dataset(42, 3))
    name = ["--name", "local/cli-put/uploads", "--type", "dataset"]

    first = cli("put", str(source), *name, "--alias", "candidate")
    again = cli("put", str(source), *name, "--alias", "approved")
    (source / "labels.csv").write_text("changed\n")
    changed = cli("put", str(source), *name, "--json")

    assert (first[0], again[0], changed[0]) == (0, 0, 0)
    assert {"first": first[1], "identical": again[1], "one file changed": json.loads(changed[1])} == snapshot


def test_the_md5_the_cli_shows_is_the_one_md5sum_and_fs_info_give(cli: Cli, seeded: str) -> None:
    import hashlib

    from artifactkit import Api
    from artifactkit.fs import ArtifactFileSystem

    expected = {path: hashlib.md5(data).hexdigest() for path, data in dataset(1, 6).items()}  # digits:v1
    code, out, _ = cli("ls", f"{PROJECT}/digits:v1")
    header, *rows = out.splitlines()
    assert code == 0 and header.split()[2:] == ["MD5", "(HEX)"]
    assert {row.split()[0]: row.split()[-1] for row in rows} == expected
    code, out, _ = cli("ls", f"{PROJECT}/digits:v1", "--json")
    assert {f["path"]: f["md5_hex"] for f in json.loads(out)["files"]} == expected
    with Api(api_key=cli.emu.api_key, base_url=cli.emu.url, cache_dir=cli.work / "fs-cache") as api:
        info = ArtifactFileSystem(api).info(f"{PROJECT}/digits:v1/labels.csv")
    assert info["md5"] == expected["labels.csv"]


def test_ls_lists_types_collections_versions_and_files(cli: Cli, seeded: str, snapshot: SnapshotAssertion) -> None:
    outputs = {
        "collections, as wandb artifact ls": cli("ls", PROJECT),
        "types": cli("ls", PROJECT, "--types"),
        "collections": cli("ls", PROJECT, "--type", "dataset"),
        "versions": cli("ls", f"{PROJECT}/digits"),
        "files": cli("ls", f"{PROJECT}/digits:best"),
    }
    versions_json = cli("ls", f"{PROJECT}/digits", "--json")

    assert {k: code for k, (code, _, _) in outputs.items()} == dict.fromkeys(outputs, 0)
    assert {k: out for k, (_, out, _) in outputs.items()} == snapshot
    assert json.loads(versions_json[1]) == snapshot(name="versions-json")


def test_get_downloads_then_serves_from_the_cache_and_plans_a_dry_run(
    cli: Cli, seeded: str, snapshot: SnapshotAssertion
) -> None:
    first = cli("get", f"{PROJECT}/digits:v1")
    again = cli("get", f"{PROJECT}/digits:v1", "--root", "elsewhere")
    (cli.work / "partly").mkdir()
    (cli.work / "partly" / "labels.csv").write_bytes(dataset(1, 6)["labels.csv"])
    dry = cli("get", f"{PROJECT}/digits:v0", "--root", "partly", "--dry-run", "--prefix", "images/00")
    dry_into_partly = cli("get", f"{PROJECT}/digits:v1", "--root", "partly", "--dry-run", "--include", "*.csv")
    as_json = cli("get", f"{PROJECT}/digits:v1", "--root", "json", "--json", "--include", "*.csv")

    assert sorted(p.name for p in (cli.work / "artifacts" / "digits:v1" / "images").iterdir())[:2] == [
        "000.bin",
        "001.bin",
    ]
    assert all(code == 0 for code, _, _ in (first, again, dry, dry_into_partly, as_json))
    assert {
        "download": first[1],
        "cached": again[1],
        "dry run": dry[1],
        "dry run, file in place": dry_into_partly[1],
        "json": json.loads(as_json[1]),
    } == snapshot


def test_get_with_a_cache_dir_keeps_everything_there(cli: Cli, seeded: str) -> None:
    """The manifest as well as the file bytes go to `--cache-dir`, not to the default cache."""
    status, _, _ = cli("get", f"{PROJECT}/classifier:v0", "--root", "own", "--cache-dir", "own-cache")
    assert status == 0
    kinds = {p.parent.parent.name for p in (cli.work / "own-cache" / "objects").rglob("*") if p.is_file()}
    assert kinds == {"md5", "manifest", "version"}  # version: what an ID or NAME:<digest> means (for diff)
    assert not (cli.work / "wandb-cache").exists()


def test_cache_info_and_cleanup(cli: Cli, seeded: str, snapshot: SnapshotAssertion) -> None:
    assert cli("get", f"{PROJECT}/classifier:v0")[0] == 0

    info = cli("cache", "info", connect=False)
    before = json.loads(cli("cache", "info", "--json", connect=False)[1])
    dry_run = cli("cache", "cleanup", "0", "--dry-run", connect=False)  # positional, as wandb takes it
    assert json.loads(cli("cache", "info", "--json", connect=False)[1]) == before  # a dry run removes nothing
    cleanup = cli("cache", "cleanup", "0", connect=False)
    after = cli("cache", "info", "--json", connect=False)

    assert before["disk_bytes"] >= before["bytes"] > 0  # whole blocks on disk for small files
    labelled = [a for a in before["artifacts"] if a["name"] != "(not attributed)"]
    assert [a["name"] for a in labelled] == ["local/cli/classifier:v0"]  # named by its cached manifest
    assert sum(a["files"] for a in before["artifacts"]) + len(labelled) == before["objects"]  # + the manifest
    listed = re.sub(
        r"objects/manifest/[0-9a-f]{2}/[0-9a-f]{62}", "objects/manifest/<key depends on the URL>", dry_run[1]
    )
    # Files last used within the same moment go in either order (an object's mtime nanoseconds carry its
    # signature, not a time), so the rows are compared sorted.
    header, *rows, summary = listed.splitlines()
    listed = "\n".join([header, *sorted(rows), summary]) + "\n"
    outputs = {"info": info[1], "dry run": listed, "cleanup": cleanup[1], "after": json.loads(after[1])}
    assert outputs == snapshot


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["get", f"{PROJECT}/no-such-thing:v0"], 3),
        (["get", f"{PROJECT}/digits:v9"], 3),
        (["ls", "local/no-such-project"], 3),
        (["get", "not a name"], 2),
        (["get", f"{PROJECT}/digits:v0", "--prefix", "nothing/"], 3),
        (["get", f"{PROJECT}/digits:v0", "--workers", "0"], 2),
    ],
)
def test_errors_are_one_line_with_a_meaningful_exit_code(
    cli: Cli, seeded: str, args: list[str], code: int, snapshot: SnapshotAssertion
) -> None:
    status, _, err = cli(*args)
    assert status == code
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err == snapshot


def test_cache_cleanup_needs_a_readable_size(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:  # argparse's own usage error
        cli("cache", "cleanup", "--max-size", "lots", connect=False)
    assert caught.value.code == 2
    assert "argument --max-size: cannot read size 'lots'; use e.g. 10GB" in capsys.readouterr().err
    status, _, err = cli("cache", "cleanup", connect=False)
    assert status == 2
    assert err.strip() == "artifactkit: error: cleanup needs a size, e.g. `artifactkit cache cleanup 10GB` [ValueError]"


def test_debug_shows_the_traceback(cli: Cli, seeded: str) -> None:
    status, _, err = cli("get", f"{PROJECT}/digits:v9", "--debug")
    assert status == 3
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("artifactkit: error: version 'v9' not found")


def test_the_installed_command_exits_with_the_code_and_one_line(
    emu: EmbeddedEmulator, seeded: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "artifactkit.cli", "get", f"{PROJECT}/nope:v0", "--base-url", emu.url,
         "--api-key", emu.api_key],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"WANDB_CACHE_DIR": str(tmp_path / "c"), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(
        "artifactkit: error: collection 'nope' not found"
    )
