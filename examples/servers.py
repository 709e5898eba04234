"""Start real servers (uvicorn, gunicorn, Django) on 127.0.0.1 for the demo and end-to-end tests.

Each server runs as a child process that this module started, logs to a file the caller can
read, and is stopped by its own PID. Readiness is polled with a bounded deadline.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@dataclass
class Server:
    base_url: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()

    def json_events(self) -> list[dict[str, Any]]:
        """Every JSON log line the server wrote so far (other lines are skipped)."""
        events = []
        for line in self.log_lines():
            if line.startswith("{"):
                try:
                    events.append(json.loads(line))
                except ValueError:
                    continue
        return events

    def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Poll ``condition()`` until true or ``timeout``: the server flushes logs on its own."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def wait_for_events(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Log lines are flushed by another process: poll the file until they appear."""
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.json_events() if predicate(e)]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(
    argv: Sequence[str], port: int, log_path: Path, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """Run ``argv`` (which must listen on ``port``) until the block ends."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **(env or {})}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(argv), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=full_env,
            start_new_session=True,
        )  # fmt: skip
    try:
        _wait_until_listening(port, process, log_path)
        yield Server(f"http://127.0.0.1:{port}", log_path, process)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def _wait_until_listening(port: int, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text()[-3000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"server did not listen within 30 s:\n{log_path.read_text()[-3000:]}")


def uvicorn_argv(app: str, port: int, *extra: str) -> list[str]:
    return [str(BIN / "uvicorn"), app, "--host", "127.0.0.1", "--port", str(port), *extra]


def gunicorn_argv(app: str, port: int, *extra: str) -> list[str]:
    return [
        str(BIN / "gunicorn"), app, "--bind", f"127.0.0.1:{port}", "--workers", "1",
        "--threads", "8", "--worker-class", "gthread", *extra,
    ]  # fmt: skip
