"""Demo data and the demo job that `make demo` runs.

`seed_demo` fills a project through the SDK's own upload path (the same calls a user makes), so
it is idempotent: identical content maps to the existing versions. `python -m artifactkit.demo`
starts an emulator, seeds it, and walks through the API.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .api import Api

DEMO_ENTITY = "local"
DEMO_PROJECT = "demo"
DEMO_TEAM = "demo-team"  # a team of the emulator's home organization: what a registry links from
DEMO_REGISTRY_PATH = "wandb-registry-model/digit-classifier"


def _write_dataset(root: Path, rows: int, seed: int) -> None:
    rng = random.Random(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    with (root / "labels.csv").open("w") as f:
        f.write("image,label\n")
        for i in range(rows):
            f.write(f"images/{i:04d}.bin,{rng.randrange(10)}\n")
    for i in range(rows):
        (root / "images" / f"{i:04d}.bin").write_bytes(rng.randbytes(2048))
    (root / "README.md").write_text(f"Synthetic digits, {rows} samples, seed {seed}.\n")


def seed_demo(base_url: str, api_key: str) -> None:
    """Create the demo project and a team's model promoted into the organization's model registry."""
    from .api import Api

    with Api(api_key=api_key, base_url=base_url) as api, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        name = f"{DEMO_ENTITY}/{DEMO_PROJECT}"
        if not api.artifact_exists(f"{name}/production-classifier:prod"):  # else seeded by an earlier run
            _seed_project(api, work, name)
        _seed_registry(api, _write_model(work))


def _write_model(work: Path) -> Path:
    weights = work / "model"
    weights.mkdir(exist_ok=True)
    (weights / "weights.bin").write_bytes(random.Random(7).randbytes(64 * 1024))
    (weights / "config.json").write_text('{"layers": 3, "hidden": 128}\n')
    return weights


def _seed_project(api: Api, work: Path, name: str) -> None:
    """Two dataset versions, a model logged by a run that used one, a portfolio link, notes."""
    for version, rows in enumerate((16, 24)):
        data = work / f"digits-{version}"
        _write_dataset(data, rows, seed=version)
        api.upload(
            data,
            f"{name}/digits",
            "dataset",
            tags=["synthetic"],
            description="Synthetic digit images",
            metadata={"rows": rows},
        )
    dataset = api.artifact(f"{name}/digits:v1")
    if "best" not in dataset.aliases:
        dataset.aliases.append("best")
        dataset.save()
    api.use_artifact(dataset, f"{name}/train-1")
    model = api.upload(_write_model(work), f"{name}/classifier", "model", run="train-1", metadata={"accuracy": 0.93})
    model.link(f"{name}/production-classifier", aliases=["prod"])
    for kind in ("evaluation", "dataset"):  # types need not have versions yet to be listed
        api.upload({"notes.txt": _note(work, kind)}, f"{name}/{kind}-notes", kind)


def _seed_registry(api: Api, weights: Path) -> None:
    """A team logs the model and promotes it into the organization's model registry."""
    if api.artifact_exists(f"{DEMO_REGISTRY_PATH}:production"):
        return
    team_model = api.upload(
        weights, f"{DEMO_TEAM}/{DEMO_PROJECT}/classifier", "model", run="train-1", metadata={"accuracy": 0.93}
    )
    team_model.link(DEMO_REGISTRY_PATH, aliases=["production"])


def _note(work: Path, kind: str) -> Path:
    path = work / f"{kind}-notes.txt"
    path.write_text(f"Notes about the {kind} artifacts of the demo project.\n")
    return path


def run_demo(base_url: str, api_key: str, download_root: Path) -> None:
    """The demo job: what a pipeline does with the SDK, printed as it goes."""
    from .api import Api

    project = f"{DEMO_ENTITY}/{DEMO_PROJECT}"
    with Api(api_key=api_key, base_url=base_url) as api:
        print(f"Artifact types of {project}:")
        for artifact_type in api.artifact_types(project):
            collections = artifact_type.collections()
            names = ", ".join(c.name for c in collections)
            print(f"  {artifact_type.name:<12} {len(collections)} collection(s): {names}")
        versions = api.artifacts("dataset", f"{project}/digits")
        print(f"\nVersions of {project}/digits ({len(versions)}):")
        for version in versions:
            print(f"  {version.name:<10} aliases={version.aliases} files={version.file_count} size={version.size}")
        best = api.artifact(f"{project}/digits:best")
        root = best.download(download_root / best.name.replace(":", "-"), progress=False)  # a str, as in wandb
        best.verify(root)
        print(f"\nDownloaded {best.qualified_name} to {root} and verified {best.file_count} files.")
        model = api.artifact(f"{project}/production-classifier:prod")
        run = model.logged_by()
        print(
            f"{model.qualified_name} is a link to {model.source_qualified_name}, "
            f"logged by run {run.id if run else None}"
        )
        if run is not None:
            used = [a.qualified_name for a in run.used_artifacts()]
            print(f"run {run.id} used: {', '.join(used)}")
        change = api.artifact(f"{project}/digits:v0").diff(best)
        print(
            f"\ndigits:v0 -> {best.name}: {len(change.added)} file(s) added, {len(change.changed)} changed, "
            f"{change.size_delta:+d} bytes; metadata: {', '.join(str(c) for c in change.metadata) or 'same'}"
        )
        production = api.artifact(f"{DEMO_REGISTRY_PATH}:production")
        print(
            f"{DEMO_REGISTRY_PATH}:production is {production.qualified_name}, "
            f"linked from {production.source_qualified_name}"
        )
        # A training job's inputs, in one go: one lookup request for all three names.
        inputs = [f"{project}/digits:best", f"{project}/dataset-notes:latest", f"{DEMO_REGISTRY_PATH}:production"]
        fetched = api.download_many(inputs, download_root / "inputs")
        names = ", ".join(str(item.root.name) for item in fetched if item.root)
        print(f"\nFetched {len(fetched)} versions at once: {names}")
    # The same job on a node with no network: names resolve from what this cache saw, nothing is sent.
    with Api(base_url=base_url, offline=True) as offline:
        cached = offline.artifact(f"{project}/digits:best")
        root = cached.download(download_root / "offline" / cached.name.replace(":", "-"), progress=False)
        cached.verify(root)
        print(f"Offline, {project}/digits:best is {cached.version}, downloaded from the cache and verified.")


def main(argv: list[str] | None = None) -> int:
    from .server.accounts import first_key
    from .server.app import Emulator
    from .server.main import RunningServer
    from .server.settings import Settings

    parser = argparse.ArgumentParser(description="Start an emulator with demo data and run the demo job.")
    parser.add_argument("--data-dir", type=Path, default=Path(".artifactkit-demo"))
    args = parser.parse_args(argv)
    emulator = Emulator(Settings(data_dir=args.data_dir / "server"))
    key = first_key(emulator.store, DEMO_ENTITY).key
    server = RunningServer(emulator, "127.0.0.1", 0)
    url = server.start()
    print(f"Emulator running at {url} (data in {args.data_dir})\n")
    try:
        seed_demo(url, key)
        run_demo(url, key, args.data_dir / "downloads")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
