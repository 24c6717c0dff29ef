"""Start-up: artifactkit against wandb 0.31.0, each installed alone in a fresh virtual environment.

    .venv/bin/python bench/startup.py                 # 20 repetitions per scenario (BENCHMARKS.md)
    .venv/bin/python bench/startup.py --repeat 5 --importtime

A CI job or a mirror calls a client many times, and each call pays the interpreter, the imports
and whatever the client asks the server before it can answer. Both clients are installed as a user
installs them, with their runtime dependencies only (artifactkit from a wheel built from this
checkout, wandb==0.31.0 from the package index), in fresh virtual environments; one emulator serves
both in the same run. Each measurement is a fresh process; the clients alternate run by run.

Scenarios (time from before `import` to the result, measured inside the child; the wall time of
the whole process beside it):

* import + `Api()`;
* import + `Api()` + `api.artifact("e/p/n:v0")`, the server's answer about itself already cached
  by an earlier process (as for the second and later calls of a job);
* the same with an empty cache directory (the first call on a machine).

The CPU time of the whole child process (user + system, interpreter start included) is reported
beside the times: on a machine shared with other work it moves far less than the wall clock.
Requests are counted by the emulator per run. `--importtime` adds the heaviest imports of one
`python -X importtime` run of each client. Results: bench/results/startup-*.json, and Markdown
printed at the end (what BENCHMARKS.md shows under "Start-up").
"""

from __future__ import annotations

import argparse
import json
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
from bench.envs import client_env  # noqa: E402

WANDB_VERSION = "0.31.0"
ENTITY, PROJECT, NAME = "bench", "startup", "tiny"

# Each child prints one JSON line: seconds from before the import to each point.
AK_SCRIPT = """
import time, json, sys
start = time.perf_counter()
import artifactkit
api = artifactkit.Api()
constructed = time.perf_counter()
if sys.argv[1] == "first-call":
    assert api.artifact(sys.argv[2]).version == "v0"
done = time.perf_counter()
print(json.dumps({"api": constructed - start, "seconds": done - start, "cpu": time.process_time()}))
"""

WANDB_SCRIPT = """
import time, json, sys
start = time.perf_counter()
import wandb
api = wandb.Api()
constructed = time.perf_counter()
if sys.argv[1] == "first-call":
    assert api.artifact(sys.argv[2]).version == "v0"
done = time.perf_counter()
print(json.dumps({"api": constructed - start, "seconds": done - start, "cpu": time.process_time()}))
"""


def pip_install(python: Path, *requirements: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", *requirements],
        check=True,
        stderr=subprocess.DEVNULL,
    )


def fresh_venvs(work: Path) -> dict[str, Path]:
    """A venv with the wheel of this checkout (runtime dependencies only) and one with wandb alone."""
    dist = work / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(ROOT)],
        check=True,
        stderr=subprocess.DEVNULL,
    )
    wheel = next(dist.glob("artifactkit-*.whl"))
    pythons = {}
    for client, requirement in (("artifactkit", str(wheel)), ("wandb", f"wandb=={WANDB_VERSION}")):
        env = work / f"venv-{client}"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
        pip_install(env / "bin" / "python", requirement)
        pythons[client] = env / "bin" / "python"
    return pythons


class Bench:
    def __init__(self, emulator: EmulatorProcess, pythons: dict[str, Path], work: Path) -> None:
        self.emulator = emulator
        self.pythons = pythons
        self.work = work
        self.auth = ("api", emulator.api_key)
        self.scripts = {"artifactkit": AK_SCRIPT, "wandb": WANDB_SCRIPT}

    def env(self, home: Path, cache: Path) -> dict[str, str]:
        return client_env(self.emulator.url, self.emulator.api_key, home, cache)

    def operations(self) -> dict[str, int]:
        response = httpx.get(f"{self.emulator.url}/_emulator/stats", auth=self.auth, timeout=30)
        response.raise_for_status()
        counts: dict[str, int] = response.json()["operations"]
        return counts

    def run_once(self, client: str, mode: str, cache: Path, extra: tuple[str, ...] = ()) -> dict[str, Any]:
        home = cache.parent / "home"
        home.mkdir(exist_ok=True)
        before = self.operations()
        started = time.perf_counter()
        proc = subprocess.run(
            [str(self.pythons[client]), *extra, "-c", self.scripts[client], mode, f"{ENTITY}/{PROJECT}/{NAME}:v0"],
            env=self.env(home, cache),
            capture_output=True,
            text=True,
            timeout=120,
        )
        wall = time.perf_counter() - started
        after = self.operations()
        requests = {op: n - before.get(op, 0) for op, n in after.items() if n != before.get(op, 0)}
        if proc.returncode != 0:
            return {"client": client, "ok": False, "error": proc.stderr[-2000:], "requests": requests}
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        return {"client": client, "ok": True, "wall": wall, "requests": requests, "stderr": proc.stderr, **result}

    def scenario(self, key: str, mode: str, repeat: int, *, shared_cache: bool) -> dict[str, Any]:
        runs: list[dict[str, Any]] = []
        caches = {c: Path(tempfile.mkdtemp(dir=self.work, prefix=f"{key}-{c}-")) / "cache" for c in self.pythons}
        if shared_cache:  # one untimed run fills each client's cache, as an earlier call of a job would
            for client, cache in caches.items():
                self.run_once(client, mode, cache)
        for rep in range(repeat):
            order = list(self.pythons) if rep % 2 == 0 else list(reversed(self.pythons))
            for client in order:
                cache = caches[client]
                if not shared_cache:
                    cache = Path(tempfile.mkdtemp(dir=self.work, prefix=f"{key}-{client}-")) / "cache"
                runs.append(self.run_once(client, mode, cache))
        return {"key": key, "mode": mode, "shared_cache": shared_cache, "runs": runs}

    def importtime(self, client: str) -> list[tuple[int, str]]:
        """The ten heaviest imports (cumulative microseconds) of one `python -X importtime` run."""
        cache = Path(tempfile.mkdtemp(dir=self.work, prefix=f"importtime-{client}-")) / "cache"
        run = self.run_once(client, "api", cache, ("-X", "importtime"))
        rows = []
        for line in run.get("stderr", "").splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[1].strip().isdigit():
                name = parts[2].rstrip()
                if len(name) - len(name.lstrip()) <= 1:  # top-level imports only
                    rows.append((int(parts[1]), name.strip()))
        return sorted(rows, reverse=True)[:10]


TITLES = {
    "api": "import + `Api()`",
    "first-call": "import + `Api()` + `api.artifact(...)`, server answer cached by an earlier process",
    "first-call-cold": "import + `Api()` + `api.artifact(...)`, empty cache directory",
}


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| scenario | artifactkit | wandb | ratio | process wall ak / wandb | requests (artifactkit) "
        "| requests (wandb) | process CPU ak / wandb (ratio) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for scenario in results["scenarios"]:
        cells: dict[str, Any] = {}
        for client in ("artifactkit", "wandb"):
            ok = [r for r in scenario["runs"] if r["client"] == client and r["ok"]]
            failed = sum(1 for r in scenario["runs"] if r["client"] == client and not r["ok"])
            if not ok:
                cells[client] = None
                continue
            seconds = sorted(r["seconds"] for r in ok)
            requests: dict[str, int] = {}
            for op in sorted({op for r in ok for op in r["requests"]}):
                requests[op] = round(statistics.median(r["requests"].get(op, 0) for r in ok))
            cells[client] = {
                "median": statistics.median(seconds),
                "spread": (seconds[0], seconds[-1]),
                "wall": statistics.median(r["wall"] for r in ok),
                "cpu": statistics.median(r.get("cpu", 0.0) for r in ok),
                "failed": failed,
                "requests": requests,
            }
        ak, wb = cells["artifactkit"], cells["wandb"]

        def show(cell: dict[str, Any] | None) -> str:
            if cell is None:
                return "failed"
            text = f"{_ms(cell['median'])} ({_ms(cell['spread'][0])}-{_ms(cell['spread'][1])})"
            return text + (f", {cell['failed']} failed" if cell["failed"] else "")

        def reqs(cell: dict[str, Any] | None) -> str:
            if cell is None:
                return "—"
            total = sum(cell["requests"].values())
            detail = ", ".join(f"{op} {n}" for op, n in cell["requests"].items() if n)
            return f"{total} ({detail})" if detail else "0"

        ratio = f"{ak['median'] / wb['median']:.2f}" if ak and wb else "—"
        walls = f"{_ms(ak['wall'])} / {_ms(wb['wall'])}" if ak and wb else "—"
        cpu = f"{_ms(ak['cpu'])} / {_ms(wb['cpu'])} ({ak['cpu'] / wb['cpu']:.2f})" if ak and wb and wb["cpu"] else "—"
        lines.append(
            f"| {TITLES[scenario['key']]} | {show(ak)} | {show(wb)} | {ratio} | {walls} | {reqs(ak)} | {reqs(wb)} "
            f"| {cpu} |"
        )
    if results.get("importtime"):
        lines += ["", "Heaviest top-level imports of import + `Api()` (`python -X importtime`, one run):", ""]
        for client, rows in results["importtime"].items():
            lines.append(f"* {client}: " + ", ".join(f"{name} {us / 1000:.0f} ms" for us, name in rows[:6]))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--importtime", action="store_true", help="add one `python -X importtime` run per client")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        work = Path(tmp)
        print("building the wheel and two fresh venvs ...", flush=True)
        pythons = fresh_venvs(work)
        with EmulatorProcess(work / "emulator") as emulator:
            data = work / "data"
            data.mkdir()
            (data / "hello.txt").write_text("hello\n")
            with Api(api_key=emulator.api_key, base_url=emulator.url, cache_dir=work / "seed-cache") as api:
                api.upload(data, f"{ENTITY}/{PROJECT}/{NAME}", "dataset")
            bench = Bench(emulator, pythons, work)
            scenarios = [
                bench.scenario("api", "api", args.repeat, shared_cache=True),
                bench.scenario("first-call", "first-call", args.repeat, shared_cache=True),
                bench.scenario("first-call-cold", "first-call", args.repeat, shared_cache=False),
            ]
            importtime = {c: bench.importtime(c) for c in pythons} if args.importtime else {}
    for scenario in scenarios:
        for run in scenario["runs"]:
            run.pop("stderr", None)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    results = {
        "command": " ".join(["python", "bench/startup.py", *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "commit": commit,
        "clean_tree": not dirty,
        "repeat": args.repeat,
        "scenarios": scenarios,
        "importtime": importtime,
    }
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    path = out / f"startup-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"results: {path}\n")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
