"""A slip in a name gets the existing name it is closest to; `get` and `ls` word the same miss the same way."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from artifactkit import Api, errors
from artifactkit.cli import main as cli_main
from artifactkit.server.embedded import EmbeddedEmulator
from tests.transfer.helpers import write_tree

_names = itertools.count()


@pytest.fixture
def run(
    emulator: EmbeddedEmulator, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[int, str]]:
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> tuple[int, str]:
        code = cli_main([*args, "--base-url", emulator.url, "--api-key", emulator.api_key])
        return code, capsys.readouterr().err.strip()

    return run


@pytest.fixture
def seeded(api: Api, project: str, tmp_path: Path) -> str:
    api.upload(write_tree(tmp_path / "src", {"a.txt": b"a"}), f"{project}/training-data", "dataset", aliases=["best"])
    return project


def test_a_slip_in_a_collection_name(run: Callable[..., tuple[int, str]], seeded: str) -> None:
    expected = f"artifactkit: error: collection 'trainin-data' not found in {seeded}; did you mean 'training-data'?"
    for command in (["get", f"{seeded}/trainin-data", "--dry-run"], ["ls", f"{seeded}/trainin-data"]):
        assert run(*command) == (3, f"{expected} [NotFoundError]")


def test_a_slip_in_an_alias(run: Callable[..., tuple[int, str]], seeded: str) -> None:
    expected = f"alias 'lates' not found in {seeded}/training-data; did you mean 'latest'?"
    for command in (["get", f"{seeded}/training-data:lates", "--dry-run"], ["ls", f"{seeded}/training-data:lates"]):
        assert run(*command) == (3, f"artifactkit: error: {expected} [NotFoundError]")


def test_a_slip_in_the_entity_reads_the_same_in_get_and_ls(run: Callable[..., tuple[int, str]], seeded: str) -> None:
    name = seeded.split("/")[1]
    expected = (3, "artifactkit: error: entity 'lcoal' not found; did you mean 'local'? [NotFoundError]")
    assert run("get", f"lcoal/{name}/training-data", "--dry-run") == expected
    assert run("ls", f"lcoal/{name}/training-data") == expected
    assert run("ls", f"lcoal/{name}/training-data:v0") == expected
    assert run("ls", f"lcoal/{name}") == expected
    code, err = run("ls", "lcoal")
    assert code == 3 and err.endswith("did you mean 'local'? [NotFoundError]")


def test_a_slip_in_the_project_and_the_type(run: Callable[..., tuple[int, str]], api: Api, tmp_path: Path) -> None:
    # A name unlike the session's other projects (`local/p<N>`), which would be close to `p<N>x` too.
    seeded = f"local/vision-benchmarks-{next(_names)}"
    api.upload(write_tree(tmp_path / "src", {"a.txt": b"a"}), f"{seeded}/training-data", "dataset")
    expected = f"artifactkit: error: project {seeded}x not found; did you mean '{seeded}'? [NotFoundError]"
    assert run("get", f"{seeded}x/training-data", "--dry-run") == (3, expected)
    assert run("ls", f"{seeded}x") == (3, expected)
    code, err = run("ls", seeded, "--type", "datset")
    assert (code, err) == (
        3,
        f"artifactkit: error: artifact type 'datset' not found in {seeded}; did you mean 'dataset'? [NotFoundError]",
    )


def test_no_suggestion_for_a_name_like_none_there(run: Callable[..., tuple[int, str]], seeded: str) -> None:
    assert run("get", f"{seeded}/zzz", "--dry-run") == (
        3,
        f"artifactkit: error: collection 'zzz' not found in {seeded} [NotFoundError]",
    )


def test_the_suggestions_are_on_the_error(api: Api, seeded: str) -> None:
    with pytest.raises(errors.NotFoundError) as caught:
        api.artifact(f"{seeded}/trainin-data:best")
    assert caught.value.kind == "collection" and caught.value.suggestions == ("training-data",)
