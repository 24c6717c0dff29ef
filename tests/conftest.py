"""Shared fixtures: emulators on real HTTP (127.0.0.1), fresh projects, configured clients."""

from __future__ import annotations

import gc
import itertools
import logging
import signal
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from artifactkit import Api
from artifactkit.server.embedded import EmbeddedEmulator

_names = itertools.count()
MACHINE_SETTINGS = (
    "WANDB_API_KEY",
    "WANDB_BASE_URL",
    "WANDB_ENTITY",
    "WANDB_PROJECT",
    "WANDB_HTTP_TIMEOUT",
    "WANDB_DIR",
)


# pytest-timeout's per-test limit (pyproject: 120 s) turns a hang into a failure. Tests that run the
# official client build its venv (pip install wandb) and a whole scenario inside their first test:
# they get the scenario's own limit instead.
COMPAT_TIMEOUT = 1800


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("compat") is not None and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(COMPAT_TIMEOUT))


@pytest.fixture(scope="session", autouse=True)
def _no_settings_from_this_machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests see none of the developer's wandb setup, and their emulators announce themselves privately."""
    home = tmp_path_factory.mktemp("machine")
    with pytest.MonkeyPatch.context() as patch:
        for name in MACHINE_SETTINGS:
            patch.delenv(name, raising=False)
        patch.setenv("WANDB_CONFIG_DIR", str(home / "wandb-config"))
        patch.setenv("NETRC", str(home / "netrc"))
        patch.setenv("ARTIFACTKIT_DATA_DIR", str(home / "artifactkit-data"))
        patch.setenv("WANDB_CACHE_DIR", str(home / "wandb-cache"))  # wandb's own cache, read by downloads
        yield


@pytest.fixture
def ctrl_c() -> Iterator[None]:
    """SIGINT means Ctrl-C in this process and in the processes it starts meanwhile, as in a terminal.

    A shell that runs a command in the background without job control (`make test &` in a script,
    some CI runners) starts it with SIGINT ignored, and Python keeps an ignored SIGINT ignored, as
    do the processes it starts: a SIGINT a test sends would be lost, and the download it should
    stop would run to its end. Python's own handler here makes KeyboardInterrupt work, and the
    children start with the default disposition (a handler is not inherited across exec).
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _in_flight(emu: EmbeddedEmulator) -> list[str]:
    """The paths of requests the emulator is still answering (uvicorn's connection state)."""
    server = getattr(emu._server, "server", None)
    connections = getattr(getattr(server, "server_state", None), "connections", ())
    paths = []
    for connection in list(connections):
        cycle = getattr(connection, "cycle", None)
        if cycle is not None and not getattr(cycle, "response_complete", True):
            paths.append(str(cycle.scope.get("path", "?")))
    return paths


def stop_shared(emu: EmbeddedEmulator) -> None:
    """Stop a session-wide emulator; a response some client left unread is reported, not raised.

    A client that keeps a connection open without reading a large file's response stalls that
    response until shutdown, which then cancels it: Starlette's file response cannot close its
    file once cancelled, and the ResourceWarning would surface as an error in whichever test
    happens to run last. The emulator drops such a client after `send_timeout_seconds` once its
    buffers toward it are full; what is still answering 10 s after the last test is logged (a
    killed client behind tests/transfer's SlowLink sometimes leaves one whose buffers never fill:
    not understood yet), and the stop is quiet.
    """
    deadline = time.monotonic() + 10
    while (stalled := _in_flight(emu)) and time.monotonic() < deadline:  # the last answers finishing
        time.sleep(0.05)
    if stalled:  # logged, not raised: no test's assertion depends on it (see the docstring)
        log = logging.getLogger("tests")
        log.warning("the shared emulator was still answering %s at the end of the session", stalled)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        emu.stop()
        gc.collect()


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEmulator]:
    """A modern-personality emulator shared by the session."""
    emu = EmbeddedEmulator(tmp_path_factory.mktemp("emulator")).start()
    try:
        yield emu
    finally:
        stop_shared(emu)


@pytest.fixture(scope="session")
def legacy_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEmulator]:
    """An emulator that behaves like a server older than 0.12.11 (artifactSequence(s) edges only)."""
    emu = EmbeddedEmulator(tmp_path_factory.mktemp("legacy-emulator"), legacy=True).start()
    try:
        yield emu
    finally:
        stop_shared(emu)


@pytest.fixture(params=["modern", "legacy"])
def any_emulator(request: pytest.FixtureRequest) -> EmbeddedEmulator:
    """Each test using this runs once per server personality."""
    name = "emulator" if request.param == "modern" else "legacy_emulator"
    emu: EmbeddedEmulator = request.getfixturevalue(name)
    return emu


@pytest.fixture
def project() -> str:
    """A project path no other test uses: `local/p<N>`."""
    return f"local/p{next(_names)}"


def make_api(emu: EmbeddedEmulator, cache_dir: Path, **kwargs: object) -> Api:
    return Api(api_key=emu.api_key, base_url=emu.url, cache_dir=cache_dir, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def api(emulator: EmbeddedEmulator, tmp_path: Path) -> Iterator[Api]:
    with make_api(emulator, tmp_path / "cache") as client:
        yield client


@pytest.fixture
def any_api(any_emulator: EmbeddedEmulator, tmp_path: Path) -> Iterator[Api]:
    with make_api(any_emulator, tmp_path / "cache") as client:
        yield client


def graphql(emu: EmbeddedEmulator, document: str, **variables: object) -> dict[str, object]:
    """Send a raw GraphQL request to an emulator, as any client would; returns `data`."""
    import httpx

    response = httpx.post(
        f"{emu.url}/graphql", json={"query": document, "variables": variables}, auth=("api", emu.api_key), timeout=30
    )
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    data: dict[str, object] = body["data"]
    return data


def create_types(emu: EmbeddedEmulator, project: str, names: list[str]) -> None:
    entity, name = project.split("/")
    for type_name in names:
        graphql(
            emu,
            "mutation($e: String!, $p: String!, $n: String!) { createArtifactType(input: "
            "{entityName: $e, projectName: $p, name: $n}) { artifactType { id } } }",
            e=entity,
            p=name,
            n=type_name,
        )


def sent_operations(emu: EmbeddedEmulator) -> list[dict[str, object]]:
    """The GraphQL requests the emulator received since its stats were last reset."""
    return list(emu.stats.graphql_log)
