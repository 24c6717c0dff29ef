"""A reader killed mid-read leaves a temp file in the cache; cleanup and the next reader remove it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from artifactkit import Api
from artifactkit.cli import main
from artifactkit.fs import ArtifactFileSystem
from artifactkit.server.embedded import EmbeddedEmulator
from artifactkit.transfer.cache import TEMP_GRACE, Cache
from tests.fs.conftest import make_fs
from tests.integration.support import upload

TEXT = os.urandom(128 << 10).hex()  # 256 KiB
CONTENT = TEXT.encode()


def _killed_mid_read(emu: EmbeddedEmulator, cache_dir: Path, url: str) -> Path:
    """Run a reader that spools half the file and dies (no close, no cleanup); its temp file."""
    script = textwrap.dedent(
        f"""
        import os
        from artifactkit.fs import ArtifactFileSystem
        fs = ArtifactFileSystem(api_key={emu.api_key!r}, base_url={emu.url!r}, cache_dir={str(cache_dir)!r})
        f = fs.open({url!r}, block_size=32 << 10)
        f.read(128 << 10)
        os._exit(3)
        """
    )
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, timeout=60)
    assert done.returncode == 3, done.stderr.decode()[-2000:]
    (temp,) = (cache_dir / "partial").glob("fs-*.tmp")
    assert 0 < temp.stat().st_size < len(CONTENT)
    return temp


def _age(path: Path) -> None:
    """Make a file look untouched for longer than the grace period."""
    old = time.time() - TEMP_GRACE - 60
    os.utime(path, (old, old))


@pytest.fixture
def url(api: Api, project: str, tmp_path: Path) -> str:
    upload(api, tmp_path, f"{project}/crash", files={"blob.bin": TEXT})
    return f"wandb://{project}/crash:v0/blob.bin"


def test_cache_cleanup_removes_what_a_killed_reader_left_whatever_the_budget(
    emulator: EmbeddedEmulator, url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache_dir = tmp_path / "shared-cache"
    temp = _killed_mid_read(emulator, cache_dir, url)
    assert Cache(cache_dir).cleanup(1 << 40) == (0, 0)  # still within the grace period: left alone
    _age(temp)
    assert main(["cache", "cleanup", "1TB", "--dry-run", "--cache-dir", str(cache_dir)]) == 0
    assert temp.exists()
    assert main(["cache", "cleanup", "1TB", "--cache-dir", str(cache_dir)]) == 0
    assert not temp.exists()
    capsys.readouterr()


def test_a_live_reader_keeps_its_temp_file_and_the_next_reader_removes_dead_ones(
    emulator: EmbeddedEmulator, url: str, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "shared-cache"
    dead = _killed_mid_read(emulator, cache_dir, url)
    _age(dead)
    live_fs = make_fs(emulator, cache_dir)
    with live_fs.open(url, block_size=32 << 10) as live:
        live.read(64 << 10)  # this process spools now; the first spool swept the dead reader's file
        assert not dead.exists()
        (ours,) = (cache_dir / "partial").glob("fs-*.tmp")
        _age(ours)
        assert Cache(cache_dir).cleanup(1 << 40) == (0, 0)  # in use: kept, however old
        assert live.read() == CONTENT[64 << 10 :]
    assert not ours.exists()  # published: the cache holds the file now
    assert ArtifactFileSystem(live_fs.api).cat_file(url) == CONTENT
    live_fs.api.close()
