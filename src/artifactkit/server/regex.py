"""`$regex` filters through RE2, a linear-time engine: no pattern can make a filter hang.

RE2 refuses what needs backtracking (backreferences, look-around); such patterns are answered
with a 400 instead of running in exponential time. Compiled patterns are memoised, since SQLite
calls `regexp` once per row.
"""

from __future__ import annotations

import functools
from typing import Any

import re2

MAX_PATTERN_CHARS = 256
_MAX_PROGRAM_BYTES = 1 << 20  # RE2's memory budget per pattern (its default is 8 MiB)


class RegexError(ValueError):
    """A pattern RE2 cannot compile (bad syntax or a feature that needs backtracking)."""


@functools.lru_cache(maxsize=128)
def compile_pattern(pattern: str) -> Any:
    if len(pattern) > MAX_PATTERN_CHARS:
        raise RegexError(f"$regex pattern is longer than {MAX_PATTERN_CHARS} characters")
    options = re2.Options()
    options.log_errors = False
    options.max_mem = _MAX_PROGRAM_BYTES
    try:
        return re2.compile(pattern, options)
    except UnicodeEncodeError:
        raise RegexError("invalid $regex: not valid Unicode (lone surrogate)") from None
    except re2.error as exc:
        detail = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else exc
        raise RegexError(f"invalid $regex (RE2 syntax, no backreferences or look-around): {detail}") from None


def regexp(pattern: str, value: object) -> bool:
    """The `regexp(pattern, value)` SQL function used by `$regex` filters."""
    if value is None:
        return False
    try:
        compiled = compile_pattern(pattern)
    except RegexError:
        return False  # the filter compiler refuses such patterns before any SQL runs
    try:
        return compiled.search(str(value)) is not None
    except UnicodeEncodeError:
        return False
