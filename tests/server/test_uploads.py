"""The upload path: bytes are checked against their MD5, commits against the manifest, and an
interrupted upload (even a killed server) never leaves a half-committed version behind."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from artifactkit.server.blobs import BlobStore
from artifactkit.server.consistency import check
from artifactkit.server.context import UrlSigner
from artifactkit.server.embedded import EmbeddedEmulator, EmulatorProcess
from artifactkit.server.settings import Settings
from artifactkit.server.store import Store
from tests.server.support import Client, Upload, md5_b64, md5_hex, upload, versions_page


def prepared(client: Client, project: str, files: dict[str, bytes], name: str = "seq") -> Upload:
    """A version with its manifest and files registered, nothing uploaded yet."""
    pending = Upload(client, project, name, files)
    pending.create()
    pending.register_manifest()
    pending.register_files()
    return pending


def commit_error(pending: Upload) -> str:
    response = pending.commit()
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    message: str = error["message"]
    return message


def is_listed(client: Client, project: str, name: str = "seq") -> int:
    page = versions_page(client, f"{project}/{name}")
    return int(page["totalCount"])


def test_a_put_whose_bytes_do_not_match_the_md5_is_refused(
    emulator: EmbeddedEmulator, client: Client, project: str
) -> None:
    pending = prepared(client, project, {"a.txt": b"the real bytes"})
    response = pending.put_file("a.txt", b"other bytes!!!")
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_DIGEST"
    assert not emulator.emulator.blobs.exists(md5_hex(b"the real bytes"))
    assert not emulator.emulator.blobs.exists(md5_hex(b"other bytes!!!"))  # nothing kept under any name
    assert pending.put_manifest().status_code == 200
    assert "were never uploaded: a.txt" in commit_error(pending)


def test_a_content_md5_header_that_contradicts_the_url_is_refused(client: Client, project: str) -> None:
    pending = prepared(client, project, {"a.txt": b"bytes"})
    url = pending.upload_urls["a.txt"]
    assert url is not None
    wrong = base64.b64encode(bytes(16)).decode()
    response = httpx.put(url, content=b"bytes", headers={"Content-MD5": wrong})
    assert response.status_code == 400 and response.json()["errors"][0]["extensions"]["code"] == "BAD_DIGEST"
    response = httpx.put(url, content=b"bytes", headers={"Content-MD5": md5_b64(b"bytes")})
    assert response.status_code == 200


@pytest.mark.parametrize("spoil", ["signature", "expiry", "missing"])
def test_upload_urls_only_work_as_signed(client: Client, project: str, spoil: str) -> None:
    pending = prepared(client, project, {"a.txt": b"signed bytes"})
    url = httpx.URL(pending.upload_urls["a.txt"] or "")
    params = dict(url.params)
    if spoil == "signature":
        params["sig"] = "0" * len(params["sig"])
    elif spoil == "expiry":
        params["exp"] = str(int(params["exp"]) + 3600)  # a longer life than was signed
    else:
        params = {}
    response = httpx.put(str(url.copy_with(params=params)), content=b"signed bytes")
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_a_correctly_signed_url_stops_working_when_it_expires() -> None:
    version = {"id": 7, "created_at": "2025-01-01T00:00:00.000001Z"}
    subject = f"{'0' * 32}/7@2025-01-01T00:00:00.000001Z"
    signer = UrlSigner(base_url="http://x", secret=b"k" * 32, ttl_seconds=-1)  # expired on creation
    url = httpx.URL(signer.blob_upload_url("0" * 32, version))  # type: ignore[arg-type]
    assert url.params["sig"] and not signer.verify("put", subject, url.params["exp"], url.params["sig"])
    fresh = UrlSigner(base_url="http://x", secret=b"k" * 32, ttl_seconds=60)
    url = httpx.URL(fresh.blob_upload_url("0" * 32, version))  # type: ignore[arg-type]
    assert url.params["version"] == "7"
    assert fresh.verify("put", subject, url.params["exp"], url.params["sig"])
    assert not fresh.verify("get", subject, url.params["exp"], url.params["sig"])  # signed for PUT only
    assert not fresh.verify("put", subject.replace("0", "1", 1), url.params["exp"], url.params["sig"])  # this blob
    # and this version only: another object given the same id (a database from before ids were
    # never reused) has another creation stamp
    assert not fresh.verify("put", subject.replace("000001Z", "000002Z"), url.params["exp"], url.params["sig"])


def test_commit_needs_the_manifest_and_every_file(client: Client, project: str) -> None:
    files = {"a.txt": b"first file", "dir/b.txt": b"second file"}
    pending = prepared(client, project, files)
    assert "no uploaded manifest" in commit_error(pending)
    assert pending.put_manifest().status_code == 200
    assert pending.put_file("a.txt").status_code == 200
    assert "1 file(s) of the manifest were never uploaded: dir/b.txt" in commit_error(pending)
    assert is_listed(client, project) == 0  # still pending: invisible
    assert pending.put_file("dir/b.txt").status_code == 200
    committed = pending.commit().json()["data"]["commitArtifact"]["artifact"]
    assert (committed["state"], committed["versionIndex"]) == ("COMMITTED", 0)  # failed commits use no number


def test_a_manifest_must_be_valid_and_cannot_change_after_commit(client: Client, project: str) -> None:
    pending = prepared(client, project, {"a.txt": b"x"})
    response = pending.put_manifest(b'{"version": 2}')
    assert response.status_code == 400 and response.json()["errors"][0]["extensions"]["code"] == "BAD_MANIFEST"
    pending.put_files()
    assert pending.put_manifest().status_code == 200
    assert pending.commit().status_code == 200
    response = pending.put_manifest()
    assert response.status_code == 409


def test_bytes_the_server_holds_are_not_asked_for_again(client: Client, project: str) -> None:
    shared = f"{project} shared bytes".encode()
    upload(client, project, "one", {"shared.bin": shared})
    second = prepared(client, project, {"copy.bin": shared, "new.bin": b"fresh " + shared}, name="two")
    assert second.upload_urls["copy.bin"] is None
    assert second.upload_urls["new.bin"] is not None


def test_identical_content_returns_the_existing_version(client: Client, project: str) -> None:
    first = upload(client, project, "seq", {"a.txt": b"same"})
    again = Upload(client, project, "seq", {"a.txt": b"same"}).create()
    assert again == {"id": first["id"], "state": "COMMITTED"}
    assert is_listed(client, project) == 1


def test_content_equal_to_an_older_version_makes_a_new_latest_version(client: Client, project: str) -> None:
    """W&B deduplicates against the latest version only: going back to old content is a new version."""
    first = upload(client, project, "seq", {"a.txt": b"old"})
    upload(client, project, "seq", {"a.txt": b"new"})
    reverted = upload(client, project, "seq", {"a.txt": b"old"})
    assert reverted["id"] != first["id"]
    assert is_listed(client, project) == 3
    latest = client.data(
        "query($e: String!, $p: String!) { project(entityName: $e, name: $p) "
        '{ artifactCollectionMembership(name: "seq:latest") { versionIndex artifact { id } } } }',
        e=project.split("/")[0],
        p=project.split("/")[1],
    )["project"]["artifactCollectionMembership"]
    assert latest == {"versionIndex": 2, "artifact": {"id": reverted["id"]}}
    again = Upload(client, project, "seq", {"a.txt": b"old"}).create()
    assert again == {"id": reverted["id"], "state": "COMMITTED"}  # now it is the latest: no new version


def test_an_upload_cut_off_by_the_client_leaves_nothing(
    emulator: EmbeddedEmulator, client: Client, project: str
) -> None:
    body = b"z" * (3 * 1024 * 1024)
    pending = prepared(client, project, {"big.bin": body})
    url = pending.upload_urls["big.bin"]
    assert url is not None

    def half_then_stop() -> Iterator[bytes]:
        yield body[: len(body) // 2]
        raise ConnectionAbortedError("the client gives up half way")

    with pytest.raises(ConnectionAbortedError):
        httpx.put(url, content=half_then_stop())
    deadline = time.monotonic() + 5
    tmp = emulator.emulator.blobs.tmp
    while any(tmp.glob("upload-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not emulator.emulator.blobs.exists(md5_hex(body))
    assert pending.put_manifest().status_code == 200
    assert "never uploaded: big.bin" in commit_error(pending)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmulatorProcess]:
    process = EmulatorProcess(tmp_path / "server").start()
    yield process
    process.stop()


def test_a_server_killed_mid_upload_keeps_no_half_version(server: EmulatorProcess, tmp_path: Path) -> None:
    project = "local/crash"
    body = b"y" * (8 * 1024 * 1024)
    with Client(server) as client:
        upload(client, project, "seq", {"small.txt": b"v0"})
        pending = prepared(client, project, {"small.txt": b"v1", "big.bin": body})
        pending.put_file("small.txt")
        assert pending.put_manifest().status_code == 200
    blobs = BlobStore(Settings(data_dir=server.data_dir).blob_dir)
    release = threading.Event()

    def slow_body() -> Iterator[bytes]:
        yield body[: 4 * 1024 * 1024]
        release.wait(30)
        yield body[4 * 1024 * 1024 :]

    url = pending.upload_urls["big.bin"]
    assert url is not None
    errors: list[BaseException] = []

    def put() -> None:
        try:
            httpx.put(url, content=slow_body(), timeout=30)
        except httpx.HTTPError as exc:
            errors.append(exc)

    sender = threading.Thread(target=put)
    sender.start()
    deadline = time.monotonic() + 10
    while not any(blobs.tmp.glob("upload-*")):  # the server is writing the first half
        assert time.monotonic() < deadline, "the upload never reached the server"
        time.sleep(0.02)
    server.kill()
    release.set()
    sender.join(30)
    assert errors, "the upload cannot have succeeded against a killed server"

    server.start()
    assert not any(blobs.tmp.glob("upload-*"))  # the partial upload was discarded at start
    assert not blobs.exists(md5_hex(body))
    settings = Settings(data_dir=server.data_dir)
    assert check(Store(settings.database_path), blobs) == []
    with Client(server) as client:
        pending.client = client
        assert is_listed(client, project) == 1  # v0 only
        assert "never uploaded: big.bin" in commit_error(pending)
        pending.register_files()  # the server asks for the big file again ...
        assert pending.upload_urls == {"small.txt": None, "big.bin": pending.upload_urls["big.bin"]}
        assert pending.put_file("big.bin").status_code == 200
        committed = pending.commit().json()["data"]["commitArtifact"]["artifact"]  # ... and the version finishes
        assert committed["versionIndex"] == 1
        assert is_listed(client, project) == 2
