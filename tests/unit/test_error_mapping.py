"""Everything the generated client, httpx and pydantic raise becomes one typed, specific error.

The server is an `httpx.MockTransport` here because these answers (5xx, broken JSON, a body of
the wrong shape) are exactly what the emulator never produces.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from syrupy.assertion import SnapshotAssertion

from artifactkit import Api, RetryPolicy, errors

BASE = "https://wandb.example.test"

SCENARIOS: dict[str, httpx.Response] = {
    "401 rejected key": httpx.Response(401, json={"errors": [{"message": "invalid API key"}]}),
    "403 read-only key": httpx.Response(403, json={"errors": [{"message": "this API key is read-only"}]}),
    "404 without a body": httpx.Response(404),
    "400 invalid document": httpx.Response(
        400, json={"errors": [{"message": 'Cannot query field "features" on type "ServerInfo".'}]}
    ),
    "409 conflict": httpx.Response(409, json={"errors": [{"message": "a collection named 'x' already exists"}]}),
    "429 after all retries": httpx.Response(429, text="slow down"),
    "500 internal error": httpx.Response(500, text="<html>oops</html>"),
    "200 with GraphQL errors": httpx.Response(
        200, json={"data": None, "errors": [{"message": "boom", "extensions": {"code": "INTERNAL"}}]}
    ),
    "200 not JSON": httpx.Response(200, text="<html>a proxy login page</html>"),
    "200 JSON but not GraphQL": httpx.Response(200, json={"hello": "world"}),
    "200 wrong shape": httpx.Response(200, json={"data": {"viewer": {"id": 7, "username": "u", "entity": "e"}}}),
}


def call_through(response: httpx.Response) -> errors.ArtifactkitError:
    with (
        Api(
            api_key="k" * 40,
            base_url=BASE,
            http_transport=httpx.MockTransport(lambda request: response),
            retry=RetryPolicy(max_attempts=1),
        ) as api,
        pytest.raises(errors.ArtifactkitError) as caught,
    ):
        api.client.call(lambda c: c.viewer(), "asking who the API key belongs to")
    return caught.value


def describe(error: errors.ArtifactkitError) -> dict[str, Any]:
    described: dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
    if isinstance(error, errors.APIStatusError):
        described["status_code"] = error.status_code
    if isinstance(error, (errors.APIStatusError, errors.GraphQLError)):
        described["errors"] = error.errors
    return described


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_each_failure_maps_to_a_typed_error_naming_the_request(scenario: str, snapshot: SnapshotAssertion) -> None:
    error = call_through(SCENARIOS[scenario])
    assert "asking who the API key belongs to" in str(error)
    assert error.__cause__ is not None  # the original exception stays reachable
    assert describe(error) == snapshot


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        ("401 rejected key", errors.AuthenticationError),
        ("403 read-only key", errors.PermissionDeniedError),
        ("404 without a body", errors.NotFoundError),
        ("400 invalid document", errors.BadRequestError),
        ("409 conflict", errors.ConflictError),
        ("429 after all retries", errors.RateLimitError),
        ("500 internal error", errors.ServerError),
        ("200 with GraphQL errors", errors.GraphQLError),
        ("200 not JSON", errors.ResponseValidationError),
        ("200 JSON but not GraphQL", errors.ResponseValidationError),
        ("200 wrong shape", errors.ResponseValidationError),
    ],
)
def test_error_classes(scenario: str, expected: type[errors.ArtifactkitError]) -> None:
    assert type(call_through(SCENARIOS[scenario])) is expected


def test_authentication_and_permission_errors_are_not_not_found() -> None:
    assert not isinstance(call_through(SCENARIOS["401 rejected key"]), errors.NotFoundError)
    assert not isinstance(call_through(SCENARIOS["403 read-only key"]), errors.NotFoundError)


def test_a_timeout_after_all_retries_is_typed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with (
        Api(
            api_key="k" * 40,
            base_url=BASE,
            http_transport=httpx.MockTransport(handler),
            retry=RetryPolicy(max_attempts=1),
        ) as api,
        pytest.raises(errors.APITimeoutError, match="timed out") as caught,
    ):
        api.client.call(lambda c: c.viewer(), "asking who the API key belongs to")
    assert isinstance(caught.value, errors.TransportError)


def test_a_closed_api_says_so() -> None:
    api = Api(api_key="k" * 40, base_url=BASE, http_transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    api.close()
    with pytest.raises(errors.ClientClosedError, match="this Api has been closed"):
        api.client.call(lambda c: c.viewer(), "asking who the API key belongs to")
