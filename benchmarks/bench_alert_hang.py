"""A sink that never answers adds nothing to request latency: p50/p99 of failing requests
through the WSGI middleware with no sink, and with a webhook to a local server that hangs
(30 s timeout), interleaved rounds. Every request fails with a new fingerprint, so each one
queues an alert (the worst case for the queue). Memory: Python's allocated blocks after each round of the
hanging case, the queue's length and the analytics' groups (bounded by ``queue_size`` and
``max_fingerprints`` while 20,000 distinct failures go by).

    python benchmarks/bench_alert_hang.py
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seawall.server.pipeline import Pipeline
from seawall.wsgi.middleware import WSGIMiddleware
from tests.receiver import receiver

ROUNDS = 5
N = 2000


def _drop(logger: Any, name: str, event: Any) -> Any:
    raise structlog.DropEvent


def failing_app(kinds: list[type[Exception]]) -> Callable[..., Iterable[bytes]]:
    counter = iter(range(10**9))

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        raise kinds[next(counter) % len(kinds)]("upstream refused")

    return app


def run(middleware: WSGIMiddleware) -> list[float]:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/orders", "wsgi.url_scheme": "http"}
    times = []
    for _ in range(N):
        start = time.perf_counter()
        body = middleware(dict(environ), lambda status, headers, exc_info=None: None)
        b"".join(body)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    kinds = [type(f"Failure{i}", (Exception,), {}) for i in range(ROUNDS * N * 2)]
    logger = structlog.wrap_logger(None, processors=[_drop])
    with receiver(hang=True) as hook:
        hanging = {"alerts": {"sinks": [{"type": "webhook", "url": hook.url}], "timeout": 30}}
        cases = {
            "no sink": WSGIMiddleware(failing_app(kinds), pipeline=Pipeline(None, logger=logger)),
            "hanging webhook": WSGIMiddleware(
                failing_app(kinds), pipeline=Pipeline(hanging, logger=logger)
            ),
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        blocks = []
        for _ in range(ROUNDS):
            for name, middleware in cases.items():
                times = sorted(run(middleware))
                results[name].append((times[len(times) // 2], times[int(len(times) * 0.99)]))
            gc.collect()
            blocks.append(sys.getallocatedblocks())
        print(f"hanging sink got {len(hook.requests)} request(s), answered none")
        for name, rounds in results.items():
            p50 = statistics.median(r[0] for r in rounds) * 1e6
            p99s = [r[1] * 1e6 for r in rounds]
            print(
                f"{name:16s} p50 {p50:6.1f} µs  p99 {statistics.median(p99s):6.1f} µs"
                f"  (p99 range {min(p99s):.1f}-{max(p99s):.1f} over {ROUNDS} rounds)"
            )
        hung = cases["hanging webhook"].pipeline
        print(f"alerts dropped by the bounded queue: {hung.alerts.outbox.dropped}")
        print(
            f"memory: allocated blocks after each round {', '.join(map(str, blocks))};"
            f" queued {len(hung.alerts.outbox)} (queue_size {hung.settings.alerts.queue_size}),"
            f" groups {len(hung.analytics)} (max_fingerprints"
            f" {hung.settings.analytics.max_fingerprints})"
        )
        cases["hanging webhook"].pipeline.alerts.close()


if __name__ == "__main__":
    main()
