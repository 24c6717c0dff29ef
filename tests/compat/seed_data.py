"""What the compat scenario seeds, shared by the scenario (client side) and the tests (expectations).

Plain standard library: the scenario imports it from inside the official client's environment.
"""

from __future__ import annotations

import base64
import hashlib

# Contents of the seeded versions: manifest path -> text.
DATASET_V0 = {"a.txt": "alpha contents\n", "dir/b.txt": "beta\n"}
DATASET_V1 = {"a.txt": "alpha contents, second edition\n", "c.txt": "gamma\n"}
MODEL_V0 = {"weights.bin": "0123456789" * 100}
SCRATCH_V0 = {"scratch.txt": "to be deleted\n"}


def md5_b64(text: str) -> str:
    """A manifest entry digest: base64 of the MD5 of the bytes."""
    return base64.b64encode(hashlib.md5(text.encode(), usedforsecurity=False).digest()).decode()


def manifest_digest(files: dict[str, str]) -> str:
    """The artifact digest W&B derives from a manifest (wandb-wire.md §6.2), computed independently."""
    lines = "".join(f"{path}:{md5_b64(files[path])}\n" for path in sorted(files))
    return hashlib.md5(b"wandb-artifact-manifest-v1\n" + lines.encode(), usedforsecurity=False).hexdigest()


def total_size(files: dict[str, str]) -> int:
    return sum(len(text.encode()) for text in files.values())
