"""`cache cleanup --remove-temp 5GB`, as wandb's own help shows it, is accepted and leaves no abandoned temp file."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from artifactkit.cli import main as cli_main
from artifactkit.transfer.cache import TEMP_GRACE, Cache


def test_remove_temp_as_wandb_users_type_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = Cache(tmp_path / "cache")
    cache.partial.mkdir(parents=True, exist_ok=True)
    abandoned = cache.partial / "a-killed-download.tmp"
    abandoned.write_bytes(b"x" * 1000)
    old = time.time() - TEMP_GRACE - 60
    os.utime(abandoned, (old, old))
    fresh = cache.partial / "being-written.tmp"
    fresh.write_bytes(b"y" * 10)

    code = cli_main(["cache", "cleanup", "--remove-temp", "5GB", "--cache-dir", str(tmp_path / "cache")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert not abandoned.exists()
    assert fresh.exists()  # a temp written to within the last minute may belong to a running download


def test_a_size_after_an_option_is_the_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main(["cache", "cleanup", "--dry-run", "0", "--json", "--cache-dir", str(tmp_path / "c")])
    assert code == 0 and '"dry_run": true' in capsys.readouterr().out
    with pytest.raises(SystemExit) as exited:
        cli_main(["cache", "cleanup", "--dry-run", "10GB", "3GB", "--cache-dir", str(tmp_path / "c")])
    assert exited.value.code == 2
    assert "unrecognized arguments: 10GB 3GB" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["cache", "cleanup", "--dry-run", "ten", "--cache-dir", str(tmp_path / "c")])
    assert "argument size:" in capsys.readouterr().err
