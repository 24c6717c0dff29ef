"""Bundles: an export, an import elsewhere, identical by digest; exporting again; hostile bundles refused."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from artifactkit import Api
from artifactkit.errors import BundleError, BundleFormatError, BundleIntegrityError, UnsafeBundleError
from artifactkit.manifest import Manifest
from artifactkit.server.embedded import EmbeddedEmulator

from .support import counts, differences, log, mutations, project_view, seed_project

_names = itertools.count()


@pytest.fixture
def project(source: Api, source_emu: EmbeddedEmulator, tmp_path: Path) -> str:
    path = f"local/bundled{next(_names)}"
    seed_project(source, source_emu, path, tmp_path / "seed")
    return path


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under `root` with its size and modification time."""
    found = {}
    for directory, _, files in os.walk(root):
        for name in files:
            path = Path(directory, name)
            status = path.lstat()
            found[str(path.relative_to(root))] = (status.st_size, status.st_mtime_ns)
    return found


def test_a_bundle_carries_a_project_to_another_server_identical_by_digest(
    source: Api, target: Api, project: str, tmp_path: Path, target_emu: EmbeddedEmulator
) -> None:
    exported = source.export(project, tmp_path / "bundle")
    assert exported.count("create") == 6 and exported.verified is True

    imported = target.import_bundle(tmp_path / "bundle")

    assert imported.count("create") == 6 and imported.verified is True
    assert differences(project_view(target, project), project_view(source, project)) == []
    # The import made what a mirror from the source makes: a mirror afterwards finds everything there.
    target_emu.stats.reset()
    after = source.mirror(project, target)
    assert after.count("unchanged") == 6 and after.sent_bytes == 0 and mutations(target_emu) == []


def test_the_bundle_is_what_docs_travel_md_describes(source: Api, project: str, tmp_path: Path) -> None:
    source.export([f"{project}/model", f"{project}/results"], tmp_path / "bundle")

    index = json.loads((tmp_path / "bundle" / "bundle.json").read_text())
    assert (index["format"], index["format_version"]) == ("artifactkit-bundle", 1)
    assert index["source"]["server"] == source.base_url
    assert index["selections"] == [f"{project}/model", f"{project}/results"]
    assert [(v["collection"], v["index"]) for v in index["versions"]] == [
        ("model", 0),
        ("model", 1),
        ("model", 2),
        ("results", 0),
    ]
    first = index["versions"][0]
    manifest_bytes = (tmp_path / "bundle" / first["manifest"]).read_bytes()
    assert first["manifest"] == f"manifests/{hashlib.sha256(manifest_bytes).hexdigest()}.json"
    manifest = Manifest.from_json(manifest_bytes)
    assert manifest.digest() == first["digest"]
    for entry in manifest.entries.values():
        blob = tmp_path / "bundle" / "blobs" / entry.md5_hex[:2] / entry.md5_hex
        assert hashlib.md5(blob.read_bytes()).hexdigest() == entry.md5_hex
    assert first["logged_by"] == f"{project}/train-1"
    assert {r["id"]: r["display_name"] for r in index["runs"]} == {
        "train-1": "Train baseline",
        "eval-1": "Evaluate",
    }
    links = [link for v in index["versions"] for link in v["links"]]
    assert [(link["portfolio"], link["aliases"]) for link in links] == [
        ("production", ["prod"]),
        ("production", ["latest", "staging"]),
    ]


def test_exporting_again_writes_nothing_and_fetches_nothing(
    source: Api, project: str, tmp_path: Path, source_emu: EmbeddedEmulator
) -> None:
    source.export(project, tmp_path / "bundle")
    before = tree(tmp_path / "bundle")
    source_emu.stats.reset()

    again = source.export(project, tmp_path / "bundle")

    assert tree(tmp_path / "bundle") == before
    assert again.count("unchanged") == 6 and again.sent_files == 0
    assert source_emu.stats.snapshot()["requests"].get("blob", 0) == 0


def test_a_new_version_adds_only_its_files_to_the_bundle(source: Api, project: str, tmp_path: Path) -> None:
    source.export(project, tmp_path / "bundle")
    before = tree(tmp_path / "bundle")
    log(source, tmp_path, f"{project}/results", "eval", {"scores.json": f"{project}: f1 0.95"})

    again = source.export(project, tmp_path / "bundle")

    added = sorted(set(tree(tmp_path / "bundle")) - set(before))
    assert len(added) == 2 and added[0].startswith("blobs/") and added[1].startswith("manifests/")
    assert [v.source for v in again.versions if v.action == "create"] == [f"{project}/results:v1"]
    assert again.sent_files == 1


def test_a_dry_run_import_writes_nothing(
    source: Api, target: Api, project: str, tmp_path: Path, target_emu: EmbeddedEmulator
) -> None:
    source.export(project, tmp_path / "bundle")
    target_emu.stats.reset()

    plan = target.import_bundle(tmp_path / "bundle", to="local/dry-import", dry_run=True)

    assert plan.count("create") == 6 and mutations(target_emu) == []


# -- hostile bundles ------------------------------------------------------------------------------


def _index(bundle: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((bundle / "bundle.json").read_text())
    return doc


def _save_index(bundle: Path, doc: dict[str, Any]) -> None:
    (bundle / "bundle.json").write_text(json.dumps(doc))


def _rewrite_manifest(bundle: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Change the first version's manifest and make the bundle consistent again (new name, new digest),
    as someone crafting a hostile bundle would."""
    doc = _index(bundle)
    version = doc["versions"][0]
    manifest = json.loads((bundle / version["manifest"]).read_text())
    change(manifest)
    body = json.dumps(manifest).encode()
    name = f"manifests/{hashlib.sha256(body).hexdigest()}.json"
    (bundle / name).write_bytes(body)
    version["manifest"] = name
    version["digest"] = hashlib.md5(
        b"wandb-artifact-manifest-v1\n"
        + "".join(f"{p}:{e['digest']}\n" for p, e in sorted(manifest["contents"].items())).encode()
    ).hexdigest()
    _save_index(bundle, doc)


def _first_blob(bundle: Path) -> Path:
    doc = _index(bundle)
    manifest = json.loads((bundle / doc["versions"][0]["manifest"]).read_text())
    digest = next(e["digest"] for e in manifest["contents"].values() if "ref" not in e)
    md5 = (
        Manifest.from_json(
            {
                "version": 1,
                "storagePolicy": "wandb-storage-policy-v1",
                "storagePolicyConfig": {},
                "contents": {"x": {"digest": digest}},
            }
        )
        .entries["x"]
        .md5_hex
    )
    return bundle / "blobs" / md5[:2] / md5


def _escape(bundle: Path) -> None:
    _rewrite_manifest(
        bundle, lambda m: m["contents"].update({"../outside.txt": {"digest": "1B2M2Y8AsgTpgAmY7PhCfg==", "size": 0}})
    )


def _absolute(bundle: Path) -> None:
    _rewrite_manifest(
        bundle, lambda m: m["contents"].update({"/etc/passwd": {"digest": "1B2M2Y8AsgTpgAmY7PhCfg==", "size": 0}})
    )


def _huge(bundle: Path) -> None:
    def grow(manifest: dict[str, Any]) -> None:
        entry = next(e for e in manifest["contents"].values() if "ref" not in e)
        entry["size"] = 1 << 60

    _rewrite_manifest(bundle, grow)


def _larger_than_the_file(bundle: Path) -> None:
    def grow(manifest: dict[str, Any]) -> None:
        entry = next(e for e in manifest["contents"].values() if "ref" not in e)
        entry["size"] = 10 << 30

    _rewrite_manifest(bundle, grow)


def _other_bytes(bundle: Path) -> None:
    blob = _first_blob(bundle)
    data = blob.read_bytes()
    blob.chmod(0o644)
    blob.write_bytes(bytes([data[0] ^ 1]) + data[1:])


def _truncated(bundle: Path) -> None:
    blob = _first_blob(bundle)
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes()[:-1])


def _missing(bundle: Path) -> None:
    _first_blob(bundle).unlink()


def _blob_symlink(bundle: Path) -> None:
    blob = _first_blob(bundle)
    secret = bundle.parent / "secret.txt"
    secret.write_bytes(blob.read_bytes())  # the same bytes: only the link gives it away
    blob.unlink()
    blob.symlink_to(secret)


def _directory_symlink(bundle: Path) -> None:
    elsewhere = bundle.parent / "elsewhere"
    shutil.move(str(bundle / "blobs"), elsewhere)
    (bundle / "blobs").symlink_to(elsewhere, target_is_directory=True)


def _index_symlink(bundle: Path) -> None:
    real = bundle.parent / "index.json"
    shutil.move(str(bundle / "bundle.json"), real)
    (bundle / "bundle.json").symlink_to(real)


def _fifo(bundle: Path) -> None:
    blob = _first_blob(bundle)
    blob.unlink()
    os.mkfifo(blob)


def _manifest_outside(bundle: Path) -> None:
    doc = _index(bundle)
    doc["versions"][0]["manifest"] = "../secret.json"
    (bundle.parent / "secret.json").write_text("{}")
    _save_index(bundle, doc)


def _manifest_changed(bundle: Path) -> None:
    path = bundle / _index(bundle)["versions"][0]["manifest"]
    path.chmod(0o644)
    path.write_text(path.read_text().replace('"size"', '"size" ', 1))


def _truncated_index(bundle: Path) -> None:
    text = (bundle / "bundle.json").read_text()
    (bundle / "bundle.json").write_text(text[: len(text) // 2])


def _not_a_number(bundle: Path) -> None:
    text = (bundle / "bundle.json").read_text().replace('"rows": 2', '"rows": NaN', 1)
    (bundle / "bundle.json").write_text(text)


def _wrong_types(bundle: Path) -> None:
    doc = _index(bundle)
    doc["versions"][0]["aliases"] = "raw"
    _save_index(bundle, doc)


def _bad_names(bundle: Path) -> None:
    doc = _index(bundle)
    doc["versions"][0]["collection"] = "../../escape"
    _save_index(bundle, doc)


def _newer_format(bundle: Path) -> None:
    doc = _index(bundle)
    doc["format_version"] = 2
    _save_index(bundle, doc)


def _not_a_bundle(bundle: Path) -> None:
    (bundle / "bundle.json").write_text(json.dumps({"format": "something-else"}))


def _version_twice(bundle: Path) -> None:
    doc = _index(bundle)
    doc["versions"].append(doc["versions"][0])
    _save_index(bundle, doc)


HOSTILE: dict[str, tuple[Callable[[Path], None], type[BundleError], str]] = {
    "a path escaping the root": (_escape, UnsafeBundleError, "'..' component"),
    "an absolute path": (_absolute, UnsafeBundleError, "relative"),
    "a huge declared size": (_huge, UnsafeBundleError, "declares"),
    "a size larger than the file": (_larger_than_the_file, BundleIntegrityError, "its manifest lists"),
    "a file with other bytes": (_other_bytes, BundleIntegrityError, "MD5"),
    "a truncated file": (_truncated, BundleIntegrityError, "its manifest lists"),
    "a missing file": (_missing, BundleIntegrityError, "missing"),
    "a file that is a symlink": (_blob_symlink, UnsafeBundleError, "symlink"),
    "a directory that is a symlink": (_directory_symlink, UnsafeBundleError, "symlink"),
    "an index that is a symlink": (_index_symlink, UnsafeBundleError, "symlink"),
    "a FIFO for a file": (_fifo, UnsafeBundleError, "not a regular file"),
    "a manifest outside the bundle": (_manifest_outside, UnsafeBundleError, "manifests/<sha256>.json"),
    "a manifest changed after the export": (_manifest_changed, BundleIntegrityError, "does not hash to its name"),
    "a truncated index": (_truncated_index, BundleFormatError, "not valid JSON"),
    "NaN in the index": (_not_a_number, BundleFormatError, "NaN"),
    "a field of the wrong type": (_wrong_types, BundleFormatError, "aliases must be a list"),
    "a malformed name": (_bad_names, BundleFormatError, "invalid collection name"),
    "a newer format": (_newer_format, BundleFormatError, "upgrade"),
    "another format": (_not_a_bundle, BundleFormatError, "not an artifactkit bundle"),
    "a version listed twice": (_version_twice, BundleFormatError, "listed twice"),
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, source_emu: EmbeddedEmulator) -> Path:
    root = tmp_path_factory.mktemp("exported")
    with Api(api_key=source_emu.api_key, base_url=source_emu.url, cache_dir=root / "cache") as api:
        seed_project(api, source_emu, "local/hostile", root / "seed")
        api.export("local/hostile", root / "bundle")
    return root / "bundle"


@pytest.mark.parametrize("case", list(HOSTILE), ids=lambda case: case.replace(" ", "-"))
def test_a_hostile_bundle_is_refused_before_anything_is_written(
    case: str, exported: Path, target: Api, target_emu: EmbeddedEmulator, tmp_path: Path
) -> None:
    spoil, error, words = HOSTILE[case]
    bundle = tmp_path / "work" / "bundle"
    shutil.copytree(exported, bundle, symlinks=True)
    for directory, _, files in os.walk(bundle):
        for name in files:
            Path(directory, name).chmod(0o644)
    spoil(bundle)
    around = tree(tmp_path)
    before = counts(target_emu)
    target_emu.stats.reset()

    with pytest.raises(error, match=re.escape(words)):
        target.import_bundle(bundle, to="local/hostile-import")

    assert mutations(target_emu) == []  # nothing created, nothing committed
    assert counts(target_emu) == before
    assert tree(tmp_path) == around  # nothing written, in the bundle or beside it
