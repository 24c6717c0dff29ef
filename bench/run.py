"""Benchmarks: artifactkit against the official wandb client, on one emulator, in one run.

    .venv/bin/python bench/run.py             # full sizes (what BENCHMARKS.md reports)
    .venv/bin/python bench/run.py --quick     # small sizes, to check the harness

Every measurement runs in a fresh child process (so imports and caches are honest), clients
alternate run by run, each scenario is repeated, and every run is recorded, including failed
ones. Requests and bytes are counted by the emulator. Results go to bench/results/*.json and
BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from artifactkit import Api  # noqa: E402
from artifactkit.server.embedded import EmulatorProcess  # noqa: E402
from bench import seed as seeding  # noqa: E402
from bench.envs import CACHE, artifactkit_python, client_env, wandb_python  # noqa: E402

WANDB_VERSION = "0.31.0"
WANDB_FILE_WORKERS = 32  # wandb 0.31.0: _FILE_EXECUTOR_WORKERS in wandb/sdk/artifacts/artifact.py
VERSION_SCENARIOS = {"list-versions", "load"}
DOWNLOAD_SCENARIOS = {"download", "download-small", "download-big"}


@dataclass
class Run:
    client: str
    seconds: float | None
    peak_rss_mib: float | None
    requests: dict[str, int]
    bytes_out: int
    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scenario:
    key: str
    title: str
    runs: list[Run] = field(default_factory=list)

    def by_client(self, client: str) -> list[Run]:
        return [r for r in self.runs if r.client == client]


class Harness:
    def __init__(self, emulator: EmulatorProcess, repeat: int) -> None:
        self.emulator = emulator
        self.repeat = repeat
        self.pythons = {"artifactkit": artifactkit_python(), "wandb": wandb_python(WANDB_VERSION)}
        self.scripts = {
            "artifactkit": HERE / "clients" / "artifactkit_client.py",
            "wandb": HERE / "clients" / "wandb_client.py",
            "raw": HERE / "clients" / "raw_client.py",
            "replay": HERE / "clients" / "replay_client.py",
        }
        self.scratch = Path(tempfile.mkdtemp(prefix="bench-harness-"))
        self.scenarios: list[Scenario] = []
        self.auth = ("api", emulator.api_key)
        self.timeout = 1800.0
        self.client_env: dict[str, dict[str, str]] = {}  # extra environment of a client (bench/placement.py)

    def stats(self) -> dict[str, Any]:
        response = httpx.get(f"{self.emulator.url}/_emulator/stats", auth=self.auth, timeout=30)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def env(self, home: Path, cache: Path) -> dict[str, str]:
        return client_env(self.emulator.url, self.emulator.api_key, home, cache)

    def faults(self, **plan: Any) -> dict[str, Any]:
        """Change the emulator's fault plan (no arguments: just read it and what was injected)."""
        url = f"{self.emulator.url}/_emulator/faults"
        response = httpx.put(url, json=plan, auth=self.auth, timeout=30) if plan else httpx.get(url, auth=self.auth)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def measure(self, client: str, args: list[str], home: Path, cache: Path) -> Run:
        """Run one client script once; the emulator's counters give requests, bytes and faults hit."""
        python = self.pythons.get(client, self.pythons["artifactkit"])
        script = self.scripts.get(client, self.scripts["artifactkit"])
        before = self.stats()
        injected_before = sum(self.faults()["injected"].values())
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                [str(python), str(script), *args],
                env={**self.env(home, cache), **self.client_env.get(client, {})},
                capture_output=True,
                text=True,
                timeout=self.timeout,
            )
        except subprocess.TimeoutExpired as exc:
            return Run(client, None, None, {}, 0, False, {"error": f"gave up after {exc.timeout:.0f} s"})
        wall = time.perf_counter() - start
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # The client's own CPU (user + system, with the processes it waited for): what a busy machine inflates least.
        cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
        after = self.stats()
        injected = sum(self.faults()["injected"].values()) - injected_before
        requests = {
            op: after["operations"].get(op, 0) - before["operations"].get(op, 0)
            for op in after["operations"]
            if after["operations"].get(op, 0) != before["operations"].get(op, 0)
        }
        for kind in ("blob", "fallback_blob"):
            delta = after["requests"].get(kind, 0) - before["requests"].get(kind, 0)
            if delta:
                requests[f"GET {kind}"] = delta
        bytes_out = sum(after["bytes_out"].values()) - sum(before["bytes_out"].values())
        detail: dict[str, Any] = {"wall_seconds": wall, "faults_injected": injected, "client_cpu_seconds": cpu}
        if proc.returncode != 0:
            detail["error"] = (proc.stderr or proc.stdout).strip()[-2000:]
            return Run(client, None, None, requests, bytes_out, False, detail)
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        return Run(
            client, result.pop("seconds"), result.pop("peak_rss_mib"), requests, bytes_out, True, {**result, **detail}
        )

    def compare(
        self,
        key: str,
        title: str,
        args: list[str],
        *,
        clients: tuple[str, ...] = ("artifactkit", "wandb"),
        prepare: Callable[[str, Path], list[str]] | None = None,
    ) -> Scenario:
        """Alternate the clients `repeat` times; `prepare` may adjust arguments per run."""
        scenario = Scenario(key, title)
        for rep in range(self.repeat):
            for client in clients if rep % 2 == 0 else tuple(reversed(clients)):  # who goes first alternates
                with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
                    home = Path(tmp)
                    run_args = prepare(client, home) if prepare else args
                    scenario.runs.append(self.measure(client, run_args, home, home / "cache"))
        self.scenarios.append(scenario)
        print(summary_line(scenario), flush=True)
        return scenario

    def cached_download(self, key: str, title: str, artifact: str) -> tuple[Scenario, Scenario]:
        """Cold download into an empty cache, then a re-download from that cache into a new root."""
        cold, warm = Scenario(f"{key}-cold", title), Scenario(f"{key}-cached", f"{title}, cached re-download")
        for rep in range(self.repeat):
            for client in ("artifactkit", "wandb") if rep % 2 == 0 else ("wandb", "artifactkit"):
                with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
                    home = Path(tmp)
                    cache = home / "cache"
                    cold.runs.append(self.measure(client, ["download", artifact, str(home / "a")], home, cache))
                    warm.runs.append(self.measure(client, ["download", artifact, str(home / "b")], home, cache))
        self.scenarios += [cold, warm]
        print(summary_line(cold), flush=True)
        print(summary_line(warm), flush=True)
        return cold, warm

    def record_listing(self, type_name: str, collection: str, per_page: int) -> Path:
        """The GraphQL request bodies one artifactkit listing sends, in order (for the bare replay)."""
        bodies: list[bytes] = []

        def keep(request: httpx.Request) -> None:
            if request.url.path.endswith("/graphql"):
                bodies.append(request.read())

        with Api(api_key=self.emulator.api_key, base_url=self.emulator.url) as api:
            api.client.transport.client.event_hooks["request"].append(keep)
            count = sum(1 for _ in api.artifacts(type_name, collection, per_page=per_page))
        path = self.scratch / f"listing-{per_page}.jsonl"
        path.write_bytes(b"\n".join(bodies) + b"\n")
        print(f"recorded {len(bodies)} requests listing {count} versions (per_page={per_page})", flush=True)
        return path

    def raw_reference(self, key: str, title: str, artifact: str, threads: int, *, write: bool = False) -> Scenario:
        """The same bytes with a bare httpx loop over the signed URLs (fetched once, outside the timing).

        `write=True`: the loop writes each body to its own new file (no hashing, no rename), the floor
        for storing the files; without it the bodies are only counted.
        """
        scenario = Scenario(key, title)
        with Api(api_key=self.emulator.api_key, base_url=self.emulator.url) as api:
            version = api.artifact(artifact)
            from artifactkit.transfer.urls import FileUrls

            urls = FileUrls(version._file_urls, version.qualified_name)
            names = list(version.manifest.entries)
            urls.prefetch(names)
            listing = "\n".join(urls.url(n) for n in names)
        for _ in range(self.repeat):
            with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
                home = Path(tmp)
                (home / "urls.txt").write_text(listing)
                args = [str(home / "urls.txt"), str(threads)] + ([str(home / "out")] if write else [])
                scenario.runs.append(self.measure("raw", args, home, home / "c"))
        self.scenarios.append(scenario)
        print(summary_line(scenario), flush=True)
        return scenario

    def curl_reference(self, key: str, title: str, artifact: str) -> Scenario | None:
        """curl fetching the file into a new file on the same disk as the clients' downloads."""
        curl = shutil.which("curl")
        if curl is None:
            return None
        scenario = Scenario(key, title)
        with Api(api_key=self.emulator.api_key, base_url=self.emulator.url) as api:
            version = api.artifact(artifact)
            url = next(iter(version.files())).direct_url
        for _ in range(self.repeat):
            with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
                before = self.stats()
                start = time.perf_counter()
                proc = subprocess.run([curl, "-sS", "-o", str(Path(tmp) / "file"), url], capture_output=True, text=True)
                seconds = time.perf_counter() - start
                after = self.stats()
            scenario.runs.append(
                Run(
                    "curl",
                    seconds if proc.returncode == 0 else None,
                    None,
                    {"GET blob": 1},
                    sum(after["bytes_out"].values()) - sum(before["bytes_out"].values()),
                    proc.returncode == 0,
                    {"error": proc.stderr[-500:]} if proc.returncode else {},
                )
            )
        self.scenarios.append(scenario)
        print(summary_line(scenario), flush=True)
        return scenario

    def md5_reference(self, key: str, title: str, artifact: str) -> Scenario | None:
        """`md5sum` of the same bytes, read from a file in the page cache: the floor for verifying them."""
        md5sum = shutil.which("md5sum")
        if md5sum is None:
            return None
        scenario = Scenario(key, title)
        with Api(api_key=self.emulator.api_key, base_url=self.emulator.url) as api:
            version = api.artifact(artifact)
            url = next(iter(version.files())).direct_url
            expected = version.manifest.entries[next(iter(version.manifest.entries))].digest
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            path = Path(tmp) / "file"
            with httpx.stream("GET", url, timeout=120) as response, path.open("wb") as out:
                for chunk in response.iter_bytes(1 << 20):
                    out.write(chunk)
            for _ in range(self.repeat):
                start = time.perf_counter()
                proc = subprocess.run([md5sum, str(path)], capture_output=True, text=True)
                seconds = time.perf_counter() - start
                hex_digest = proc.stdout.split()[0] if proc.returncode == 0 else ""
                ok = proc.returncode == 0 and base64.b64encode(bytes.fromhex(hex_digest)).decode() == expected
                scenario.runs.append(Run("md5sum", seconds if ok else None, None, {}, 0, ok, {}))
        self.scenarios.append(scenario)
        print(summary_line(scenario), flush=True)
        return scenario

    def load(self, key: str, title: str, collection: str, clients: int, seconds: float) -> Scenario:
        """`clients` processes asking for pages of 50 versions as fast as they can."""
        scenario = Scenario(key, title)
        script = HERE / "clients" / "load_client.py"
        pid = self.emulator.process.pid if self.emulator.process is not None else None
        cpu_before = process_cpu_seconds(pid)
        procs = [
            subprocess.Popen(
                [
                    str(self.pythons["artifactkit"]),
                    str(script),
                    self.emulator.url,
                    self.emulator.api_key,
                    seeding.ENTITY,
                    seeding.PROJECT,
                    collection,
                    str(seconds),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(clients)
        ]
        latencies: list[float] = []
        errors = 0
        for proc in procs:
            out, _ = proc.communicate(timeout=seconds + 120)
            data = json.loads(out.strip().splitlines()[-1])
            latencies += data["latencies"]
            errors += data["errors"]
        cpu_after = process_cpu_seconds(pid)
        latencies.sort()
        total = len(latencies)
        cpu = None if cpu_before is None or cpu_after is None or not total else cpu_after - cpu_before
        detail = {
            "clients": clients,
            "duration_seconds": seconds,
            "requests": total,
            "errors": errors,
            "requests_per_second": total / seconds,
            "p50_ms": 1000 * latencies[total // 2] if total else None,
            "p99_ms": 1000 * latencies[min(total - 1, int(total * 0.99))] if total else None,
            # The emulator's own CPU per answered request: what the machine's other load cannot inflate.
            "emulator_cpu_ms_per_request": None if cpu is None else 1000 * cpu / total,
        }
        scenario.runs.append(Run("emulator", None, None, {}, 0, errors == 0, detail))
        self.scenarios.append(scenario)
        print(f"{title}: {detail}", flush=True)
        return scenario


def process_cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU a process has used so far (Linux /proc; None elsewhere)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summary_line(scenario: Scenario) -> str:
    parts = []
    for client in sorted({r.client for r in scenario.runs}):
        times = [r.seconds for r in scenario.by_client(client) if r.seconds is not None]
        med = median(times)
        parts.append(f"{client} {med:.3f}s" if med is not None else f"{client} FAILED")
    return f"{scenario.title}: " + ", ".join(parts)


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import artifactkit

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "artifactkit": artifactkit.__version__,
        "wandb": WANDB_VERSION,
        "httpx": httpx.__version__,
    }


def source_state() -> dict[str, Any]:
    """The commit measured and whether the work tree had changes (then the numbers are not that commit's)."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    commit = git("rev-parse", "HEAD")
    changes = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit or None, "clean_tree": bool(commit) and not changes}


def parallelism() -> dict[str, Any]:
    """How many transfers each client runs at once for a download, by default, on this machine."""
    from artifactkit.transfer.fetch import ranged_parts_help
    from artifactkit.transfer.limits import default_workers

    ranged = "ranged parts" if ranged_parts_help("http://127.0.0.1/") else "one stream per file"
    return {
        "artifactkit": f"{default_workers()} files at once (default max_workers), {ranged} on this local server",
        "wandb": f"{WANDB_FILE_WORKERS} files at once, one stream per file (multipart only from 2 GiB)",
        "raw": "as its row says",
        "curl": "one stream",
        "artifactkit_files": default_workers(),
        "wandb_files": WANDB_FILE_WORKERS,
    }


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    sizes = seeding.Sizes.quick() if args.quick else seeding.Sizes()
    data_dir = args.data_dir or CACHE / ("emulator-quick" if args.quick else "emulator")
    only = set(args.only.split(",")) if args.only else None
    with EmulatorProcess(data_dir) as emulator:
        with Api(api_key=emulator.api_key, base_url=emulator.url) as api:
            started = time.perf_counter()
            # The version listings and the load need only the versions; skip the big uploads then.
            seeding.seed(
                api,
                data_dir,
                sizes,
                versions_only=only is not None and only <= VERSION_SCENARIOS,
                downloads_only=only is not None and only <= DOWNLOAD_SCENARIOS,
            )
            print(f"seeded in {time.perf_counter() - started:.1f}s", flush=True)
        h = Harness(emulator, args.repeat)
        if args.artifactkit_src:  # another checkout's artifactkit in the client (a before/after in one sitting)
            h.client_env["artifactkit"] = {"PYTHONPATH": str(args.artifactkit_src.resolve())}

        def wanted(key: str) -> bool:
            return only is None or key in only

        project = f"{seeding.ENTITY}/{seeding.PROJECT}"
        if wanted("import"):
            # Importing alone measures a lazy stub; the first API call includes what it defers.
            h.compare(
                "first-result",
                "import + first API call (construct the Api, list the artifact types)",
                ["first-result", project],
            )
        if wanted("list-versions"):
            for per_page in (50, 1000):
                listing = ["list-versions", "dataset", seeding.name("many-versions"), str(per_page)]
                recorded = h.record_listing("dataset", seeding.name("many-versions"), per_page)
                h.compare(
                    f"list-versions-{per_page}",
                    f"iterate {sizes.versions:,} versions, per_page={per_page}",
                    listing,
                    clients=("artifactkit", "wandb", "replay"),
                    prepare=lambda client, home, listing=listing, recorded=recorded: (
                        [str(recorded)] if client == "replay" else listing
                    ),
                )
        if wanted("list-files"):
            for count in (sizes.files_small, sizes.files_large):
                h.compare(
                    f"list-files-{count}",
                    f"iterate the {count:,} files of one artifact (per_page=1000)",
                    ["list-files", seeding.name(f"files-{count}") + ":latest", "1000"],
                )
        if wanted("download") or wanted("download-small"):
            small = seeding.name("small-files") + ":latest"
            h.cached_download("download-small", f"download {sizes.many_small_files:,} files of 4 KiB", small)
            h.raw_reference(
                "raw-small", f"raw httpx loop, same {sizes.many_small_files:,} files (16 threads)", small, 16
            )
            h.raw_reference(
                "raw-small-write",
                f"raw httpx loop writing each of the {sizes.many_small_files:,} files to disk (16 threads)",
                small,
                16,
                write=True,
            )
        if wanted("download") or wanted("download-big"):
            big = seeding.name("big-file") + ":latest"
            mib = sizes.big_file_bytes >> 20
            h.cached_download("download-big", f"download one {mib} MiB file", big)
            h.raw_reference("raw-big", f"raw httpx, same {mib} MiB file (1 stream)", big, 1)
            h.curl_reference("curl-big", f"curl, same {mib} MiB file into a file (1 stream)", big)
            h.md5_reference("md5-big", f"md5sum of the same {mib} MiB (in the page cache)", big)
        if wanted("faults"):
            h.timeout = 900.0
            small = seeding.name("small-files") + ":latest"
            # The same two scenarios under two fault mixes: HTTP errors only (429 and 503, which both
            # clients retry), then with dropped connections and cut-off bodies too.
            for tag, label, kinds in (
                ("http", "20% 429/503", ["429", "503"]),
                ("all", "20% 429/503/reset/truncate", ["429", "503", "reset", "truncate"]),
            ):
                h.faults(rate=0.2, seed=2026, kinds=kinds, routes=["graphql", "blob"], retry_after=1)
                try:
                    h.compare(
                        f"faults-{tag}-list",
                        f"{label}: iterate {sizes.versions:,} versions, per_page=50",
                        ["list-versions", "dataset", seeding.name("many-versions"), "50"],
                    )
                    h.compare(
                        f"faults-{tag}-download",
                        f"{label}: download and verify {sizes.many_small_files:,} files of 4 KiB",
                        ["download-verify"],
                        prepare=lambda client, home: ["download-verify", small, str(home / "out")],
                    )
                finally:
                    h.faults(rate=0)
            h.timeout = 1800.0
        if wanted("load"):
            h.load(
                "emulator-load",
                "emulator: a page of 50 versions, 8 concurrent clients",
                "many-versions",
                8,
                args.load_seconds,
            )
    shutil.rmtree(h.scratch, ignore_errors=True)
    return {
        "command": " ".join(["python", "bench/run.py", *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        **source_state(),
        "parallelism": parallelism(),
        "machine": machine(),
        "sizes": asdict(sizes),
        "repeat": args.repeat,
        "artifactkit_src": str(args.artifactkit_src) if args.artifactkit_src else None,
        "scenarios": [{"key": s.key, "title": s.title, "runs": [asdict(r) for r in s.runs]} for s in h.scenarios],
    }


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """`base` with the scenarios of `update` replacing (or joining) those with the same key."""
    keys = {s["key"] for s in update["scenarios"]}
    scenarios = [s for s in base["scenarios"] if s["key"] not in keys] + update["scenarios"]
    return {
        **base,
        "scenarios": scenarios,
        "partial_runs": [
            *base.get("partial_runs", []),
            {"command": update["command"], "date": update["date"], "commit": update.get("commit")},
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the harness")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--only",
        help="comma-separated: import,list-versions,list-files,download (or download-small,download-big),faults,load",
    )
    parser.add_argument("--load-seconds", type=float, default=20.0)
    parser.add_argument("--data-dir", type=Path, help="the emulator's data (default: .cache/bench/emulator)")
    parser.add_argument("--no-report", action="store_true", help="do not rewrite BENCHMARKS.md")
    parser.add_argument(
        "--artifactkit-src",
        type=Path,
        help="the artifactkit client imports this src/ instead (`git archive main src`, unpacked): a before run",
    )
    args = parser.parse_args()
    results = run_all(args)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = out / f"{'quick-' if args.quick else ''}{stamp}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"results: {path}")
    if not args.no_report and not args.quick:
        from bench.report import write_report

        if args.only:  # a partial run replaces its scenarios in the latest full report
            previous = sorted(p for p in out.glob("2*.json") if p != path)
            if previous:
                results = merge(json.loads(previous[-1].read_text()), results)
                path.write_text(json.dumps(results, indent=2))
        write_report(results, ROOT / "BENCHMARKS.md")
        print("BENCHMARKS.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
