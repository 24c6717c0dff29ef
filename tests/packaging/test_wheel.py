"""The installed package must carry what it needs: the schema the emulator serves, and py.typed."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_carries_the_schema_and_the_typing_marker(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("artifactkit-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        shipped_schema = archive.read("artifactkit/server/wandb.graphql")
        [metadata_name] = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = archive.read(metadata_name).decode()
    assert shipped_schema == (ROOT / "schema" / "wandb.graphql").read_bytes()  # a copy, not a dangling link
    assert "artifactkit/py.typed" in names
    assert any(n.startswith("artifactkit/_generated/") for n in names)
    assert not any(n.startswith(("tests/", "bench/")) for n in names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "License-Expression: MIT" in metadata
    assert "Requires-Python: >=3.11" in metadata
    assert "Classifier: Programming Language :: Python :: 3.11" in metadata
    assert "Requires-Dist: filelock>=3.12; sys_platform == 'win32'" in metadata  # Windows-only, as in the code
