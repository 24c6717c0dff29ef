"""Without -v the CLI still shows the first retry: a server that does not answer is not a silent hang."""

from __future__ import annotations

import io
import logging
import socket
import sys
from collections.abc import Iterator

import pytest

from artifactkit import RetryPolicy, errors
from artifactkit._transport import Transport
from artifactkit.cli import log_handler


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def cli_logging(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The CLI's handler (as main() installs it) writing to a stderr of our own; yields that stderr."""
    debug, verbose = request.param
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    logger = logging.getLogger("artifactkit")
    level = logger.level
    handler = log_handler(debug=debug, verbose=verbose)
    logger.addHandler(handler)
    logger.setLevel(handler.level)
    yield stderr
    logger.removeHandler(handler)
    logger.setLevel(level)


def fail_against(port: int) -> None:
    policy = RetryPolicy(max_attempts=4, base_delay=0.001, max_delay=0.002, budget=10.0)
    transport = Transport(f"http://127.0.0.1:{port}", "k" * 40, retry=policy)
    try:
        with pytest.raises(errors.TransportError):
            transport.post(transport.graphql_url, json={"query": "{ viewer { id } }"})
    finally:
        transport.close()


@pytest.mark.parametrize("cli_logging", [(False, False)], indirect=True)
def test_by_default_the_first_retry_and_the_give_up_are_shown(cli_logging: io.StringIO, closed_port: int) -> None:
    fail_against(closed_port)
    lines = cli_logging.getvalue().splitlines()
    assert len(lines) == 2, "\n".join(lines)
    assert lines[0].startswith(f"artifactkit: retrying POST http://127.0.0.1:{closed_port}/graphql in ")
    assert "(attempt 2 of 4): ConnectError" in lines[0] and lines[0].endswith("(-v shows every retry)")
    assert lines[1].startswith("artifactkit: warning: giving up on POST") and "after 4 attempt(s)" in lines[1]


@pytest.mark.parametrize("cli_logging", [(False, True)], indirect=True)
def test_verbose_shows_every_retry(cli_logging: io.StringIO, closed_port: int) -> None:
    fail_against(closed_port)
    lines = cli_logging.getvalue().splitlines()
    assert [line.split(" in ")[0] for line in lines[:3]] == [
        f"artifactkit: retrying POST http://127.0.0.1:{closed_port}/graphql"
    ] * 3
    assert not any("-v shows" in line for line in lines)
