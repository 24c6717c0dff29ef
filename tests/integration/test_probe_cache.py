"""The capability probe's answer, shared by processes through the cache directory (`_probe_cache`).

A job that runs artifactkit many times pays the server's `serverInfo` question once a day, not once
per process; a server replaced behind the same URL, an old answer or a damaged file never makes a
call fail.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from artifactkit import Api
from artifactkit._probe_cache import server_url
from artifactkit.server.embedded import EmbeddedEmulator
from tests.conftest import make_api
from tests.integration.support import upload

pytestmark = pytest.mark.timeout(120)


def answer_file(cache: Path, url: str) -> Path:
    return cache / "servers" / f"{hashlib.sha256(server_url(url).encode()).hexdigest()}.json"


def first_call_in_a_new_process(emu: EmbeddedEmulator, cache: Path, name: str) -> None:
    script = (
        "import sys; from artifactkit import Api\n"
        "with Api(base_url=sys.argv[1], api_key=sys.argv[2], cache_dir=sys.argv[3]) as api:\n"
        "    assert api.artifact(sys.argv[4]).version == 'v0'\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "ARTIFACTKIT_SERVER_INFO_TTL"}
    subprocess.run(
        [sys.executable, "-c", script, emu.url, emu.api_key, str(cache), name], check=True, timeout=60, env=env
    )


def test_a_second_process_asks_the_server_nothing_about_itself(
    emulator: EmbeddedEmulator, api: Api, tmp_path: Path, project: str
) -> None:
    upload(api, tmp_path, f"{project}/data")
    cache = tmp_path / "shared-cache"
    emulator.stats.reset()
    first_call_in_a_new_process(emulator, cache, f"{project}/data:v0")
    assert dict(emulator.stats.operations) == {"ServerCliVersion": 1, "ArtifactMembershipByName": 1}
    emulator.stats.reset()
    first_call_in_a_new_process(emulator, cache, f"{project}/data:v0")
    assert dict(emulator.stats.operations) == {"ArtifactMembershipByName": 1}


def test_features_are_kept_beside_the_version(emulator: EmbeddedEmulator, tmp_path: Path) -> None:
    with make_api(emulator, tmp_path / "cache") as first:
        features = first.capabilities.features
    emulator.stats.reset()
    with make_api(emulator, tmp_path / "cache") as second:
        assert second.capabilities.features == features
        assert second.capabilities.collection_edges
    assert dict(emulator.stats.operations) == {}


def test_an_answer_older_than_the_ttl_is_asked_again(
    emulator: EmbeddedEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    with make_api(emulator, cache) as first:
        assert first.capabilities.collection_edges
    path = answer_file(cache, emulator.url)
    kept = json.loads(path.read_text())
    path.write_text(json.dumps({**kept, "probed_at": time.time() - 86400 - 60}))  # a day and a minute ago
    emulator.stats.reset()
    with make_api(emulator, cache) as second:
        assert second.capabilities.collection_edges
    assert dict(emulator.stats.operations) == {"ServerCliVersion": 1}
    assert json.loads(path.read_text())["probed_at"] > time.time() - 60  # the fresh answer replaced it

    monkeypatch.setenv("ARTIFACTKIT_SERVER_INFO_TTL", "0")  # sharing turned off: every Api asks
    emulator.stats.reset()
    with make_api(emulator, cache) as third:
        assert third.capabilities.collection_edges
    assert dict(emulator.stats.operations) == {"ServerCliVersion": 1}


def test_each_server_url_has_its_own_answer(
    emulator: EmbeddedEmulator, legacy_emulator: EmbeddedEmulator, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    for _ in range(2):  # the second round reads both answers back
        with make_api(emulator, cache) as modern, make_api(legacy_emulator, cache) as legacy:
            assert modern.capabilities.collection_edges
            assert not legacy.capabilities.collection_edges
    assert answer_file(cache, emulator.url) != answer_file(cache, legacy_emulator.url)
    assert sorted(p.name for p in (cache / "servers").iterdir()) == sorted(
        p.name for p in (answer_file(cache, emulator.url), answer_file(cache, legacy_emulator.url))
    )


def test_a_server_changed_behind_the_same_url_is_probed_again(tmp_path: Path) -> None:
    """A modern server replaced by a legacy one on the same port: the kept answer chooses documents
    the new server does not know; the call is answered anyway, and the answer is corrected."""
    data, cache = tmp_path / "server", tmp_path / "cache"
    with EmbeddedEmulator(data) as modern:
        port = int(modern.url.rsplit(":", 1)[1])
        with make_api(modern, cache) as api:
            upload(api, tmp_path, "local/changed/data")
            assert api.capabilities.collection_edges
    with EmbeddedEmulator(data, legacy=True, port=port) as legacy:
        assert legacy.url == modern.url
        with make_api(legacy, cache) as api:
            artifact = api.artifact("local/changed/data:v0")
            assert artifact.version == "v0" and not api.capabilities.collection_edges
            operations = dict(legacy.stats.operations)
        assert operations.pop("ServerCliVersion") == 1  # asked again once the kept answer proved wrong
        assert operations.pop("LegacyArtifactByName") == 1
        assert set(operations) <= {"ArtifactMembershipByName"}  # the refused request, at most once
        kept = json.loads(answer_file(cache, legacy.url).read_text())
        assert kept["max_cli_version"] != "" and kept["features"] in (None, [])
        legacy.stats.reset()
        with make_api(legacy, cache) as later:  # the corrected answer serves the next process
            assert later.artifact("local/changed/data:v0").version == "v0"
        assert dict(legacy.stats.operations) == {"LegacyArtifactByName": 1}


HOSTILE = {
    "not json": b"\x00\xff{{{",
    "a list": b"[1, 2, 3]",
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    "too big": b'{"pad": "' + b"x" * (1 << 20) + b'"}',
    "another url": None,
    "a version that is not one": None,
    "features that are not names": None,
    "dated in the future": None,
    "a boolean date": None,
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_damaged_or_hostile_answer_is_ignored(emulator: EmbeddedEmulator, tmp_path: Path, kind: str) -> None:
    cache = tmp_path / "cache"
    path = answer_file(cache, emulator.url)
    good = {
        "schema_version": 1,
        "url": server_url(emulator.url),
        "max_cli_version": "0.1.0",  # would choose legacy operations, were it believed
        "features": [],
        "probed_at": time.time(),
    }
    documents = {
        "another url": {**good, "url": "http://127.0.0.1:1"},
        "a version that is not one": {**good, "max_cli_version": "0.1.0; rm -rf /" + "x" * 100},
        "features that are not names": {**good, "features": ["OK", {"$ne": 1}]},
        "dated in the future": {**good, "probed_at": time.time() + 86400},
        "a boolean date": {**good, "probed_at": True},
    }
    path.parent.mkdir(parents=True)
    raw = HOSTILE[kind]
    path.write_bytes(raw if raw is not None else json.dumps(documents[kind]).encode())
    emulator.stats.reset()
    with make_api(emulator, cache) as api:
        assert api.capabilities.collection_edges  # the server's own answer, not the file's
    assert dict(emulator.stats.operations) == {"ServerCliVersion": 1}
    assert json.loads(path.read_text())["url"] == server_url(emulator.url)  # replaced by a valid answer


def test_an_unreadable_answer_is_a_probe_not_a_crash(emulator: EmbeddedEmulator, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    answer_file(cache, emulator.url).mkdir(parents=True)  # a directory where the file belongs
    emulator.stats.reset()
    with make_api(emulator, cache) as api:
        assert api.capabilities.collection_edges
    assert dict(emulator.stats.operations) == {"ServerCliVersion": 1}


def test_the_answer_holds_no_key_and_no_credentials(emulator: EmbeddedEmulator, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    host, port = emulator.url.removeprefix("http://").split(":")
    with_user = f"http://someone:hunter2@{host}:{port}/"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Api(api_key=emulator.api_key, base_url=with_user, cache_dir=cache) as api:
            _ = api.capabilities.features
    files = list((cache / "servers").iterdir())
    assert [p.name for p in files] == [answer_file(cache, emulator.url).name]  # named by the URL alone
    text = files[0].read_text()
    assert emulator.api_key not in text and "hunter2" not in text and "someone" not in text
    assert set(json.loads(text)) == {"schema_version", "url", "max_cli_version", "features", "probed_at"}


def test_flush_drops_the_shared_answer(emulator: EmbeddedEmulator, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with make_api(emulator, cache) as api:
        assert api.capabilities.collection_edges
        emulator.stats.reset()
        api.flush()
        assert api.capabilities.collection_edges
    assert dict(emulator.stats.operations) == {"ServerCliVersion": 1}
