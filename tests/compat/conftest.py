"""The official `wandb` clients, each in its own virtual environment, driven against live emulators.

Environments are created on first use under `.cache/compat/wandb-<version>-py<X.Y>/` in the
repository (gitignored) with the interpreter running the tests and `pip install wandb==<version>`
from the configured package index; later runs reuse them. A file lock makes concurrent sessions
wait for one another instead of installing twice.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from filelock import FileLock

from artifactkit.server.embedded import EmulatorProcess

REPO = Path(__file__).resolve().parents[2]
COMPAT_CACHE = REPO / ".cache" / "compat"
SCENARIO = Path(__file__).with_name("scenario.py")
SCENARIO_TIMEOUT = 600  # seconds for one whole scenario; a stuck client fails the run, not CI
ENTITY = "local"  # the emulator's default user, whose key the scenario uses
PROJECT = "compat"


def client_python(version: str) -> Path:
    """The python of a virtual environment that holds `wandb==version`, created if missing."""
    tag = f"py{sys.version_info.major}.{sys.version_info.minor}"
    venv = COMPAT_CACHE / f"wandb-{version}-{tag}"
    python = venv / "bin" / "python"
    ready = venv / ".artifactkit-ready"
    COMPAT_CACHE.mkdir(parents=True, exist_ok=True)
    with FileLock(str(venv) + ".lock"):
        if ready.exists() and python.exists():
            return python
        shutil.rmtree(venv, ignore_errors=True)
        steps = [
            [sys.executable, "-m", "venv", str(venv)],
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"wandb=={version}"],
            [str(python), "-c", "import wandb, sys; sys.stdout.write(wandb.__version__)"],
        ]
        for command in steps:
            done = subprocess.run(command, capture_output=True, text=True, timeout=900)
            if done.returncode != 0:
                pytest.fail(f"setting up wandb {version} failed: {' '.join(command)}\n{done.stdout}\n{done.stderr}")
        if done.stdout.strip() != version:
            pytest.fail(f"the environment for wandb {version} imports wandb {done.stdout.strip()}")
        ready.write_text(version)
    return python


@dataclass(frozen=True)
class Combination:
    """One client version against one server personality."""

    version: str
    personality: str  # "modern" or "legacy"
    cli_version: str | None = None  # the server's max_cli_version, when not the personality's default
    only: tuple[str, ...] = ()  # run just these scenario steps (all when empty)

    @property
    def id(self) -> str:
        suffix = f"-server{self.cli_version}" if self.cli_version else ""
        return f"wandb{self.version}-{self.personality}{suffix}"


@dataclass
class ScenarioRun:
    """The outcome of one scenario run: a record per step, plus what the emulator saw."""

    combination: Combination
    records: dict[str, dict[str, Any]]
    stats: dict[str, Any]  # with `graphql_log`: every document the emulator answered
    server_log: str
    stderr: str
    seconds: float

    def record(self, step: str) -> dict[str, Any]:
        if step not in self.records:
            pytest.fail(
                f"the scenario produced no record for step {step!r} (did the client process die?)\n"
                f"stderr:\n{self.stderr[-4000:]}\nserver log:\n{self.server_log[-4000:]}"
            )
        return self.records[step]


def _client_env(emu: EmulatorProcess, home: Path) -> dict[str, str]:
    """A clean environment: nothing of the developer's wandb setup leaks into the client."""
    for sub in ("cache", "config", "data", "tmp"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": str(home / "tmp"),
        "LANG": "C.UTF-8",
        # 0.19.9's artifact code builds fresh InternalApi() objects that ignore the Api's
        # overrides and read these two (wandb-wire.md §2.3), so both are exported.
        "WANDB_BASE_URL": emu.url,
        "WANDB_API_KEY": emu.api_key,
        "WANDB_SILENT": "true",
        "WANDB_ERROR_REPORTING": "false",
        "WANDB_CACHE_DIR": str(home / "cache"),
        "WANDB_CONFIG_DIR": str(home / "config"),
        "WANDB_DATA_DIR": str(home / "data"),
        "WANDB_DIR": str(home),
        "WANDB_DISABLE_GIT": "true",
        "WANDB_DISABLE_CODE": "true",
    }
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def run_scenario(
    combination: Combination,
    workdir: Path,
    *,
    script: Path = SCENARIO,
    prepare: Callable[[EmulatorProcess], dict[str, Any]] | None = None,
) -> ScenarioRun:
    """Run `script` (a scenario) with the client of `combination` against a fresh emulator;
    `prepare` may set the emulator up first and add to the scenario's configuration."""
    import time

    python = client_python(combination.version)
    workdir.mkdir(parents=True, exist_ok=True)
    if combination.cli_version is None:
        emulator = EmulatorProcess(workdir / "server", legacy=combination.personality == "legacy")
    else:
        emulator = EmulatorProcess(workdir / "server", extra_args=("--max-cli-version", combination.cli_version))
    with emulator as emu:
        config = {
            "base_url": emu.url,
            "api_key": emu.api_key,
            "entity": ENTITY,
            "project": PROJECT,
            "workdir": str(workdir / "client"),
            "only": list(combination.only),
        }
        if prepare is not None:
            config.update(prepare(emu))
        (workdir / "client").mkdir()
        config_path = workdir / "config.json"
        config_path.write_text(json.dumps(config))
        started = time.monotonic()
        try:
            done = subprocess.run(
                [str(python), str(script), str(config_path)],
                env=_client_env(emu, workdir / "home"),
                capture_output=True,
                text=True,
                timeout=SCENARIO_TIMEOUT,
            )
            stdout, stderr = done.stdout, done.stderr
        except subprocess.TimeoutExpired as exc:
            stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            stderr = f"the scenario did not finish within {SCENARIO_TIMEOUT} s"
        seconds = time.monotonic() - started
        stats = httpx.get(f"{emu.url}/_emulator/stats?log=1", auth=("api", emu.api_key), timeout=30).json()
    records = {}
    for line in stdout.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            records[record["step"]] = record
    server_log = (workdir / "server" / "server.log").read_text(errors="replace")
    return ScenarioRun(combination, records, stats, server_log, stderr, seconds)


# 0.31.0 needs a server of 0.70.0 or newer (wandb-schema-notes.md §3): it has no legacy combination.
COMBINATIONS = [
    Combination("0.31.0", "modern"),
    Combination("0.22.3", "modern"),
    Combination("0.22.3", "legacy"),
    Combination("0.19.9", "modern"),
    Combination("0.19.9", "legacy"),
]


_RUNS: dict[Combination, ScenarioRun] = {}  # the outcomes of this session, for the summary below


@pytest.fixture(scope="session")
def scenario_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[Combination], ScenarioRun]]:
    """Runs the scenario once per combination, on first demand, and keeps the outcome."""

    def get(combination: Combination) -> ScenarioRun:
        if combination not in _RUNS:
            _RUNS[combination] = run_scenario(combination, tmp_path_factory.mktemp(combination.id))
        return _RUNS[combination]

    yield get


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line per combination: how many scenario steps the official client got through."""
    for combination, run in _RUNS.items():
        failed = sorted(name for name, record in run.records.items() if not record["ok"])
        terminalreporter.write_line(
            f"compat {combination.id}: {len(run.records) - len(failed)} steps passed, {len(failed)} failed "
            f"in {run.seconds:.1f} s" + (f" ({', '.join(failed)})" if failed else "")
        )


@pytest.fixture(params=COMBINATIONS, ids=lambda c: c.id)
def combination(request: pytest.FixtureRequest) -> Combination:
    value: Combination = request.param
    return value


@pytest.fixture
def scenario(combination: Combination, scenario_runs: Callable[[Combination], ScenarioRun]) -> ScenarioRun:
    return scenario_runs(combination)
