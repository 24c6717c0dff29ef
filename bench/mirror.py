"""Copying a version to another server: `mirror` against a plain download plus upload of the same bytes.

    .venv/bin/python bench/mirror.py [--repeat 3] [--quick] [--no-wandb]

One source emulator (`artifactkit serve`, a child process) holds the workloads; every run copies
one of them into a brand-new target emulator (so the target lacks every byte), in a fresh child
process with an empty cache. Routes:

* artifactkit `Api.mirror()` (what `artifactkit mirror` does): each file's GET body is its PUT body;
* artifactkit `download()` to disk, then `upload_files()` from there (the same library, no mirror);
* wandb 0.31.0 `artifact.download()`, then `wandb.init()` + `log_artifact()` (the copy by hand that
  W&B users are told to do).

Routes alternate run by run. Times are the child's own (from its first import to its last
byte), medians with min-max; throughput is the artifact's bytes over that time. The target
emulator counts what arrives. Prints a Markdown section for BENCHMARKS.md and writes
bench/results/mirror-*.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from artifactkit import Api  # noqa: E402
from artifactkit.server.embedded import EmulatorProcess  # noqa: E402
from bench.envs import client_env, wandb_python  # noqa: E402

ROUTES = {
    "mirror": "artifactkit mirror (GET streamed into PUT)",
    "get-put": "artifactkit download, then upload",
    "wandb": "wandb 0.31.0 download, then log_artifact",
}


def seed(source: EmulatorProcess, work: Path, quick: bool) -> dict[str, tuple[str, int]]:
    """The workloads: `name -> (artifact, bytes)`."""
    big = (16 if quick else 256) << 20
    small = 200 if quick else 2000
    rng = random.Random(21)
    with Api(api_key=source.api_key, base_url=source.url, cache_dir=work / "seed-cache") as api:
        one = work / "big"
        one.mkdir()
        with (one / "big.bin").open("wb") as handle:
            for _ in range(big >> 20):
                handle.write(rng.randbytes(1 << 20))
        api.upload(one, "local/travel/big-file", "dataset")
        many = work / "small"
        many.mkdir()
        for i in range(small):
            (many / f"{i:04d}.bin").write_bytes(rng.randbytes(4096))
        api.upload(many, "local/travel/small-files", "dataset")
    return {
        f"one file of {big >> 20} MiB": ("local/travel/big-file:v0", big),
        f"{small:,} files of 4 KiB": ("local/travel/small-files:v0", small * 4096),
    }


def run_route(route: str, artifact: str, source: EmulatorProcess, work: Path, python: Path) -> dict[str, Any]:
    """One copy into a new target; the child's JSON plus what the target received."""
    with EmulatorProcess(work / "target") as target:
        env = {
            **client_env(target.url, target.api_key, work / "home", work / "cache"),
            "WANDB_DIR": str(work / "home"),
            "SOURCE_URL": source.url,
            "SOURCE_KEY": source.api_key,
            "PYTHONPATH": str(HERE / "clients"),
        }
        (work / "home").mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        done = subprocess.run(
            [str(python), str(HERE / "clients" / "copy_routes.py"), route, artifact, str(work)],
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        wall = time.perf_counter() - started
        stats = httpx.get(f"{target.url}/_emulator/stats", auth=("api", target.api_key), timeout=30).json()
    if done.returncode != 0:
        return {"ok": False, "error": done.stderr[-2000:], "wall_seconds": wall}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result.update(ok=True, wall_seconds=wall, target_bytes_in=stats["bytes_in"].get("upload", 0))
    result["target_requests"] = sum(stats["requests"].values())
    return result


def describe(seconds: list[float]) -> str:
    return f"{statistics.median(seconds):.2f} s ({min(seconds):.2f}-{max(seconds):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small workloads (16 MiB, 200 files)")
    parser.add_argument("--no-wandb", action="store_true", help="leave out the wandb route")
    args = parser.parse_args()
    pythons = {"mirror": Path(sys.executable), "get-put": Path(sys.executable)}
    if not args.no_wandb:
        pythons["wandb"] = wandb_python("0.31.0")
    scratch = Path(tempfile.mkdtemp(prefix="bench-mirror-"))
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    with EmulatorProcess(scratch / "source") as source:
        workloads = seed(source, scratch, args.quick)
        for title, (artifact, size) in workloads.items():
            results[title] = {route: [] for route in pythons}
            for repeat in range(args.repeat):
                order = list(pythons) if repeat % 2 == 0 else list(reversed(pythons))
                for route in order:
                    work = Path(tempfile.mkdtemp(prefix=f"{route}-", dir=scratch))
                    outcome = run_route(route, artifact, source, work, pythons[route])
                    outcome["bytes"] = size
                    results[title][route].append(outcome)
                    print(
                        f"{title} / {route}: {outcome.get('seconds', outcome['wall_seconds']):.2f} s", file=sys.stderr
                    )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / f"mirror-{stamp}.json").write_text(
        json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(), "results": results}, indent=1)
    )
    print(table(results))


def table(results: dict[str, dict[str, list[dict[str, Any]]]]) -> str:
    lines = [
        "| workload | route | time | throughput | download + upload phases | sent to the target "
        "| time / artifactkit download+upload |",
        "|---|---|---|---|---|---|---|",
    ]
    for title, routes in results.items():
        plain = [r["seconds"] for r in routes.get("get-put", []) if r["ok"]]
        for route, runs in routes.items():
            ok = [r for r in runs if r["ok"]]
            if not ok:
                lines.append(f"| {title} | {ROUTES[route]} | failed: {runs[0].get('error', '')[-120:]!r} | | | | |")
                continue
            seconds = [r["seconds"] for r in ok]
            size = ok[0]["bytes"]
            throughput = size / statistics.median(seconds) / (1 << 20)
            phases = "—"
            if "download_seconds" in ok[0]:
                down = statistics.median(r["download_seconds"] for r in ok)
                up = statistics.median(r["upload_seconds"] for r in ok)
                phases = f"{down:.2f} s + {up:.2f} s"
            sent = statistics.median(r["target_bytes_in"] for r in ok) / (1 << 20)
            ratio = f"{statistics.median(seconds) / statistics.median(plain):.2f}" if plain else "—"
            lines.append(
                f"| {title} | {ROUTES[route]} | {describe(seconds)} | {throughput:.0f} MiB/s | {phases} "
                f"| {sent:.1f} MiB | {ratio} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
