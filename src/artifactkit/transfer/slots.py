"""Request slots: how many transfer requests may be in flight at once.

A request holds a slot from the moment it is sent until its body is read (or its upload body
sent). When the server asks it to come back later (429, 503, a dropped connection), the
`Transport` waits before the retry through `Slots.wait`, which gives the slot back for the wait
and takes one again before the retry is sent: a file waiting out a `Retry-After` does not keep
the other files from the connections. `on_wait` tells the owner of the worker threads that one of
them is about to sit idle, so it can put another thread to work (see `limits.transfer_threads`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator


class Slots:
    """A bounded number of requests in flight, given back while a request waits to be retried."""

    def __init__(
        self,
        count: int,
        cancel: threading.Event,
        cancelled: Callable[[], BaseException],
        on_wait: Callable[[], None] | None = None,
    ) -> None:
        self.count = max(1, count)
        self.on_wait = on_wait
        self._cancel = cancel
        self._cancelled = cancelled
        self._free = threading.BoundedSemaphore(self.count)

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Hold one slot (waiting for one to be free) for the duration of the block."""
        with self._free:
            yield

    def wait(self, seconds: float) -> None:
        """The `Transport`'s wait before a retry, called inside `hold()`: the slot is free meanwhile.

        Returns holding a slot again. If the transfer is cancelled meanwhile, raises `cancelled()`
        (still holding a slot, which `hold()` gives back).
        """
        if self.on_wait is not None:
            self.on_wait()
        self._free.release()
        try:
            stop = self._cancel.wait(seconds)
        finally:
            self._free.acquire()
        if stop:
            raise self._cancelled()
