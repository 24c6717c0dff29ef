"""Turn a results JSON from bench/run.py into BENCHMARKS.md (every run is kept in the JSON)."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

INTRO = """# Benchmarks

artifactkit against the official `wandb` client ({wandb}), both talking to the same emulator
instance (`artifactkit serve`, a child process on 127.0.0.1) in one run. Each measurement is a
fresh child process; within each pair of runs the client that goes first alternates; every
scenario ran {repeat} times. Times are medians, with the spread (min-max) beside them; the ratio is
artifactkit / wandb (below 1 means artifactkit is faster). Requests and bytes are counted by the
emulator, per run.

Reproduce with: `{command}` (or `make bench`). Raw results, every run included:
`bench/results/`.

Machine: {cpu}, {cores} cores, Python {python}, {platform}. Recorded {date} from commit
`{commit}` ({clean}).

Parallelism of a download, by default: artifactkit {par_ak}; wandb {par_wandb}.
"""


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 0.01:
        return f"{seconds * 1000:.2f} ms"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _cell(runs: list[dict[str, Any]]) -> tuple[str, float | None]:
    times = [r["seconds"] for r in runs if r["seconds"] is not None]
    failed = sum(1 for r in runs if not r["ok"])
    if not times:
        return (f"failed ({failed}/{len(runs)})" if runs else "—"), None
    med = statistics.median(times)
    text = f"{_fmt(med)} ({_fmt(min(times))}-{_fmt(max(times))})"
    if failed:
        text += f", {failed} failed"
    return text, med


def _requests(runs: list[dict[str, Any]]) -> str:
    ok = [r for r in runs if r["ok"]]
    if not ok:
        return "—"
    counts = ok[0]["requests"]
    total = sum(counts.values())
    detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    return f"{total} ({detail})" if detail else "0"


def _memory(runs: list[dict[str, Any]]) -> str:
    values = [r["peak_rss_mib"] for r in runs if r.get("peak_rss_mib")]
    return f"{statistics.median(values):.0f} MiB" if values else "—"


def _fault_row(title: str, client: str, runs: list[dict[str, Any]]) -> str:
    text, _ = _cell(runs)
    ok = sum(1 for r in runs if r["ok"])
    injected = [r["detail"].get("faults_injected", 0) for r in runs]
    retries = [r["detail"]["retries"] for r in runs if r["ok"] and "retries" in r["detail"]]
    retry_text = f"{statistics.median(retries):.0f} (median)" if retries else "not reported"
    return (
        f"| {title} | {client} | {text} | {ok}/{len(runs)} | {statistics.median(injected):.0f} (median) "
        f"| {retry_text} |"
    )


def _median_detail(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r["detail"][key] for r in runs if r["ok"] and key in r["detail"]]
    return statistics.median(values) if values else None


def _floor_row(title: str, ak: list[dict[str, Any]], wb: list[dict[str, Any]], replay: list[dict[str, Any]]) -> str:
    ak_text, ak_med = _cell(ak)
    replay_text, replay_med = _cell(replay)
    _, wb_med = _cell(wb)
    vs_replay = f"{ak_med / replay_med:.2f}" if ak_med and replay_med else "—"
    vs_wandb = f"{ak_med / wb_med:.2f}" if ak_med and wb_med else "—"
    cpu = _median_detail(ak, "cpu_us_per_item")
    replay_cpu = _median_detail(replay, "cpu_seconds")
    share = f"{(replay_med - replay_cpu) / ak_med:.0%}" if ak_med and replay_med and replay_cpu is not None else "—"
    cpu_text = f"{cpu:.0f} µs" if cpu is not None else "—"
    return f"| {title} | {ak_text} | {replay_text} | {vs_replay} | {vs_wandb} | {cpu_text} | {share} |"


def write_report(results: dict[str, Any], path: Path) -> None:
    m = results["machine"]
    lines = [
        INTRO.format(
            wandb=m["wandb"],
            repeat=results["repeat"],
            command=results["command"],
            cpu=m["cpu"],
            cores=m["cores"],
            python=m["python"],
            platform=m["platform"],
            date=results["date"],
            commit=results.get("commit") or "unknown",
            clean="a clean tree" if results.get("clean_tree") else "**uncommitted changes: not that commit's numbers**",
            par_ak=results.get("parallelism", {}).get("artifactkit", "not recorded"),
            par_wandb=results.get("parallelism", {}).get("wandb", "not recorded"),
        )
    ]
    for partial in results.get("partial_runs", []):
        commit = f" from commit `{partial['commit']}`" if partial.get("commit") else ""
        lines.append(f"Scenarios rerun separately with `{partial['command']}`, recorded {partial['date']}{commit}.\n")
    lines.append("## Client scenarios\n")
    par = results.get("parallelism", {})
    files_at_once = f"{par.get('artifactkit_files', '?')} / {par.get('wandb_files', '?')} files"
    lines.append(
        "| scenario | artifactkit | wandb | ratio | parallel ak / wandb | requests (artifactkit) | requests (wandb) "
        "| peak RSS ak / wandb |"
    )
    lines.append("|---|---|---|---|---|---|---|---|")
    references = []
    floors = []
    fault_rows = []
    for scenario in results["scenarios"]:
        runs = scenario["runs"]
        clients = {r["client"] for r in runs}
        if scenario["key"].startswith("faults-"):
            for client in ("artifactkit", "wandb"):
                mine = [r for r in runs if r["client"] == client]
                if mine:
                    fault_rows.append(_fault_row(scenario["title"], client, mine))
            continue
        if clients <= {"raw", "curl"}:
            text, _ = _cell(runs)
            bytes_out = runs[0]["bytes_out"] if runs else 0
            references.append(f"| {scenario['title']} | {text} | {bytes_out / 2**20:.1f} MiB |")
            continue
        if clients == {"emulator"}:
            continue
        ak = [r for r in runs if r["client"] == "artifactkit"]
        wb = [r for r in runs if r["client"] == "wandb"]
        ak_text, ak_med = _cell(ak)
        wb_text, wb_med = _cell(wb)
        ratio = f"{ak_med / wb_med:.2f}" if ak_med and wb_med else "—"
        parallel = files_at_once if scenario["key"].startswith("download") else "1 / 1 request"
        replay = [r for r in runs if r["client"] == "replay"]
        if replay:
            floors.append(_floor_row(scenario["title"], ak, wb, replay))
        lines.append(
            f"| {scenario['title']} | {ak_text} | {wb_text} | {ratio} | {parallel} | {_requests(ak)} "
            f"| {_requests(wb)} | {_memory(ak)} / {_memory(wb)} |"
        )
    if floors:
        lines.append("\n## Listings against their floor (the same requests replayed bare)\n")
        lines.append(
            "The bare replay POSTs the GraphQL bodies artifactkit sent (same documents, variables and "
            "cursors) with httpx and decodes each answer with `json.loads`, nothing else: what is left is "
            "the round trips and the emulator. The emulator's share is (replay time - replay client CPU) / "
            "artifactkit time; client CPU is artifactkit's own, per listed version.\n"
        )
        lines.append(
            "| scenario | artifactkit | bare replay | artifactkit / replay | artifactkit / wandb "
            "| artifactkit CPU per version | emulator's share |"
        )
        lines.append("|---|---|---|---|---|---|---|")
        lines += floors
    if references:
        lines.append("\n## Physical reference (same bytes, no SDK)\n")
        lines.append("| reference | time | bytes served |")
        lines.append("|---|---|---|")
        lines += references
    chart = ratio_chart(results["scenarios"])
    if chart:
        lines.append("\n## Ratios\n")
        lines.append(
            "artifactkit's median time over wandb's (`/wandb`) and over the physical reference for the same "
            "bytes (`/limit`: the raw httpx loop for many files; for one large file the slower of curl into a "
            "file and md5sum). Each `#` is 0.05; "
            "the bar of 1.0 is marked `|`; shorter is better for artifactkit.\n"
        )
        lines.append("```")
        lines += chart
        lines.append("```")
    if fault_rows:
        lines.append("\n## Under injected faults\n")
        lines.append(
            "The emulator answered a fifth of GraphQL and file requests with the faults the scenario names "
            "(seeded; `artifactkit serve --faults`): 429 (`Retry-After: 1`) and 503 only, then also a "
            "connection dropped after the headers and a body cut off half-way.\n"
        )
        lines.append("| scenario | client | time | completed and correct | faults hit | client retries |")
        lines.append("|---|---|---|---|---|---|")
        lines += fault_rows
    loads = [s for s in results["scenarios"] if {r["client"] for r in s["runs"]} == {"emulator"}]
    if loads:
        lines.append("\n## Emulator\n")
        lines.append("| scenario | requests/s | p50 | p99 | requests | errors | emulator CPU per request |")
        lines.append("|---|---|---|---|---|---|---|")
        for scenario in loads:
            d = scenario["runs"][0]["detail"]
            cpu = d.get("emulator_cpu_ms_per_request")
            cpu_text = "—" if cpu is None else f"{cpu:.2f} ms"
            lines.append(
                f"| {scenario['title']} ({d['duration_seconds']:.0f} s) | {d['requests_per_second']:.0f} "
                f"| {d['p50_ms']:.1f} ms | {d['p99_ms']:.1f} ms | {d['requests']} | {d['errors']} | {cpu_text} |"
            )
    failures = [(s["title"], r) for s in results["scenarios"] for r in s["runs"] if not r["ok"]]
    if failures:
        lines.append("\n## Runs that failed\n")
        for title, run in failures:
            error = str(run["detail"].get("error", "")).splitlines()[-1:] or [""]
            lines.append(f"* {title} — {run['client']}: `{error[0][:200]}`")
    kept = ""
    if path.exists():  # sections measured by other scripts (bench/fs_read.py) survive a rewrite
        previous = path.read_text()
        if KEPT_MARKER in previous:
            kept = "\n" + previous[previous.index(KEPT_MARKER) :]
    path.write_text("\n".join(lines) + "\n" + NOTES + kept)


# Everything from this line on in BENCHMARKS.md is written by hand or by other scripts, and kept.
KEPT_MARKER = "<!-- kept by bench/report.py: sections below come from other scripts -->"


# Which references bound each download scenario (the same bytes, fetched with no SDK): the slowest of them.
# One big file must be both received into a file (curl) and hashed (md5sum): its limit is the slower one.
LIMITS = {"download-small-cold": ("raw-small",), "download-big-cold": ("curl-big", "md5-big")}


def _median(runs: list[dict[str, Any]], client: str | None = None) -> float | None:
    times = [r["seconds"] for r in runs if r["seconds"] is not None and (client is None or r["client"] == client)]
    return statistics.median(times) if times else None


def _bar(ratio: float) -> str:
    width = min(60, round(ratio / 0.05))
    cells = "#" * width + " " * (60 - width)
    return f"{cells[:20]}|{cells[20:]} {ratio:.2f}" + ("  (cut at 3.0)" if ratio > 3 else "")


def ratio_chart(scenarios: list[dict[str, Any]]) -> list[str]:
    """Text bars of artifactkit/wandb and artifactkit/limit per scenario."""
    by_key = {s["key"]: s for s in scenarios}
    rows = []
    for scenario in scenarios:
        runs = scenario["runs"]
        if scenario["key"].startswith("faults-") or {r["client"] for r in runs} != {"artifactkit", "wandb"}:
            continue
        ak, wb = _median(runs, "artifactkit"), _median(runs, "wandb")
        if not ak:
            continue
        rows.append(f"{scenario['title']}")
        if wb:
            rows.append(f"  /wandb {_bar(ak / wb)}")
        limits = [by_key[key] for key in LIMITS.get(scenario["key"], ()) if key in by_key]
        medians = [m for m in (_median(limit["runs"]) for limit in limits) if m is not None]
        reference = max(medians) if medians else None
        if reference:
            rows.append(f"  /limit {_bar(ak / reference)}")
    return rows


NOTES = """
## Reading these numbers

* The emulator, both clients and the load generators share one machine; absolute numbers say
  little about W&B cloud, ratios say how much work each client does for the same result.
* `wandb` 0.31.0 sends GraphQL through its `wandb-core` sidecar process, which it starts on
  construction; that start-up is part of every wandb measurement, as it is for its users.
* Download times include finding the artifact and fetching its manifest; the raw references
  fetch already-known URLs and verify nothing.
* Under injected faults, wandb 0.31.0 rode out the 429 and 503 answers but stopped at the first
  dropped connection or cut-off body (the errors listed above, some during `wandb.Api()` itself);
  artifactkit retries those for every read and resumes cut-off downloads, which is what its
  "client retries" count. A 429 carries `Retry-After: 1`, so waiting is most of the time there.
"""


if __name__ == "__main__":
    write_report(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
