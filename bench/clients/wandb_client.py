"""Benchmark scenarios, done with the official wandb client (run with a venv holding wandb).

Same scenarios and arguments as artifactkit_client.py; configuration from WANDB_BASE_URL and
WANDB_API_KEY, as wandb users have it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from common import argument, report


def _api() -> Any:
    import wandb

    return wandb.Api(api_key=os.environ["WANDB_API_KEY"], overrides={"base_url": os.environ["WANDB_BASE_URL"]})


def time_to_first_result() -> dict[str, Any]:
    start = time.perf_counter()
    import wandb  # noqa: F401

    imported = time.perf_counter()
    names = [t.name for t in _api().artifact_types(argument(2))]
    return {"import_seconds": imported - start, "seconds": time.perf_counter() - start, "items": len(names)}


def import_only() -> dict[str, Any]:
    start = time.perf_counter()
    import wandb  # noqa: F401

    return {"seconds": time.perf_counter() - start}


def list_versions() -> dict[str, Any]:
    versions = _api().artifacts(argument(2), argument(3), per_page=int(argument(4)))
    return {"items": sum(1 for _ in versions)}


def list_files() -> dict[str, Any]:
    artifact = _api().artifact(argument(2))
    return {"items": sum(1 for _ in artifact.files(per_page=int(argument(3, "1000"))))}


def download() -> dict[str, Any]:
    artifact = _api().artifact(argument(2))
    root = Path(artifact.download(argument(3)))
    return {"items": sum(1 for p in root.rglob("*") if p.is_file())}


def download_verify() -> dict[str, Any]:
    """Download, then `verify()` every file against the manifest."""
    artifact = _api().artifact(argument(2))
    root = Path(artifact.download(argument(3)))
    artifact.verify(str(root))
    return {"items": sum(1 for p in root.rglob("*") if p.is_file()), "verified": True}


def download_many() -> dict[str, Any]:
    """`download-many NAMES_FILE ROOT`: `api.artifact(name).download(ROOT/NAME)` for each name, as users loop."""
    names = Path(argument(2)).read_text().split()
    api = _api()
    root = Path(argument(3))
    for name in names:
        api.artifact(name).download(str(root / name.rsplit("/", 1)[-1]))
    return {"items": len(names)}


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
