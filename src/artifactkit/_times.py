"""Server timestamps: kept as the server's text (what wandb returns), parsed on demand.

W&B answers `DateTime` fields as RFC 3339 text, with or without a zone (`2024-05-01T12:00:00`,
`2024-05-01T12:00:00.123456Z`); a time without a zone is UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime

from .errors import ResponseValidationError


def parse_server_time(text: str) -> datetime:
    """The timezone-aware UTC `datetime` of a server timestamp."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ResponseValidationError(f"the server sent {text!r} where a timestamp belongs") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_optional_server_time(text: str | None) -> datetime | None:
    """`parse_server_time`, with None (and the empty text of a time the server does not know) as None."""
    return parse_server_time(text) if text else None
