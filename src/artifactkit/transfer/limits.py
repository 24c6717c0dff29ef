"""The transfer engine's sizes, counts and limits, in one place."""

from __future__ import annotations

import os

CHUNK = 1 << 20  # read and hash in pieces of this size
EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"

# Fetching (fetch.py)
ATTEMPTS = 4  # tries per object whose bytes come back wrong (short, long or corrupt)
MAX_TRIES = 64  # hard limit, counting tries that did make progress
SMALL_FILE = 2 << 20  # below this, a file is fetched whole into memory: no .part, no lock
MAX_REFRESHES = 8  # fresh URLs asked for one file before giving up
MULTIPART_THRESHOLD = 64 << 20
PART_SIZE = 16 << 20
MAX_PART_WORKERS = 8
EXPIRED_STATUSES = frozenset({400, 401, 403})  # how storage services refuse an expired signature
PIPELINE_MIN = 8 << 20  # a body at least this long is hashed and written on a second thread
SINK_DEPTH = 8  # batches of about CHUNK bytes received ahead of the writing and hashing threads (8 MiB)

# Documents read whole (download.fetch_document)
MAX_MANIFEST_BYTES = 256 << 20
"""The longest manifest read (about 1.3 million entries); `ARTIFACTKIT_MAX_MANIFEST_BYTES` overrides it."""

# Signed URLs (urls.py)
DEFAULT_URL_BATCH = 1000
MAX_URL_BATCH = 10_000
MIN_URL_BATCH = 10


MAX_TRANSFER_THREADS = 64  # threads of one download or upload, counting those waiting to retry


def default_workers() -> int:
    """Parallel transfers when `max_workers` is not given: 4 per CPU, between 8 and 32."""
    return max(8, min(32, (os.cpu_count() or 2) * 4))


def transfer_threads(workers: int) -> int:
    """Threads one download or upload may use in all, for `workers` request slots.

    `workers` requests are in flight at most. A file waiting out a retry (a 429's `Retry-After`,
    a 503's backoff) gives its slot back and its thread sleeps; spare threads, up to eight threads
    per slot and `MAX_TRANSFER_THREADS` in all (never fewer than `workers`), take the next files
    meanwhile. With a tenth of the requests told to wait 1 s, a file's thread waits far longer
    than it holds a slot: 32 threads for 8 slots were still too few (bench: 12 s against 7.5 s
    with 64). A download starts spare threads only when a file starts waiting, so without faults
    it runs on `workers` threads; an upload's spare threads wait for a slot before reading a file.
    """
    return max(workers, min(MAX_TRANSFER_THREADS, workers * 8))
