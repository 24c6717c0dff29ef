"""Nothing is imported before it is used: `Api()` costs configuration only, the first call what it needs.

A CI job or a script that calls artifactkit many times pays the imports at every start. Each test
runs a fresh interpreter (this process has imported everything long ago) and reads its
`sys.modules`: what a user's `from artifactkit import Api; Api()` loads, and what the first call
adds. The first call still has to work, over real HTTP to the emulator.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from artifactkit import Api
from artifactkit.server.embedded import EmbeddedEmulator
from tests.integration.support import upload

pytestmark = pytest.mark.timeout(120)

# Loaded only by a request (httpx, httpcore), by reading an answer (pydantic, the generated client)
# or by moving bytes (the transfer engine).
HEAVY = ("httpx", "httpcore", "pydantic", "pydantic_core", "artifactkit._generated", "artifactkit.transfer")

# Modules of the generated client that are not one operation's answer types.
GENERATED_COMMON = {"base_client", "base_model", "client", "enums", "exceptions", "fragments", "input_types", "scalars"}

CHILD = """
import json, sys

def loaded(prefix):
    return sorted(m for m in sys.modules if m == prefix or m.startswith(prefix + "."))

report = {}
from artifactkit import Api
api = Api(base_url=sys.argv[1], api_key=sys.argv[2], cache_dir=sys.argv[3])
report["api"] = sorted(sys.modules)
if sys.argv[4] == "close":
    api.close()
    report["closed"] = sorted(sys.modules)
    try:
        api.artifact(sys.argv[5])
    except Exception as exc:
        report["after_close"] = type(exc).__name__
else:
    report["version"] = api.artifact(sys.argv[5]).version
    report["first_call"] = sorted(sys.modules)
    api.close()
print(json.dumps(report))
"""


def run_child(emu: EmbeddedEmulator, cache: Path, mode: str, name: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, emu.url, emu.api_key, str(cache), mode, name],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


def snake(operation: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", operation).lower()


def test_api_imports_no_http_client_no_models_and_no_transfer_engine(
    emulator: EmbeddedEmulator, api: Api, tmp_path: Path, project: str
) -> None:
    upload(api, tmp_path, f"{project}/data")
    emulator.stats.reset()
    report = run_child(emulator, tmp_path / "child-cache", "call", f"{project}/data:v0")
    assert heavy(report["api"]) == []
    assert dict(emulator.stats.operations) == {"ServerCliVersion": 1, "ArtifactMembershipByName": 1}
    assert report["version"] == "v0"


def test_the_first_call_imports_its_own_operations_and_no_transfer_engine(
    emulator: EmbeddedEmulator, api: Api, tmp_path: Path, project: str
) -> None:
    upload(api, tmp_path, f"{project}/data")
    emulator.stats.reset()
    report = run_child(emulator, tmp_path / "child-cache", "call", f"{project}/data:v0")
    loaded = set(report["first_call"])
    generated = {m.removeprefix("artifactkit._generated.") for m in loaded if m.startswith("artifactkit._generated.")}
    # The generated client loads the answer types of the operations it sent, and no other operation's.
    assert generated - GENERATED_COMMON == {snake(op) for op in emulator.stats.operations}
    # Looking a version up moves no bytes: no download, upload, diff, mirror or registry code.
    for unused in (
        "artifactkit.transfer.download",
        "artifactkit.transfer.upload",
        "artifactkit.diff",
        "artifactkit.files",
        "artifactkit.mirror",
        "artifactkit.registries",
        "artifactkit.uploads",
    ):
        assert unused not in loaded


def test_an_api_closed_before_its_first_request_never_loads_httpx(emulator: EmbeddedEmulator, tmp_path: Path) -> None:
    report = run_child(emulator, tmp_path / "child-cache", "close", "local/nowhere/data:v0")
    assert heavy(report["closed"]) == []
    assert report["after_close"] == "ClientClosedError"
