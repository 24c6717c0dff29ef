"""The physical reference: the same bytes fetched with a bare httpx loop (no SDK, no verification).

Usage: raw_client.py URLS_FILE [THREADS [OUT_DIR]] — URLS_FILE holds one signed download URL per line.
With OUT_DIR, each body is written to its own file there (OUT_DIR/NN/fNNNNN.bin, 100 per directory, like
the seeded artifact): the floor for storing the files, which the loop without it does not pay.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from common import argument, report


def fetch_all() -> dict[str, Any]:
    urls = Path(argument(1)).read_text().split()
    threads = int(argument(2, "16"))
    out = Path(argument(3)) if len(sys.argv) > 3 else None
    total = 0
    with httpx.Client(timeout=120, limits=httpx.Limits(max_connections=threads)) as client:

        def fetch(index: int) -> int:
            size = 0
            with client.stream("GET", urls[index]) as response:
                response.raise_for_status()
                if out is None:
                    for chunk in response.iter_bytes(1 << 20):
                        size += len(chunk)
                    return size
                with open(out / f"{index // 100:02d}" / f"f{index:05d}.bin", "wb") as file:
                    for chunk in response.iter_bytes(1 << 20):
                        size += file.write(chunk)
            return size

        if out is not None:
            for start in range(0, len(urls), 100):
                (out / f"{start // 100:02d}").mkdir(parents=True)
        with ThreadPoolExecutor(max_workers=threads) as pool:
            total = sum(pool.map(fetch, range(len(urls))))
    return {"items": len(urls), "bytes": total}


if __name__ == "__main__":
    report(fetch_all)
