"""Configuration precedence, as wandb resolves it: arguments > WANDB_* > settings files > netrc > defaults."""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from artifactkit import _config
from artifactkit.errors import ConfigurationError

# Every layer sets every setting it can, each to a value naming the layer; a case removes layers.
LAYERS = ("argument", "environment", "workspace", "global", "netrc")
SETTINGS = {
    # setting: the layers that can hold it
    "base_url": ("argument", "environment", "workspace", "global"),
    "api_key": ("argument", "environment", "netrc"),
    "entity": ("argument", "environment", "workspace", "global"),
    "project": ("argument", "environment", "workspace", "global"),
    "organization": ("argument", "environment", "workspace", "global"),  # WANDB_ORGANIZATION, `organization`
}
DEFAULTS = {"base_url": "https://api.wandb.ai", "entity": None, "project": None, "organization": None}
HOST = "https://wandb.example.com"


def value(setting: str, layer: str) -> str:
    if setting == "base_url":
        return f"https://{layer}.example.com"
    return f"{layer}-{setting}".replace("_", "-")


@dataclass
class Machine:
    """A machine's wandb setup: environment, the two settings files and a netrc, all under tmp."""

    root: Path
    environ: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.workdir = self.root / "project"
        self.workdir.mkdir()
        self.environ.update(
            {"WANDB_CONFIG_DIR": str(self.root / "config"), "NETRC": str(self.root / "netrc"), "HOME": str(self.root)}
        )

    def settings(self, where: str, **values: str) -> Path:
        path = (self.root / "config" if where == "global" else self.workdir / "wandb") / "settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("[default]\n" + "".join(f"{k} = {v}\n" for k, v in values.items()))
        return path

    def netrc(self, machine: str, key: str, mode: int = 0o600) -> Path:
        path = self.root / "netrc"
        path.write_text(f"machine {machine}\n  login user\n  password {key}\n")
        path.chmod(mode)
        return path

    def resolve(self, **arguments: str | bool | None) -> _config.Config:
        return _config.resolve(environ=self.environ, cwd=self.workdir, **arguments)  # type: ignore[arg-type]


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Machine:
    monkeypatch.setenv("ARTIFACTKIT_DATA_DIR", str(tmp_path / "no-emulator"))
    return Machine(tmp_path)


def setup_layers(machine: Machine, present: tuple[str, ...], base_url: str | None = None) -> dict[str, str | None]:
    """Configure the `present` layers; returns the Api arguments (the argument layer)."""
    arguments: dict[str, str | None] = {}
    for layer in present:
        values = {s: value(s, layer) for s, layers in SETTINGS.items() if layer in layers}
        if base_url is not None and "base_url" in values:
            values["base_url"] = base_url
        if layer == "argument":
            arguments = dict(values)
        elif layer == "environment":
            machine.environ.update({f"WANDB_{k.upper()}": v for k, v in values.items()})
        elif layer in ("workspace", "global"):
            machine.settings(layer, **values)
        elif layer == "netrc":
            machine.netrc(base_url.split("://")[1] if base_url else "api.wandb.ai", values["api_key"])
    return arguments


CASES = [
    LAYERS,
    LAYERS[1:],
    LAYERS[2:],
    LAYERS[3:],
    ("netrc",),
    ("environment", "global"),
    ("argument", "global", "netrc"),
    ("workspace", "netrc"),
]


@pytest.mark.parametrize("present", CASES, ids=lambda p: "+".join(p) or "nothing")
@pytest.mark.parametrize("setting", ["entity", "project", "base_url", "organization"])
def test_the_highest_layer_that_sets_a_value_wins(machine: Machine, present: tuple[str, ...], setting: str) -> None:
    arguments = setup_layers(machine, present)
    if "api_key" not in arguments and "environment" not in present:
        arguments["api_key"] = "k" * 40  # so that a missing key does not end the case early
    config = machine.resolve(**arguments)
    winner = next((layer for layer in present if layer in SETTINGS[setting]), None)
    expected = DEFAULTS[setting] if winner is None else value(setting, winner)
    assert getattr(config, setting) == expected
    if winner in ("workspace", "global"):  # the source names the file
        assert config.sources[setting].endswith("settings")


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        (("argument", "environment", "netrc"), "argument"),
        (("environment", "netrc"), "environment"),
        (("netrc",), "netrc"),
    ],
)
def test_the_key_comes_from_the_argument_then_the_environment_then_netrc(
    machine: Machine, present: tuple[str, ...], expected: str
) -> None:
    arguments = setup_layers(machine, present, base_url=HOST)
    machine.environ["WANDB_BASE_URL"] = HOST
    config = machine.resolve(api_key=arguments.get("api_key"))
    assert config.api_key == value("api_key", expected)
    assert config.base_url == HOST


def test_the_workspace_settings_file_wins_over_the_global_one_key_by_key(machine: Machine) -> None:
    machine.settings("global", base_url=HOST, entity="global-team", project="global-project")
    machine.settings("workspace", project="workspace-project")
    machine.netrc("wandb.example.com", "n" * 40)
    config = machine.resolve()
    assert (config.base_url, config.entity, config.project) == (HOST, "global-team", "workspace-project")
    assert config.api_key == "n" * 40


def test_wandb_dir_moves_the_workspace_settings_file(machine: Machine, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "wandb").mkdir(parents=True)
    (elsewhere / "wandb" / "settings").write_text("[default]\nproject = moved\n")
    machine.environ["WANDB_DIR"] = str(elsewhere)
    assert machine.resolve(api_key="k" * 40).project == "moved"


def test_the_netrc_entry_of_host_and_port_is_found_as_wandb_login_writes_it(machine: Machine) -> None:
    machine.netrc("127.0.0.1:8765", "p" * 40)
    config = machine.resolve(base_url="http://127.0.0.1:8765/")
    assert (config.base_url, config.api_key) == ("http://127.0.0.1:8765", "p" * 40)


@pytest.mark.parametrize("order", ["host first in the file", "host:port first in the file"])
def test_the_host_and_port_entry_wins_over_the_host_entry(machine: Machine, order: str) -> None:
    """Both entries, different keys: `host:port` (what `wandb login` writes and wandb 0.31 reads) is used
    for a URL with that port; the bare `host` (what requests-based clients such as wandb 0.22 read)
    only for another port. A lookup in the other order passes every single-entry test."""
    entries = [("127.0.0.1", "h" * 40), ("127.0.0.1:8765", "p" * 40)]
    if order != "host first in the file":
        entries.reverse()
    path = machine.root / "netrc"
    path.write_text("".join(f"machine {host}\n  login user\n  password {key}\n" for host, key in entries))
    path.chmod(0o600)
    assert machine.resolve(base_url="http://127.0.0.1:8765").api_key == "p" * 40
    assert machine.resolve(base_url="http://127.0.0.1:9999").api_key == "h" * 40
    assert machine.resolve(base_url="http://127.0.0.1").api_key == "h" * 40


def test_a_key_for_another_host_is_not_used(machine: Machine) -> None:
    machine.netrc("api.wandb.ai", "c" * 40)
    with pytest.raises(ConfigurationError, match=re.escape("no API key for https://wandb.example.com: pass api_key=")):
        machine.resolve(base_url=HOST)


def test_a_netrc_readable_by_others_is_used_with_a_warning(machine: Machine, caplog: pytest.LogCaptureFixture) -> None:
    path = machine.netrc("api.wandb.ai", "c" * 40, mode=0o644)
    _config._warned_netrc.discard(path)
    with caplog.at_level(logging.WARNING, logger="artifactkit"):
        assert machine.resolve().api_key == "c" * 40
    assert f"the netrc file {path} can be read by other users" in caplog.text
    assert f"chmod 600 {path}" in caplog.text


def test_nothing_configured_means_w_and_b_cloud_and_a_clear_error(machine: Machine) -> None:
    with pytest.raises(ConfigurationError) as error:
        machine.resolve()
    message = str(error.value)
    assert "no API key for https://api.wandb.ai (the default server)" in message
    assert "wandb login" in message and "base_url='local'" in message


def test_a_broken_settings_file_is_ignored_with_a_warning(machine: Machine, caplog: pytest.LogCaptureFixture) -> None:
    path = machine.settings("global", entity="x")
    path.write_text("this is not an ini file\n")
    with caplog.at_level(logging.WARNING, logger="artifactkit"):
        assert machine.resolve(api_key="k" * 40).entity is None
    assert f"ignoring the wandb settings file {path}" in caplog.text


def announce_emulator(data_dir: Path, url: str = "http://127.0.0.1:4567", key: str = "e" * 40) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "server.json").write_text(json.dumps({"url": url, "api_key": key, "pid": os.getpid()}))


def test_a_running_emulator_is_used_only_when_nothing_is_configured(
    machine: Machine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARTIFACTKIT_DATA_DIR", str(tmp_path / "emu"))
    announce_emulator(tmp_path / "emu")
    config = machine.resolve()
    assert (config.base_url, config.api_key, config.uses_local_server) == ("http://127.0.0.1:4567", "e" * 40, True)
    # A configured key means the user meant their server: the default (cloud) is used, not the emulator.
    machine.environ["WANDB_API_KEY"] = "c" * 40
    config = machine.resolve()
    assert (config.base_url, config.uses_local_server) == ("https://api.wandb.ai", False)
    del machine.environ["WANDB_API_KEY"]
    machine.netrc("api.wandb.ai", "c" * 40)
    assert machine.resolve().base_url == "https://api.wandb.ai"


def test_asking_for_local_never_sends_a_key_configured_for_another_host(
    machine: Machine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARTIFACTKIT_DATA_DIR", str(tmp_path / "emu"))
    announce_emulator(tmp_path / "emu")
    machine.environ["WANDB_API_KEY"] = "c" * 40
    machine.environ["WANDB_BASE_URL"] = "https://api.wandb.ai"
    config = machine.resolve(base_url="local")
    assert (config.base_url, config.api_key) == ("http://127.0.0.1:4567", "e" * 40)


def test_an_emulator_started_with_another_data_dir_is_found_through_the_registry(
    machine: Machine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from artifactkit._local import announce

    monkeypatch.setenv("ARTIFACTKIT_DATA_DIR", str(tmp_path / "default"))
    state: dict[str, object] = {"url": "http://127.0.0.1:5678", "api_key": "r" * 40, "pid": os.getpid()}
    written = announce(state, tmp_path / "emu")
    assert tmp_path / "emu" / "server.json" in written
    assert machine.resolve(base_url="local").base_url == "http://127.0.0.1:5678"


def test_asking_for_local_with_no_emulator_says_where_it_looked(machine: Machine, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        machine.resolve(base_url="local")
    message = str(error.value)
    assert str(tmp_path / "no-emulator" / "server.json") in message
    assert message.startswith("no local emulator is running")
    assert "artifactkit serve" in message and "ARTIFACTKIT_DATA_DIR" in message


# -- the second server of a mirror: its key is its own ------------------------------------------


def _two_hosts_netrc(machine: Machine) -> None:
    path = machine.root / "netrc"
    path.write_text(
        "machine api.wandb.ai\n  login user\n  password " + "c" * 40 + "\n"
        "machine onprem.example.com\n  login user\n  password " + "o" * 40 + "\n"
    )
    path.chmod(0o600)


def test_with_host_keys_only_the_environment_key_stays_with_its_server(machine: Machine) -> None:
    _two_hosts_netrc(machine)
    machine.environ["WANDB_API_KEY"] = "e" * 40  # meant for the cloud, the configured server

    other = machine.resolve(base_url="https://onprem.example.com", host_keys_only=True)
    cloud = machine.resolve(base_url="https://api.wandb.ai/", host_keys_only=True)
    plain = machine.resolve(base_url="https://onprem.example.com")

    assert (other.api_key, other.sources["api_key"]) == ("o" * 40, f"netrc {machine.root / 'netrc'}")
    assert (cloud.api_key, cloud.sources["api_key"]) == ("e" * 40, "WANDB_API_KEY")
    assert plain.api_key == "e" * 40  # without it, as wandb: the environment key goes anywhere


def test_with_host_keys_only_the_environment_key_follows_wandb_base_url(machine: Machine) -> None:
    machine.environ.update({"WANDB_API_KEY": "e" * 40, "WANDB_BASE_URL": "https://onprem.example.com"})

    onprem = machine.resolve(base_url="https://ONPREM.example.com", host_keys_only=True)
    assert onprem.api_key == "e" * 40
    with pytest.raises(ConfigurationError, match=re.escape("no API key for https://api.wandb.ai")):
        machine.resolve(base_url="https://api.wandb.ai", host_keys_only=True)
