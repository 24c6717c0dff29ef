"""Issue 17, finding 8: every document the SDK reads whole has a size limit.

An endless manifest body grew the client to 1.5 GB in 6 s. A real HTTP server in front of the
emulator (`HostileFront`) plays the hostile server: it answers chosen requests with bodies that do
not end, or pads the emulator's own answers to an exact length. The limits are set small here
through their environment variables (`ARTIFACTKIT_MAX_MANIFEST_BYTES`,
`ARTIFACTKIT_MAX_ANSWER_BYTES`), and tried at exactly the limit and one byte past it.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from artifactkit import Api, errors
from artifactkit._transport import ERROR_TEXT_BYTES, MAX_ANSWER_BYTES
from artifactkit.fs import ArtifactFileSystem
from artifactkit.server.embedded import EmbeddedEmulator
from artifactkit.transfer.limits import MAX_MANIFEST_BYTES
from tests.security.hostile_front import ENDLESS, HostileFront, Rule, endless, is_manifest, is_operation, padded_to

LIMIT = 1 << 20
# Bytes the front may push into the sockets' buffers before it sees the client hang up; far below ENDLESS.
BUFFERED = 32 << 20
NAME = "local/i17-f08/data:v0"


@pytest.fixture(scope="module")
def version(emu: EmbeddedEmulator, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("data")
    for i in range(20):
        (folder / f"f{i}.txt").write_bytes(os.urandom(100))
    with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path_factory.mktemp("cache")) as api:
        api.upload(folder, NAME.split(":")[0], "dataset")
    return NAME


@pytest.fixture
def front(emu: EmbeddedEmulator) -> Iterator[HostileFront]:
    with HostileFront(emu) as hostile:
        yield hostile


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTIFACTKIT_MAX_MANIFEST_BYTES", str(LIMIT))
    monkeypatch.setenv("ARTIFACTKIT_MAX_ANSWER_BYTES", str(LIMIT))


def api_on(front: HostileFront, emu: EmbeddedEmulator, cache: Path) -> Api:
    return Api(api_key=emu.api_key, base_url=front.url, cache_dir=cache)


def test_the_default_limits_are_the_documented_ones() -> None:
    assert (MAX_MANIFEST_BYTES, MAX_ANSWER_BYTES, ERROR_TEXT_BYTES) == (256 << 20, 128 << 20, 64 << 10)


@pytest.mark.usefixtures("limits")
def test_an_endless_manifest_is_refused_at_the_limit(
    emu: EmbeddedEmulator, front: HostileFront, version: str, tmp_path: Path
) -> None:
    front.rules.append(Rule(is_manifest, endless))
    with api_on(front, emu, tmp_path / "cache") as api, pytest.raises(errors.ResponseTooLargeError) as refused:
        len(api.artifact(version).manifest)
    assert refused.value.limit == LIMIT
    assert f"longer than {LIMIT:,} bytes" in str(refused.value)
    assert "ARTIFACTKIT_MAX_MANIFEST_BYTES" in str(refused.value)
    [sent] = front.stats.settled(1)  # refused at once, not asked for again
    assert sent < BUFFERED  # the client stopped reading (it used to read all ENDLESS bytes)


@pytest.mark.usefixtures("limits")
def test_an_endless_manifest_through_wandb_is_an_io_error(
    emu: EmbeddedEmulator, front: HostileFront, version: str, tmp_path: Path
) -> None:
    front.rules.append(Rule(is_manifest, endless))
    with api_on(front, emu, tmp_path / "cache") as api:
        fs = ArtifactFileSystem(api)
        with pytest.raises(OSError) as refused:
            fs.ls(f"wandb://{version}")
    assert refused.value.errno == errno.EIO
    assert isinstance(refused.value.__cause__, errors.ResponseTooLargeError)
    assert front.stats.settled(1)[0] < BUFFERED


@pytest.mark.usefixtures("limits")
def test_a_manifest_of_exactly_the_limit_is_read_and_one_byte_more_is_not(
    emu: EmbeddedEmulator, front: HostileFront, version: str, tmp_path: Path
) -> None:
    front.rules.append(Rule(is_manifest, padded_to(LIMIT), ask_emulator=True))
    with api_on(front, emu, tmp_path / "at") as api:
        assert len(api.artifact(version).manifest) == 20

    front.rules[:] = [Rule(is_manifest, padded_to(LIMIT + 1), ask_emulator=True)]
    with api_on(front, emu, tmp_path / "past") as api, pytest.raises(errors.ResponseTooLargeError):
        len(api.artifact(version).manifest)


@pytest.mark.usefixtures("limits")
def test_an_endless_graphql_answer_is_refused_at_the_limit_naming_the_request(
    emu: EmbeddedEmulator, front: HostileFront, version: str, tmp_path: Path
) -> None:
    front.rules.append(Rule(is_operation("ArtifactMembershipByName"), endless))
    with api_on(front, emu, tmp_path / "cache") as api, pytest.raises(errors.ResponseTooLargeError) as refused:
        api.artifact(version)
    assert str(refused.value).startswith(
        f"while looking up {version}: the answer to POST {front.url}/graphql is longer"
    )
    assert "ARTIFACTKIT_MAX_ANSWER_BYTES" in str(refused.value)
    [sent] = front.stats.settled(1)
    assert sent < BUFFERED


@pytest.mark.usefixtures("limits")
def test_graphql_answers_of_exactly_the_limit_are_read_and_one_byte_more_are_not(
    emu: EmbeddedEmulator, front: HostileFront, version: str, tmp_path: Path
) -> None:
    def every_query(method: str, path: str, _body: bytes) -> bool:
        return method == "POST" and path.startswith("/graphql")

    front.rules.append(Rule(every_query, padded_to(LIMIT), ask_emulator=True))
    with api_on(front, emu, tmp_path / "at") as api:
        assert api.artifact(version).version == "v0"

    front.rules[:] = [Rule(every_query, padded_to(LIMIT + 1), ask_emulator=True)]
    with api_on(front, emu, tmp_path / "past") as api, pytest.raises(errors.ResponseTooLargeError):
        api.artifact(version)


def test_an_endless_error_body_from_storage_is_read_only_for_its_message(
    emu: EmbeddedEmulator, front: HostileFront, tmp_path: Path
) -> None:
    """A PUT refused with a body that does not end: the message needs its first bytes, nothing more."""
    front.rules.append(Rule(lambda method, path, _: method == "PUT", endless, status=400))
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_bytes(os.urandom(64))
    with api_on(front, emu, tmp_path / "cache") as api, pytest.raises(errors.UploadError, match="HTTP 400"):
        api.upload(tmp_path / "src", "local/i17-f08/refused", "dataset")
    assert max(front.stats.settled(1)) < BUFFERED


def test_a_limit_that_is_not_a_number_of_bytes_is_a_configuration_error(
    emu: EmbeddedEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ARTIFACTKIT_MAX_ANSWER_BYTES", "lots")
    message = "ARTIFACTKIT_MAX_ANSWER_BYTES='lots' must be a positive number of bytes"
    with (
        Api(api_key=emu.api_key, base_url=emu.url, cache_dir=tmp_path) as api,
        pytest.raises(errors.ConfigurationError, match=message),
    ):
        api.artifact(NAME)


assert ENDLESS > 4 * BUFFERED  # the bodies above are "endless" next to what a capped client reads
