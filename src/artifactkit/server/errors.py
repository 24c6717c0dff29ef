"""Errors a resolver raises on purpose; each carries the code and HTTP status the client sees."""

from __future__ import annotations


class EmulatorError(Exception):
    """Base class: a message for the client plus a GraphQL `extensions.code`."""

    code = "BAD_USER_INPUT"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(EmulatorError):
    code = "BAD_USER_INPUT"
    status = 400


class NotFound(EmulatorError):
    code = "NOT_FOUND"
    status = 404


class Conflict(EmulatorError):
    code = "CONFLICT"
    status = 409


class PermissionDenied(EmulatorError):
    code = "PERMISSION_DENIED"
    status = 403
