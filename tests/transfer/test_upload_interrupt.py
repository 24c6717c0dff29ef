"""Ctrl-C during an upload stops the in-flight PUTs at their next chunk instead of finishing them."""

from __future__ import annotations

import http.server
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from artifactkit._transport import Transport
from artifactkit.transfer.upload import UploadUrl, collect_files, put_files

MIB = 1 << 20


class SlowStorage:
    """Accepts PUTs but reads their bodies slowly (64 KiB every 20 ms), like a thin uplink.

    With `interrupt_after` set, it sends this process a SIGINT (Ctrl-C) once it has received that
    many bytes: the interruption comes mid-upload however slow the machine is. `received_at_signal`
    is the count then.
    """

    def __init__(self) -> None:
        self.received = 0
        self.interrupt_after: int | None = None
        self.received_at_signal: int | None = None
        self.lock = threading.Lock()
        storage = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                remaining = int(self.headers["Content-Length"])
                while remaining:
                    chunk = self.rfile.read(min(remaining, 64 * 1024))
                    if not chunk:
                        return  # the client gave up mid-body
                    with storage.lock:
                        storage.received += len(chunk)
                        interrupt = (
                            storage.interrupt_after is not None
                            and storage.received_at_signal is None
                            and storage.received >= storage.interrupt_after
                        )
                        if interrupt:
                            storage.received_at_signal = storage.received
                    if interrupt:
                        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C
                    remaining -= len(chunk)
                    time.sleep(0.02)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> SlowStorage:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def storage() -> Iterator[SlowStorage]:
    with SlowStorage() as server:
        yield server


@pytest.mark.usefixtures("ctrl_c")
def test_ctrl_c_abandons_in_flight_uploads(storage: SlowStorage, tmp_path: Path) -> None:
    sizes = [64 * MIB, 64 * MIB]  # minutes at this link's speed
    for index, size in enumerate(sizes):
        with (tmp_path / f"big{index}.bin").open("wb") as handle:
            handle.truncate(size)
    files = collect_files([tmp_path])
    transport = Transport(storage.url, "k" * 40, timeout=30)

    def urls(batch: Any) -> list[UploadUrl]:
        return [UploadUrl(f, f"{storage.url}/{f.path}") for f in batch]

    storage.interrupt_after = MIB  # Ctrl-C once the first MiB arrived
    try:
        with pytest.raises(KeyboardInterrupt):
            put_files(transport, files, urls, workers=2)
    finally:
        transport.close()
    received_at_return = storage.received
    assert storage.received_at_signal is not None
    # Stopped at the next chunk: what was in flight, not the 128 MiB (nor minutes more of them).
    assert received_at_return < storage.received_at_signal + 15 * MIB
    assert not [t for t in threading.enumerate() if t.name.startswith("artifactkit-upload")]  # no worker left


def test_hashing_reports_progress_per_file(tmp_path: Path) -> None:
    from artifactkit.transfer.progress import Progress

    for index in range(3):
        (tmp_path / f"f{index}.bin").write_bytes(b"x" * (1000 + index))
    bar = Progress(0, 0, False, phases=True)
    files = collect_files([tmp_path], progress=bar)
    assert [f.size for f in files] == [1000, 1001, 1002]
    assert bar._files_done == 3 and bar._total_files == 3 and bar._verb == "hashed"


def test_one_bar_runs_through_checking_then_downloading(
    api: Any, project: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.transfer.helpers import random_files, write_tree

    files = random_files(4, 3000)
    api.upload(write_tree(tmp_path / "src", files), f"{project}/bar", "dataset")
    root = tmp_path / "out"
    write_tree(root, {"f000.bin": files["f000.bin"]})  # one already in place: checked first
    capsys.readouterr()
    api.artifact(f"{project}/bar:v0").download(root, progress=True)
    drawn = capsys.readouterr().err
    assert "1/1 checked" in drawn and "downloaded" in drawn
    assert drawn.index("checked") < drawn.rindex("downloaded")
    api.upload(write_tree(tmp_path / "src2", {"a.bin": b"a" * 5000}), f"{project}/bar2", "dataset", progress=True)
    drawn = capsys.readouterr().err
    assert "1/1 hashed" in drawn and drawn.index("hashed") < drawn.rindex("uploaded")
