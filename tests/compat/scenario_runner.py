"""How a compat scenario runs its steps, shared by `scenario.py` and `registry_scenario.py`.

Plain standard library: the scenarios import it from inside the official client's environment.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any


def run_steps(steps: Iterable[tuple[str, Callable[[], Any]]], only: set[str]) -> int:
    """Run each step (those in `only`, when it names any), printing one JSON line per step."""
    for name, fn in steps:
        if only and name not in only:
            continue
        started = time.monotonic()
        try:
            record = {"step": name, "ok": True, "result": fn()}
        except BaseException as exc:  # every failure is reported, none stops the run
            record = {
                "step": name,
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}"[:2000],
                "traceback": traceback.format_exc()[-6000:],
            }
        record["seconds"] = round(time.monotonic() - started, 3)
        print(json.dumps(record, default=str), flush=True)
    return 0
