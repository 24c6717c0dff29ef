"""Reading 4 KiB from the middle of a 256 MiB artifact file: `wandb://` against download-then-open.

    .venv/bin/python bench/fs_read.py [--size-mib 256] [--wandb-python PATH]

Routes, each in a fresh child process with an empty cache, against one emulator (`artifactkit
serve` in a child process); the emulator counts every request and every byte it sends:

* artifactkit `wandb://`: `fsspec.open(url)`, seek to the middle, read 4 KiB;
* artifactkit download-then-open: `Artifact.download()`, then open the file and read;
* wandb `get_entry(path).download()` then open (the official client, 0.31.0);
* wandb `artifact.download()` then open.

Counts, not times: the point is what each route asks of the server. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from artifactkit import Api  # noqa: E402
from artifactkit.server.embedded import EmulatorProcess  # noqa: E402

NAME = "local/bench-fs/big-file"
PATH = "data/big.bin"
READ = 4096

ARTIFACTKIT_FS = """
import fsspec, hashlib, json, sys
base, key, cache, name, path, offset = sys.argv[1:7]
with fsspec.open(f"wandb://{name}/{path}", base_url=base, api_key=key, cache_dir=cache) as f:
    f.seek(int(offset))
    data = f.read(4096)
print(json.dumps({"md5": hashlib.md5(data).hexdigest()}))
"""

ARTIFACTKIT_DOWNLOAD = """
import hashlib, json, sys
from artifactkit import Api
base, key, cache, name, path, offset, root = sys.argv[1:8]
with Api(api_key=key, base_url=base, cache_dir=cache) as api:
    folder = api.artifact(name).download(root, progress=False)
with open(f"{folder}/{path}", "rb") as f:
    f.seek(int(offset))
    data = f.read(4096)
print(json.dumps({"md5": hashlib.md5(data).hexdigest()}))
"""

WANDB = """
import hashlib, json, os, sys
import wandb
base, key, name, path, offset, root, mode = sys.argv[1:8]
api = wandb.Api(api_key=key, overrides={"base_url": base})
artifact = api.artifact(name)
if mode == "entry":
    local = artifact.get_entry(path).download(root)
else:
    local = os.path.join(artifact.download(root), path)
with open(local, "rb") as f:
    f.seek(int(offset))
    data = f.read(4096)
print(json.dumps({"md5": hashlib.md5(data).hexdigest()}))
"""


def wandb_env(emu: EmulatorProcess, home: Path) -> dict[str, str]:
    for sub in ("cache", "config", "data", "tmp"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": str(home / "tmp"),
        "WANDB_BASE_URL": emu.url,
        "WANDB_API_KEY": emu.api_key,
        "WANDB_SILENT": "true",
        "WANDB_CACHE_DIR": str(home / "cache"),
        "WANDB_CONFIG_DIR": str(home / "config"),
        "WANDB_DATA_DIR": str(home / "data"),
        "WANDB_DIR": str(home),
    }


def default_wandb_python() -> Path:
    compat = ROOT / ".cache" / "compat" / f"wandb-0.31.0-py{sys.version_info.major}.{sys.version_info.minor}"
    if (compat / "bin" / "python").exists():
        return compat / "bin" / "python"
    from bench.envs import wandb_python

    return wandb_python("0.31.0")


def measure(emu: EmulatorProcess, command: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    auth = ("api", emu.api_key)
    httpx.delete(f"{emu.url}/_emulator/stats", auth=auth, timeout=30)
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed:\n{done.stderr[-3000:]}")
    stats = httpx.get(f"{emu.url}/_emulator/stats", auth=auth, timeout=30).json()
    return {"result": json.loads(done.stdout.strip().splitlines()[-1]), "stats": stats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--wandb-python", type=Path, default=None)
    args = parser.parse_args()
    size = args.size_mib << 20
    offset = size // 2
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with EmulatorProcess(work / "server") as emu:
            big = work / "big.bin"
            with big.open("wb") as f:
                for _ in range(size >> 23):
                    f.write(os.urandom(8 << 20))
            with big.open("rb") as f:
                f.seek(offset)
                expected = hashlib.md5(f.read(READ)).hexdigest()
            with Api(api_key=emu.api_key, base_url=emu.url, cache_dir=work / "seed-cache") as api:
                api.upload({PATH: big}, NAME, "dataset")
            routes = {
                "artifactkit `wandb://` (open, seek, read)": measure(
                    emu,
                    [
                        sys.executable,
                        "-c",
                        ARTIFACTKIT_FS,
                        emu.url,
                        emu.api_key,
                        str(work / "c1"),
                        f"{NAME}:v0",
                        PATH,
                        str(offset),
                    ],
                ),
                "artifactkit `Artifact.download()` then open": measure(
                    emu,
                    [
                        sys.executable,
                        "-c",
                        ARTIFACTKIT_DOWNLOAD,
                        emu.url,
                        emu.api_key,
                        str(work / "c2"),
                        f"{NAME}:v0",
                        PATH,
                        str(offset),
                        str(work / "out-ak"),
                    ],
                ),
            }
            python = args.wandb_python or default_wandb_python()
            for mode, title in (
                ("entry", "wandb `get_entry(path).download()` then open"),
                ("all", "wandb `artifact.download()` then open"),
            ):
                home = work / f"home-{mode}"
                routes[title] = measure(
                    emu,
                    [
                        str(python),
                        "-c",
                        WANDB,
                        emu.url,
                        emu.api_key,
                        f"{NAME}:v0",
                        PATH,
                        str(offset),
                        str(work / f"out-{mode}"),
                        mode,
                    ],
                    env=wandb_env(emu, home),
                )
    print(
        f"Reading {READ} bytes at offset {offset} of a {args.size_mib} MiB file (cold cache, one fresh process each):\n"
    )
    print("| route | requests | GraphQL operations | bytes sent by the server | bytes read correct |")
    print("|---|---|---|---|---|")
    for title, outcome in routes.items():
        stats = outcome["stats"]
        requests = sum(stats["requests"].values())
        operations = ", ".join(f"{k} {v}" for k, v in sorted(stats["operations"].items()))
        sent = sum(stats["bytes_out"].values())
        ok = outcome["result"]["md5"] == expected
        print(
            f"| {title} | {requests} ({', '.join(f'{k} {v}' for k, v in sorted(stats['requests'].items()))}) "
            f"| {operations} | {sent:,} | {'yes' if ok else 'NO'} |"
        )


if __name__ == "__main__":
    main()
