"""Parsing the paths users type; the default entity is asked for only when needed."""

from __future__ import annotations

import pytest

from artifactkit._paths import ArtifactPath, ProjectPath, parse_artifact_path, parse_project_path, parse_run_path
from artifactkit.errors import InvalidNameError


class DefaultEntity:
    """Counts how often the default entity was asked for."""

    def __init__(self, entity: str | None = "team") -> None:
        self.entity = entity
        self.asked = 0

    def __call__(self) -> str | None:
        self.asked += 1
        return self.entity


@pytest.mark.parametrize(
    ("path", "expected", "asks"),
    [
        ("me/proj/data:v3", ArtifactPath("me", "proj", "data", "v3"), 0),
        ("me/proj/data", ArtifactPath("me", "proj", "data", None), 0),
        ("proj/data:latest", ArtifactPath("team", "proj", "data", "latest"), 1),
        ("data:best", ArtifactPath("team", "default-project", "data", "best"), 1),
        ("  me/proj/data.v2-final_x:my alias  ", ArtifactPath("me", "proj", "data.v2-final_x", "my alias"), 0),
    ],
)
def test_artifact_paths(path: str, expected: ArtifactPath, asks: int) -> None:
    default = DefaultEntity()
    assert parse_artifact_path(path, default, "default-project") == expected
    assert default.asked == asks


def test_artifact_path_text() -> None:
    path = ArtifactPath("me", "proj", "data", "v3")
    assert (str(path), path.name) == ("me/proj/data:v3", "data:v3")
    assert str(ArtifactPath("me", "proj", "data", None)) == "me/proj/data"


def test_a_malformed_path_never_asks_for_the_default_entity() -> None:
    default = DefaultEntity()
    for bad in ("proj/bad name:v1", "proj/data:a:b", "a/b/c/d", "proj/:v1"):
        with pytest.raises(InvalidNameError):
            parse_artifact_path(bad, default, None)
    assert default.asked == 0


def test_no_default_entity_is_an_error_showing_the_form() -> None:
    with pytest.raises(InvalidNameError, match="names no entity and no default entity is configured; expected"):
        parse_artifact_path("proj/data:v1", DefaultEntity(None), None)


@pytest.mark.parametrize(
    ("path", "expected"),
    [("me/proj", ProjectPath("me", "proj")), ("proj", ProjectPath("team", "proj")), (None, ProjectPath("team", "dp"))],
)
def test_project_paths(path: str | None, expected: ProjectPath) -> None:
    assert parse_project_path(path, DefaultEntity(), "dp") == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("me/proj/abc123", ("me", "proj", "abc123")),
        ("me/proj/runs/abc123", ("me", "proj", "abc123")),
        ("proj/abc123", ("team", "proj", "abc123")),
        ("abc123", ("team", "dp", "abc123")),
    ],
)
def test_run_paths(path: str, expected: tuple[str, str, str]) -> None:
    assert parse_run_path(path, DefaultEntity(), "dp") == expected


def test_collection_paths_refuse_a_version() -> None:
    with pytest.raises(InvalidNameError, match="names a version, but a collection was expected"):
        parse_artifact_path("me/proj/data:v1", DefaultEntity(), None, allow_alias=False)
