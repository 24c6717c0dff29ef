"""`get`: files of a version downloaded through the download engine, staged beside their destinations.

The engine (`Artifact.download`) verifies, caches and resumes; this module only decides where
things go: every destination is checked before anything is written, the files land in a hidden
staging folder next to them and are moved into place, so no half-written file is ever where a
complete one is expected.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import UnsafePathError
from .tree import Tree, Version


def check_destination(lpath: str, root: str | None) -> None:
    """Refuse a destination whose folder resolves outside the destination the caller named.

    `root` itself may be a symlink (the caller chose it); folders below it may not lead elsewhere.
    A symlink at the destination file is replaced, never written through.
    """
    target = os.path.abspath(lpath)
    base = os.path.abspath(root) if root is not None else os.path.dirname(target)
    if base == target:  # a file's own path was named
        base = os.path.dirname(target)
    real_base = os.path.realpath(base)
    real_folder = os.path.realpath(os.path.dirname(target))
    if real_folder != real_base and not real_folder.startswith(real_base.rstrip(os.sep) + os.sep):
        raise UnsafePathError(
            f"refusing to write {lpath!r}: its folder resolves to {real_folder}, outside {base} (through a symlink)",
            path=lpath,
        )


def download_version(version: Version, tree: Tree, items: list[tuple[str, str]]) -> None:
    """Download the files `items` (path in the version, destination) into a staging folder, then move them."""
    targets = [os.path.abspath(lpath) for _, lpath in items]
    base = os.path.commonpath([os.path.dirname(t) for t in targets])
    os.makedirs(base, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".artifactkit-get-", dir=base))
    try:
        wanted = sorted({path for path, _ in items})
        prefix = os.path.commonprefix(wanted)
        everything_under = sum(1 for p in tree.files if p.startswith(prefix)) == len(wanted)
        include = None if everything_under else [glob.escape(p) for p in wanted]
        version.artifact.download(staging, path_prefix=prefix or None, include=include, progress=False)
        placed: dict[str, str] = {}
        for (path, _), target in zip(items, targets, strict=True):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if path in placed:
                if os.path.islink(target):
                    os.unlink(target)  # replaced like the others, never written through
                shutil.copyfile(placed[path], target)
            else:
                os.replace(staging / path, target)
                placed[path] = target
    finally:
        shutil.rmtree(staging, ignore_errors=True)
