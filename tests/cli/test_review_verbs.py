"""`artifactkit diff` and the edit verbs against an emulator: output, exit codes, idempotence, dry runs."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from artifactkit import Api
from artifactkit.cli import main as cli_main
from artifactkit.errors import NotFoundError
from artifactkit.server.embedded import EmbeddedEmulator
from tests.integration.support import upload

PROJECT = "local/review"
_collections = itertools.count()


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEmulator]:
    with EmbeddedEmulator(tmp_path_factory.mktemp("review-emulator")) as server:
        yield server


@pytest.fixture
def run(
    emu: EmbeddedEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> object:
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "cache"))

    def invoke(*args: str, key: str | None = None) -> tuple[int, str, str]:
        connection = ["--base-url", emu.url, "--api-key", key or emu.api_key]
        split = args.index("--") if "--" in args else len(args)  # after `--` everything is a path
        code = cli_main([*args[:split], *connection, *args[split:]])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.fixture
def collection(emu: EmbeddedEmulator, tmp_path: Path) -> str:
    """A collection of its own per test: v0 (production), v1 (latest), with metadata and a tag."""
    name = f"{PROJECT}/c{next(_collections)}"
    with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path / "seed-cache") as api:
        upload(
            api,
            tmp_path,
            name,
            files={"train/a.csv": "1,2\n", "old.txt": "old", "img/x.png": "x"},
            metadata={"train": {"rows": 1000}, "accuracy": 0.91},
            aliases=["production"],
            tags=["raw"],
        )
        upload(
            api,
            tmp_path,
            name,
            files={"train/a.csv": "1,2\n3,4\n", "new.txt": "new", "pics/x.png": "x"},
            metadata={"train": {"rows": 1200}, "accuracy": 0.93},
            description="cleaned",
        )
    return name


# -- diff ---------------------------------------------------------------------------------------------------


def _normalise(text: str, name: str) -> str:
    text = text.replace(name, "<collection>")
    return re.sub(r'"[0-9a-f]{32}"', '"<digest>"', text)


def test_diff_json(run, collection: str, snapshot: SnapshotAssertion) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("diff", f"{collection}:production", f"{collection}:latest", "--json")
    assert code == 1
    assert json.loads(out)["schema_version"] == 1
    assert _normalise(out, collection) == snapshot


def test_diff_stat_and_text(run, collection: str, snapshot: SnapshotAssertion) -> None:  # type: ignore[no-untyped-def]
    code, stat, _ = run("diff", f"{collection}:v0", f"{collection}:v1", "--stat")
    assert code == 1
    code, text, _ = run("diff", f"{collection}:v0", f"{collection}:v1", "--", "train/*")
    assert code == 1
    assert {"stat": _normalise(stat, collection), "text": _normalise(text, collection)} == snapshot


def test_diff_exit_codes(run, collection: str) -> None:  # type: ignore[no-untyped-def]
    assert run("diff", f"{collection}:v1", f"{collection}:latest")[0] == 0  # the same version: equal
    assert run("diff", f"{collection}:v0", f"{collection}:v1", "--files-only", "--", "img/*", "pics/*")[0] == 1
    assert run("diff", f"{collection}:v0", f"{collection}:v1", "--files-only", "--", "nothing/*")[0] == 0
    code, _, err = run("diff", f"{collection}:v0", f"{collection}:v7")
    assert code == 3 and "version 'v7' not found" in err
    assert run("diff", "no/such/path/at/all", f"{collection}:v0")[0] == 2  # a malformed name: usage


# -- the edit verbs: each idempotent, each with a dry run, each refused to a read-only key -----------------
# {c}: a collection of a personal project; {t}: one of a team project, whose v0 is linked into the registry
# collection {r} as its production (registry paths work in every verb).

VERBS = {
    "alias add": ("alias", "add", "{c}:v1", "production", "candidate"),
    "alias rm": ("alias", "rm", "{c}:v0", "production"),
    "tag add": ("tag", "add", "{c}:v1", "reviewed"),
    "tag rm": ("tag", "rm", "{c}:v0", "raw"),
    "set": ("set", "{c}:v1", "--description", "promoted", "--metadata-file", "{patch}"),
    "set --replace-metadata": ("set", "{c}:v1", "--metadata-file", "{patch}", "--replace-metadata"),
    "rm": ("rm", "{c}:v1", "--delete-aliases"),
    "link": ("link", "{t}:v1", "{r}", "-a", "production"),
    "link into a portfolio": ("link", "{c}:v1", "{c}-portfolio", "-a", "best"),
    "unlink": ("unlink", "{t}:v0", "{r}"),
    "registry: alias add": ("alias", "add", "{r}:v0", "staging"),
    "registry: alias rm": ("alias", "rm", "{r}:v0", "production"),
    "registry: tag add": ("tag", "add", "{r}:production", "reviewed"),
    "registry: set": ("set", "{r}:v0", "--metadata-file", "{patch}", "--organization", "local-org"),
    "registry: rm (unlinks)": ("rm", "{r}:v0"),
}
_teams = itertools.count()


def _argv(verb: str, names: dict[str, str], tmp_path: Path) -> list[str]:
    patch = tmp_path / "patch.json"
    patch.write_text(json.dumps({"train": {"rows": 1300}, "accuracy": None, "eval": {"f1": 0.8}}))
    return [part.format(patch=patch, **names) for part in VERBS[verb]]


@pytest.fixture
def names(emu: EmbeddedEmulator, collection: str, tmp_path: Path) -> dict[str, str]:
    """{c}, {t} and {r} of VERBS: the team's versions are those of {c}; {t}:v0 is {r}:production."""
    team = f"review-team-{next(_teams)}/models/{collection.rsplit('/', 1)[1]}"  # the emulator makes the team
    registry = f"wandb-registry-dataset/{team.replace('/', '-')}"
    with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path / "seed-cache") as api:
        for version in sorted(api.artifacts("dataset", collection), key=lambda v: int(v.version[1:])):
            upload(
                api,
                tmp_path,
                team,
                files={f.name: f"{version.version} {f.name}" for f in version.files()},
                metadata=version.metadata,
                tags=version.tags,
            )
        api.artifact(f"{team}:v0").link(registry, aliases=["production"])
    return {"c": collection, "t": team, "r": registry}


def state(emu: EmbeddedEmulator, tmp_path: Path, names: dict[str, str] | str) -> dict[str, object]:
    """Every version of the collections in `names` (and of the portfolio of {c}): aliases, tags, description,
    metadata."""
    paths = [names] if isinstance(names, str) else [*names.values(), f"{names['c']}-portfolio"]
    found: dict[str, object] = {}
    with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path / "state-cache") as api:
        for path in paths:
            try:
                versions = list(api.artifacts("dataset", path))
            except NotFoundError:
                continue  # a portfolio not made yet
            for v in versions:
                found[v.qualified_name] = (sorted(v.aliases), sorted(v.tags), v.description, v.metadata)
    return found


@pytest.mark.parametrize("verb", list(VERBS))
def test_a_verb_changes_once_and_then_finds_nothing_to_do(  # type: ignore[no-untyped-def]
    run, emu: EmbeddedEmulator, names: dict[str, str], tmp_path: Path, verb: str
) -> None:
    argv = _argv(verb, names, tmp_path)
    before = state(emu, tmp_path, names)
    code, out, err = run(*argv, "--json")
    assert code == 0, err
    first = json.loads(out)
    assert first["changed"] is True and first["changes"] and first["dry_run"] is False
    after = state(emu, tmp_path, names)
    assert after != before

    code, out, err = run(*argv, "--json")
    assert code == 0, err
    second = json.loads(out)
    assert second["changed"] is False and second["changes"] == [] and second["unchanged"]
    assert state(emu, tmp_path, names) == after
    assert set(first) == set(second) == set(EDIT_FIELDS)  # one document shape for every verb


EDIT_FIELDS = ("schema_version", "action", "target", "source", "dry_run", "changed", "changes", "unchanged", "link")


@pytest.mark.parametrize("verb", list(VERBS))
def test_a_dry_run_changes_nothing(  # type: ignore[no-untyped-def]
    run, emu: EmbeddedEmulator, names: dict[str, str], tmp_path: Path, verb: str
) -> None:
    argv = _argv(verb, names, tmp_path)
    before = state(emu, tmp_path, names)
    code, out, err = run(*argv, "--json", "--dry-run")
    assert code == 0, err
    planned = json.loads(out)
    assert planned["dry_run"] is True and planned["changed"] is True
    assert state(emu, tmp_path, names) == before
    code, out, _ = run(*argv, "--json")  # the real run does what the dry run said
    assert json.loads(out)["changes"] == planned["changes"]


@pytest.mark.parametrize("verb", list(VERBS))
def test_a_read_only_key_is_refused_with_exit_4(  # type: ignore[no-untyped-def]
    run, emu: EmbeddedEmulator, names: dict[str, str], tmp_path: Path, verb: str
) -> None:
    read_only = emu.create_key(read_only=True)
    before = state(emu, tmp_path, names)
    code, _, err = run(*_argv(verb, names, tmp_path), key=read_only)
    assert code == 4, err
    assert "PermissionDeniedError" in err
    assert state(emu, tmp_path, names) == before


def test_the_edit_document(run, names: dict[str, str], snapshot: SnapshotAssertion) -> None:  # type: ignore[no-untyped-def]
    """The `--json` of a verb on a registry link and of a link that moves an alias, as docs/json.md shows them."""
    documents = [
        run("alias", "add", f"{names['r']}:production", "staging", "--json")[1],
        run("link", f"{names['t']}:v1", names["r"], "-a", "production", "--json")[1],
    ]
    normalised = [
        re.sub(r'"linked_at": "[^"]+"', '"linked_at": "<time>"', text)
        .replace(names["t"], "<team>/<project>/<name>")
        .replace(names["r"].split("/", 1)[1], "<registry collection>")
        for text in documents
    ]
    assert normalised == snapshot


def test_alias_add_moves_an_alias_and_says_from_where(run, collection: str) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("alias", "add", f"{collection}:v1", "production")
    assert code == 0
    assert out.strip() == f"{collection}:v1: alias production moved (from {collection}:v0)"


def test_set_lists_metadata_changes_by_path(run, collection: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(*_argv("set", {"c": collection}, tmp_path))
    assert code == 0
    assert out.splitlines() == [
        f'{collection}:v1: description set: "cleaned" -> "promoted"',
        f"{collection}:v1: metadata accuracy removed: 0.93 -> (none)",
        f'{collection}:v1: metadata eval added: (none) -> {{"f1": 0.8}}',
        f"{collection}:v1: metadata train.rows changed: 1200 -> 1300",
    ]


def test_rm_refuses_a_version_with_aliases(run, emu: EmbeddedEmulator, collection: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = state(emu, tmp_path, collection)
    for dry_run in ((), ("--dry-run",)):
        code, _, err = run("rm", f"{collection}:v0", *dry_run)
        assert code == 1
        assert "still has aliases (production): pass --delete-aliases" in err
    assert state(emu, tmp_path, collection) == before


def test_version_numbers_cannot_be_set_as_aliases(run, collection: str) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("alias", "add", f"{collection}:v1", "v0")
    assert code == 2 and "version number" in err


def test_a_dry_run_refuses_what_the_real_run_would(run, collection: str) -> None:  # type: ignore[no-untyped-def]
    """Aliases and tags are checked before anything is looked up: a dry run cannot promise what would fail."""
    for argv in (
        ("alias", "add", f"{collection}:v1", "bad/alias"),
        ("link", f"{collection}:v1", f"{collection}-portfolio", "-a", "v3"),
        ("tag", "add", f"{collection}:v1", "no:colons"),
    ):
        code, out, err = run(*argv, "--dry-run")
        assert (code, out) == (2, ""), err


# -- show ------------------------------------------------------------------------------------------------------


def test_show_json_of_a_registry_link(
    run, emu: EmbeddedEmulator, names: dict[str, str], snapshot: SnapshotAssertion
) -> None:  # type: ignore[no-untyped-def]
    """What a CI job gates on: which version production is, and the metadata it was promoted with."""
    emu.stats.reset()
    code, out, err = run("show", f"{names['r']}:production", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert (document["source"], document["is_link"], document["aliases"]) == (
        f"{names['t']}:v0",
        True,
        ["latest", "production"],
    )
    assert document["metadata"] == {"train": {"rows": 1000}, "accuracy": 0.91}
    assert [link["name"] for link in document["links"]] == [document["name"]]
    operations = dict(emu.stats.operations)
    # the lookup, the source (a link's: one more), its links
    assert (operations["ArtifactMembershipByName"], operations["ArtifactMemberships"]) == (2, 1)
    normalised = (
        re.sub(r'"(linked_at|created_at|updated_at)": "[^"]+"', r'"\1": "<time>"', out)
        .replace(names["t"], "<team>/<project>/<name>")
        .replace(names["r"].split("/", 1)[1], "<registry collection>")
    )
    assert re.sub(r'"(id|digest)": "[^"]+"', r'"\1": "<\1>"', normalised) == snapshot


def test_show_text_and_exit_codes(run, collection: str, snapshot: SnapshotAssertion) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("show", f"{collection}:production")
    assert code == 0
    text = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+Z", "<time>", out.replace(collection, "<collection>"))
    assert re.sub(r"[0-9a-f]{32}", "<digest>", text) == snapshot
    code, _, err = run("show", f"{collection}:staging")
    assert code == 3 and "alias 'staging' not found" in err  # what a job branches on: no such version yet
    assert run("show", "a/b/c/d")[0] == 2


def test_show_on_a_server_that_cannot_list_links(
    legacy_emulator: EmbeddedEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Api(api_key=legacy_emulator.api_key, base_url=legacy_emulator.url, cache_dir=tmp_path / "c") as api:
        upload(api, tmp_path, "local/review-legacy/data", metadata={"score": 1})
    connection = ["--base-url", legacy_emulator.url, "--api-key", legacy_emulator.api_key]
    assert cli_main(["show", "local/review-legacy/data:latest", "--json", *connection]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["links"], document["metadata"]) == (None, {"score": 1})
