"""Copying one version from a source server to a target server, three ways (bench/mirror.py).

    python copy_routes.py mirror  NAME WORK   # artifactkit: Api.mirror (the GET streams into the PUT)
    python copy_routes.py get-put NAME WORK   # artifactkit: download() to WORK, then upload() from it
    python copy_routes.py wandb   NAME WORK   # wandb: artifact.download(), then a run's log_artifact()

The source is SOURCE_URL/SOURCE_KEY; the target WANDB_BASE_URL/WANDB_API_KEY (what wandb.init
reads). Prints one JSON line: the seconds of each phase and in all.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from common import argument, report


def mirror() -> dict[str, Any]:
    from artifactkit import Api

    with (
        Api(api_key=os.environ["SOURCE_KEY"], base_url=os.environ["SOURCE_URL"]) as source,
        Api(api_key=os.environ["WANDB_API_KEY"], base_url=os.environ["WANDB_BASE_URL"]) as target,
    ):
        report_ = source.mirror(argument(2), target, verify=False)
    return {"sent_bytes": report_.sent_bytes, "versions": len(report_.versions)}


def get_put() -> dict[str, Any]:
    from artifactkit import Api

    root = Path(argument(3)) / "files"
    start = time.perf_counter()
    with Api(api_key=os.environ["SOURCE_KEY"], base_url=os.environ["SOURCE_URL"]) as source:
        artifact = source.artifact(argument(2))
        artifact.download(root)
        name, type_name = artifact.source_qualified_name.rsplit(":", 1)[0], artifact.type
    downloaded = time.perf_counter()
    with Api(api_key=os.environ["WANDB_API_KEY"], base_url=os.environ["WANDB_BASE_URL"]) as target:
        _, stats = target.upload_files(root, name, type_name)
    return {
        "download_seconds": downloaded - start,
        "upload_seconds": time.perf_counter() - downloaded,
        "sent_bytes": stats.uploaded_bytes,
    }


def wandb_route() -> dict[str, Any]:
    import wandb

    root = Path(argument(3)) / "files"
    start = time.perf_counter()
    source = wandb.Api(api_key=os.environ["SOURCE_KEY"], overrides={"base_url": os.environ["SOURCE_URL"]})
    artifact = source.artifact(argument(2))
    artifact.download(root=str(root))
    downloaded = time.perf_counter()
    entity, project, _ = argument(2).split("/")
    settings = wandb.Settings(silent=True, console="off", x_disable_stats=True, save_code=False)
    with wandb.init(entity=entity, project=project, job_type="copy", settings=settings) as run:
        copy = wandb.Artifact(artifact.name.split(":")[0], type=artifact.type)
        copy.add_dir(str(root))
        run.log_artifact(copy)
        copy.wait()
    return {"download_seconds": downloaded - start, "upload_seconds": time.perf_counter() - downloaded}


if __name__ == "__main__":
    routes = {"mirror": mirror, "get-put": get_put, "wandb": wandb_route}
    report(routes[sys.argv[1]])
