"""`artifactkit admin`: organizations, teams and members of an emulator's data directory, and what
a running emulator then answers to the users placed in them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from artifactkit.cli import main as cli_main
from artifactkit.server.embedded import EmbeddedEmulator
from tests.server.support import Client

ORGS = """query { viewer { username organizations { name orgEntity { name } } } }"""
TEAM = """query($name: String!) { entity(name: $name) { entityType organization { name }
  members { username role } } }"""


def admin(data: Path, *args: str) -> int:
    return cli_main(["admin", *args, "--data-dir", str(data)])


def test_admin_places_users_in_organizations_and_teams(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    with EmbeddedEmulator(data) as emu:  # a running emulator sees what the command writes at once
        bob_key = emu.create_key("bob")
        assert admin(data, "org", "create", "acme", "--admin", "bob") == 0
        assert admin(data, "team", "create", "vision", "--org", "acme", "--admin", "bob") == 0
        assert admin(data, "team", "add-member", "vision", "local", "--role", "member") == 0
        assert capsys.readouterr().out.splitlines() == [
            "created organization acme (entity acme-entity) with the registries model and dataset",
            "created team vision in organization acme",
            "local is a member of team vision",
        ]
        with Client(emu, bob_key) as bob:
            assert bob.data(ORGS)["viewer"]["organizations"] == [
                {"name": "local-org", "orgEntity": {"name": "local-org-entity"}},
                {"name": "acme", "orgEntity": {"name": "acme-entity"}},
            ]
            vision = bob.data(TEAM, name="vision")["entity"]
            assert vision == {
                "entityType": "team",
                "organization": {"name": "acme"},
                "members": [{"username": "local", "role": "member"}, {"username": "bob", "role": "admin"}],
            }
            registries = bob.data('{ entity(name: "acme-entity") { projects { edges { node { name } } } } }')
            assert sorted(e["node"]["name"] for e in registries["entity"]["projects"]["edges"]) == [
                "wandb-registry-dataset",
                "wandb-registry-model",
            ]
        # Joining acme's team made local a member of acme; leaving acme takes local out of its teams.
        assert admin(data, "org", "remove-member", "acme", "local") == 0
        capsys.readouterr()
        assert admin(data, "org", "list", "--json") == 0
        listing = json.loads(capsys.readouterr().out)
        assert listing["schema_version"] == 1
        acme = next(o for o in listing["organizations"] if o["name"] == "acme")
        assert acme == {
            "name": "acme",
            "entity": "acme-entity",
            "members": [{"user": "bob", "role": "admin"}],
            "teams": [{"name": "vision", "members": [{"user": "bob", "role": "admin"}]}],
        }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("team", "add-member", "nowhere", "local"), "team 'nowhere' not found"),
        (
            ("org", "add-member", "local-org", "zed"),
            "no user 'zed'; create one with `artifactkit keys create --user zed`",
        ),
        (("org", "create", "local-org"), "an organization named 'local-org' already exists"),
        (("team", "create", "local"), "an entity named 'local' already exists"),
        (("org", "create", "bad/name"), "invalid organization name"),
    ],
)
def test_admin_refusals_are_usage_errors_that_change_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    data = tmp_path / "data"
    assert cli_main(["keys", "create", "--data-dir", str(data)]) == 0
    capsys.readouterr()
    assert admin(data, "org", "list", "--json") == 0
    before = capsys.readouterr().out
    assert admin(data, *args) == 2
    assert message in capsys.readouterr().err
    assert admin(data, "org", "list", "--json") == 0
    assert capsys.readouterr().out == before


def test_admin_needs_an_emulator_data_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert admin(tmp_path / "empty", "org", "list") == 2
    assert "holds no emulator data" in capsys.readouterr().err
