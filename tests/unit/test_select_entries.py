"""Which manifest entries a download selects: exact names, escaped names, globs."""

from __future__ import annotations

import glob

from artifactkit.manifest import Manifest, ManifestEntry
from artifactkit.transfer.plan import select_entries

EMPTY_MD5 = "1B2M2Y8AsgTpgAmY7PhCfg=="
PATHS = ["a/x.csv", "a/y.csv", "a/sub/z.csv", "b/[draft].txt", "b/d.txt", "c.json"]
MANIFEST = Manifest({p: ManifestEntry(p, EMPTY_MD5, 0) for p in PATHS})


def selected(path_prefix: str | None = None, include: list[str] | None = None) -> list[str]:
    return [e.path for e in select_entries(MANIFEST, path_prefix, include)]


def test_exact_names_select_exactly_those_files() -> None:
    assert selected(include=["c.json", "a/y.csv", "not/there"]) == ["a/y.csv", "c.json"]


def test_an_escaped_name_with_glob_characters_selects_only_itself() -> None:
    assert selected(include=[glob.escape("b/[draft].txt")]) == ["b/[draft].txt"]
    assert selected(include=["b/[draft].txt"]) == ["b/d.txt"]  # unescaped, `[draft]` is a character class


def test_globs_and_names_combine_with_the_prefix() -> None:
    assert selected(include=["a/*.csv", "c.json"]) == ["a/sub/z.csv", "a/x.csv", "a/y.csv", "c.json"]
    assert selected("a/", ["*z.csv", "a/x.csv", "c.json"]) == ["a/sub/z.csv", "a/x.csv"]
    assert selected("b/") == ["b/[draft].txt", "b/d.txt"]
