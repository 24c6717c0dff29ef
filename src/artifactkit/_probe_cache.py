"""The capability probe's answer, kept per server in the cache directory and shared by processes.

A job that calls artifactkit many times would ask the same server `serverInfo` at the start of
every process. The answer (the server's `max_cli_version` and, once asked, its enabled features)
is kept in `<cache>/servers/<sha256 of the server URL>.json` for a day (`ARTIFACTKIT_SERVER_INFO_TTL`
seconds; 0 turns the sharing off). The file holds no key and no credential: the URL without any
user info, the version text, feature names and when the server was asked. It is written whole
(a temporary file renamed over it), so a reader sees the old answer or the new one.

A file that cannot be read, is not this format, names another URL, is too old or dated in the
future is ignored, and the server is probed again: the file is a hint, never trusted input.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger("artifactkit")

SCHEMA_VERSION = 1
DEFAULT_TTL = 86400.0
"""Seconds a server's answer is reused (`ARTIFACTKIT_SERVER_INFO_TTL` overrides; 0: never)."""
TTL_VARIABLE = "ARTIFACTKIT_SERVER_INFO_TTL"
MAX_FILE_BYTES = 64 << 10
"""A longer file is not read: no real answer comes near it."""
MAX_FEATURES = 512
_VERSION = re.compile(r"[0-9A-Za-z.+_-]{1,64}")
_FEATURE = re.compile(r"[A-Za-z0-9_]{1,128}")
# A file dated this far ahead of the clock is not believed (clocks of machines sharing a cache differ a little).
_CLOCK_SKEW = 300.0


@dataclass(frozen=True)
class ServerAnswer:
    """What a server said about itself: its `max_cli_version`, its features (None: not asked yet)."""

    max_cli_version: str
    features: frozenset[str] | None
    probed_at: float


def server_url(base_url: str) -> str:
    """The server's URL as the cache names it: no user info, query or fragment, no trailing slash."""
    parts = urlsplit(base_url.strip())
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme.lower(), netloc.lower(), parts.path.rstrip("/"), "", ""))


def ttl_from_environment() -> float:
    """The TTL `ARTIFACTKIT_SERVER_INFO_TTL` asks for (seconds), else `DEFAULT_TTL`; nonsense is ignored."""
    text = os.environ.get(TTL_VARIABLE, "").strip()
    if not text:
        return DEFAULT_TTL
    try:
        value = float(text)
    except ValueError:
        log.warning("ignoring %s=%r: not a number of seconds", TTL_VARIABLE, text)
        return DEFAULT_TTL
    if value != value or value < 0:  # NaN or negative
        log.warning("ignoring %s=%r: not a number of seconds", TTL_VARIABLE, text)
        return DEFAULT_TTL
    return value


class ProbeCache:
    """One server's cached answer in a cache directory (None: the default cache directory)."""

    def __init__(self, cache_root: Path | None, base_url: str, *, ttl: float | None = None) -> None:
        self._root = cache_root
        self.url = server_url(base_url)
        self.ttl = ttl_from_environment() if ttl is None else ttl

    @cached_property
    def path(self) -> Path:
        # hashlib and the cache module (with tempfile below): not loaded by `Api()`, only when the answer is looked for
        import hashlib

        from .transfer.cache import resolve_cache_root

        digest = hashlib.sha256(self.url.encode()).hexdigest()
        return resolve_cache_root(self._root) / "servers" / f"{digest}.json"

    def load(self) -> ServerAnswer | None:
        """The answer kept for this server, if there is a valid one younger than the TTL."""
        if self.ttl <= 0:
            return None
        path = self.path
        try:
            with open(path, "rb") as f:
                raw = f.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.info("not using the cached server answer %s: %s", path, exc)
            return None
        answer = self._parse(raw)
        if answer is None:
            log.info("ignoring the cached server answer %s: not a valid answer for %s", path, self.url)
            return None
        age = time.time() - answer.probed_at
        if age > self.ttl or age < -_CLOCK_SKEW:
            log.info("the cached server answer for %s is %.0f s old: asking the server again", self.url, age)
            return None
        return answer

    def _parse(self, raw: bytes) -> ServerAnswer | None:
        if len(raw) > MAX_FILE_BYTES:
            return None
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            return None
        if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION or data.get("url") != self.url:
            return None
        version, features, probed_at = data.get("max_cli_version"), data.get("features"), data.get("probed_at")
        if not isinstance(version, str) or not _VERSION.fullmatch(version):
            return None
        if not isinstance(probed_at, (int, float)) or isinstance(probed_at, bool) or probed_at != probed_at:
            return None
        if features is not None:
            if not isinstance(features, list) or len(features) > MAX_FEATURES:
                return None
            if not all(isinstance(f, str) and _FEATURE.fullmatch(f) for f in features):
                return None
        return ServerAnswer(version, None if features is None else frozenset(features), float(probed_at))

    def store(self, answer: ServerAnswer) -> None:
        """Keep `answer` for other processes; a cache that cannot be written only costs them a probe."""
        if self.ttl <= 0:
            return
        path = self.path
        document = {
            "schema_version": SCHEMA_VERSION,
            "url": self.url,
            "max_cli_version": answer.max_cli_version,
            "features": None if answer.features is None else sorted(answer.features),
            "probed_at": answer.probed_at,
        }
        import tempfile

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".server-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w") as f:
                    json.dump(document, f)
                os.replace(temp, path)
            except BaseException:
                os.unlink(temp)
                raise
        except OSError as exc:
            log.info("could not keep the server's answer in %s: %s", path, exc)

    def discard(self) -> None:
        """Forget the kept answer (the server changed behind its URL, or the caller asked to)."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            log.info("could not remove the cached server answer %s: %s", self.path, exc)
