"""Which netrc entry the key comes from, compared with the official client's own lookup.

A netrc may hold both `machine HOST` and `machine HOST:PORT` with different keys. wandb 0.31.0
reads the entry for the URL's `host:port` (what `wandb login --host` writes, in every version);
artifactkit does the same, and falls back to the bare `host` only when there is no such entry (the
requests convention that wandb 0.22.3 still follows).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from artifactkit import _config
from tests.compat.conftest import client_python

pytestmark = pytest.mark.compat

READ_KEY = """
import sys
from wandb.sdk.lib.wbauth import wbnetrc
from wandb.sdk.lib.wbauth.host_url import HostUrl
sys.stdout.write(wbnetrc.read_netrc_auth(host=HostUrl(sys.argv[1])) or "")
"""


def official_key(netrc: Path, url: str) -> str:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(netrc.parent), "NETRC": str(netrc), "WANDB_ERROR_REPORTING": "false"}
    done = subprocess.run(
        [str(client_python("0.31.0")), "-c", READ_KEY, url], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    ("url", "wandb_reads", "artifactkit_reads"),
    [
        ("http://127.0.0.1:8765", "p" * 40, "p" * 40),  # host:port: the same key
        ("http://127.0.0.1:9999", "", "h" * 40),  # no host:port entry: wandb 0.31 has none, we take the host's
    ],
)
def test_the_key_for_a_url_with_a_port_is_the_one_wandb_reads(
    tmp_path: Path, url: str, wandb_reads: str, artifactkit_reads: str
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(
        f"machine 127.0.0.1\n  login user\n  password {'h' * 40}\n"
        f"machine 127.0.0.1:8765\n  login user\n  password {'p' * 40}\n"
    )
    netrc.chmod(0o600)
    assert official_key(netrc, url) == wandb_reads
    ours = _config.netrc_key(url, {"NETRC": str(netrc)})
    assert ours is not None and ours[0] == artifactkit_reads
