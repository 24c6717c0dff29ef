"""What every benchmark client script shares: timing, peak memory and one JSON line of output."""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from typing import Any


def report(run: Callable[[], dict[str, Any]]) -> None:
    """Time `run()` and print its result with `seconds` and `peak_rss_mib` as one JSON line."""
    start = time.perf_counter()
    result = run()
    result.setdefault("seconds", time.perf_counter() - start)
    result["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(result), flush=True)


def peak_rss_mib() -> float:
    """This process's peak resident memory. VmHWM starts afresh at exec; ru_maxrss would carry
    over the parent's peak across fork+exec and make every client look as big as the harness."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def argument(index: int, default: str | None = None) -> str:
    if len(sys.argv) > index:
        return sys.argv[index]
    if default is None:
        raise SystemExit(f"missing argument {index}")
    return default
