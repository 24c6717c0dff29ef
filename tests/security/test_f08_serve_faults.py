"""Finding 8: `artifactkit serve --faults SPEC` injects the faults it was given."""

from __future__ import annotations

from pathlib import Path

import httpx

from artifactkit.server.embedded import EmulatorProcess


def test_serve_passes_the_fault_plan_on(tmp_path: Path) -> None:
    with EmulatorProcess(tmp_path / "data", extra_args=("--faults", "rate=1,seed=3,kinds=503")) as server:
        answer = httpx.post(f"{server.url}/graphql", json={"query": "{ viewer { id } }"}, auth=("api", server.api_key))
        assert answer.status_code == 503
        plan = httpx.get(f"{server.url}/_emulator/faults", auth=("api", server.api_key)).json()
        assert plan["plan"]["rate"] == 1 and plan["injected"] == {"503": 1}
