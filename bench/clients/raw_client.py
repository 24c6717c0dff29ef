"""The physical reference: the same bytes fetched with a bare httpx loop (no SDK, no verification).

Usage: raw_client.py URLS_FILE [THREADS] — URLS_FILE holds one signed download URL per line.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from common import argument, report


def fetch_all() -> dict[str, Any]:
    urls = Path(argument(1)).read_text().split()
    threads = int(argument(2, "16"))
    total = 0
    with httpx.Client(timeout=120, limits=httpx.Limits(max_connections=threads)) as client:

        def fetch(url: str) -> int:
            size = 0
            with client.stream("GET", url) as response:
                response.raise_for_status()
                for chunk in response.iter_bytes(1 << 20):
                    size += len(chunk)
            return size

        with ThreadPoolExecutor(max_workers=threads) as pool:
            total = sum(pool.map(fetch, urls))
    return {"items": len(urls), "bytes": total}


if __name__ == "__main__":
    report(fetch_all)
