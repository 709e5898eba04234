"""``seawall logs`` and ``seawall errors`` on a generated 100 MB JSON log (target: under 5 s).

Writes the log once (``request_started``/``request_finished`` lines and one ``request_failed``
with its traceback every 20 requests, 300,000 requests or so), then times the commands as a
user runs them, output piped to a file, three rounds each.

    python benchmarks/bench_cli_logs.py [PATH]   (default: a temporary file, removed after)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZE = 100 * 1024 * 1024
ROUNDS = 3


def generate(path: Path) -> int:
    """Write about :data:`SIZE` bytes of log; returns the number of requests."""
    frames = [{"file": f"/srv/shop/app/module{i}.py", "line": 10 + i, "function": f"step{i}"}
              for i in range(12)]  # fmt: skip
    written = 0
    n = 0
    with path.open("w", encoding="utf-8") as out:
        while written < SIZE:
            cid = f"{n:032x}"
            stamp = f"2026-12-02T10:{(n // 6000) % 60:02d}:{(n // 100) % 60:02d}.{n % 1000:03d}000Z"
            route = f"GET /orders/{{id}}/{n % 7}"
            lines = [
                {"event": "request_started", "level": "info", "correlation_id": cid,
                 "route": route, "method": "GET", "timestamp": stamp, "logger": "shop"},
                {"event": "request_finished", "level": "info", "correlation_id": cid,
                 "route": route, "status": 200, "duration_ms": 12.5, "timestamp": stamp},
            ]  # fmt: skip
            if n % 20 == 0:
                lines.insert(1, {
                    "event": "request_failed", "level": "error", "correlation_id": cid,
                    "error_id": f"{n:032x}"[::-1], "method": "GET", "route": route, "status": 503,
                    "classification": "transient", "exception": "builtins.ConnectionError",
                    "message": "upstream refused the connection", "fingerprint": "ab" * 8,
                    "app_frame": f"module{n % 3}.py:step{n % 3}", "traceback": frames,
                    "timestamp": stamp,
                })  # fmt: skip
            text = "".join(json.dumps(line) + "\n" for line in lines)
            out.write(text)
            written += len(text)
            n += 1
    return n


def timed(argv: list[str]) -> list[float]:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        with open(os.devnull, "wb") as sink:
            subprocess.run(argv, stdout=sink, check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    given = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    path = given or Path(tempfile.mkstemp(suffix=".log")[1])
    try:
        if not path.exists() or path.stat().st_size < SIZE:
            requests = generate(path)
            print(f"wrote {path.stat().st_size / 1e6:.0f} MB, {requests} requests")
        seawall = [sys.executable, "-m", "seawall.cli"]
        cases = {
            "logs --correlation-id": ["logs", str(path), "--correlation-id", f"{4000:032x}"],
            "logs --error-id": ["logs", str(path), "--error-id", f"{4000:032x}"[::-1]],
            "logs --level error --route": ["logs", str(path), "--level", "error", "--route",
                                           "GET /orders/{id}/3", "--since", "2026-12-02T10:59:00Z"],
            "errors": ["errors", str(path)],
        }  # fmt: skip
        for name, args in cases.items():
            times = timed([*seawall, *args])
            print(f"{name:28s} median {statistics.median(times):5.2f} s"
                  f"  spread {min(times):.2f}-{max(times):.2f}")  # fmt: skip
    finally:
        if given is None:
            path.unlink()


if __name__ == "__main__":
    main()
