"""Functions run in spawned worker processes by the pickling tests (importable, stdlib-only imports)."""

from __future__ import annotations

import pickle
from typing import Any


def read_in_worker(pickled_fs: bytes, url: str, pickled_file: bytes) -> dict[str, Any]:
    """What a DataLoader or dask worker does: unpickle a filesystem and an open file, and read."""
    fs = pickle.loads(pickled_fs)
    f = pickle.loads(pickled_file)
    try:
        return {
            "cat": fs.cat_file(url),
            "repr": repr(fs),
            "rest_of_file": f.read(),
            "file_version": f.info()["version"],
        }
    finally:
        f.close()
        fs.api.close()
