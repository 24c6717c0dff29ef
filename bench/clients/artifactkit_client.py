"""Benchmark scenarios, done with artifactkit. Usage: python artifactkit_client.py SCENARIO ARGS...

Configuration comes from the environment (WANDB_BASE_URL, WANDB_API_KEY, WANDB_CACHE_DIR), as a
user's pipeline would have it. Each run prints one JSON line (see common.py).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from common import argument, report


def time_to_first_result() -> dict[str, Any]:
    start = time.perf_counter()
    import artifactkit

    imported = time.perf_counter()
    with artifactkit.Api() as api:
        names = [t.name for t in api.artifact_types(argument(2))]
    return {"import_seconds": imported - start, "seconds": time.perf_counter() - start, "items": len(names)}


def import_only() -> dict[str, Any]:
    start = time.perf_counter()
    import artifactkit  # noqa: F401

    return {"seconds": time.perf_counter() - start}


def list_versions() -> dict[str, Any]:
    import artifactkit

    with artifactkit.Api() as api:
        cpu = time.process_time()
        versions = api.artifacts(argument(2), argument(3), per_page=int(argument(4)))
        count = sum(1 for _ in versions)
        cpu = time.process_time() - cpu
        retries = api.client.transport.stats.retries
    # The client's own CPU for the listing (the emulator runs in another process).
    return {"items": count, "retries": retries, "cpu_seconds": cpu, "cpu_us_per_item": 1e6 * cpu / max(count, 1)}


def list_files() -> dict[str, Any]:
    import artifactkit

    with artifactkit.Api() as api:
        artifact = api.artifact(argument(2))
        count = sum(1 for _ in artifact.files(per_page=int(argument(3, "1000"))))
    return {"items": count}


def download() -> dict[str, Any]:
    """`download ARTIFACT ROOT [PLACEMENT]`: without PLACEMENT the default (and any artifactkit version works)."""
    import artifactkit

    options: dict[str, Any] = {"placement": argument(4)} if len(sys.argv) > 4 else {}
    with artifactkit.Api() as api:
        artifact = api.artifact(argument(2))
        started = time.perf_counter()
        result = artifact.download_files(argument(3), progress=False, **options)
        transfer = time.perf_counter() - started  # without the interpreter, the imports and the version's lookup
        count = sum(1 for p in result.root.rglob("*") if p.is_file())
    return {
        "items": count,
        "transfer_seconds": transfer,
        "bytes_fetched": result.bytes_fetched,
        "placed": result.placed,
        "copied_bytes": result.copied_bytes,
        "module": artifactkit.__file__,  # which artifactkit ran (bench/placement.py runs an older one too)
    }


def download_verify() -> dict[str, Any]:
    """Download, then check every file against the manifest (what a careful pipeline does)."""
    import artifactkit

    with artifactkit.Api() as api:
        artifact = api.artifact(argument(2))
        root = Path(artifact.download(argument(3), progress=False))
        artifact.verify(root)
        retries = api.client.transport.stats.retries
    return {"items": sum(1 for p in root.rglob("*") if p.is_file()), "retries": retries, "verified": True}


def download_many() -> dict[str, Any]:
    """`download-many NAMES_FILE ROOT`: every name of the file (one a line) with `Api.download_many()`."""
    import artifactkit

    names = Path(argument(2)).read_text().split()
    with artifactkit.Api() as api:
        outcomes = api.download_many(names, argument(3))
        requests = api.client.transport.stats.requests
    fetched = sum(o.result.bytes_fetched for o in outcomes if o.result is not None)
    return {"items": len(outcomes), "bytes_fetched": fetched, "client_requests": requests}


SCENARIOS = {
    "import": import_only,
    "first-result": time_to_first_result,
    "list-versions": list_versions,
    "list-files": list_files,
    "download": download,
    "download-verify": download_verify,
    "download-many": download_many,
}

if __name__ == "__main__":
    report(SCENARIOS[argument(1)])
