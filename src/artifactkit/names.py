"""The one set of name rules, shared by the SDK and the emulator.

Entities, projects, artifact types, collections and runs; aliases; tags; file paths (the
entries of a manifest and the files of a run); and, for a name that does not exist, the existing
names it is probably a slip of (`did_you_mean`).
Both sides import this module (stdlib only) so a name the SDK accepts is a name the emulator
accepts, and the reverse. Every pattern is matched with `fullmatch`: `$` in Python also matches
before a trailing newline, so `"ok\\n"` passed the old `^...$` patterns.

Each check returns the name it was given or raises `InvalidName` (a `ValueError`) whose message
says what is allowed. Callers turn it into their own error type.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

MAX_NAME_CHARS = 128
"""Entity, project, type, collection and run names."""
MAX_ALIAS_CHARS = 128
MAX_TAG_CHARS = 128
MAX_COMPONENT_BYTES = 255
"""One component of a manifest path, in UTF-8 bytes: the NAME_MAX of every common file system."""
MAX_PATH_BYTES = 4096
"""A whole manifest path, in UTF-8 bytes (PATH_MAX on Linux)."""

_NAME = re.compile(r"[A-Za-z0-9_\-.]+")
# No '/' or ':' (they separate path parts and versions), no control characters, no whitespace at
# either end (`name: latest` and `name:latest` must not be two aliases).
_ALIAS = re.compile(r"[^/:\s\x00-\x1f\x7f](?:[^/:\x00-\x1f\x7f]*[^/:\s\x00-\x1f\x7f])?")
_VERSION = re.compile(r"v([0-9]{1,18})")  # 18 digits: always a 64-bit integer
# W&B's TagInput constraint: words of letters, digits, '_' or '-', separated by spaces.
_TAG = re.compile(r"[-\w]+(?:[ ]+[-\w]+)*")
# Characters no file path may hold: control characters (C0, DEL, C1: a newline splits a listing
# line in two, an escape sequence rewrites the terminal), the line and paragraph separators, and
# Unicode's bidirectional formatting characters (`evil\u202etxt.exe` is shown as `evilexe.txt`).
_PATH_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


class InvalidName(ValueError):
    """A name or path breaks the rules; `kind` says which rule (e.g. "project", "alias")."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def check_name(kind: str, name: object) -> str:
    """An entity, project, artifact type, collection or run name."""
    if not isinstance(name, str) or len(name) > MAX_NAME_CHARS or not _NAME.fullmatch(name) or name in (".", ".."):
        raise InvalidName(
            kind,
            f"invalid {kind} name {name!r}: use letters, digits, '-', '_' and '.' "
            f"(at most {MAX_NAME_CHARS} characters, not '.' or '..')",
        )
    return name


def check_alias(alias: object) -> str:
    """An alias as a client may write it (a version `v3` included)."""
    if not isinstance(alias, str) or len(alias) > MAX_ALIAS_CHARS or not _ALIAS.fullmatch(alias):
        raise InvalidName(
            "alias",
            f"invalid alias {alias!r}: at most {MAX_ALIAS_CHARS} characters, no '/', ':' or control "
            "characters, no space at either end",
        )
    return alias


def version_index(alias: str) -> int | None:
    """3 for 'v3'; None for an alias that is not a version."""
    match = _VERSION.fullmatch(alias)
    return int(match.group(1)) if match else None


def check_tag(kind: str, tag: object) -> str:
    """A tag name or tag category."""
    if not isinstance(tag, str) or len(tag) > MAX_TAG_CHARS or not _TAG.fullmatch(tag):
        raise InvalidName(
            kind,
            f"invalid {kind} {tag!r}: letters, digits, '-', '_' and inner spaces, at most {MAX_TAG_CHARS} characters",
        )
    return tag


def check_path(kind: str, path: object) -> str:
    """A file path inside an artifact version or a run (`kind` names which, e.g. "entry path").

    Refused: anything but a non-empty string; control, line-separator and bidirectional
    formatting characters; absolute paths (a leading '/' or a drive letter) and backslashes (a
    separator on Windows, so `a\\..\\b` would climb there); empty, '.' and '..' components
    (so the path is normalised and stays inside any root it is joined to); and paths over the
    length limits of `check_path_lengths`.
    """
    if not isinstance(path, str) or not path:
        raise InvalidName(kind, f"invalid {kind} {path!r}: a file path is a non-empty string")
    bad = _PATH_FORBIDDEN.search(path)
    if bad is not None:
        raise InvalidName(
            kind,
            f"invalid {kind} {path[:80]!r}: control, line-separator and bidirectional formatting characters "
            f"(here U+{ord(bad.group()):04X}) are not allowed",
        )
    if path.startswith("/") or "\\" in path or (len(path) > 1 and path[1] == ":"):
        raise InvalidName(
            kind, f"invalid {kind} {path[:80]!r}: use a relative POSIX path ('/' separators, no drive, no '\\')"
        )
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise InvalidName(kind, f"invalid {kind} {path[:80]!r}: an empty, '.' or '..' component")
    return check_path_lengths(path, kind)


def check_path_lengths(path: str, kind: str = "entry path") -> str:
    """A file path's length limits: each component and the whole, counted in UTF-8 bytes."""
    try:
        encoded = path.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidName(kind, f"invalid {kind} {path[:80]!r}: not valid UTF-8 (lone surrogate)") from None
    if len(encoded) > MAX_PATH_BYTES:
        raise InvalidName(kind, f"invalid {kind}: {len(encoded)} bytes, longer than {MAX_PATH_BYTES} bytes")
    for component in path.split("/"):
        if len(component.encode("utf-8")) > MAX_COMPONENT_BYTES:
            raise InvalidName(
                kind, f"invalid {kind} {path[:80]!r}...: a component is longer than {MAX_COMPONENT_BYTES} bytes"
            )
    return path


# -- a slip of the keyboard -----------------------------------------------------------------------

SIMILARITY = 0.7
"""How alike two names must be to suggest one for the other (difflib's ratio: `lcoal`/`local` 0.8)."""


def did_you_mean(name: str, candidates: Iterable[str]) -> tuple[str, ...]:
    """The existing names closest to `name`, best first (at most 3); none when nothing is close."""
    names = sorted({c for c in candidates if c and c != name})
    return tuple(difflib.get_close_matches(name, names, n=3, cutoff=SIMILARITY))


def suggestion_text(suggestions: tuple[str, ...]) -> str:
    """`; did you mean 'local'?` (or `'a' or 'b'`), empty without suggestions."""
    if not suggestions:
        return ""
    quoted = [repr(s) for s in suggestions]
    return f"; did you mean {quoted[0] if len(quoted) == 1 else ', '.join(quoted[:-1]) + ' or ' + quoted[-1]}?"
