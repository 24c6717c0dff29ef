"""What an official `wandb` client reads of one project's artifacts, as one JSON document on stdout.

Run by the python of a virtual environment holding `wandb` (tests/compat/conftest.py); it imports
only the standard library and wandb. `test_mirror_compat.py` runs it against a mirror's source and
its target and compares the two documents. Arguments: a JSON file with `base_url`, `api_key`,
`project` (`entity/project`) and `workdir` (where versions are downloaded).
"""

from __future__ import annotations

import hashlib
import json
import sys
import traceback
from pathlib import Path
from typing import Any

import wandb

CONFIG: dict[str, Any] = json.loads(Path(sys.argv[1]).read_text())
PROJECT: str = CONFIG["project"]
WORK = Path(CONFIG["workdir"])


def attempt(read: Any) -> Any:
    """The value, or the error's type and message (a read that fails on one side must fail on both)."""
    try:
        return read()
    except Exception as exc:
        return {"error": type(exc).__name__, "message": str(exc)[:200]}


def run_view(run: Any) -> Any:
    if run is None:
        return None
    return {"id": run.id, "name": run.name, "job_type": run.job_type, "group": run.group, "notes": run.notes}


def version_view(api: Any, version: Any) -> dict[str, Any]:
    manifest = version.manifest
    root = WORK / f"{version.source_name.replace(':', '-')}-{len(list(WORK.glob('*')))}"
    on_disk: dict[str, str] = {}
    has_references = any(entry.ref for entry in manifest.entries.values())
    downloaded = None if has_references else attempt(lambda: version.download(root=str(root)))
    if isinstance(downloaded, str):
        for path in sorted(Path(downloaded).rglob("*")):
            if path.is_file():
                on_disk[path.relative_to(downloaded).as_posix()] = hashlib.md5(path.read_bytes()).hexdigest()
    return {
        "name": version.name,
        "source_name": version.source_name,
        "is_link": getattr(version, "is_link", None),
        "digest": version.digest,
        "aliases": sorted(version.aliases),
        "tags": sorted(version.tags),
        "metadata": version.metadata,
        "description": version.description,
        "ttl": attempt(lambda: str(version.ttl)),
        "size": version.size,
        "files": {
            path: {"digest": entry.digest, "size": entry.size, "ref": entry.ref}
            for path, entry in sorted(manifest.entries.items())
        },
        "downloaded": on_disk,
        "logged_by": attempt(lambda: run_view(version.logged_by())),
        "used_by": attempt(lambda: sorted((run_view(r) for r in version.used_by()), key=lambda r: r["id"])),
    }


def main() -> None:
    api = wandb.Api(api_key=CONFIG["api_key"], overrides={"base_url": CONFIG["base_url"]}, timeout=30)
    collections: dict[str, Any] = {}
    for artifact_type in api.artifact_types(PROJECT):
        for collection in artifact_type.collections():
            versions = sorted(collection.artifacts(), key=lambda v: int(v.version[1:]))
            collections[collection.name] = {
                "type": artifact_type.name,
                "description": collection.description,
                "tags": sorted(collection.tags),
                "is_sequence": collection.is_sequence(),
                "versions": [version_view(api, v) for v in versions],
            }
    runs = {run.id: run_view(run) for run in api.runs(PROJECT)}
    print(json.dumps({"wandb": wandb.__version__, "collections": collections, "runs": runs}, sort_keys=True))


if __name__ == "__main__":
    try:
        main()
    except Exception:
        traceback.print_exc()
        sys.exit(1)
