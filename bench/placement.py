"""What files of the user's own cost: downloads before and after, beside wandb, on one emulator.

    .venv/bin/python bench/placement.py --baseline bb8b893 --repeat 3

The download scenarios of bench/run.py (2,000 files of 4 KiB and one 256 MiB file, each cold into
an empty cache, then a cached re-download into a new root), run in one go by:

- `artifactkit <baseline>`: artifactkit as of the baseline commit (its `src/`, taken with
  `git archive`), which placed files as hardlinks into the cache;
- `artifactkit`: this tree, default placement (a reflink where the filesystem has them, else a copy);
- `artifactkit hardlink`: this tree with `placement="hardlink"`;
- `wandb`: the official client, 0.31.0.

Every run is a fresh process against the same emulator, started after a `sync` (no dirty pages of
the previous run pending); the order of the clients rotates from one repetition to the next.
Then the copy itself, in this process, on the filesystem of the temp directory (where the runs
keep their cache and roots): each way of placing 2,000 files of 4 KiB (temp file + rename, as
downloads place them) and one 256 MiB file. Results go to bench/results/placement-*.json; the
Markdown printed at the end is what BENCHMARKS.md shows.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from artifactkit import Api  # noqa: E402
from artifactkit.server.embedded import EmulatorProcess  # noqa: E402
from bench import seed as seeding  # noqa: E402
from bench.envs import CACHE  # noqa: E402
from bench.run import Harness, Run, Scenario, machine, median, source_state  # noqa: E402

FICLONE = 0x40049409


def baseline_tree(rev: str, scratch: Path) -> tuple[Path, str]:
    """`src/` (and the `schema/` its symlinks point into) of commit `rev`, and the commit's hash."""
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    tree = scratch / f"artifactkit-{commit[:8]}"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", commit, "src", "schema"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree / "src", commit


def run_downloads(h: Harness, clients: dict[str, list[str]], artifact: str, key: str, title: str) -> list[Scenario]:
    """Cold then cached download of `artifact` by each client (extra arguments per client), rotating the order."""
    cold, warm = Scenario(f"{key}-cold", title), Scenario(f"{key}-cached", f"{title}, cached re-download")
    names = list(clients)
    for rep in range(h.repeat):
        order = names[rep % len(names) :] + names[: rep % len(names)]
        for client in order:
            with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
                home = Path(tmp)
                cache = home / "cache"
                extra = clients[client]
                os.sync()  # each run starts without another run's dirty pages or freed blocks pending
                cold.runs.append(h.measure(client, ["download", artifact, str(home / "a"), *extra], home, cache))
                os.sync()
                warm.runs.append(h.measure(client, ["download", artifact, str(home / "b"), *extra], home, cache))
    for scenario in (cold, warm):
        parts = []
        for client in names:
            times = [r.seconds for r in scenario.by_client(client) if r.seconds is not None]
            parts.append(f"{client} {median(times):.3f}s" if times else f"{client} FAILED")
        print(f"{scenario.title}: " + ", ".join(parts), flush=True)
    return [cold, warm]


# ----------------------------------------------------------------------------- the copy itself


def _new(path: str) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)


def _empty(src: str, dst: str) -> None:
    os.close(_new(dst))


def _kernel_copy(src: str, dst: str, step: Callable[[int, int, int, int], int]) -> None:
    """Copy `src` into a new `dst` by `step(src_fd, dst_fd, offset, count)`, which has the kernel copy
    up to `count` bytes and says how many it did."""
    fi, fo = os.open(src, os.O_RDONLY | os.O_CLOEXEC), _new(dst)
    try:
        size, done = os.fstat(fi).st_size, 0
        while done < size:
            n = step(fi, fo, done, size - done)
            if n == 0:
                break
            done += n
    finally:
        os.close(fi)
        os.close(fo)


def _copy_file_range(src: str, dst: str) -> None:
    _kernel_copy(src, dst, lambda fi, fo, _offset, count: os.copy_file_range(fi, fo, count))


def _sendfile(src: str, dst: str) -> None:
    _kernel_copy(src, dst, lambda fi, fo, offset, count: os.sendfile(fo, fi, offset, count))


def _read_write(src: str, dst: str) -> None:
    fi, fo = os.open(src, os.O_RDONLY | os.O_CLOEXEC), _new(dst)
    try:
        while chunk := os.read(fi, 1 << 20):
            view = memoryview(chunk)
            while view:
                view = view[os.write(fo, view) :]
    finally:
        os.close(fi)
        os.close(fo)


def _reflink(src: str, dst: str) -> None:
    import fcntl

    fi, fo = os.open(src, os.O_RDONLY | os.O_CLOEXEC), _new(dst)
    try:
        fcntl.ioctl(fo, FICLONE, fi)
    finally:
        os.close(fi)
        os.close(fo)


def reflinks_work(directory: Path) -> bool:
    a, b = directory / "probe-a", directory / "probe-b"
    a.write_bytes(b"x" * 4096)
    try:
        _reflink(str(a), str(b))
        return True
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EINVAL, errno.ENOTTY, errno.EPERM):
            raise
        return False
    finally:
        a.unlink()
        b.unlink(missing_ok=True)


def copy_methods(repeat: int, small: int, small_bytes: int, big_bytes: int) -> dict[str, Any]:
    """Seconds per way of placing `small` files of `small_bytes` and one of `big_bytes` (medians of `repeat`)."""
    methods: dict[str, Callable[[str, str], object]] = {
        "an empty new file (no bytes: what creating a file costs)": _empty,
        "hardlink": os.link,
        "copy_file_range": _copy_file_range,
        "sendfile": _sendfile,
        "read/write (1 MiB)": _read_write,
        "shutil.copyfile": shutil.copyfile,
    }
    with tempfile.TemporaryDirectory(prefix="bench-copy-") as tmp:
        work = Path(tmp)
        can_clone = reflinks_work(work)
        if can_clone:
            methods = {"reflink (FICLONE)": _reflink, **methods}
        sources = work / "src"
        sources.mkdir()
        names = [str(sources / f"{i:04d}") for i in range(small)]
        for name in names:
            Path(name).write_bytes(os.urandom(small_bytes))
        big = work / "big"
        with big.open("wb") as out:
            for _ in range(big_bytes >> 20):
                out.write(os.urandom(1 << 20))
        timings: dict[str, dict[str, list[float]]] = {m: {"small": [], "big": []} for m in methods}
        order = list(methods)
        for rep in range(repeat):
            for method in order[rep % len(order) :] + order[: rep % len(order)]:  # who goes first rotates
                place = methods[method]
                os.sync()  # what the previous method wrote or freed is not this one's to pay for
                out_dir = work / f"out-{rep}-{len(timings[method]['small'])}-{secrets.token_hex(3)}"
                out_dir.mkdir()
                start = time.perf_counter()
                for index, name in enumerate(names):
                    tmp_name = f"{out_dir}/.{index}.{secrets.token_hex(6)}.tmp"
                    place(name, tmp_name)
                    os.replace(tmp_name, f"{out_dir}/{index}")
                timings[method]["small"].append(time.perf_counter() - start)
                target = str(out_dir / "big")
                start = time.perf_counter()
                place(str(big), target)
                timings[method]["big"].append(time.perf_counter() - start)
                shutil.rmtree(out_dir)
    return {
        "reflinks": can_clone,
        "small_files": small,
        "small_file_bytes": small_bytes,
        "big_file_bytes": big_bytes,
        "seconds": {m: {k: statistics.median(v) for k, v in t.items()} for m, t in timings.items()},
        "runs": timings,
    }


# ----------------------------------------------------------------------------- the report


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "failed"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _cell(runs: list[Any]) -> tuple[str, float | None]:
    times = [r.seconds for r in runs if r.seconds is not None]
    if not times:
        return "failed", None
    med = statistics.median(times)
    failed = len(runs) - len(times)
    spread = f" ({_fmt(min(times))}-{_fmt(max(times))})" if len(times) > 1 else ""
    return _fmt(med) + spread + (f", {failed} failed" if failed else ""), med


def markdown(results: dict[str, Any], scenarios: list[Scenario]) -> str:
    clients: list[str] = results["clients"]
    lines = [
        "## Placement: files of the user's own, before and after",
        "",
        f"`{results['command']}`, {results['date']}, this tree at `{results['commit']}`"
        + ("" if results["clean_tree"] else " (**uncommitted changes**)")
        + f", baseline `{results['baseline_commit'][:8]}`; {results['repeat']} runs of each, medians (min-max);"
        " each run a fresh process against one emulator, the order of the clients rotating. "
        "Reflinks on the filesystem of the runs' caches and roots: "
        f"**{'yes' if results['copy']['reflinks'] else 'no'}**. "
        f"Load average (1 min) {results['load_average']['before']:.1f} before, "
        f"{results['load_average']['after']:.1f} after ({results['machine']['cores']} cores).",
        "",
        "| scenario | " + " | ".join(clients) + " | this / baseline | this / wandb |",
        "|---|" + "---|" * (len(clients) + 2),
    ]
    base, this, wandb = clients[0], clients[1], clients[-1]
    for scenario in scenarios:
        cells: list[str] = []
        meds: dict[str, float | None] = {}
        for client in clients:
            text, med = _cell(scenario.by_client(client))
            placed = next((r.detail.get("placed") for r in scenario.by_client(client) if r.detail.get("placed")), None)
            cells.append(text + (f" `{placed}`" if placed else ""))
            meds[client] = med
        ratios = []
        for other in (base, wandb):
            mine, theirs = meds[this], meds[other]
            ratios.append(f"{mine / theirs:.2f}" if mine is not None and theirs else "-")
        lines.append(f"| {scenario.title} | " + " | ".join(cells) + f" | {ratios[0]} | {ratios[1]} |")
    lines += [
        "",
        "CPU the client process used (user + system, with what it waited for; medians), which a busy machine "
        "inflates less than the time:",
        "",
        "| scenario | " + " | ".join(clients) + " |",
        "|---|" + "---|" * len(clients),
    ]
    for scenario in scenarios:
        row = []
        for client in clients:
            cpu = [
                r.detail["client_cpu_seconds"] for r in scenario.by_client(client) if "client_cpu_seconds" in r.detail
            ]
            row.append(_fmt(statistics.median(cpu)) if cpu else "-")
        lines.append(f"| {scenario.title} | " + " | ".join(row) + " |")
    copy = results["copy"]
    lines += [
        "",
        f"The copy itself (in one process, on the same filesystem; {copy['small_files']:,} files of "
        f"{copy['small_file_bytes'] // 1024} KiB each through a temp file and a rename, as a download places them; "
        f"one {copy['big_file_bytes'] >> 20} MiB file; medians of {results['repeat']}):",
        "",
        "| way | small files | per file | big file |",
        "|---|---|---|---|",
    ]
    for method, timing in copy["seconds"].items():
        per = timing["small"] / copy["small_files"] * 1e6
        lines.append(f"| {method} | {_fmt(timing['small'])} | {per:.0f} µs | {_fmt(timing['big'])} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="main", help="the commit to compare with (default: main)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the harness")
    parser.add_argument("--data-dir", type=Path, help="the emulator's data (default: .cache/bench/emulator)")
    parser.add_argument("--markdown", type=Path, metavar="RESULTS", help="only print the Markdown of a results file")
    args = parser.parse_args()
    if args.markdown:
        results = json.loads(args.markdown.read_text())
        scenarios = [Scenario(s["key"], s["title"], [Run(**r) for r in s["runs"]]) for s in results["scenarios"]]
        print(markdown(results, scenarios))
        return 0
    sizes = seeding.Sizes.quick() if args.quick else seeding.Sizes()
    data_dir = args.data_dir or CACHE / ("emulator-quick" if args.quick else "emulator")
    scratch = Path(tempfile.mkdtemp(prefix="bench-placement-"))
    load_before = os.getloadavg()
    try:
        base_src, base_commit = baseline_tree(args.baseline, scratch)
        base_name = f"artifactkit {base_commit[:8]}"
        clients = {base_name: [], "artifactkit": [], "artifactkit hardlink": ["hardlink"], "wandb": []}
        with EmulatorProcess(data_dir) as emulator:
            with Api(api_key=emulator.api_key, base_url=emulator.url) as api:
                seeding.seed(api, data_dir, sizes, downloads_only=True)
            h = Harness(emulator, args.repeat)
            h.client_env[base_name] = {"PYTHONPATH": str(base_src)}
            small = seeding.name("small-files") + ":latest"
            big = seeding.name("big-file") + ":latest"
            scenarios = run_downloads(
                h, clients, small, "download-small", f"download {sizes.many_small_files:,} files of 4 KiB"
            )
            scenarios += run_downloads(
                h, clients, big, "download-big", f"download one {sizes.big_file_bytes >> 20} MiB file"
            )
        for scenario in scenarios:  # the baseline really was the baseline's code
            for run in scenario.by_client(base_name):
                assert not run.ok or str(run.detail.get("module", "")).startswith(str(base_src)), run.detail
        copy = copy_methods(args.repeat, sizes.many_small_files, sizes.small_file_bytes, sizes.big_file_bytes)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results = {
        "command": " ".join(["python", "bench/placement.py", *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        **source_state(),
        "baseline": args.baseline,
        "baseline_commit": base_commit,
        "machine": machine(),
        "load_average": {"before": load_before[0], "after": os.getloadavg()[0]},
        "sizes": asdict(sizes),
        "repeat": args.repeat,
        "clients": list(clients),
        "scenarios": [{"key": s.key, "title": s.title, "runs": [asdict(r) for r in s.runs]} for s in scenarios],
        "copy": copy,
    }
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    path = out / f"{'quick-' if args.quick else ''}placement-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"results: {path}\n")
    print(markdown(results, scenarios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
