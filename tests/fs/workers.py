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


def read_after_fork(fs: Any, url: str, answers: Any) -> None:
    """What a DataLoader worker under `fork` does: use the parent's filesystem object as it is (no pickling)."""
    inherited = vars(fs).get("_api") or vars(fs).get("api")  # the parent's Api, as the fork copied it
    try:
        data = fs.cat_file(url)
        answers.put(
            {"cat": data, "own_api": fs.api is not inherited, "same_server": fs.api.base_url == inherited.base_url}
        )
    except BaseException as exc:  # reported to the parent
        answers.put({"error": repr(exc)})
