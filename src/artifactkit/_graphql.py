"""The boundary between the facade and the generated client.

`Session.call` runs one generated operation and turns everything it can raise (httpx errors,
HTTP error statuses, GraphQL errors, pydantic validation errors) into the `artifactkit.errors`
tree, naming what was asked for. Nothing else in the facade catches those exceptions. The session
knows nothing else: what the server supports lives in `_capabilities`, the download cache in `_client`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from . import errors

if TYPE_CHECKING:
    import httpx

    from ._generated.client import GeneratedClient
    from ._transport import Transport

T = TypeVar("T")

_STATUS_ERRORS: dict[int, type[errors.APIStatusError]] = {
    400: errors.BadRequestError,
    401: errors.AuthenticationError,
    403: errors.PermissionDeniedError,
    409: errors.ConflictError,
    413: errors.BadRequestError,
    429: errors.RateLimitError,
}


def _error_messages(errors_list: list[dict[str, Any]]) -> str:
    return "; ".join(str(e.get("message", e)) for e in errors_list[:3])


def status_error(response: httpx.Response, what: str, key_source: str = "WANDB_API_KEY") -> errors.ArtifactkitError:
    """The typed error for an HTTP error status, with the server's own message when it sent one.

    `key_source` names where the rejected API key came from (`WANDB_API_KEY`, `argument api_key=`,
    a netrc file), so a 401 says which setting to fix.
    """
    status = response.status_code
    try:
        body = response.json()
        server_errors = body.get("errors") or [] if isinstance(body, dict) else []
    except ValueError:
        server_errors = []
    detail = _error_messages(server_errors) if server_errors else response.reason_phrase
    if status == 401:
        message = (
            f"authentication failed while {what}: the API key was rejected ({detail}); check the key from {key_source}"
        )
    elif status == 403:
        message = f"permission denied while {what}: {detail}"
    elif status == 404:
        return errors.NotFoundError(f"not found while {what}: {detail}")
    else:
        message = f"HTTP {status} while {what}: {detail}"
    cls = _STATUS_ERRORS.get(status, errors.ServerError if status >= 500 else errors.APIStatusError)
    return cls(message, status_code=status, errors=server_errors)


class Session:
    """A generated client bound to one transport; `call` is the facade's one error boundary."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._client: GeneratedClient | None = None

    @property
    def client(self) -> GeneratedClient:
        if self._client is None:
            from ._generated.client import GeneratedClient

            self._client = GeneratedClient(url=self.transport.graphql_url, http_client=self.transport)
        return self._client

    def call(self, operation: Callable[[GeneratedClient], T], what: str) -> T:
        """Run `operation` against the generated client; `what` names the request in errors."""
        if self.transport.offline:
            raise errors.OfflineError(
                f"{what} needs the server {self.transport.base_url} and this Api is offline "
                "(offline=True or WANDB_MODE); nothing was sent"
            )
        # Imported here, not with this module: an Api that has sent nothing has loaded neither httpx
        # nor pydantic. The generated client needs both anyway, so after the first call this is free.
        import httpx
        import pydantic

        from ._generated.exceptions import (
            GraphQLClientGraphQLMultiError,
            GraphQLClientHttpError,
            GraphQLClientInvalidResponseError,
        )

        try:
            return operation(self.client)
        except errors.ResponseTooLargeError as exc:
            raise errors.ResponseTooLargeError(f"while {what}: {exc}", limit=exc.limit) from exc
        except errors.ArtifactkitError:
            raise
        except GraphQLClientHttpError as exc:
            raise status_error(exc.response, what, self.transport.key_source) from exc  # type: ignore[arg-type]
        except GraphQLClientGraphQLMultiError as exc:
            details = [
                {"message": e.message, **({"extensions": e.extensions} if e.extensions else {})} for e in exc.errors
            ]
            raise errors.GraphQLError(
                f"the server reported an error while {what}: {_error_messages(details)}", errors=details
            ) from exc
        except GraphQLClientInvalidResponseError as exc:
            raise errors.ResponseValidationError(f"the server's answer while {what} is not a GraphQL response") from exc
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "the answer"
            raise errors.ResponseValidationError(
                f"the server's answer while {what} does not match the schema: {exc.error_count()} problem(s), "
                f"first at {where}: {first['msg']}"
            ) from exc
        except httpx.TimeoutException as exc:
            raise errors.APITimeoutError(f"timed out while {what}") from exc
        except httpx.HTTPError as exc:
            raise errors.TransportError(f"could not reach the server while {what}: {exc}") from exc

    def close(self) -> None:
        self.transport.close()
