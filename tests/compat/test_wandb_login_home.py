"""A machine set up only with the official `wandb login --host URL KEY`: artifactkit needs nothing more."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from artifactkit import Api
from artifactkit.cli import main as cli_main
from artifactkit.server.embedded import EmulatorProcess
from tests.compat.conftest import client_python
from tests.conftest import create_types

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    with EmulatorProcess(tmp_path_factory.mktemp("login-emulator")) as emu:
        yield emu


@pytest.fixture(scope="module")
def wandb_home(server: EmulatorProcess, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A HOME holding exactly what `wandb login --host URL KEY` (wandb 0.31.0) writes there."""
    home = tmp_path_factory.mktemp("home")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "WANDB_ERROR_REPORTING": "false", "LANG": "C.UTF-8"}
    done = subprocess.run(
        [str(client_python("0.31.0")), "-m", "wandb", "login", "--host", server.url, server.api_key],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    for log in (home / ".cache").rglob("*.log"):  # wandb-core's own log, not configuration
        log.unlink()
    files = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())
    assert files == [".config/wandb/settings", ".netrc"]
    return home


@pytest.fixture
def only_wandb_setup(wandb_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process sees that HOME and nothing else: no WANDB_*/NETRC variables, no emulator to discover."""
    monkeypatch.setenv("HOME", str(wandb_home))
    for name in ("NETRC", "WANDB_CONFIG_DIR", "WANDB_BASE_URL", "WANDB_API_KEY", "WANDB_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ARTIFACTKIT_DATA_DIR", str(tmp_path / "no-emulator-here"))
    monkeypatch.chdir(tmp_path)
    return wandb_home


def test_the_sdk_uses_the_server_and_key_wandb_login_saved(server: EmulatorProcess, only_wandb_setup: Path) -> None:
    create_types(server, "local/login-sdk", ["dataset"])  # type: ignore[arg-type]
    with Api() as api:
        assert api.base_url == server.url
        assert api.config.sources["base_url"] == str(only_wandb_setup / ".config" / "wandb" / "settings")
        assert api.config.sources["api_key"] == f"netrc {only_wandb_setup / '.netrc'}"
        assert [t.name for t in api.artifact_types("local/login-sdk")] == ["dataset"]


def test_the_cli_uses_them_too(
    server: EmulatorProcess, only_wandb_setup: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    create_types(server, "local/login-cli", ["model"])  # type: ignore[arg-type]
    assert cli_main(["ls", "local/login-cli", "--types"]) == 0
    captured = capsys.readouterr()
    assert captured.out.split()[:3] == ["TYPE", "CREATED", "model"]
    assert captured.err == ""  # no "using the local emulator" notice: the configured server was used
