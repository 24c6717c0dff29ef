"""`$regex` filters through RE2, a linear-time engine, with the work of every match bounded.

RE2 refuses what needs backtracking (backreferences, look-around); such patterns are answered
with a 400 instead of running in exponential time. Linear is not cheap, though: when RE2's DFA
runs out of memory (a counted repetition such as `[ab]{0,999}` does that) it falls back to its
NFA, whose cost is the length of the value times the size of the compiled program, about 4 ns
per byte and instruction (a 1 MB value and a 2,000-instruction pattern: 8 s in one call). SQLite
cannot interrupt one call of a SQL function, so `regexp` bounds each call before it starts:

* a pattern compiles to at most `MAX_PROGRAM_SIZE` instructions (checked when the filter is
  compiled);
* one match costs (UTF-8 bytes of the value) x (instructions) ≤ `MAX_MATCH_WORK`; a bigger one
  refuses the request with a message naming the longest value the pattern may meet;
* each match is charged to the request (`limits.charge_work`): past the deadline it stops the
  statement (503), and on the event loop a match bigger than the loop's slice moves the request
  to a worker thread, where RE2 runs without the GIL.

Compiled patterns are memoised, since SQLite calls `regexp` once per row.
"""

from __future__ import annotations

import functools
from typing import Any

import re2

from .errors import BadInput
from .limits import charge_work, refuse

MAX_PATTERN_CHARS = 256
MAX_PROGRAM_SIZE = 5_000  # RE2 instructions of one pattern
MAX_MATCH_WORK = 100_000_000  # bytes of the value x instructions, for one match (about 0.4 s at worst)
_MAX_PROGRAM_BYTES = 1 << 20  # RE2's memory budget per pattern, its DFA's cache included (default 8 MiB)


class RegexError(ValueError):
    """A pattern RE2 cannot compile (bad syntax or a feature that needs backtracking), or too big a one."""


@functools.lru_cache(maxsize=128)
def compile_pattern(pattern: str) -> Any:
    if len(pattern) > MAX_PATTERN_CHARS:
        raise RegexError(f"$regex pattern is longer than {MAX_PATTERN_CHARS} characters")
    options = re2.Options()
    options.log_errors = False
    options.max_mem = _MAX_PROGRAM_BYTES
    try:
        compiled = re2.compile(pattern, options)
    except UnicodeEncodeError:
        raise RegexError("invalid $regex: not valid Unicode (lone surrogate)") from None
    except re2.error as exc:
        detail = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else exc
        if detail == "pattern too large - compile failed":
            raise RegexError(f"$regex compiles to more than {MAX_PROGRAM_SIZE:,} RE2 instructions") from None
        raise RegexError(f"invalid $regex (RE2 syntax, no backreferences or look-around): {detail}") from None
    if compiled.programsize > MAX_PROGRAM_SIZE:
        raise RegexError(f"$regex compiles to more than {MAX_PROGRAM_SIZE:,} RE2 instructions")
    return compiled


def regexp(pattern: str, value: object) -> bool:
    """The `regexp(pattern, value)` SQL function used by `$regex` filters."""
    if value is None:
        return False
    try:
        compiled = compile_pattern(pattern)
    except RegexError:
        return False  # the filter compiler refuses such patterns before any SQL runs
    text = str(value)
    size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    work = size * compiled.programsize
    if work > MAX_MATCH_WORK:
        refuse(too_costly(pattern, compiled.programsize))
    charge_work(work)
    try:
        return compiled.search(text) is not None
    except UnicodeEncodeError:
        return False


def too_costly(pattern: str, program_size: int) -> BadInput:
    """The refusal of a match over `MAX_MATCH_WORK`; it names the pattern's limit, not the value met."""
    return BadInput(
        f"$regex {pattern!r} is too costly for the values it is matched against: a pattern of "
        f"{program_size} instructions may be matched against values of at most "
        f"{MAX_MATCH_WORK // program_size:,} bytes (bytes x instructions ≤ {MAX_MATCH_WORK:,}); "
        "simplify the pattern"
    )
