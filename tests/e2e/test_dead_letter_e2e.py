"""The dead-letter queue across processes: nothing lost to SIGKILL, no entry replayed twice."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from seawall.config.schema import DeadLetterSettings
from seawall.dead_letter import DeadLetters

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

# Stores up to 10,000 failed deliveries, printing each id once its put has returned.
_WRITER = """
import sys
from seawall.config.schema import DeadLetterSettings
from seawall.dead_letter import DeadLetters
from tests.dead_letter_target import deliver

queue = DeadLetters(DeadLetterSettings(path=sys.argv[1]))
url = sys.argv[2]
for number in range(10_000):
    entry = queue.record_call(
        "mailer", deliver, (url, number), {}, attempts=3,
        first_error=ConnectionError("down"), last_error=ConnectionError("down"),
    )
    sys.stdout.write(f"{entry.id} {number}\\n")
    sys.stdout.flush()
"""

_REPLAYER = """
import sys
from seawall.config.schema import DeadLetterSettings
from seawall.dead_letter import DeadLetters

report = DeadLetters(DeadLetterSettings(path=sys.argv[1])).replay()
print(report.succeeded, report.failed, report.skipped)
"""


class _Counting(BaseHTTPRequestHandler):
    counts: Counter[int]
    lock = threading.Lock()

    def do_POST(self) -> None:
        number = int(self.rfile.read(int(self.headers["Content-Length"])))
        with self.lock:
            self.counts[number] += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def counter() -> Iterator[tuple[str, Counter[int]]]:
    """A local HTTP server that counts the deliveries of each number."""
    counts: Counter[int] = Counter()
    handler = type("Handler", (_Counting,), {"counts": counts})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/deliver", counts
    server.shutdown()
    server.server_close()


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _store_until_killed(path: Path, url: str, kill_after: int) -> dict[str, int]:
    """Run the writer, SIGKILL it after ``kill_after`` acknowledged puts; the acknowledged ids."""
    acknowledged: dict[str, int] = {}
    with subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), url],
        stdout=subprocess.PIPE, cwd=ROOT, env=_env(), text=True,
    ) as process:  # fmt: skip
        assert process.stdout is not None
        for line in process.stdout:
            id, number = line.split()
            acknowledged[id] = int(number)
            if len(acknowledged) >= kill_after:
                os.kill(process.pid, signal.SIGKILL)
                break
        process.wait(timeout=30)
        for line in process.stdout.read().splitlines():  # written before the kill landed
            id, number = line.split()
            acknowledged[id] = int(number)
    assert process.returncode == -signal.SIGKILL
    return acknowledged


def test_sigkill_loses_no_acknowledged_entry_and_replay_delivers_each_once(
    tmp_path: Path, counter: tuple[str, Counter[int]]
) -> None:
    """Three writers killed at random points; then two replayers at once deliver every
    stored entry exactly once."""
    url, counts = counter
    rng = random.Random(20261202)
    path = tmp_path / "dlq.sqlite3"
    acknowledged: dict[str, int] = {}
    for _ in range(3):
        acknowledged.update(_store_until_killed(path, url, rng.randint(50, 1500)))
    queue = DeadLetters(DeadLetterSettings(path=str(path)))
    stored = {entry.id: entry for entry in queue.entries()}
    for id, number in acknowledged.items():
        assert id in stored, f"entry {id} was acknowledged and then lost"
        assert stored[id].payload["args"] == [url, number]
    replayers = [
        subprocess.Popen(
            [sys.executable, "-c", _REPLAYER, str(path)],
            stdout=subprocess.PIPE,
            cwd=ROOT,
            env=_env(),
            text=True,
        )
        for _ in range(2)
    ]
    reports = []
    for process in replayers:
        with process:
            reports.append(process.communicate(timeout=120)[0].split())
    succeeded = sum(int(report[0]) for report in reports)
    assert succeeded == len(stored)
    assert sum(int(report[1]) for report in reports) == 0
    numbers = [entry.payload["args"][1] for entry in stored.values()]
    # Three runs reuse the numbers: each stored entry is one delivery of its number.
    assert counts == Counter(numbers)
    assert queue.entries() == []
    queue.close()


def test_the_command_lists_shows_replays_and_purges(
    tmp_path: Path, counter: tuple[str, Counter[int]]
) -> None:
    """``seawall dlq`` against a settings file: plain output when piped, exit statuses."""
    url, counts = counter
    path = tmp_path / "dlq.sqlite3"
    settings = tmp_path / "seawall.toml"
    settings.write_text(f'[dead_letter]\npath = "{path.as_posix()}"\n', encoding="utf-8")
    queue = DeadLetters(DeadLetterSettings(path=str(path)))
    from tests.dead_letter_target import deliver

    first = queue.record_call(
        "mailer", deliver, (url, 7), {}, attempts=3,
        first_error=ConnectionError("token=ghp_abcdefghijklmnopqrstuvwxyz0123456789"), last_error=None,
    )  # fmt: skip
    assert first is not None
    queue.put("webhooks", {"password": "hunter2"})

    def seawall(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "seawall.cli", "dlq", "--settings", str(settings), *args],
            capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=60, check=False,
        )  # fmt: skip

    listed = seawall("list")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [row[1] for row in rows] == ["mailer", "webhooks"]
    assert rows[0][5] == "ConnectionError"
    shown = seawall("show", rows[1][0])
    assert "hunter2" not in shown.stdout
    assert json.loads(seawall("show", rows[1][0], "--raw").stdout)["payload"] == {
        "password": "hunter2"
    }
    assert "ghp_" not in seawall("list", "--json").stdout
    assert seawall("show", "999").returncode == 1
    assert seawall("replay").returncode == 2
    replayed = seawall("replay", "--dependency", "mailer")
    assert replayed.returncode == 0, replayed.stderr
    assert "1 succeeded" in replayed.stdout
    assert counts == Counter([7])
    failed = seawall("replay", "--all")  # the webhooks entry has no replayer
    assert failed.returncode == 1
    assert "1 failed" in failed.stdout
    assert seawall("purge", "--older-than", "1d").stdout.strip() == "purged: 0 entries"
    assert seawall("purge", "--older-than", "0").stdout.strip() == "purged: 1 entries"
    assert seawall("purge", "--older-than", "soon").returncode == 2
    queue.close()
