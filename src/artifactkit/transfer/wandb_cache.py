"""Bytes the official wandb client already downloaded, reused read-only.

wandb keeps every downloaded file in its own content-addressed cache (`$WANDB_CACHE_DIR`, else
the platform's user cache directory for "wandb", e.g. `~/.cache/wandb`):

    artifacts/obj/md5/<hex[:2]>/<hex[2:]>     stored files, keyed by the MD5 of their content
    artifacts/obj/etag/<h[:2]>/<h[2:]>        http(s) references, h = sha256(sha256(url) + sha256(etag))

A download looks there when artifactkit's own cache misses. A candidate is used only if its size
matches and its MD5 (hashed while it is copied) is the manifest's; artifactkit never writes,
touches or deletes anything in wandb's cache. wandb does not hash-check what it downloads, so the
check matters: a mismatch is logged and the file is fetched as usual.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger("artifactkit")
CHUNK = 1 << 20  # bytes read at a time while copying


def wandb_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """wandb's cache directory: `$WANDB_CACHE_DIR`, else the user cache directory for "wandb"."""
    env = os.environ if environ is None else environ
    if env.get("WANDB_CACHE_DIR"):
        return Path(env["WANDB_CACHE_DIR"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("wandb"))


def reference_key(url: str, etag: str) -> str:
    """The name wandb gives a reference's cached bytes."""
    inner = hashlib.sha256(url.encode()).digest() + hashlib.sha256(etag.encode()).digest()
    return hashlib.sha256(inner).hexdigest()


class WandbCache:
    """Read-only lookups in wandb's artifact file cache."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else wandb_cache_dir()
        self.objects = self.root / "artifacts" / "obj"

    def _candidate(self, kind: str, key: str, size: int | None) -> Path | None:
        path = self.objects / kind / key[:2] / key[2:]
        try:
            stat = path.stat()
        except OSError:
            return None
        if not path.is_file() or (size is not None and stat.st_size != size):
            return None
        return path

    def find(self, md5_hex: str, size: int | None) -> Path | None:
        """wandb's cached copy of the content with this MD5 (and size), if it has one; not yet verified."""
        return self._candidate("md5", md5_hex, size)

    def find_reference(self, url: str, etag: str, size: int | None) -> Path | None:
        """wandb's cached copy of a reference (by URL and ETag), if it has one; not yet verified."""
        return self._candidate("etag", reference_key(url, etag), size)

    def copy_verified(self, source: Path, destination: Path, md5_hex: str, name: str) -> bool:
        """Copy `source` to `destination` while hashing; True if the MD5 matched (else nothing is left)."""
        hasher = hashlib.md5(usedforsecurity=False)
        try:
            with source.open("rb") as src, destination.open("wb") as dst:
                while chunk := src.read(CHUNK):
                    hasher.update(chunk)
                    dst.write(chunk)
        except OSError as exc:
            destination.unlink(missing_ok=True)
            log.info("could not read wandb's cached copy of %s (%s): fetching it", name, exc)
            return False
        if hasher.hexdigest() != md5_hex:
            destination.unlink(missing_ok=True)
            log.warning("wandb's cached copy of %s (%s) does not match its MD5: fetching it", name, source)
            return False
        log.info("%s: taken from wandb's cache (%s), verified", name, source)
        return True

    def read_verified(self, source: Path, md5_hex: str, name: str) -> bytes | None:
        """The bytes of a small cached file if their MD5 matches, else None."""
        try:
            data = source.read_bytes()
        except OSError as exc:
            log.info("could not read wandb's cached copy of %s (%s): fetching it", name, exc)
            return None
        if hashlib.md5(data, usedforsecurity=False).hexdigest() != md5_hex:
            log.warning("wandb's cached copy of %s (%s) does not match its MD5: fetching it", name, source)
            return None
        log.info("%s: taken from wandb's cache (%s), verified", name, source)
        return data


__all__ = ["WandbCache", "reference_key", "wandb_cache_dir"]
