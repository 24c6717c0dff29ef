"""Many small artifacts in one process: `Api.download_many()` against wandb 0.31.0's loop.

    .venv/bin/python bench/many.py [--count 300] [--repeat 3]

One emulator (a child process, data kept under .cache/bench/many-<count>) holds COUNT collections
of one version each, three small files per version. Each run is a fresh child process (bench/run.py's
`Harness`: the emulator counts requests): artifactkit `Api().download_many(names, root)`, wandb
0.31.0 `api.artifact(name).download(root/name)` for each name, as users write it. "cold": an empty
cache; "cached": the same cache again, into a new root. Clients alternate run by run. Prints the
Markdown section for BENCHMARKS.md and writes bench/results/many-*.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from artifactkit import Api  # noqa: E402
from artifactkit.errors import NotFoundError  # noqa: E402
from artifactkit.server.embedded import EmulatorProcess  # noqa: E402
from bench.envs import CACHE  # noqa: E402
from bench.run import Harness, Run  # noqa: E402

PROJECT = "local/many"


def seed(api: Api, work: Path, count: int) -> list[str]:
    """COUNT collections `many-<i>`, one version each (`:latest`), three small files per version."""

    def one(index: int) -> str:
        name = f"{PROJECT}/many-{index:04d}"
        try:
            api.artifact(name)
        except NotFoundError:
            files = {
                "data.csv": f"id,value\n{index},{index * 7}\n".encode(),
                "labels.json": json.dumps({"index": index}).encode(),
                "README.md": f"artifact {index}\n".encode(),
            }
            api.upload(files_on_disk(work / f"src-{index}", files), name, "dataset")
        return f"{name}:latest"

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(count)))


def files_on_disk(directory: Path, files: dict[str, bytes]) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return {name: str(directory / name) for name in files}


def measure(h: Harness, names_file: Path, repeat: int) -> dict[str, dict[str, list[Run]]]:
    runs: dict[str, dict[str, list[Run]]] = {"cold": {}, "cached": {}}
    for rep in range(repeat):
        for client in ("artifactkit", "wandb") if rep % 2 == 0 else ("wandb", "artifactkit"):
            with tempfile.TemporaryDirectory(prefix="bench-many-") as tmp:
                home = Path(tmp)
                cache = home / "cache"
                for phase, root in (("cold", home / "a"), ("cached", home / "b")):
                    run = h.measure(client, ["download-many", str(names_file), str(root)], home, cache)
                    runs[phase].setdefault(client, []).append(run)
                    shown = f"{run.seconds:.2f} s" if run.seconds is not None else f"FAILED {run.detail.get('error')}"
                    print(f"{phase} / {client}: {shown}", file=sys.stderr, flush=True)
    return runs


def describe(seconds: list[float]) -> str:
    return f"{statistics.median(seconds):.2f} s ({min(seconds):.2f}-{max(seconds):.2f})"


def table(runs: dict[str, dict[str, list[Run]]], count: int) -> str:
    lines = [
        "| phase | client | time | requests to the emulator | peak RSS | time / wandb |",
        "|---|---|---|---|---|---|",
    ]
    for phase, clients in runs.items():
        ok = {c: [r for r in rs if r.ok and r.seconds is not None] for c, rs in clients.items()}
        wandb = [r.seconds for r in ok.get("wandb", []) if r.seconds is not None]
        for client, good in ok.items():
            if not good:
                lines.append(f"| {phase} | {client} | failed | | | |")
                continue
            seconds = [r.seconds for r in good if r.seconds is not None]
            requests = good[0].requests
            total = sum(requests.values())
            graphql = {k: v for k, v in requests.items() if not k.startswith("GET ")}
            ops = ", ".join(f"{k} {v}" for k, v in sorted(graphql.items(), key=lambda kv: -kv[1])[:4])
            blobs = requests.get("GET blob", 0)
            ratio = f"{statistics.median(seconds) / statistics.median(wandb):.2f}" if wandb else "—"
            rss = statistics.median(r.peak_rss_mib for r in good if r.peak_rss_mib is not None)
            lines.append(
                f"| {phase} | {client} | {describe(seconds)} | {total:,} ({ops}; {blobs:,} file GETs) "
                f"| {rss:.0f} MiB | {ratio} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data_dir = CACHE / f"many-{args.count}"
    with EmulatorProcess(data_dir) as emulator:
        started = time.perf_counter()
        seed_cache = Path(tempfile.mkdtemp(prefix="bench-many-seed-"))
        with Api(api_key=emulator.api_key, base_url=emulator.url, cache_dir=seed_cache / "cache") as api:
            names = seed(api, seed_cache, args.count)
        shutil.rmtree(seed_cache, ignore_errors=True)
        print(f"seeded {len(names)} artifacts in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        h = Harness(emulator, args.repeat)
        names_file = h.scratch / "names.txt"
        names_file.write_text("\n".join(names) + "\n")
        runs = measure(h, names_file, args.repeat)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (HERE / "results").mkdir(exist_ok=True)
    out = HERE / "results" / f"many-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "count": args.count,
                "repeat": args.repeat,
                "runs": {p: {c: [r.__dict__ for r in rs] for c, rs in cs.items()} for p, cs in runs.items()},
            },
            indent=1,
        )
    )
    print(f"results: {out}", file=sys.stderr)
    print(table(runs, args.count))


if __name__ == "__main__":
    main()
