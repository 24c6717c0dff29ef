"""The library explains itself on `logging.getLogger("artifactkit")` (retries, server choice) and never prints."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable

import httpx
import pytest

from artifactkit import Api, RetryPolicy, errors
from tests.unit.test_transport import SERVER_INFO, Server, connect_error, make_api, probe, sleeps

__all__ = ["make_api", "sleeps"]  # fixtures used by name below


def test_every_retry_is_logged_with_its_cause_and_wait(
    make_api: Callable[..., Api],
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    throttled = httpx.Response(429, headers={"Retry-After": "3"}, json={"errors": [{"message": "slow down"}]})
    server = Server(connect_error(), throttled, SERVER_INFO)
    with caplog.at_level(logging.INFO, logger="artifactkit"):
        probe(make_api(server, RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=10.0)))
    retries = [r for r in caplog.records if r.getMessage().startswith("retrying")]
    assert [r.name for r in retries] == ["artifactkit", "artifactkit"]
    first, second = (r.getMessage() for r in retries)
    assert first.startswith("retrying POST https://wandb.example.test/graphql in ")
    assert "(attempt 2 of 5): ConnectError: connection refused" in first
    assert second == (
        "retrying POST https://wandb.example.test/graphql in 3.0 s (attempt 3 of 5): HTTP 429, "
        "the server asked to wait 3 s"
    )
    assert capsys.readouterr() == ("", "")  # logged, never printed


def test_giving_up_is_a_warning(
    make_api: Callable[..., Api], sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="artifactkit"), pytest.raises(errors.TransportError):
        probe(make_api(Server(connect_error()), RetryPolicy(max_attempts=2, base_delay=0.01)))
    warning = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warning] == [
        "giving up on POST https://wandb.example.test/graphql after 2 attempt(s) (ConnectError: connection refused)"
    ]


def test_the_configuration_sources_are_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="artifactkit"):
        Api(api_key="k" * 40, base_url="https://wandb.example.test").close()
    assert (
        "configuration: base_url from argument base_url=, api_key from argument api_key=, entity from not set"
        in caplog.text
    )


def test_the_capability_decision_is_logged(
    make_api: Callable[..., Api], sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="artifactkit"):
        assert probe(make_api(Server(SERVER_INFO))) is True
    assert "the server reports max_cli_version 0.31.0: artifactCollection(s) edges (modern operations)" in caplog.text


def test_a_script_without_logging_configured_sees_no_library_warning_on_stderr() -> None:
    # Python's last-resort handler prints WARNING records of a logger without handlers.
    script = (
        "import logging, artifactkit\n"
        "logging.getLogger('artifactkit._transport').warning('giving up on POST https://x/graphql')\n"
        "print('done')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert (result.stdout, result.stderr) == ("done\n", "")
