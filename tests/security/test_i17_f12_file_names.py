"""Issue 17, finding 12: run-file names and manifest paths follow the shared name rules.

Before, `createRunFiles` signed upload URLs for `../.bashrc`, `/etc/cron.d/x`, `a\\..\\..\\b` and
300-character names (most of them then stored), and manifests with a newline or U+202E in a path
were committed. Now `names.check_path` decides for the emulator and the SDK alike: 400 with a
message saying what is allowed, and nothing stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from artifactkit.manifest import ManifestError, check_entry_path
from artifactkit.server.context import UrlSigner
from artifactkit.server.embedded import EmbeddedEmulator
from tests.security.support import TIMEOUT
from tests.server.support import Client, Upload, manifest_bytes, md5_b64

UPSERT = "mutation($input: UpsertBucketInput!) { upsertBucket(input: $input) { bucket { id } } }"
CREATE_RUN_FILES = """mutation($input: CreateRunFilesInput!) { createRunFiles(input: $input) {
  files { name uploadUrl } } }"""
FILE_COUNT = """query { project(entityName: "alice", name: "f12") { run(name: "train") { fileCount } } }"""

BAD_NAMES = {
    "parent": "../.bashrc",
    "inner parent": "logs/../../.ssh/authorized_keys",
    "absolute": "/etc/cron.d/x",
    "backslashes": "a\\..\\..\\b",
    "drive": "C:evil.bat",
    "300 characters": "x" * 300,
    "newline": "report\n.txt",
    "escape": "\x1b[2Jlog.txt",
    "right-to-left override": "invoice\u202etxt.exe",
    "empty component": "a//b",
    "dot": "./a",
    "empty": "",
}


@pytest.fixture(scope="module")
def alice(emu: EmbeddedEmulator) -> Iterator[Client]:
    with Client(emu, emu.create_key("alice")) as client:
        client.data(UPSERT, input={"entityName": "alice", "modelName": "f12", "name": "train"})
        yield client


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_create_run_files_refuses_a_bad_name(alice: Client, name: str) -> None:
    variables = {"entityName": "alice", "projectName": "f12", "runName": "train", "files": ["ok.txt", name]}
    status, errors = alice.error(CREATE_RUN_FILES, input=variables)
    assert (status, errors[0]["extensions"]["code"]) == (400, "BAD_USER_INPUT")
    assert errors[0]["message"].startswith("invalid run file name")
    assert "uploadUrl" not in str(errors)  # no URL for the good name either: all or nothing


@pytest.mark.parametrize("name", ["../.bashrc", "/etc/cron.d/x", "a\\..\\..\\b", "x" * 300, "a\u202eb"], ids=repr)
def test_a_signed_url_with_a_bad_name_stores_nothing(emu: EmbeddedEmulator, alice: Client, name: str) -> None:
    """The upload route checks the name too (a URL signed with the emulator's own secret)."""
    run = emu.store.one("SELECT * FROM runs WHERE name = 'train'")
    secret = (emu.settings.data_dir / "url-signing.key").read_bytes()
    signer = UrlSigner(base_url=emu.url, secret=secret)
    url = signer.run_file_upload_url(run, name)
    assert f"/storage/runfiles/{run['id']}/{quote(name)}?" in url
    response = httpx.put(url, content=b"payload", timeout=TIMEOUT)
    assert 400 <= response.status_code < 500, response.text
    assert alice.data(FILE_COUNT)["project"]["run"]["fileCount"] == 0


def test_good_run_file_names_still_work(alice: Client) -> None:
    names = ["wandb-metadata.json", "media/images/plot 1.png", "code/ünïcode.py", "x" * 255]
    variables = {"entityName": "alice", "projectName": "f12", "runName": "train", "files": names}
    answer = alice.data(CREATE_RUN_FILES, input=variables)["createRunFiles"]["files"]
    for spec in answer:
        assert httpx.put(spec["uploadUrl"], content=b"fine", timeout=TIMEOUT).status_code == 200
    assert alice.data(FILE_COUNT)["project"]["run"]["fileCount"] == len(names)


@pytest.mark.parametrize("path", ["notes\n.txt", "invoice\u202etxt.exe", "a\u2066b", "bell\x07"], ids=repr)
def test_manifest_paths_follow_the_same_rule(alice: Client, path: str) -> None:
    pending = Upload(alice, "alice/f12", "odd", {path: b"odd", "fine.txt": b"fine"})
    pending.create()
    pending.register_manifest()
    # Registering the file is refused...
    status, errors = alice.error(
        "mutation($input: CreateArtifactFilesInput!) { createArtifactFiles(input: $input) "
        "{ files { edges { node { uploadUrl } } } } }",
        input={
            "storageLayout": "V2",
            "artifactFiles": [{"artifactID": pending.artifact_id, "name": path, "md5": md5_b64(b"odd")}],
        },
    )
    assert (status, errors[0]["extensions"]["code"]) == (400, "BAD_USER_INPUT")
    assert errors[0]["message"].startswith("invalid entry path")
    # ...and so is a manifest naming it, before anything is stored.
    response = pending.put_manifest(manifest_bytes(pending.files))
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_MANIFEST"
    commit = pending.commit()
    assert commit.status_code == 400 and "no uploaded manifest" in commit.text
    # The SDK refuses the same paths (it shares the rule).
    with pytest.raises(ManifestError):
        check_entry_path(path)
