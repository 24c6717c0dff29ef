"""W&B-style global IDs: standard base64 of `Kind:number`, e.g. `QXJ0aWZhY3Q6MTAx` is `Artifact:101`."""

from __future__ import annotations

import base64
import binascii

from .errors import NotFound


def encode(kind: str, number: int) -> str:
    return base64.b64encode(f"{kind}:{number}".encode()).decode("ascii")


def decode(global_id: str, *kinds: str) -> int:
    """Return the number inside `global_id`, which must be of one of `kinds`; else NotFound."""
    try:
        kind, _, number = base64.b64decode(global_id, validate=True).decode().partition(":")
        value = int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise NotFound(f"malformed ID {global_id!r}") from None
    if kind not in kinds:
        raise NotFound(f"ID {global_id!r} is not a {' or '.join(kinds)} ID")
    return value
