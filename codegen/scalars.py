"""Conversions for the W&B custom scalars, copied into the generated package by ariadne-codegen."""

import json
from typing import Any


def parse_json_string(value: Any) -> Any:
    """Decode a `JSONString` (a string holding a JSON document); null stays None."""
    if value is None or not isinstance(value, str):
        return value
    return json.loads(value) if value else None


def serialize_json_string(value: Any) -> Any:
    """Encode a Python value as a `JSONString`; a value that is already a string is sent as is."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
