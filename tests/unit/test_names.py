"""The shared name rules (`artifactkit.names`), case by case: both the SDK and the emulator rely on them."""

from __future__ import annotations

import pytest

from artifactkit import names

OK_NAMES = ["a", "my-project", "data_set.v2", "A" * 128, "...", ".hidden", "x.."]
BAD_NAMES = [
    "",
    ".",
    "..",
    "ok\n",  # `$` matched before a trailing newline
    "ok\r",
    "\nok",
    "a b",
    "a/b",
    "a:b",
    "naïve",
    "A" * 129,
    "a\x00",
    "\uff46\uff55\uff4c\uff4c",  # full-width letters are not ASCII letters
    None,
    42,
]


@pytest.mark.parametrize("name", OK_NAMES)
def test_names_allowed(name: str) -> None:
    assert names.check_name("project", name) == name


@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_names_refused(name: object) -> None:
    with pytest.raises(names.InvalidName) as caught:
        names.check_name("project", name)
    assert caught.value.kind == "project" and "project" in caught.value.message


OK_ALIASES = ["latest", "best", "v3", "release 1", "ünïcode", "a", "x" * 128, "prod-2024.01", "a b c"]
BAD_ALIASES = [
    "",
    " best",
    "best ",
    "\tbest",
    "best\n",
    "new\nline",
    "tab\tinside",
    "a/b",
    "a:b",
    "del\x7f",
    "x" * 129,
    None,
    ["latest"],
]


@pytest.mark.parametrize("alias", OK_ALIASES)
def test_aliases_allowed(alias: str) -> None:
    assert names.check_alias(alias) == alias


@pytest.mark.parametrize("alias", BAD_ALIASES, ids=repr)
def test_aliases_refused(alias: object) -> None:
    with pytest.raises(names.InvalidName):
        names.check_alias(alias)


@pytest.mark.parametrize(
    ("alias", "index"),
    [
        ("v0", 0),
        ("v3", 3),
        ("v007", 7),
        ("v" + "9" * 18, 10**18 - 1),
        ("v" + "9" * 19, None),
        ("v3\n", None),
        ("V3", None),
        ("v", None),
        ("v-1", None),
    ],
)
def test_version_aliases(alias: str, index: int | None) -> None:
    assert names.version_index(alias) == index


@pytest.mark.parametrize("tag", ["a", "two words", "x-y_z", "t" * 128, "über"])
def test_tags_allowed(tag: str) -> None:
    assert names.check_tag("tag", tag) == tag


@pytest.mark.parametrize("tag", ["", " a", "a ", "tag\n", "a\tb", "a/b", "t" * 129, None], ids=repr)
def test_tags_refused(tag: object) -> None:
    with pytest.raises(names.InvalidName):
        names.check_tag("tag", tag)


@pytest.mark.parametrize(
    "path",
    ["a", "dir/file.txt", "a" * 255, "é" * 127, "/".join(["d" * 200] * 20)],
)
def test_path_lengths_allowed(path: str) -> None:
    assert names.check_path_lengths(path) == path


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("a" * 256, "255 bytes"),
        ("é" * 128, "255 bytes"),  # 128 characters, 256 bytes
        ("dir/" + "x" * 300 + "/f", "255 bytes"),
        ("/".join(["d" * 200] * 21), "4096 bytes"),
        ("x" * 5000, "4096 bytes"),
        ("bad\ud800", "UTF-8"),
    ],
)
def test_path_lengths_refused(path: str, why: str) -> None:
    with pytest.raises(names.InvalidName) as caught:
        names.check_path_lengths(path)
    assert why in caught.value.message


OK_PATHS = ["a", "dir/file.txt", "plot 1.png", "ünïcode/名前.txt", "...", ".hidden/x", "a" * 255]
BAD_PATHS = {
    "": "non-empty",
    "../x": "'..' component",
    "a/../b": "'..' component",
    "./a": "'..' component",
    "a//b": "'..' component",
    "a/": "'..' component",
    "/etc/passwd": "relative POSIX path",
    "a\\..\\b": "relative POSIX path",
    "C:x": "relative POSIX path",
    "new\nline": "U+000A",
    "tab\tinside": "U+0009",
    "\x1b[2J": "U+001B",
    "del\x7f": "U+007F",
    "c1\x85": "U+0085",
    "evil\u202etxt.exe": "U+202E",
    "iso\u2066late": "U+2066",
    "mark\u200f": "U+200F",
    "line\u2028sep": "U+2028",
    "x" * 256: "255 bytes",
    "bad\ud800": "UTF-8",
}


@pytest.mark.parametrize("path", OK_PATHS)
def test_paths_allowed(path: str) -> None:
    assert names.check_path("run file name", path) == path


@pytest.mark.parametrize(("path", "why"), BAD_PATHS.items(), ids=[repr(p)[:40] for p in BAD_PATHS])
def test_paths_refused(path: str, why: str) -> None:
    with pytest.raises(names.InvalidName) as caught:
        names.check_path("run file name", path)
    assert caught.value.kind == "run file name"
    assert caught.value.message.startswith("invalid run file name") and why in caught.value.message


def test_a_path_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(names.InvalidName):
        names.check_path("entry path", None)
