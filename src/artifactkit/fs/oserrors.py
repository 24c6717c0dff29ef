"""artifactkit's errors as the exceptions fsspec callers expect (`FileNotFoundError`, `PermissionError`, ...).

The typed artifactkit error is always kept as the `__cause__`.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator
from typing import NoReturn

from ..errors import (
    APITimeoutError,
    ArtifactkitError,
    AuthenticationError,
    DownloadError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    TransportError,
    UnsafePathError,
)


def fs_error(exc: ArtifactkitError, path: str) -> OSError | ValueError | None:
    """The fsspec-convention exception for an artifactkit error (None: raise it as it is)."""
    if isinstance(exc, NotFoundError):
        return FileNotFoundError(errno.ENOENT, str(exc), path)
    if isinstance(exc, (PermissionDeniedError, AuthenticationError)):
        return PermissionError(errno.EACCES, str(exc), path)
    if isinstance(exc, UnsafePathError):
        return ValueError(str(exc))
    if isinstance(exc, (DownloadError, ResponseValidationError)):  # bytes or a document that cannot be used
        return OSError(errno.EIO, str(exc), path)
    if isinstance(exc, APITimeoutError):
        return TimeoutError(errno.ETIMEDOUT, str(exc), path)
    if isinstance(exc, TransportError):
        return ConnectionError(errno.ECONNABORTED, str(exc), path)
    if isinstance(exc, (ServerError, RateLimitError)):  # still failing after the transport's retries
        return OSError(errno.EIO, str(exc), path)
    return None


@contextlib.contextmanager
def translated(path: str) -> Iterator[None]:
    """Raise artifactkit errors as the exceptions fsspec callers expect, the typed one as `__cause__`."""
    try:
        yield
    except ArtifactkitError as exc:
        translation = fs_error(exc, path)
        if translation is None:
            raise
        raise translation from exc


def no_version(path: str) -> NoReturn:
    """`ENTITY/PROJECT/COLLECTION/path` names a file of the next version (what a transaction writes): none yet."""
    not_found(path, f"{path}: no version named; read from COLLECTION:VERSION (e.g. ':latest')")


def not_found(path: str, message: str) -> NoReturn:
    """`FileNotFoundError` for `path`, its cause a `NotFoundError` with the same message."""
    cause = NotFoundError(message, kind="file", path=path)
    raise FileNotFoundError(errno.ENOENT, message, path) from cause
