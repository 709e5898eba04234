"""A dependency-decorated httpx call that fails for good is dead-lettered, and
``seawall dlq replay --dependency NAME`` delivers it exactly once, with its Idempotency-Key."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

import seawall
from seawall import dead_letter
from tests import dead_letter_target as target

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


class _Receiver(BaseHTTPRequestHandler):
    """Answers 503 while ``down``; records each request's body and Idempotency-Key."""

    down: ClassVar[list[bool]]
    seen: ClassVar[list[tuple[int, str | None, int]]]

    def do_POST(self) -> None:
        number = int(self.rfile.read(int(self.headers["Content-Length"])))
        status = 503 if self.down[0] else 201
        self.seen.append((number, self.headers.get("Idempotency-Key"), status))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Handler", (_Receiver,), {"down": [True], "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    server.shutdown()
    server.server_close()


def test_a_failed_webhook_is_dead_lettered_and_replayed_once_with_its_key(
    tmp_path: Path, receiver: tuple[str, type[_Receiver]]
) -> None:
    url, handler = receiver
    store = tmp_path / "dlq.sqlite3"
    settings = tmp_path / "seawall.toml"
    settings.write_text(
        f'[dead_letter]\npath = "{store.as_posix()}"\n\n'
        "[dependencies.webhook]\ndead_letter = true\ntimeout = 5\n"
        'retry = { attempts = 2, backoff = 0, on = ["transient", "unknown"],'
        " budget = { ratio = 1.0, min_per_second = 0 } }\n",  # each call funds its retry
        encoding="utf-8",
    )
    seawall.Dependencies(seawall.Settings.from_toml(str(settings)))
    try:
        with pytest.raises(httpx.HTTPStatusError):
            target.post_webhook(url, 7)
        (entry,) = dead_letter.default().entries()
        assert (entry.queue, entry.target, entry.attempts) == (
            "webhook",
            "tests.dead_letter_target.post_webhook",
            2,
        )
        assert [(n, key) for n, key, _ in handler.seen] == [(7, None), (7, None)]
    finally:
        dead_letter.configure(None)

    def replay() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "seawall.cli", "dlq", "--settings", str(settings),
             "replay", "--dependency", "webhook"],
            capture_output=True, text=True, cwd=ROOT, timeout=60, check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip

    failed = replay()  # still down: the policy's two attempts, then the entry backs off
    assert failed.returncode == 1, failed.stderr
    assert "1 failed" in failed.stdout
    assert [key for _, key, _ in handler.seen[2:]] == [entry.idempotency_key] * 2
    handler.down[0] = False
    done = replay()
    assert done.returncode == 0, done.stderr
    assert "1 succeeded" in done.stdout
    delivered = [(n, key) for n, key, status in handler.seen if status == 201]
    assert delivered == [(7, entry.idempotency_key)]
    again = replay()
    assert "0 succeeded, 0 failed" in again.stdout
    assert len(handler.seen) == 5
