"""`artifactkit schema check`: every operation against a live server's schema, before `make generate`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from artifactkit import schema_check
from artifactkit.cli import main as cli_main
from artifactkit.server.embedded import EmbeddedEmulator

ROOT = Path(__file__).resolve().parents[2]
SDL = (ROOT / "schema" / "wandb.graphql").read_text()


def check(emu: EmbeddedEmulator, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    argv = ["schema", "check", "--queries", str(ROOT / "queries"), "--schema", str(ROOT / "schema" / "wandb.graphql")]
    code = cli_main([*argv, "--base-url", emu.url, "--api-key", emu.api_key, *extra])
    return code, capsys.readouterr().out.replace(emu.url, "http://EMULATOR").replace(str(ROOT), "<repo>")


def test_every_operation_fits_the_modern_emulator(
    emulator: EmbeddedEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = check(emulator, capsys)
    assert code == 0
    count = len(
        re.findall(r"^(query|mutation) ", "".join(p.read_text() for p in (ROOT / "queries").rglob("*.graphql")), re.M)
    )
    assert out == f"server: http://EMULATOR\noperations: {count} from <repo>/queries; {count} fit, 0 do not\n"


def test_the_legacy_server_lacks_the_collection_edges(
    legacy_emulator: EmbeddedEmulator, capsys: pytest.CaptureFixture[str], snapshot: SnapshotAssertion
) -> None:
    code, out = check(legacy_emulator, capsys)
    assert code == 1
    assert out == snapshot
    code, out = check(legacy_emulator, capsys, "--json")
    report = json.loads(out)
    assert (code, report["schema_version"], report["fits"]) == (1, 1, False)
    not_fitting = {op["name"] for op in report["operations"] if not op["fits"]}
    assert {"TypeArtifactCollections", "TypeArtifactCollection", "ServerFeatures"} <= not_fitting
    assert not any(name.startswith("Legacy") for name in not_fitting)  # the fallbacks fit


def test_without_queries_the_installed_clients_documents_are_checked(
    legacy_emulator: EmbeddedEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./queries here
    code = cli_main(["schema", "check", "--base-url", legacy_emulator.url, "--api-key", legacy_emulator.api_key])
    out = capsys.readouterr().out
    assert code == 1
    assert "from the installed client;" in out and "\nTypeArtifactCollections\n" in out


def changed(old: str, new: str) -> str:
    assert old in SDL
    return SDL.replace(old, new, 1)


@pytest.mark.parametrize(
    ("server_sdl", "operation", "expected"),
    [
        (
            changed("  size: Int64!\n", "  size: String\n"),
            "ArtifactByID",
            ("type differs", "Artifact.size", "the client expects Int64!, the server may answer null (String)"),
        ),
        (
            changed("  artifactType(name: String!): ArtifactType", "  artifactType: ArtifactType"),
            "ProjectArtifactType",
            ("missing argument", "Project.artifactType(name)", "the server's Project.artifactType takes no name"),
        ),
        (
            changed(
                "  artifactType(name: String!): ArtifactType", "  artifactType(name: String!, org: ID!): ArtifactType"
            ),
            "ProjectArtifactType",
            ("required argument", "Project.artifactType(org)", "the server requires org, not sent"),
        ),
    ],
    ids=["type", "argument", "required-argument"],
)
def test_fields_and_arguments_the_server_types_differently_are_reported(
    server_sdl: str, operation: str, expected: tuple[str, str, str]
) -> None:
    from graphql import build_schema

    operations = schema_check.operations_from_directory(ROOT / "queries")
    [fit] = schema_check.check_operations(
        {operation: operations[operation]}, build_schema(SDL), build_schema(server_sdl)
    )
    assert (expected[0], expected[1], expected[2]) in {(m.kind, m.where, m.detail) for m in fit.misfits}
