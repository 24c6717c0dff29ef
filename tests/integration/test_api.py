"""`Api` configuration (arguments, overrides, environment, netrc, a running emulator) and its lifecycle."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from artifactkit import Api, errors
from artifactkit.server.embedded import EmbeddedEmulator
from tests.conftest import create_types


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """No W&B settings from the machine running the tests: no env vars, an empty netrc, no local server."""
    for name in ("WANDB_API_KEY", "WANDB_BASE_URL", "WANDB_ENTITY", "WANDB_PROJECT", "WANDB_HTTP_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "no-wandb-config"))
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("ARTIFACTKIT_DATA_DIR", str(tmp_path / "no-local-server"))
    yield monkeypatch


def write_netrc(path: Path, host: str, key: str) -> None:
    path.write_text(f"machine {host}\n  login user\n  password {key}\n")
    path.chmod(0o600)


def test_arguments_configure_everything(
    emulator: EmbeddedEmulator, clean_env: pytest.MonkeyPatch, project: str
) -> None:
    create_types(emulator, project, ["dataset"])
    entity, name = project.split("/")
    with Api(api_key=emulator.api_key, base_url=emulator.url + "/", entity=entity, project=name, timeout=5) as api:
        assert api.base_url == emulator.url  # a trailing slash is dropped
        assert api.timeout == 5.0
        assert [t.name for t in api.artifact_types()] == ["dataset"]  # the default project


def test_environment_configures_everything(
    emulator: EmbeddedEmulator, clean_env: pytest.MonkeyPatch, project: str
) -> None:
    create_types(emulator, project, ["model"])
    entity, name = project.split("/")
    clean_env.setenv("WANDB_BASE_URL", emulator.url)
    clean_env.setenv("WANDB_API_KEY", emulator.api_key)
    clean_env.setenv("WANDB_ENTITY", entity)
    clean_env.setenv("WANDB_PROJECT", name)
    clean_env.setenv("WANDB_HTTP_TIMEOUT", "12.5")
    with Api() as api:
        assert (api.base_url, api.timeout, api.default_project) == (emulator.url, 12.5, name)
        assert api.settings == {"base_url": emulator.url, "entity": entity, "organization": None, "project": name}
        assert [t.name for t in api.artifact_types()] == ["model"]
        assert api.artifact_type("model").project == name


def test_overrides_work_as_wandb_api_takes_them(
    emulator: EmbeddedEmulator, clean_env: pytest.MonkeyPatch, project: str
) -> None:
    create_types(emulator, project, ["dataset"])
    entity, name = project.split("/")
    overrides = {"base_url": emulator.url, "api_key": emulator.api_key, "entity": entity, "project": name}
    with Api(overrides=overrides) as api:
        assert [t.name for t in api.artifact_types()] == ["dataset"]


def test_arguments_beat_overrides_beat_the_environment(
    emulator: EmbeddedEmulator, clean_env: pytest.MonkeyPatch, project: str
) -> None:
    create_types(emulator, project, ["dataset"])
    entity, name = project.split("/")
    clean_env.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    clean_env.setenv("WANDB_API_KEY", "wrong-" + "0" * 40)
    clean_env.setenv("WANDB_PROJECT", "env-project")
    with Api(overrides={"base_url": emulator.url, "project": "override-project"}, api_key=emulator.api_key) as api:
        assert api.base_url == emulator.url
        assert api.default_project == "override-project"
    with Api(project=name, entity=entity, overrides={"base_url": emulator.url, "api_key": emulator.api_key}) as api:
        assert [t.name for t in api.artifact_types()] == ["dataset"]


def test_the_key_comes_from_netrc_for_the_servers_host(
    emulator: EmbeddedEmulator, clean_env: pytest.MonkeyPatch, tmp_path: Path, project: str
) -> None:
    create_types(emulator, project, ["dataset"])
    netrc = tmp_path / "netrc"
    write_netrc(netrc, "127.0.0.1", emulator.api_key)
    clean_env.setenv("NETRC", str(netrc))
    with Api(base_url=emulator.url) as api:
        assert [t.name for t in api.artifact_types(project)] == ["dataset"]
    write_netrc(netrc, "api.wandb.ai", "x" * 40)  # another host's key is not used
    with pytest.raises(errors.ConfigurationError, match=re.escape("no API key for http://127.0.0.1")):
        Api(base_url=emulator.url)


def test_a_running_emulator_is_found_without_configuration(
    emulator: EmbeddedEmulator, clean_env: pytest.MonkeyPatch, tmp_path: Path, project: str
) -> None:
    create_types(emulator, project, ["dataset"])
    data_dir = tmp_path / "local-server"
    data_dir.mkdir()
    state = {"url": emulator.url, "api_key": emulator.api_key, "pid": os.getpid()}
    (data_dir / "server.json").write_text(json.dumps(state))
    clean_env.setenv("ARTIFACTKIT_DATA_DIR", str(data_dir))
    with Api() as api:
        assert api.base_url == emulator.url
        assert [t.name for t in api.artifact_types(project)] == ["dataset"]


@pytest.mark.parametrize(
    ("kwargs", "env", "message"),
    [
        ({}, {}, r"no API key for https://api.wandb.ai \(the default server\): pass api_key="),
        ({"base_url": "local"}, {}, "no local emulator is running: none announced itself"),
        ({"base_url": "127.0.0.1:8080", "api_key": "k" * 40}, {}, "must start with http:// or https://"),
        ({"base_url": "https://api.wandb.ai"}, {}, "no API key for https://api.wandb.ai"),
        ({"base_url": "https://api.wandb.ai", "api_key": "k" * 40}, {"WANDB_HTTP_TIMEOUT": "soon"}, "not a number"),
        ({"base_url": "https://api.wandb.ai", "api_key": "k" * 40, "timeout": 0}, {}, "positive number of seconds"),
    ],
)
def test_missing_or_bad_settings_fail_at_construction(
    clean_env: pytest.MonkeyPatch, kwargs: dict[str, object], env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        clean_env.setenv(name, value)
    with pytest.raises(errors.ConfigurationError, match=message):
        Api(**kwargs)  # type: ignore[arg-type]


def test_constructing_sends_nothing(emulator: EmbeddedEmulator, tmp_path: Path) -> None:
    emulator.stats.reset()
    with Api(api_key=emulator.api_key, base_url=emulator.url, cache_dir=tmp_path) as api:
        assert repr(api) == f"<Api {emulator.url}>"
    assert emulator.stats.operations == {}


def test_default_entity_is_asked_once_and_only_when_a_path_lacks_it(
    emulator: EmbeddedEmulator, api: Api, project: str
) -> None:
    create_types(emulator, project, ["dataset"])
    emulator.stats.reset()
    list(api.artifact_types(project))  # entity/project given: no need to ask
    assert emulator.stats.operations["Viewer"] == 0
    name = project.split("/")[1]
    list(api.artifact_types(name))
    list(api.artifact_types(name))
    assert api.default_entity == "local"
    assert emulator.stats.operations["Viewer"] == 1
    viewer = api.viewer
    assert (viewer.username, viewer.entity) == ("local", "local")


def test_the_context_manager_closes_the_http_client(emulator: EmbeddedEmulator, tmp_path: Path, project: str) -> None:
    create_types(emulator, project, ["dataset"])
    with Api(api_key=emulator.api_key, base_url=emulator.url, cache_dir=tmp_path) as api:
        types = api.artifact_types(project)
        assert [t.name for t in types] == ["dataset"]
    assert api.client.transport.client.is_closed
    with pytest.raises(errors.ClientClosedError, match="this Api has been closed"):
        list(types)
