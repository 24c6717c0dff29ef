"""Byte counts as people read them (`10.5 MiB`): one form for the CLI and the library's messages."""

from __future__ import annotations


def human_size(n: int) -> str:
    """`512 B`, `10.5 MiB`, `2.0 GiB`: powers of 1024, one decimal above bytes."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable: the loop returns at TiB")
