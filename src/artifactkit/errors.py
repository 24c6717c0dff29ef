"""Every error artifactkit raises, in one tree under `ArtifactkitError`.

Errors from httpx, the generated client and pydantic are translated into these at one boundary
(`_graphql.Session.call`, `_transport.Transport`); the original stays available as `__cause__`.
"""

from __future__ import annotations

from typing import Any


class ArtifactkitError(Exception):
    """Base class of all artifactkit errors."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigurationError(ArtifactkitError):
    """No usable API key or server address, or an invalid setting."""


class InvalidNameError(ArtifactkitError, ValueError):
    """A path or name is malformed; raised before any request is sent."""

    def __init__(self, message: str, *, expected: str) -> None:
        super().__init__(f"{message}; expected {expected}")
        self.expected = expected


class ClientClosedError(ArtifactkitError, RuntimeError):
    """The `Api` was closed (`close()` or the end of its `with` block) and cannot send requests."""


class TransportError(ArtifactkitError):
    """The server could not be reached, or the connection broke, after all retries."""


class APITimeoutError(TransportError):
    """A request timed out after all retries."""


class APIStatusError(ArtifactkitError):
    """The server answered with an HTTP error status."""

    def __init__(self, message: str, *, status_code: int, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.errors = errors or []


class BadRequestError(APIStatusError):
    """HTTP 400: the server rejected the request (invalid input or a document it cannot run)."""


class AuthenticationError(APIStatusError):
    """HTTP 401: the API key is missing, wrong or revoked."""


class PermissionDeniedError(APIStatusError):
    """HTTP 403: the API key may not do this (e.g. a read-only key writing)."""


class ConflictError(APIStatusError):
    """HTTP 409: the request conflicts with the current state (a name taken, aliases in the way)."""


class RateLimitError(APIStatusError):
    """HTTP 429, after all retries."""


class ServerError(APIStatusError):
    """HTTP 5xx, after all retries."""


class GraphQLError(ArtifactkitError):
    """The server answered 200 but reported GraphQL errors."""

    def __init__(self, message: str, *, errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.errors = errors


class NotFoundError(ArtifactkitError, LookupError):
    """The thing asked for does not exist: `kind` says which (entity, project, collection, ...).

    `suggestions` are existing names close to the missing one, best first (the message offers them
    as "did you mean ...?"); empty when none is close.
    """

    def __init__(self, message: str, *, kind: str = "", path: str = "", suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.kind = kind
        self.path = path
        self.suggestions = suggestions


class OrganizationNotFoundError(NotFoundError):
    """No organization could be found for a registry path: the entity belongs to none, or not to the one named."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message, kind="organization", path=path)


class AmbiguousOrganizationError(ConfigurationError, ValueError):
    """The entity belongs to several organizations and none was named: pass the organization (in the path,
    `organization=`, `WANDB_ORGANIZATION` or the settings files)."""


class ResponseValidationError(ArtifactkitError):
    """The server's answer does not have the shape the schema promises."""


class ResponseTooLargeError(ResponseValidationError):
    """A document the SDK reads whole (a GraphQL answer, a manifest) is longer than its limit (`limit` bytes)."""

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class PaginationError(ArtifactkitError):
    """A listing stopped advancing (the server returned the same cursor twice)."""


class UnsupportedError(ArtifactkitError):
    """The server lacks a capability this call needs."""


class DownloadError(ArtifactkitError):
    """A file could not be downloaded intact; nothing was left at its destination."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class DiskFullError(DownloadError):
    """Not enough free disk space for a download: found before the first byte was written, or when the
    disk filled up on the way. Files completed before stay in place; none is left half-written.

    `needed` and `free` are byte counts on the filesystem mounted at `where` (0 when the disk
    filled up unexpectedly and the need is not known).
    """

    def __init__(self, message: str, *, path: str = "", where: str = "", needed: int = 0, free: int = 0) -> None:
        super().__init__(message, path=path)
        self.where = where
        self.needed = needed
        self.free = free


class DigestMismatchError(DownloadError):
    """Downloaded or local bytes do not match the digest in the manifest."""


class UnsafePathError(DownloadError):
    """A manifest path would be written outside the download root."""


class UnsupportedReferenceError(DownloadError, UnsupportedError):
    """A manifest entry references storage artifactkit does not fetch (anything but http(s))."""


class UploadError(ArtifactkitError):
    """A file could not be uploaded, or the server refused the new version."""


class FileChangedError(UploadError):
    """A local file changed (or was replaced) between being listed, hashed and sent; it was not uploaded."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class OfflineError(ArtifactkitError):
    """The call needs the server and artifactkit is offline (`Api(offline=True)`, `WANDB_MODE=offline`,
    `--offline`): an upload, an edit, a link, a listing, a version or collection never seen online."""


class NotCachedError(OfflineError, LookupError):
    """Offline, what was asked for is not in the local cache; `missing` names each thing that is not.

    `name` is the version (or name) asked for; `missing` the names, manifests or files lacking,
    so that a job run online once more with the same names fills exactly these.
    """

    def __init__(self, message: str, *, name: str = "", missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.name = name
        self.missing = missing


class DownloadManyError(ArtifactkitError):
    """`Api.download_many()`: some versions could not be downloaded; the others were.

    `failures` holds `(name, error)` of each one that failed, in the order asked; `results` every
    outcome (`ManyDownload`), so that a job can report or retry exactly the failed ones. The first
    failure is the `__cause__`.
    """

    def __init__(self, message: str, *, failures: tuple[tuple[str, BaseException], ...] = ()) -> None:
        super().__init__(message)
        self.failures = failures
        self.results: Any = None
        """Every outcome, as `download_many(..., raise_errors=False)` returns them."""


class BundleError(ArtifactkitError):
    """A bundle directory cannot be read or written safely; `path` is the file inside it that is wrong.

    Raised before anything is written to the server an import goes to, and before anything is
    written outside the bundle directory an export goes to.
    """

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class BundleFormatError(BundleError):
    """Not an artifactkit bundle, a format version this artifactkit does not read, or a malformed document."""


class UnsafeBundleError(BundleError):
    """A bundle holds what a safe reader must refuse: a path leading outside it, a symlink, an absurd size."""


class BundleIntegrityError(BundleError):
    """A bundle's bytes are not what its index says: a missing file, another size, another digest."""


class MirrorVerificationError(ArtifactkitError):
    """After a mirror, a version's files differ between the two sides; `versions` names each such version."""

    def __init__(self, message: str, *, versions: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.versions = versions
        self.report: Any = None
        """The mirror's `MirrorReport`, each version with its `verified` result."""


__all__ = [
    "APIStatusError",
    "APITimeoutError",
    "AmbiguousOrganizationError",
    "ArtifactkitError",
    "AuthenticationError",
    "BadRequestError",
    "BundleError",
    "BundleFormatError",
    "BundleIntegrityError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "DigestMismatchError",
    "DiskFullError",
    "DownloadError",
    "DownloadManyError",
    "FileChangedError",
    "GraphQLError",
    "InvalidNameError",
    "MirrorVerificationError",
    "NotCachedError",
    "NotFoundError",
    "OfflineError",
    "OrganizationNotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "ServerError",
    "TransportError",
    "UnsafeBundleError",
    "UnsafePathError",
    "UnsupportedError",
    "UnsupportedReferenceError",
    "UploadError",
]
