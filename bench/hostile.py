"""Key-less large bodies against a shared emulator: what everyone else's requests and the server's memory do.

    .venv/bin/python bench/hostile.py [--clients 24] [--rounds 100,200,400,800] [--body-mib 7.5]

Issue 17, finding 6, measured: `clients` threads (in a process of their own) send key-less GraphQL
bodies of `body-mib` MiB as fast as the server answers them (half with a Content-Length, half
chunked, which the server cannot refuse before reading), while a thread of this process times an
authenticated query (a page of projects) and `GET /health` in turn. The emulator is `artifactkit
serve` in a child process; its resident memory (VmRSS) is read after each round's total of
hostile requests, so the table shows where it settles. A quiet phase first gives the same two
latencies without the hostile clients.

Prints a Markdown section for BENCHMARKS.md and writes bench/results/hostile-*.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from artifactkit.server.embedded import EmulatorProcess  # noqa: E402

QUERY = {"query": 'query { viewer { username } models(entityName: "local", first: 20) { edges { node { name } } } }'}


def rss_mib(pid: int) -> float:
    """The process's resident set, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Prober(threading.Thread):
    """Times an authenticated query and /health, alternately, until stopped."""

    def __init__(self, url: str, key: str) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(base_url=url, auth=("api", key), timeout=120)
        self.stop = threading.Event()
        self.query_ms: list[float] = []
        self.health_ms: list[float] = []
        self.failures = 0

    def run(self) -> None:
        with self.client:
            while not self.stop.is_set():
                for path, sink in (("/graphql", self.query_ms), ("/health", self.health_ms)):
                    started = time.perf_counter()
                    try:
                        graphql = path == "/graphql"
                        response = self.client.post(path, json=QUERY) if graphql else self.client.get(path)
                        ok = response.status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    if ok:
                        sink.append((time.perf_counter() - started) * 1000)
                    else:
                        self.failures += 1
                time.sleep(0.01)


class Hostile(threading.Thread):
    """Sends key-less bodies until `budget` (shared) runs out; counts the answers by status."""

    def __init__(self, url: str, body: bytes, chunked: bool, budget: list[int], lock: threading.Lock) -> None:
        super().__init__(daemon=True)
        self.url, self.body, self.chunked = url, body, chunked
        self.budget, self.lock = budget, lock
        self.statuses: dict[str, int] = {}

    def _chunks(self) -> Iterator[bytes]:
        for start in range(0, len(self.body), 1 << 20):
            yield self.body[start : start + (1 << 20)]

    def run(self) -> None:
        with httpx.Client(timeout=120) as client:
            while True:
                with self.lock:
                    if self.budget[0] <= 0:
                        return
                    self.budget[0] -= 1
                content: bytes | Iterator[bytes] = self._chunks() if self.chunked else self.body
                try:
                    status = str(client.post(f"{self.url}/graphql", content=content).status_code)
                except httpx.HTTPError as exc:  # the server closed the connection on the body
                    status = type(exc).__name__
                self.statuses[status] = self.statuses.get(status, 0) + 1


def send_hostile(url: str, body: bytes, clients: int, requests: int, results: Queue[dict[str, int]]) -> None:
    """The hostile clients, as threads of a process of their own (so that the prober's timings are
    not its wait for this process's GIL)."""
    budget, lock = [requests], threading.Lock()
    hostile = [Hostile(url, body, i % 2 == 1, budget, lock) for i in range(clients)]
    for thread in hostile:
        thread.start()
    statuses: dict[str, int] = {}
    for thread in hostile:
        thread.join()
        for status, count in thread.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    results.put(statuses)


def phase(url: str, key: str, clients: int, requests: int, body: bytes) -> dict[str, Any]:
    prober = Prober(url, key)
    prober.start()
    started = time.perf_counter()
    statuses: dict[str, int] = {}
    if clients:
        results: Queue[dict[str, int]] = multiprocessing.Queue()
        sender = multiprocessing.Process(target=send_hostile, args=(url, body, clients, requests, results))
        sender.start()
        statuses = results.get()
        sender.join()
    else:
        time.sleep(5)
    seconds = time.perf_counter() - started
    prober.stop.set()
    prober.join()
    return {
        "hostile_requests": requests,
        "seconds": round(seconds, 2),
        "statuses": statuses,
        "query_p50_ms": round(statistics.median(prober.query_ms), 1),
        "query_p99_ms": round(percentile(prober.query_ms, 0.99), 1),
        "health_p50_ms": round(statistics.median(prober.health_ms), 1),
        "health_max_ms": round(max(prober.health_ms), 1),
        "probes": len(prober.query_ms) + len(prober.health_ms),
        "probe_failures": prober.failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--rounds", default="100,200,400,800", help="hostile requests per round")
    parser.add_argument("--body-mib", type=float, default=7.5)
    args = parser.parse_args()
    body = b'{"query": "' + b"x" * int(args.body_mib * (1 << 20)) + b'"}'
    rounds = [int(n) for n in args.rounds.split(",")]

    with tempfile.TemporaryDirectory() as work, EmulatorProcess(Path(work) / "data") as emu:
        pid = emu.process.pid if emu.process is not None else 0
        result: dict[str, Any] = {"rss_start_mib": round(rss_mib(pid), 1)}
        result["quiet"] = phase(emu.url, emu.api_key, 0, 0, body)
        result["quiet"]["rss_mib"] = round(rss_mib(pid), 1)
        result["rounds"] = []
        total = 0
        for requests in rounds:
            row = phase(emu.url, emu.api_key, args.clients, requests, body)
            total += requests
            row["total_hostile"] = total
            row["rss_mib"] = round(rss_mib(pid), 1)
            result["rounds"].append(row)
            print(f"  {total:>5} key-less bodies: {row}", file=sys.stderr)

    result["command"] = "python bench/hostile.py " + " ".join(sys.argv[1:])
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    out = HERE / "results" / f"hostile-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")

    quiet = result["quiet"]
    print(f"\n### Key-less {args.body_mib} MiB bodies from {args.clients} clients (issue 17, finding 6)\n")
    print("| phase | key-less bodies (total) | answers | keyed query p50 / p99 | /health p50 / max | emulator RSS |")
    print("|---|---|---|---|---|---|")
    print(
        f"| quiet | 0 | - | {quiet['query_p50_ms']} / {quiet['query_p99_ms']} ms | "
        f"{quiet['health_p50_ms']} / {quiet['health_max_ms']} ms | {result['rss_start_mib']} → {quiet['rss_mib']} MiB |"
    )
    for row in result["rounds"]:
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(row["statuses"].items()))
        print(
            f"| hostile | {row['total_hostile']} | {answers} | {row['query_p50_ms']} / {row['query_p99_ms']} ms | "
            f"{row['health_p50_ms']} / {row['health_max_ms']} ms | {row['rss_mib']} MiB |"
        )
    print(f"\n`{result['command']}`; raw: `{out.relative_to(ROOT)}`")


if __name__ == "__main__":
    main()
