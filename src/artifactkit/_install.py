"""How to add an extra (`[server]`, `[fsspec]`) to this installation, in a command that works.

artifactkit is installed from a checkout or a wheel until it is published; `pip install
'artifactkit[server]'` then finds nothing. The installation records where it came from (PEP 610
`direct_url.json`): the hint names that checkout or wheel, and the package name only when it
came from an index.
"""

from __future__ import annotations

import json
from importlib import metadata
from urllib.parse import unquote, urlsplit


def install_source() -> str:
    """The checkout directory or wheel file artifactkit was installed from; `artifactkit` for an index."""
    try:
        text = metadata.distribution("artifactkit").read_text("direct_url.json")
        url = json.loads(text)["url"] if text else ""
    except (metadata.PackageNotFoundError, ValueError, KeyError, TypeError):
        return "artifactkit"
    parts = urlsplit(url)
    return unquote(parts.path) if parts.scheme == "file" and parts.path else "artifactkit"


def extra_hint(extra: str) -> str:
    """`pip install '/path/to/checkout[server]'`: the command that adds `extra` to this installation."""
    return f"pip install '{install_source()}[{extra}]'"
