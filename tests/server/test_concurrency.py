"""Concurrent clients: readers and writers at once lose nothing and never see a server error.

Eight clients share one emulator process for a while (12 s here; 60 s with ARTIFACTKIT_SOAK=1,
as `make soak` runs it). Pairs of writers commit to the same sequences, so version numbering,
`latest` and alias moves race; readers page through listings and download bytes meanwhile.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from artifactkit.server.blobs import BlobStore
from artifactkit.server.consistency import check
from artifactkit.server.embedded import EmulatorProcess
from artifactkit.server.settings import Settings
from artifactkit.server.store import Store
from tests.server.support import Client, Upload, version_names, versions_page
from tests.server.test_aliases import add_alias, membership

CLIENTS = 8
SEQUENCES = 4
SECONDS = 60.0 if os.environ.get("ARTIFACTKIT_SOAK") == "1" else 12.0
PROJECT = "local/concurrency"


@dataclass
class Outcome:
    committed: dict[str, list[str]] = field(default_factory=dict)  # sequence -> artifact ids, per worker
    alias: tuple[str, str] | None = None  # (sequence, artifact id) the worker's alias was last put on
    requests: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmulatorProcess]:
    process = EmulatorProcess(tmp_path / "server").start()
    yield process
    process.stop()


def worker(server: EmulatorProcess, index: int, deadline: float, everyone: list[Outcome]) -> None:
    outcome = everyone[index]
    rng = random.Random(index)
    counter = 0
    with Client(server) as client:
        original_post = client.http.post

        def counted_post(*args: object, **kwargs: object) -> httpx.Response:
            response = original_post(*args, **kwargs)  # type: ignore[arg-type]
            outcome.requests[str(response.status_code)] += 1
            if response.status_code >= 500:
                outcome.problems.append(f"worker {index}: HTTP {response.status_code} {response.text[:300]}")
            return response

        client.http.post = counted_post  # type: ignore[method-assign]
        while time.monotonic() < deadline:
            try:
                action = rng.random()
                sequence = f"seq-{index % SEQUENCES}"
                if action < 0.45:
                    counter += 1
                    body = f"worker {index} upload {counter}".encode()
                    files = {"data.bin": body, f"part-{counter % 3}.txt": body[::-1]}
                    committed = Upload(client, PROJECT, sequence, files).run_all()
                    outcome.committed.setdefault(sequence, []).append(committed["id"])
                elif action < 0.55 and outcome.committed.get(sequence):
                    target = outcome.committed[sequence][-1]
                    response = add_alias(client, target, PROJECT, sequence, f"w{index}")
                    if response.status_code != 200:
                        outcome.problems.append(f"worker {index}: addAliases {response.status_code} {response.text}")
                    else:
                        outcome.alias = (sequence, target)
                elif action < 0.8:
                    other = f"seq-{rng.randrange(SEQUENCES)}"
                    if not any(other in o.committed for o in everyone):
                        continue  # nobody has created that sequence yet
                    names = version_names(client, f"{PROJECT}/{other}", first=rng.choice([2, 5, 50]))
                    if names != sorted(names, key=lambda v: -int(v[1:])) or len(set(names)) != len(names):
                        outcome.problems.append(f"worker {index}: listing of {other} out of order: {names}")
                else:
                    other = f"seq-{rng.randrange(SEQUENCES)}"
                    entity, project = PROJECT.split("/")
                    data = client.data(
                        "query($e: String!, $p: String!, $n: String!) { project(entityName: $e, name: $p) { "
                        "artifactCollectionMembership(name: $n) { files { edges { node { name directUrl } } } } } }",
                        e=entity,
                        p=project,
                        n=f"{other}:latest",
                    )
                    found = data["project"] and data["project"]["artifactCollectionMembership"]
                    for edge in found["files"]["edges"] if found else []:
                        got = httpx.get(edge["node"]["directUrl"], timeout=30)
                        outcome.requests[f"file {got.status_code}"] += 1
                        if got.status_code != 200:
                            outcome.problems.append(f"worker {index}: file GET {got.status_code}")
            except (AssertionError, httpx.HTTPError, KeyError, TypeError) as exc:
                outcome.problems.append(f"worker {index}: {type(exc).__name__}: {str(exc)[:300]}")


def test_concurrent_readers_and_writers_lose_nothing(server: EmulatorProcess) -> None:
    outcomes = [Outcome() for _ in range(CLIENTS)]
    deadline = time.monotonic() + SECONDS
    threads = [threading.Thread(target=worker, args=(server, i, deadline, outcomes)) for i in range(CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SECONDS + 120)
    elapsed = time.monotonic() - started

    requests = sum((o.requests for o in outcomes), Counter())
    problems = [p for o in outcomes for p in o.problems]
    committed: dict[str, list[str]] = {}
    for outcome in outcomes:
        for sequence, ids in outcome.committed.items():
            committed.setdefault(sequence, []).extend(ids)
    print(
        f"\nconcurrency: {CLIENTS} clients, {elapsed:.1f} s, {sum(requests.values())} requests "
        f"({dict(requests)}), {sum(len(v) for v in committed.values())} versions committed, "
        f"{len(problems)} problems"
    )
    assert not problems, problems[:20]
    assert not [s for s in requests if s.removeprefix("file ").startswith("5")]
    assert all(len(ids) >= 3 for ids in committed.values()) and len(committed) == SEQUENCES  # real contention

    with Client(server) as client:
        for sequence, ids in committed.items():
            page = versions_page(client, f"{PROJECT}/{sequence}", first=10_000)
            listed = {e["node"]["id"]: e["node"]["versionIndex"] for e in page["edges"]}
            assert set(listed) == set(ids), f"{sequence}: committed versions missing from the listing"
            assert sorted(listed.values()) == list(range(len(ids)))  # numbered 0..n-1, no gap, no twice
            latest = membership(client, PROJECT, f"{sequence}:latest")
            assert latest is not None and latest["versionIndex"] == len(ids) - 1
        for index, outcome in enumerate(outcomes):
            if outcome.alias is not None:
                sequence, artifact_id = outcome.alias
                found = membership(client, PROJECT, f"{sequence}:w{index}")
                assert found is not None and found["artifact"]["id"] == artifact_id
    settings = Settings(data_dir=server.data_dir)
    assert check(Store(settings.database_path), BlobStore(settings.blob_dir)) == []
