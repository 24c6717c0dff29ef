"""One aggregate progress bar (files and bytes) for a whole transfer; silent unless on a terminal."""

from __future__ import annotations

import sys
import threading
from typing import Any


class Progress:
    """Counts bytes and files of a transfer; draws one tqdm bar on a TTY (or when `enabled=True`)."""

    def __init__(
        self,
        total_bytes: int,
        total_files: int,
        enabled: bool | None,
        *,
        verb: str = "files",
        phases: bool = False,
    ) -> None:
        show = sys.stderr.isatty() if enabled is None else enabled
        self._bar: Any = None
        self._lock = threading.Lock()
        self._files_done = 0
        self._total_files = total_files
        self._verb = verb
        if show and (total_bytes or total_files or phases):
            from tqdm import tqdm

            self._bar = tqdm(
                total=total_bytes,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=self._description(),
                file=sys.stderr,
                leave=False,
                dynamic_ncols=True,
            )

    @property
    def shown(self) -> bool:
        return self._bar is not None

    def _description(self) -> str:
        return f"{self._files_done}/{self._total_files} {self._verb}"

    def bytes(self, n: int) -> None:
        """`n` more bytes moved (or found on disk from an interrupted transfer)."""
        if self._bar is not None and n:
            with self._lock:
                self._bar.update(n)

    def file_done(self) -> None:
        with self._lock:
            self._files_done += 1
            if self._bar is not None:
                self._bar.set_description(self._description(), refresh=False)

    def phase(self, total_bytes: int, total_files: int, verb: str) -> Progress:
        """Start the next phase on the same bar (hashing, then uploading; checking, then downloading)."""
        with self._lock:
            self._files_done = 0
            self._total_files = total_files
            self._verb = verb
            if self._bar is not None:
                self._bar.reset(total=total_bytes)
                self._bar.set_description(self._description(), refresh=True)
        return self

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
