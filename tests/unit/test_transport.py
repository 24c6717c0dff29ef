"""Retries, backoff and authentication of the one HTTP client, with failures the emulator cannot produce.

`httpx.MockTransport` plays the server; `time.sleep` is replaced so the tests record the delays
the transport chose instead of waiting them out.
"""

from __future__ import annotations

import email.utils
import re
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from artifactkit import Api, RetryPolicy, errors
from artifactkit._transport import Transport, is_mutation, parse_retry_after

BASE = "https://wandb.example.test"
SERVER_INFO = {"data": {"serverInfo": {"cliVersionInfo": {"max_cli_version": "0.31.0"}}}}


class Server:
    """Answers each request with the next scripted reply (a status, an exception or a body)."""

    def __init__(self, *replies: Any) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        if isinstance(reply, int):
            return httpx.Response(reply, json={"errors": [{"message": f"scripted {reply}"}]})
        return httpx.Response(200, json=reply)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays the transport slept, without sleeping."""
    recorded: list[float] = []
    monkeypatch.setattr("artifactkit._transport.time.sleep", recorded.append)
    return recorded


@pytest.fixture
def make_api() -> Iterator[Callable[..., Api]]:
    made: list[Api] = []

    def make(server: Server, retry: RetryPolicy | None = None) -> Api:
        api = Api(
            api_key="k" * 40,
            base_url=BASE,
            http_transport=httpx.MockTransport(server),
            retry=retry or RetryPolicy(max_attempts=5, base_delay=0.5, max_delay=4.0, budget=60.0),
        )
        made.append(api)
        return api

    yield make
    for api in made:
        api.close()


def probe(api: Api) -> bool:
    """A query: the capability probe."""
    return api.client.supports_collection_edges


def delete_sequence(api: Api) -> None:
    """A mutation."""
    api.client.call(lambda c: c.delete_artifact_sequence("QXJ0aWZhY3RDb2xsZWN0aW9uOjE="), "deleting a collection")


def read_timeout(request_url: str = f"{BASE}/graphql") -> httpx.ReadTimeout:
    return httpx.ReadTimeout("timed out", request=httpx.Request("POST", request_url))


def connect_error() -> httpx.ConnectError:
    return httpx.ConnectError("connection refused", request=httpx.Request("POST", f"{BASE}/graphql"))


# -- what is retried ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_queries_are_retried_on_throttling_and_gateway_errors(
    status: int, make_api: Callable[..., Api], sleeps: list[float]
) -> None:
    server = Server(status, status, SERVER_INFO)
    assert probe(make_api(server)) is True
    assert len(server.requests) == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize("failure", [connect_error, read_timeout], ids=["connect", "read-timeout"])
def test_queries_are_retried_on_connection_failures(
    failure: Callable[[], Exception], make_api: Callable[..., Api], sleeps: list[float]
) -> None:
    server = Server(failure(), SERVER_INFO)
    assert probe(make_api(server)) is True
    assert len(server.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 500])
def test_errors_that_retrying_cannot_fix_are_not_retried(
    status: int, make_api: Callable[..., Api], sleeps: list[float]
) -> None:
    server = Server(status)
    with pytest.raises(errors.ArtifactkitError):
        probe(make_api(server))
    assert len(server.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_mutation_that_may_have_reached_the_server_is_not_repeated(
    status: int, make_api: Callable[..., Api], sleeps: list[float]
) -> None:
    server = Server(status, {"data": {}})
    with pytest.raises(errors.ServerError) as caught:
        delete_sequence(make_api(server))
    assert caught.value.status_code == status
    assert len(server.requests) == 1


def test_a_mutation_whose_answer_was_lost_is_not_repeated(make_api: Callable[..., Api], sleeps: list[float]) -> None:
    server = Server(read_timeout(), {"data": {}})
    with pytest.raises(errors.APITimeoutError):
        delete_sequence(make_api(server))
    assert len(server.requests) == 1


def test_a_mutation_is_retried_when_it_cannot_have_reached_the_server(
    make_api: Callable[..., Api], sleeps: list[float]
) -> None:
    deleted = {
        "data": {
            "deleteArtifactSequence": {"artifactCollection": {"__typename": "ArtifactSequence", "state": "DELETED"}}
        }
    }
    server = Server(connect_error(), 429, deleted)  # refused, then throttled: neither acted on it
    delete_sequence(make_api(server))
    assert len(server.requests) == 3


def test_operations_are_told_apart_by_their_first_operation_keyword() -> None:
    assert is_mutation("\n  mutation DeleteX($id: ID!) { x }\n\nfragment F on T { a }")
    assert is_mutation("fragment F on T { a }\nmutation M { x { ...F } }")
    assert not is_mutation("query Q { project { id } }\nfragment F on T { a }")
    assert not is_mutation("{ viewer { id } }")


# -- how long it waits ---------------------------------------------------------------------------


def test_backoff_is_jittered_exponential_and_capped(make_api: Callable[..., Api], sleeps: list[float]) -> None:
    policy = RetryPolicy(max_attempts=8, base_delay=0.5, max_delay=4.0, budget=600.0)
    server = Server(503)
    with pytest.raises(errors.ServerError):
        probe(make_api(server, policy))
    assert len(server.requests) == 8
    assert len(sleeps) == 7
    for attempt, delay in enumerate(sleeps, start=1):
        assert 0 <= delay <= min(4.0, 0.5 * 2**attempt)
    assert len(set(sleeps)) > 1  # jittered, not a fixed schedule


def test_retry_after_seconds_is_honoured(make_api: Callable[..., Api], sleeps: list[float]) -> None:
    throttled = httpx.Response(429, headers={"Retry-After": "7"}, json={"errors": [{"message": "slow down"}]})
    server = Server(throttled, SERVER_INFO)
    probe(make_api(server, RetryPolicy(base_delay=0.1, max_delay=10.0)))
    assert sleeps == [7.0]


def test_retry_after_as_an_http_date_is_honoured(make_api: Callable[..., Api], sleeps: list[float]) -> None:
    when = email.utils.formatdate(time.time() + 5, usegmt=True)
    unavailable = httpx.Response(503, headers={"Retry-After": when})
    server = Server(unavailable, SERVER_INFO)
    probe(make_api(server, RetryPolicy(base_delay=0.1, max_delay=10.0)))
    assert len(sleeps) == 1 and 3.0 <= sleeps[0] <= 5.0


def test_retrying_stops_within_the_time_budget(make_api: Callable[..., Api], sleeps: list[float]) -> None:
    # The server asks for 30 s, the budget is 5 s: give up at once with the server's answer.
    throttled = httpx.Response(429, headers={"Retry-After": "30"}, json={"errors": [{"message": "quota"}]})
    server = Server(throttled)
    with pytest.raises(errors.RateLimitError) as caught:
        probe(make_api(server, RetryPolicy(max_attempts=10, max_delay=20.0, budget=5.0)))
    assert sleeps == []
    assert len(server.requests) == 1
    assert caught.value.status_code == 429
    assert "quota" in str(caught.value)


def test_an_unreachable_server_is_a_transport_error_after_the_attempts(
    make_api: Callable[..., Api], sleeps: list[float]
) -> None:
    server = Server(connect_error())
    with pytest.raises(
        errors.TransportError, match=re.escape("POST https://wandb.example.test/graphql failed: ConnectError")
    ):
        probe(make_api(server, RetryPolicy(max_attempts=3, base_delay=0.01)))
    assert len(server.requests) == 3
    assert len(sleeps) == 2


def test_retry_after_parsing() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert parse_retry_after(past) == 0.0


# -- authentication ------------------------------------------------------------------------------


def test_the_api_key_goes_only_to_the_server_never_to_storage_urls() -> None:
    seen: dict[str, str | None] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[str(request.url.host)] = request.headers.get("authorization")
        return httpx.Response(200, content=b"bytes")

    transport = Transport(BASE, "secret-key", transport=httpx.MockTransport(handler))
    with transport.stream("GET", f"{BASE}/artifacts/x") as response:
        response.read()
    with transport.stream("GET", "https://storage.example.test/bucket/blob?sig=abc") as response:
        response.read()
    transport.close()
    assert seen["wandb.example.test"] == "Basic YXBpOnNlY3JldC1rZXk="  # base64("api:secret-key")
    assert seen["storage.example.test"] is None


def test_requests_carry_the_client_name() -> None:
    server = Server(SERVER_INFO)
    with Api(api_key="k" * 40, base_url=BASE, http_transport=httpx.MockTransport(server)) as api:
        probe(api)
    assert server.requests[0].headers["user-agent"].startswith("artifactkit/")


def test_a_user_without_a_default_entity_is_asked_about_once() -> None:
    server = Server(httpx.Response(200, json={"data": {"viewer": None}}))
    with Api(api_key="k" * 40, base_url=BASE, http_transport=httpx.MockTransport(server)) as api:
        assert api.default_entity is None
        assert api.default_entity is None
    assert len(server.requests) == 1


# -- a refused connection ------------------------------------------------------------------------


def refused(url: str) -> httpx.ConnectError:
    """What httpx raises when the host answers that nothing listens on the port."""
    error = httpx.ConnectError("[Errno 111] Connection refused", request=httpx.Request("POST", url))
    error.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return error


class Clock:
    """The transport's clock: `sleep` moves `monotonic` on, without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("artifactkit._transport.time", fake)
    return fake


@pytest.fixture
def closed_port() -> int:
    """A port on this machine that nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_refused_connection_to_this_machine_is_given_up_within_seconds_with_a_hint(
    clock: Clock, closed_port: int, host: str
) -> None:
    transport = Transport(f"http://{host}:{closed_port}", "k" * 40)  # the default policy: 120 s for others
    try:
        with pytest.raises(errors.TransportError) as caught:
            transport.post(transport.graphql_url, json={"query": "{ viewer { id } }"})
    finally:
        transport.close()
    assert sum(clock.sleeps) <= RetryPolicy().local_refused_budget == 2.0  # not the 20-30 s of the whole budget
    assert len(clock.sleeps) >= 1  # a server just starting still gets a moment
    assert f"connection refused: nothing is listening on {host}:{closed_port}" in str(caught.value)
    assert str(caught.value).endswith("the server may be down or not started yet")


def test_a_refused_connection_elsewhere_keeps_the_whole_retry_budget(
    clock: Clock, make_api: Callable[..., Api]
) -> None:
    server = Server(refused(f"{BASE}/graphql"))
    with pytest.raises(errors.TransportError, match=re.escape("nothing is listening on wandb.example.test:443")):
        probe(make_api(server, RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=1.0, budget=60.0)))
    assert len(server.requests) == 5
    assert len(clock.sleeps) == 4


def test_a_local_server_restart_can_be_waited_for(clock: Clock, closed_port: int) -> None:
    policy = RetryPolicy(max_attempts=6, base_delay=1.0, max_delay=1.0, budget=60, local_refused_budget=60)
    transport = Transport(f"http://127.0.0.1:{closed_port}", "k" * 40, retry=policy)
    try:
        with pytest.raises(errors.TransportError):
            transport.post(transport.graphql_url, json={"query": "{ viewer { id } }"})
    finally:
        transport.close()
    assert len(clock.sleeps) == 5  # every attempt made: the policy asked to bridge a restart
