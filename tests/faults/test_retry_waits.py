"""A file waiting to retry (a 429's `Retry-After`) gives its request slot to other files meanwhile.

With one slot (`max_workers=1`) and the emulator answering some file requests with 429, the
requests the client sends are recorded in order (httpx event hooks on the Api's own client): other
files' requests go out between a file's 429 and its retry, yet never two at once; every file
arrives intact and every injected fault is one counted retry.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from artifactkit import Api, RetryPolicy
from artifactkit.server.embedded import EmbeddedEmulator
from tests.faults.conftest import set_faults

FILES = 24
# Retry-After (1 s) decides the waits; the backoff alone would be a few milliseconds.
POLICY = RetryPolicy(max_attempts=12, base_delay=0.01, max_delay=1.0, budget=60)


class RequestLog:
    """Requests of one method as the client sends them and answers as they arrive, in order."""

    def __init__(self, client: httpx.Client, method: str) -> None:
        self.method = method
        self.events: list[tuple[str, str, int]] = []  # ("sent" | "answer", path, status)
        self._lock = threading.Lock()
        client.event_hooks = {"request": [self._sent], "response": [self._answer]}

    def _sent(self, request: httpx.Request) -> None:
        if request.method == self.method:
            with self._lock:
                self.events.append(("sent", request.url.path, 0))

    def _answer(self, response: httpx.Response) -> None:
        if response.request.method == self.method:
            with self._lock:
                self.events.append(("answer", response.request.url.path, response.status_code))

    def refused(self) -> int:
        return sum(1 for kind, _, status in self.events if kind == "answer" and status == 429)

    def others_sent_during_waits(self) -> int:
        """How many requests for other paths went out between some 429 and that path's retry."""
        others = 0
        for index, (kind, path, status) in enumerate(self.events):
            if kind != "answer" or status != 429:
                continue
            for later_kind, later_path, _ in self.events[index + 1 :]:
                if later_kind == "sent":
                    if later_path == path:
                        break
                    others += 1
        return others

    def most_in_flight(self) -> int:
        """The most requests sent and not yet answered at any point."""
        in_flight = most = 0
        for kind, _, _ in self.events:
            in_flight += 1 if kind == "sent" else -1
            most = max(most, in_flight)
        return most


def _files(root: Path, tag: str) -> Path:
    """`FILES` files of distinct contents, new to the server (which stores each content once)."""
    root.mkdir(parents=True)
    for i in range(FILES):
        (root / f"f{i:02d}.txt").write_text(f"{tag} file {i} " * (i + 1))
    return root


@contextmanager
def _api(emu: EmbeddedEmulator, cache: Path) -> Iterator[Api]:
    with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=cache, retry=POLICY) as api:
        yield api


def test_a_download_waiting_out_a_429_lets_other_files_use_its_slot(calm: EmbeddedEmulator, tmp_path: Path) -> None:
    with _api(calm, tmp_path / "seed-cache") as seeder:
        seeder.upload(_files(tmp_path / "src", "down"), "local/faults/waits-down", "dataset")
    before = calm.emulator.faults.injected["429"]
    set_faults(calm, rate=0.25, seed=5, kinds=["429"], routes=["blob"], retry_after=1)
    with _api(calm, tmp_path / "cache") as api:
        artifact = api.artifact("local/faults/waits-down:latest")
        log = RequestLog(api.client.transport.client, "GET")
        root = Path(artifact.download(tmp_path / "out", max_workers=1, progress=False))
        retries = api.client.transport.stats.retries
    set_faults(calm, rate=0)
    artifact.verify(root)
    assert sorted(p.name for p in root.iterdir()) == [f"f{i:02d}.txt" for i in range(FILES)]
    injected = calm.emulator.faults.injected["429"] - before
    assert injected == log.refused() > 0
    assert retries == injected  # each 429 cost exactly one retry, and was counted
    assert log.others_sent_during_waits() > 0  # the only slot was free while a file waited
    assert log.most_in_flight() == 1  # and still only one request at a time


def test_an_upload_waiting_out_a_429_lets_other_files_use_its_slot(calm: EmbeddedEmulator, tmp_path: Path) -> None:
    before = calm.emulator.faults.injected["429"]
    set_faults(calm, rate=0.25, seed=6, kinds=["429"], routes=["upload"], retry_after=1)
    with _api(calm, tmp_path / "cache") as api:
        log = RequestLog(api.client.transport.client, "PUT")
        api.upload(_files(tmp_path / "src", "up"), "local/faults/waits-up", "dataset", max_workers=1)
        retries = api.client.transport.stats.retries
    set_faults(calm, rate=0)
    injected = calm.emulator.faults.injected["429"] - before
    assert injected == log.refused() > 0
    assert retries == injected
    assert log.others_sent_during_waits() > 0
    assert log.most_in_flight() == 1
    with _api(calm, tmp_path / "check-cache") as api:
        artifact = api.artifact("local/faults/waits-up:latest")
        root = Path(artifact.download(tmp_path / "out", progress=False))
        artifact.verify(root)
        assert sorted(p.name for p in root.iterdir()) == [f"f{i:02d}.txt" for i in range(FILES)]


def test_time_spent_getting_a_slot_back_is_not_charged_to_the_retry_budget(calm: EmbeddedEmulator) -> None:
    """The budget bounds the waits the server asked for, not the caller's own queueing."""
    set_faults(calm, rate=1.0, kinds=["429"], routes=["blob"], retry_after=0)
    asked: list[float] = []

    def slow_wait(seconds: float) -> None:  # as if every slot stayed busy a while after the wait
        asked.append(seconds)
        time.sleep(seconds + 0.4)

    policy = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, budget=0.3)
    with Api(api_key=calm.api_key, base_url=calm.url, retry=policy) as api:
        transport = api.client.transport
        before = transport.stats.requests
        with transport.stream("GET", f"{calm.url}/storage/blobs/{'0' * 32}", wait=slow_wait) as response:
            assert response.status_code == 429  # given up after every attempt, the last answer as is
        assert transport.stats.requests - before == 4
    set_faults(calm, rate=0)
    assert len(asked) == 3 and all(0 <= s <= 0.05 for s in asked)
